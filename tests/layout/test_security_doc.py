"""docs/security.md names, for each threat, the test that shows its control: every test it
names must exist, so the page cannot point at a test that was renamed or removed."""

from __future__ import annotations

import ast
import re

from infra.paths import REPO

DOC = REPO / "docs" / "security.md"


def named(text: str) -> list[tuple[str, str]]:
    """(file, test) pairs: `tests/x.py::name`, and `::name` after one (same file)."""
    pairs, current = [], ""
    for match in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", text):
        current = match.group(1) or current
        if match.group(2):
            pairs.append((current, match.group(2)))
    return pairs


def missing(pairs: list[tuple[str, str]]) -> list[str]:
    gone = []
    for path, name in pairs:
        tree = ast.parse((REPO / path).read_text())
        if name not in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}:
            gone.append(f"{path}::{name}")
    return gone


def test_every_test_the_security_page_names_exists():
    pairs = named(DOC.read_text())
    assert len(pairs) >= 15
    assert missing(pairs) == []


def test_a_renamed_test_would_be_caught():
    text = DOC.read_text().replace("test_no_secret_value_reaches", "test_no_secret_reaches")
    assert missing(named(text)) == ["tests/e2e/test_loop.py::test_no_secret_reaches_a_report_a_log_or_a_plan_file"]
