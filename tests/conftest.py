"""Shared fixtures: a writable copy of the layer tree, and one synth of every environment.

`scripts/test` runs the suite on parallel workers (pytest-xdist, `--dist loadgroup`): the
environments' e2e loops spend most of their time in the provider's waiters, so they run
side by side with each other and with the fast tests. Each worker gets its own working area
(its own emulator, synth, workspaces), all sharing one plugin cache; the tests of one file
stay on one worker (their fixtures are built once), and so do the reporting tests (one
session-wide set of sample plans).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
_AREA = Path(os.environ.get("INFRA_WORK_DIR", Path(__file__).resolve().parent.parent / ".infra"))
if _WORKER:  # before anything imports infra.paths, which reads these once
    _OWN = _AREA / "workers" / _WORKER
    os.environ["INFRA_WORK_DIR"] = str(_OWN)
    os.environ.setdefault("INFRA_PLUGIN_CACHE", str(_AREA / "plugin-cache"))
    # the synth the controller made (pytest_configure below): reused, as its fingerprint says
    shutil.rmtree(_OWN / "synth", ignore_errors=True)
    if (_AREA / "synth" / "fingerprint.json").is_file():
        shutil.copytree(_AREA / "synth", _OWN / "synth", symlinks=True)
from collections.abc import Callable, Iterator  # noqa: E402 - the working area is chosen first

import pytest  # noqa: E402

from infra.paths import ENVIRONMENTS  # noqa: E402


@pytest.fixture
def layers(tmp_path: Path) -> Path:
    """A copy of environments/ that a test may break."""
    root = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, root)
    return root


@pytest.fixture
def write(layers: Path) -> Callable[[str, str], Path]:
    """write("nonprod/sa-east-1/dev/network.toml", "...") in the copied tree."""

    def _write(relative: str, text: str) -> Path:
        path = layers / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write


@pytest.fixture
def in_process_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in this process (`mock_aws`), with fake credentials, and nothing pointing boto3
    at a running emulator or a profile."""
    from moto import mock_aws

    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def synthesized():
    """Every environment synthesized once per test session (reused when unchanged)."""
    from infra.synth import synthesize
    from infra.synth.graph import StackGraph

    result = synthesize(["dev", "staging", "prod"])
    return result, StackGraph.from_synth(result.outdir)


def pytest_configure(config: pytest.Config) -> None:
    """With workers: synthesize every environment once, here, before they start."""
    if _WORKER or not getattr(config.option, "numprocesses", None):
        return
    from infra.config import environment_names
    from infra.synth import synthesize

    synthesize(environment_names())


def _group(item: pytest.Item) -> str:
    path = item.path.relative_to(Path(__file__).resolve().parent.parent).as_posix()
    if path.startswith("tests/e2e/"):  # an environment's whole loop
        env = getattr(getattr(item, "callspec", None), "params", {}).get("env", "dev")
        return f"e2e-{env}"
    if path.startswith("tests/reporting/"):
        return "reporting"
    return path


# First, each on a worker of its own: the environments' loops, the longest first; then the
# project's checks (mypy takes ~2.5 minutes of CPU from a fresh clone: started last, it ran alone).
FIRST = ("e2e-dev", "e2e-staging", "e2e-prod", "tests/test_project_checks.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`: each environment's e2e loop on a worker of its own, and
    otherwise one file per worker (see the module docstring). The FIRST groups come first,
    so that (with `--no-loadscope-reorder`) each starts at once on its own worker."""
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(_group(item)))
    if not _WORKER:
        return
    rank = {group: i for i, group in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(_group(item), len(rank)))  # stable: the rest keep their order
