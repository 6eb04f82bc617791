"""The stack graph read from a synthesized manifest: order, levels, cycles, selection."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from infra.runner.executor import DEFERRED, FAILED, OK, SKIPPED, Deferred, run_graph
from infra.synth.graph import CycleError, StackGraph


def fake_synth(root: Path, stacks: dict[str, list[str]], env: str = "dev") -> Path:
    """A manifest and stack JSON shaped like CDKTF's, for graph logic without jsii."""
    manifest = {"stacks": {}}
    for name, deps in stacks.items():
        component = name.split("-", 1)[1]
        scope = "account" if component.endswith("account") else "environment"
        (root / "stacks" / name).mkdir(parents=True)
        facts = {
            "environment": "nonprod" if scope == "account" else name.split("-")[0],
            "component": component,
            "scope": scope,
            "account": "nonprod",
            "region": "sa-east-1",
        }
        (root / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"//": {"infra": facts}}))
        manifest["stacks"][name] = {
            "dependencies": deps,
            "synthesizedStackPath": f"stacks/{name}/cdk.tf.json",
            "workingDirectory": f"stacks/{name}",
        }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


DIAMOND = {
    "dev-kms": [],
    "dev-network": ["dev-kms"],
    "dev-redis": ["dev-network", "dev-kms"],
    "dev-database": ["dev-network", "dev-kms"],
    "dev-lms": ["dev-redis", "dev-database"],
    "nonprod-account": [],
}


@pytest.fixture
def graph(tmp_path: Path) -> StackGraph:
    return StackGraph.from_synth(fake_synth(tmp_path, DIAMOND))


def test_levels_group_what_can_run_in_parallel(graph):
    assert graph.levels() == [
        ["dev-kms", "nonprod-account"],
        ["dev-network"],
        ["dev-database", "dev-redis"],
        ["dev-lms"],
    ]


def test_downstream_follows_dependents(graph):
    assert graph.downstream(["dev-redis"]) == {"dev-redis", "dev-lms"}
    assert graph.downstream(["dev-kms"]) == set(DIAMOND) - {"nonprod-account"}


def test_an_environment_includes_its_account_stack(graph):
    assert "nonprod-account" in graph.for_environments(["dev"])


def test_fails_when_stacks_form_a_cycle(tmp_path):
    with pytest.raises(CycleError, match="dependency cycle between stacks: dev-a -> dev-b -> dev-a"):
        StackGraph.from_synth(fake_synth(tmp_path, {"dev-a": ["dev-b"], "dev-b": ["dev-a"], "dev-c": []}))


def test_mermaid_draws_every_edge(graph):
    text = graph.mermaid()
    assert text.startswith("flowchart LR")
    assert "dev_network --> dev_redis" in text and "dev_redis --> dev_lms" in text


# --- the executor --------------------------------------------------------------------------


def test_a_failure_skips_everything_downstream_and_nothing_else(graph):
    ran: list[str] = []

    def action(node):
        ran.append(node.name)
        if node.name == "dev-redis":
            raise RuntimeError("boom")
        return "done"

    outcomes = {o.stack: o for o in run_graph(graph, graph.nodes, action, workers=2)}
    assert outcomes["dev-redis"].status == FAILED and "boom" in outcomes["dev-redis"].detail
    assert outcomes["dev-lms"].status == SKIPPED and "dev-redis" in outcomes["dev-lms"].detail
    assert outcomes["dev-database"].status == OK
    assert "dev-lms" not in ran


def test_independent_stacks_run_at_the_same_time(graph):
    active, peak, lock = 0, 0, threading.Lock()

    def action(node):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return ""

    run_graph(graph, ["dev-redis", "dev-database"], action, workers=2)
    assert peak == 2


def test_dependencies_finish_before_dependents_start(graph):
    finished: list[str] = []
    run_graph(graph, graph.nodes, lambda n: finished.append(n.name) or "", workers=2)
    for name, deps in DIAMOND.items():
        assert all(finished.index(d) < finished.index(name) for d in deps)


def test_reverse_destroys_consumers_first(graph):
    finished: list[str] = []
    run_graph(graph, graph.nodes, lambda n: finished.append(n.name) or "", workers=2, reverse=True)
    assert finished.index("dev-lms") < finished.index("dev-redis") < finished.index("dev-network")


def test_eager_stacks_start_before_their_upstream_ends_and_are_reported_in_order(graph):
    """dev-kms finishes only once dev-lms, three levels below it, has started; the listener
    still hears every stack after the stacks it depends on."""
    lms_started = threading.Event()
    heard: list[str] = []

    def action(node):
        if node.name == "dev-lms":
            lms_started.set()
        if node.name == "dev-kms" and not lms_started.wait(timeout=10):
            raise RuntimeError("dev-lms waited for dev-kms")
        return "planned"

    outcomes = run_graph(
        graph, graph.nodes, action, workers=6, eager=set(graph.nodes), listener=lambda o: heard.append(o.stack)
    )
    assert {o.status for o in outcomes} == {OK}
    for name, deps in DIAMOND.items():
        assert all(heard.index(d) < heard.index(name) for d in deps)


@pytest.mark.parametrize(
    ("raised", "status", "detail"),
    [
        (RuntimeError("boom"), SKIPPED, "{} did not succeed"),
        (Deferred("not applied"), DEFERRED, "waits for {} to be applied"),
    ],
)
def test_an_eager_stack_below_a_failed_or_deferred_one_is_reported_as_if_it_had_waited(graph, raised, status, detail):
    ran: list[str] = []
    dropped: list[str] = []

    def action(node):
        if node.name == "dev-network":
            time.sleep(0.2)  # the stacks below finish first, and are held
            raise raised
        ran.append(node.name)
        return "planned"

    outcomes = {
        o.stack: o
        for o in run_graph(
            graph, graph.nodes, action, workers=6, eager=set(graph.nodes), drop=lambda n: dropped.append(n.name)
        )
    }
    below = {"dev-redis", "dev-database", "dev-lms"}
    assert below <= set(ran)  # they ran, eagerly
    assert sorted(dropped) == sorted(below)  # and what they left is undone
    for name in below:  # each names the first stack it depends on that did not get through
        first = min(d for d in DIAMOND[name] if d in below | {"dev-network"})
        assert outcomes[name].status == status and detail.format(first) in outcomes[name].detail
    assert outcomes["dev-kms"].status == OK and outcomes["nonprod-account"].status == OK


def test_a_chain_of_held_stacks_is_settled_at_once_when_its_top_finishes(graph):
    """dev-network, dev-redis, dev-database and dev-lms finish before dev-kms and are held;
    once dev-kms finishes, all of them are reported at once, not one level each time some
    other stack happens to finish (nonprod-account finishes only once dev-lms is heard)."""
    lms_heard = threading.Event()

    def heard(outcome):
        if outcome.stack == "dev-lms":
            lms_heard.set()

    def action(node):
        if node.name == "dev-kms":
            time.sleep(0.3)
        if node.name == "nonprod-account" and not lms_heard.wait(timeout=10):
            raise RuntimeError("dev-lms was not reported while nonprod-account ran")
        return "planned"

    outcomes = run_graph(graph, graph.nodes, action, workers=6, eager=set(graph.nodes), listener=heard)
    assert {o.stack: o.status for o in outcomes} == dict.fromkeys(DIAMOND, OK)


def test_stacks_still_queued_when_the_run_is_interrupted_are_skipped_not_failed(graph, monkeypatch):
    from infra.runner import interrupts

    monkeypatch.setattr(interrupts, "_received", None)

    def action(node):
        time.sleep(0.2)  # every stack is queued by now
        interrupts.interrupted(2)  # Ctrl-C during the first stack's action
        return "planned"

    outcomes = {o.stack: o for o in run_graph(graph, graph.nodes, action, workers=1, eager=set(graph.nodes))}
    ran = [o for o in outcomes.values() if o.status == OK]
    assert len(ran) == 1  # the one that was running when the signal came
    for outcome in outcomes.values():
        if outcome.status != OK:
            assert outcome.status == SKIPPED, outcome
            assert "interrupted" in outcome.detail or "did not succeed" in outcome.detail, outcome


def test_a_plan_waits_for_its_upstream_only_to_read_its_plan_or_a_state_it_pushes(graph, tmp_path, monkeypatch):
    from infra.runner import operations

    monkeypatch.setattr(operations, "WORKSPACES", tmp_path / "work")
    assert operations.eager_plans(graph, list(graph.nodes), ()) == set(DIAMOND)
    assert operations.eager_plans(graph, list(graph.nodes), ["dev-lms"]) == set(DIAMOND) - {"dev-lms"}
    (tmp_path / "work" / "dev-network").mkdir(parents=True)
    (tmp_path / "work" / "dev-network" / operations.ERRORED_STATE).write_text("{}")  # pushed first by its plan
    assert operations.eager_plans(graph, list(graph.nodes), ()) == set(DIAMOND) - {"dev-redis", "dev-database"}


def test_the_cycle_named_is_the_same_every_time(tmp_path):
    """A stack outside the cycle that depends on it is not part of the message, and the
    cycle reported does not depend on hashing order."""
    import subprocess
    import sys

    fake_synth(
        tmp_path, {"dev-a": ["dev-c"], "dev-c": ["dev-b"], "dev-b": ["dev-c"], "dev-x": ["dev-y"], "dev-y": ["dev-x"]}
    )
    code = (
        "import sys; from pathlib import Path; from infra.synth.graph import StackGraph, CycleError\n"
        f"try: StackGraph.from_synth(Path({str(tmp_path)!r}))\n"
        "except CycleError as e: print(e)"
    )
    said = {
        subprocess.run(
            [sys.executable, "-c", code], env={"PYTHONHASHSEED": seed}, capture_output=True, text=True
        ).stdout.strip()
        for seed in ("1", "2", "3", "4")
    }
    assert said == {"dependency cycle between stacks: dev-c -> dev-b -> dev-c"}
