"""`--affected-since`: the synthesized JSON of both sides decides, not file names.

A throwaway git repository holds a copy of the engine, modules and layers with three edits
(a README, one environment's layer and a shared module); its commit is the base
(synthesized from `git archive`, as `infra plan --affected-since REF` does). The head is
this tree's own synth, the session's: one new synth for the module, not two.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from infra.paths import REPO
from infra.runner import affected
from infra.synth.graph import StackGraph
from infra.synth.tree import synthesize_ref

pytestmark = pytest.mark.terraform  # a synth in another tree: half a minute

ENVS = ["dev", "staging", "prod"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    )


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory, synthesized) -> tuple[Path, StackGraph, Path]:
    result, graph = synthesized
    repo = tmp_path_factory.mktemp("affected") / "repo"
    repo.mkdir()
    for part in ("infra", "modules", "environments"):
        shutil.copytree(REPO / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "README.md", repo / "README.md")
    _edit(repo / "README.md", "# ", "# Edited: ")
    _edit(repo / "environments/nonprod/sa-east-1/staging/lms.toml", "desired_count = 3", "desired_count = 4")
    _edit(repo / "modules/storage/construct.py", "NFS only from", "NFS (2049) only from")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    return synthesize_ref("HEAD", repo=repo), graph, result.outdir


def test_only_what_the_synthesized_json_says_changed_is_planned(sides):
    base, graph, head = sides
    found = {a.stack: a.reason for a in affected.compare(base, graph, head, ENVS)}
    direct = {s for s, reason in found.items() if reason == "synthesized JSON changed"}
    # the staging layer, and the shared storage module in every environment; the README nothing
    assert direct == {"staging-lms", "dev-storage", "staging-storage", "prod-storage"}
    downstream = {s: r for s, r in found.items() if s not in direct}
    assert downstream, "consumers of a changed stack are planned too"
    for stack, reason in downstream.items():
        cause = reason.removeprefix("downstream of ")
        assert cause in direct and stack in graph.downstream([cause]), (stack, reason)


def test_one_environment_is_asked_for_and_only_its_stacks_come(sides):
    base, graph, head = sides
    found = affected.compare(base, graph, head, ["dev"])
    assert found and all(graph.nodes[a.stack].environment == "dev" for a in found)
    assert found[0].stack == "dev-storage"  # dependency order: the changed stack before its consumers


def test_nothing_changed_nothing_planned(sides):
    base, graph, _ = sides
    assert affected.compare(base, StackGraph.from_synth(base), base, ENVS) == []


def test_a_stack_gone_from_the_code_is_reported(sides):
    base, graph, _ = sides
    without_web = StackGraph({n: node for n, node in graph.nodes.items() if n != "staging-web"})
    assert affected.removed(base, without_web, ["staging"]) == ["staging-web"]
    assert affected.removed(base, graph, ENVS) == []
