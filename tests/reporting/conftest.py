"""Real plans made on the emulator, once per session, and a fake GitHub over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reporting.fake_github import FakeGitHub


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of infra/pipeline/samples.py, planned against a fresh emulator."""
    from infra.pipeline import samples as sample_plans

    return sample_plans.build_on_emulator(tmp_path_factory.mktemp("plans"))


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """A local server that answers like GitHub's REST API; the environment points at it."""
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        monkeypatch.setenv("GITHUB_REPOSITORY", "edutech/infra")
        yield fake
