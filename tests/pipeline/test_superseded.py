"""An apply never goes back in history: a re-run of an older commit's apply, or a slow job
of an older run, would undo the newer merge already applied and move the record back."""

from __future__ import annotations

import subprocess

import pytest

from infra.paths import REPO
from infra.pipeline import merge
from infra.runner.record import Record


def _sha(ref: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", ref], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_ancestry_is_read_from_git():
    head, parent = _sha("HEAD"), _sha("HEAD~1")
    assert merge.is_ancestor(parent, head) is True
    assert merge.is_ancestor(head, parent) is False
    assert merge.is_ancestor("0" * 40, head) is None  # unknown: not a verdict


def test_an_older_commit_than_the_applied_one_is_refused(monkeypatch: pytest.MonkeyPatch):
    head, parent = _sha("HEAD"), _sha("HEAD~1")
    monkeypatch.setattr(
        merge, "read_record", lambda bucket, region, env: Record(environment="dev", commit=head, applied_at="now")
    )
    with pytest.raises(merge.Superseded, match="is not an ancestor"):
        merge.stacks_since_record(
            "dev",
            bucket="b",
            region="r",
            commit=parent,
            graph=None,  # type: ignore[arg-type]
            head_out=REPO,
            synth_ref=lambda ref: REPO,
        )
