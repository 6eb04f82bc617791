"""The synth cache is keyed on what synthesis really reads, not on a hand-kept list."""

from __future__ import annotations

import json
import shutil

import pytest

from infra.paths import REPO
from infra.synth.synthesis import FINGERPRINT_FILE, engine_sources, fingerprint


def test_a_synth_records_the_engine_files_it_read(synthesized):
    import infra.report.comment  # noqa: F401 - loaded in this process, but no synthesis room

    result, _ = synthesized
    recorded = set(json.loads((result.outdir / FINGERPRINT_FILE).read_text())["sources"])
    for builder in (
        "infra/synth/app.py",
        "infra/synth/components.py",
        "infra/synth/stack.py",
        "infra/config/models.py",
    ):
        assert builder in recorded
    now = {str(p.relative_to(REPO)) for p in engine_sources()}
    assert "infra/synth/synthesis.py" in now and "infra/paths.py" in now
    assert not {"infra/report/comment.py", "infra/cli.py"} & now  # editing them keeps the cache


@pytest.fixture
def trees(tmp_path, monkeypatch):
    """Copies of the layers, the modules and one engine file, with the fingerprint reading them."""
    import infra.synth.synthesis as synthesis

    layers, modules = tmp_path / "environments", tmp_path / "modules"
    shutil.copytree(REPO / "environments", layers)
    shutil.copytree(REPO / "modules", modules, ignore=shutil.ignore_patterns("__pycache__"))
    engine = tmp_path / "stack.py"
    shutil.copyfile(REPO / "infra" / "synth" / "stack.py", engine)
    monkeypatch.setattr(synthesis, "ENVIRONMENTS", layers)
    monkeypatch.setattr(synthesis, "MODULES", modules)
    return layers, modules, engine


def test_adding_a_module_file_misses_the_cache(trees):
    _, modules, engine = trees
    before = fingerprint([engine])
    added = modules / "storage" / "lifecycle.json"
    added.write_text("{}")
    assert fingerprint([engine]) != before
    added.unlink()
    assert fingerprint([engine]) == before


def test_a_module_readme_keeps_the_cache(trees):
    _, modules, engine = trees
    before = fingerprint([engine])
    (modules / "redis" / "README.md").write_text("reworded\n")
    assert fingerprint([engine]) == before


def test_a_changed_layer_or_engine_file_misses_the_cache(trees):
    layers, _, engine = trees
    before = fingerprint([engine])
    (layers / "nonprod" / "sa-east-1" / "dev" / "redis.toml").write_text("num_cache_clusters = 3\n")
    after_layer = fingerprint([engine])
    engine.write_text(engine.read_text() + "\n# changed\n")
    assert len({before, after_layer, fingerprint([engine])}) == 3


def test_an_override_variable_misses_the_cache(trees, monkeypatch):
    _, _, engine = trees
    before = fingerprint([engine])
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "pr42")
    assert fingerprint([engine]) != before
