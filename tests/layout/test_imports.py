"""The tree is the architecture: `ls infra` shows the pipeline, and imports run one way.

cli -> pipeline -> runner -> {report, policy, emulator} -> synth -> config -> basics, and
`modules/` stands on its own (the engine imports the modules, never the other way round).
A new import against that direction fails here, naming the file, the line and the arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra.paths import REPO

# Higher may import lower; the same rank may not import a sibling room.
RANKS = {
    "basics": 0,  # infra.paths, console, versions, toolchain, errors
    "config": 1,
    "synth": 2,
    "policy": 3,
    "report": 3,
    "emulator": 3,
    "runner": 4,
    "pipeline": 5,
    "cli": 6,
}
BASICS = {"paths", "console", "versions", "toolchain", "errors"}
ROOMS = {name for name in RANKS if name not in ("basics", "cli")}


def room(module: str) -> str | None:
    """The room of a module name under infra ("infra.runner.graph" -> "runner")."""
    parts = module.split(".")
    if parts[0] != "infra":
        return None
    if len(parts) == 1:
        return "basics"
    return "basics" if parts[1] in BASICS else parts[1]


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (at the top or inside a function), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names if node.module == "infra"]
    return found


def wrong_arrows(root: Path) -> list[str]:
    problems = []
    for path in sorted((root / "infra").rglob("*.py")) + sorted((root / "modules").rglob("*.py")):
        rel = path.relative_to(root)
        source = room(".".join(rel.with_suffix("").parts))
        for line, target in imports(path):
            if rel.parts[0] == "modules":
                if target.split(".")[0] == "infra":
                    problems.append(f"{rel}:{line}: modules import {target} (modules stand on their own)")
                continue
            to = room(target)
            if to is None or to == source or source is None:
                continue
            if RANKS[to] >= RANKS[source]:
                problems.append(f"{rel}:{line}: {source} -> {to} ({target}) runs against the layout")
    return problems


def test_imports_run_one_way():
    assert wrong_arrows(REPO) == []


def test_ls_infra_shows_the_pipeline():
    entries = {p.stem for p in (REPO / "infra").iterdir() if p.name != "__pycache__"}
    assert entries == ROOMS | BASICS | {"cli", "__init__"}


@pytest.mark.parametrize(
    ("file", "line", "expected"),
    [
        ("modules/kms/construct.py", "from infra.config import EnvConfig", "modules import infra.config"),
        ("infra/report/comment.py", "from infra.runner import operations", "report -> runner"),
        ("infra/synth/stack.py", "from infra.policy.scan import scan", "synth -> policy"),
        ("infra/policy/rules.py", "from infra.report.plan import StackPlan", "policy -> report"),
    ],
)
def test_fails_when_an_import_runs_against_the_layout(tmp_path, file, line, expected):
    for part in ("infra", "modules"):
        for path in (REPO / part).rglob("*.py"):
            copy = tmp_path / path.relative_to(REPO)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(path.read_text())
    broken = tmp_path / file
    broken.write_text(broken.read_text() + f"\n{line}\n")
    problems = wrong_arrows(tmp_path)
    assert len(problems) == 1 and expected in problems[0] and file in problems[0]
