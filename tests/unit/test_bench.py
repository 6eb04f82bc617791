"""The benchmark's floors: read from Terraform's own "complete after" lines, per stack, along
the slowest chain of the graph."""

from __future__ import annotations

from pathlib import Path

from infra.pipeline import bench
from infra.synth.graph import StackGraph, StackNode

APPLY_LOG = """$ terraform plan -out=plan.tfplan
aws_db_instance.db: Creation complete after 9m9s
$ terraform apply plan.tfplan
aws_db_subnet_group.s: Creation complete after 1s [id=s]
aws_db_instance.db: Still creating... [1m10s elapsed]
aws_db_instance.db: Creation complete after 1m20s [id=db]
# exit 0, 81.0s
"""


def test_a_duration_reads_as_terraform_writes_it():
    assert [bench._seconds(t) for t in ("45s", "1m20s", "2h0m3s", "junk")] == [45.0, 80.0, 7203.0, 0.0]


def test_the_slowest_resource_of_the_last_apply_counts(tmp_path: Path):
    log = tmp_path / "terraform.log"
    log.write_text(APPLY_LOG)
    assert bench.slowest_resource(log, "apply", "Creation") == 80.0  # not the plan section's 9m9s
    assert bench.slowest_resource(tmp_path / "none.log", "apply", "Creation") == 0.0


def test_the_floor_is_the_slowest_chain(tmp_path: Path, monkeypatch):
    def node(name: str, *deps: str) -> StackNode:
        return StackNode(name, "t", name, "environment", "1", "r", tmp_path, tmp_path / f"{name}.json", deps)

    graph = StackGraph({"a": node("a"), "b": node("b", "a"), "c": node("c", "a"), "d": node("d", "b", "c")})
    own = {"a": 10.0, "b": 80.0, "c": 5.0, "d": 1.0}
    monkeypatch.setattr(bench, "slowest_resource", lambda log, command, verb: own[log.parent.name])
    total, chain = bench.floor(graph, list(graph.nodes), "apply", "Creation")
    assert total == 91.0 and chain == "a 10s -> b 80s -> d 1s"
    total, chain = bench.floor(graph, list(graph.nodes), "destroy", "Destruction", reverse=True)
    assert total == 91.0 and chain == "d 1s -> b 80s -> a 10s"
