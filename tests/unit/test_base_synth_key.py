"""The base commit's synth is kept per source tree, and per override variables: a base made
with a suffix (an ephemeral environment) is not the base of an unsuffixed plan."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.config.layers import SUFFIX_VARIABLE
from infra.synth import tree


class Synthesized(Exception):
    """Raised instead of synthesizing: the cache did not answer."""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "file").write_text("one")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True)
    monkeypatch.setattr(tree, "BASE_SYNTHS", tmp_path / "base")
    monkeypatch.delenv(SUFFIX_VARIABLE, raising=False)

    def synthesize_tree(path: Path, label: str = "") -> Path:
        raise Synthesized(label)

    monkeypatch.setattr(tree, "synthesize_tree", synthesize_tree)
    return root


def _keep(repo: Path, ref: str) -> Path:
    """Put a finished synth where synthesize_ref looks for REF's."""
    key = subprocess.run(["git", "rev-parse", f"{ref}^{{tree}}"], cwd=repo, capture_output=True, text=True).stdout
    done = tree.BASE_SYNTHS / key.strip() / tree.SYNTH_RELATIVE
    done.mkdir(parents=True)
    (done / "manifest.json").write_text("{}")
    return done


def test_a_commit_with_the_same_tree_reuses_the_synth(repo: Path):
    kept = _keep(repo, "HEAD")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "two"],
        cwd=repo,
        check=True,
    )
    assert tree.synthesize_ref("HEAD", repo=repo) == kept  # a new commit, the same tree


def test_an_override_variable_makes_its_own_base(repo: Path, monkeypatch: pytest.MonkeyPatch):
    kept = _keep(repo, "HEAD")
    assert tree.synthesize_ref("HEAD", repo=repo) == kept
    monkeypatch.setenv(SUFFIX_VARIABLE, "pr42")
    with pytest.raises(Synthesized):
        tree.synthesize_ref("HEAD", repo=repo)
