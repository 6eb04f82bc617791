"""What makes planning fast must not change what it finds (issue 14).

Two real stacks on the emulator with the S3 backend, the second reading an output of the
first through `terraform_remote_state`, as CDKTF writes cross-stack references:
- a stack without changes is planned once: no `show` at all, no plan.json;
- the saved plan text is exactly what `terraform show PLANFILE` prints;
- a downstream stack is planned only when an upstream plan changes an output it reads;
- an apply whose plan changes only outputs still applies (the outputs are saved).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.report.plan import NOT_PLANNED
from infra.runner import operations
from infra.runner.affected import changed_inputs, outputs_read
from infra.runner.bootstrap import create_state_bucket
from infra.runner.terraform import WORKSPACES, Workspace
from infra.synth.graph import StackGraph, StackNode
from infra.versions import AWS_PROVIDER_VERSION

pytestmark = pytest.mark.terraform

REGION, ACCOUNT, BUCKET = "sa-east-1", "111111111111", "fast-plan-state"
SOURCE = "cross-stack-reference-input-t-producer"
OUTPUT = "cross-stack-output-name"


def _doc(key: str, resource: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "terraform": {
            "backend": {"s3": {"bucket": BUCKET, "key": key, "region": REGION, "use_lockfile": True}},
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}},
        },
        "provider": {"aws": [{"region": REGION}]},
        "resource": {"aws_ssm_parameter": resource},
        **extra,
    }


def producer(value: str, *, tag: str = "a", extra_output: bool = False) -> dict[str, Any]:
    outputs = {OUTPUT: {"value": "${aws_ssm_parameter.source.insecure_value}"}}
    if extra_output:
        outputs["unread"] = {"value": "nobody reads this"}
    param = {"name": "/t/source", "type": "String", "insecure_value": value, "tags": {"t": tag}}
    return _doc("t/producer/terraform.tfstate", {"source": param}, output=outputs)


def consumer() -> dict[str, Any]:
    source = {"backend": "s3", "config": {"bucket": BUCKET, "key": "t/producer/terraform.tfstate", "region": REGION}}
    value = f"${{data.terraform_remote_state.{SOURCE}.outputs.{OUTPUT}}}"
    param = {"name": "/t/copy", "type": "String", "insecure_value": value}
    return _doc("t/consumer/terraform.tfstate", {"copy": param}, data={"terraform_remote_state": {SOURCE: source}})


class Stacks:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = 0

    def graph(self, producer_doc: dict[str, Any]) -> StackGraph:
        nodes = {}
        for name, doc, deps in (("t-producer", producer_doc, ()), ("t-consumer", consumer(), ("t-producer",))):
            folder = self.root / "synth" / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "cdk.tf.json").write_text(json.dumps(doc))
            json_path = folder / "cdk.tf.json"
            nodes[name] = StackNode(name, "t", name[2:], "environment", ACCOUNT, REGION, folder, json_path, deps)
        return StackGraph(nodes)

    def run_dir(self) -> Path:
        self.runs += 1
        return self.root / "runs" / str(self.runs)


def _log(stack: str) -> Path:
    return WORKSPACES / stack / "terraform.log"


def _commands(stack: str, since: int) -> list[str]:
    """The Terraform commands a stack ran, from its log, after `since` bytes."""
    text = _log(stack).read_bytes()[since:].decode(errors="replace")  # bytes, as _log_size counts
    return re.findall(r"^\$ terraform (\w+(?: -json)?)", text, flags=re.MULTILINE)


def _log_size(stack: str) -> int:
    return _log(stack).stat().st_size if _log(stack).is_file() else 0


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory):
    from infra.emulator import launcher

    with launcher.running(ACCOUNT, REGION, fresh=True):
        create_state_bucket(BUCKET, REGION)
        here = Stacks(tmp_path_factory.mktemp("fast"))
        graph = here.graph(producer("v1"))
        operations.apply(graph, graph.nodes, run_dir=here.run_dir())
        yield here


def test_an_unchanged_stack_is_planned_once_without_show(stacks):
    graph = stacks.graph(producer("v1"))
    before = {name: _log_size(name) for name in graph.nodes}
    run_dir = stacks.run_dir()
    operations.plan(graph, graph.nodes, run_dir=run_dir)
    for name in graph.nodes:
        assert _commands(name, before[name]) == ["plan"], name
        assert not (run_dir / name / "plan.json").exists()
        assert "No changes." in (run_dir / name / "plan.txt").read_text()


def test_the_saved_text_is_what_terraform_show_prints(stacks):
    graph = stacks.graph(producer("v1", tag="b"))
    run_dir = stacks.run_dir()
    operations.plan(graph, ["t-producer"], run_dir=run_dir)
    ws = Workspace(graph.nodes["t-producer"])
    shown = ws.run("show", "-no-color", str(run_dir / "t-producer" / "plan.tfplan")).output
    saved = (run_dir / "t-producer" / "plan.txt").read_text()
    assert "will be updated in-place" in saved
    assert saved.strip() == shown.strip()
    assert json.loads((run_dir / "t-producer" / "plan.json").read_text())["resource_changes"]


def test_the_consumer_reads_exactly_the_producer_output_it_references(stacks):
    graph = stacks.graph(producer("v1"))
    assert outputs_read(graph, graph.nodes["t-consumer"]) == {"t-producer": {OUTPUT}}
    assert outputs_read(graph, graph.nodes["t-producer"]) == {}


def test_a_downstream_stack_is_planned_only_when_an_output_it_reads_changes(stacks):
    # a tag changes: the producer's plan changes no output, so the consumer is not planned
    graph = stacks.graph(producer("v1", tag="c", extra_output=True))
    run_dir = stacks.run_dir()
    outcomes = operations.plan(graph, graph.nodes, run_dir=run_dir, only_if_inputs_change=["t-consumer"])
    assert {o.stack: o.detail for o in outcomes}["t-consumer"] == NOT_PLANNED
    assert not (run_dir / "t-consumer").exists()

    # the value behind the output it reads changes: now it is planned
    graph = stacks.graph(producer("v2"))
    run_dir = stacks.run_dir()
    outcomes = operations.plan(graph, graph.nodes, run_dir=run_dir, only_if_inputs_change=["t-consumer"])
    assert changed_inputs(graph, graph.nodes["t-consumer"], run_dir) == [f"t-producer.{OUTPUT}"]
    assert {o.stack: o.detail for o in outcomes}["t-consumer"] != NOT_PLANNED
    assert (run_dir / "t-consumer" / "plan.txt").is_file()


def test_an_apply_that_changes_only_outputs_saves_them(stacks):
    graph = stacks.graph(producer("v1", extra_output=True))
    operations.apply(graph, ["t-producer"], run_dir=stacks.run_dir())
    state = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key="t/producer/terraform.tfstate")
    assert json.loads(state["Body"].read())["outputs"]["unread"]["value"] == "nobody reads this"


def test_the_plan_text_drops_lock_and_refresh_lines_wherever_they_come():
    from infra.runner.operations import plan_text

    output = (
        "Acquiring state lock. This may take a few moments...\n"
        "aws_ssm_parameter.a: Refreshing state... [id=/a]\n"
        "data.aws_caller_identity.me: Reading...\n"
        "data.aws_caller_identity.me: Read complete after 0s [id=1]\n"
        "\nNo changes. Your infrastructure matches the configuration.\n"
        "Releasing state lock. This may take a few moments...\n"
    )
    assert plan_text(output) == "\nNo changes. Your infrastructure matches the configuration.\n"


def test_a_reused_run_folder_keeps_no_plan_of_an_earlier_run(stacks):
    operations.apply(stacks.graph(producer("v1")), ["t-producer"], run_dir=stacks.run_dir())  # a known state
    graph = stacks.graph(producer("v1", tag="d"))
    run_dir = stacks.run_dir()
    operations.plan(graph, ["t-producer"], run_dir=run_dir)
    assert (run_dir / "t-producer" / "plan.json").is_file()  # this run changes a tag
    operations.plan(stacks.graph(producer("v1")), ["t-producer"], run_dir=run_dir)  # the same folder again
    assert not (run_dir / "t-producer" / "plan.json").exists()  # nothing changes now: no old JSON
