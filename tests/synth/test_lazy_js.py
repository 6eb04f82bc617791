"""The AWS bindings' JavaScript loads a submodule on first use (modules/common/lazy_js.py):
jsii's kernel is given a copy of their tarball whose package.json `main` is the package's own
lib/lazy-index.js, and nothing else differs. Set-up (`infra toolchain`) writes the copy."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from infra.paths import REPO
from modules.common import lazy_js


def _members(tarball: Path) -> dict[str, str]:
    """Each member's name and a digest of its content (its type for a folder or a link)."""
    seen = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for entry in archive:
            data = archive.extractfile(entry) if entry.isfile() else None
            seen[entry.name] = hashlib.sha256(data.read()).hexdigest() if data else f"{entry.type!r} {entry.linkname}"
    return seen


def _package_json(tarball: Path) -> dict[str, object]:
    with tarfile.open(tarball, "r:gz") as archive:
        found = next(entry for entry in archive if entry.name == lazy_js.PACKAGE_JSON)
        return json.load(archive.extractfile(found))  # type: ignore[arg-type,no-any-return]


def test_the_copy_set_up_wrote_is_of_the_installed_bindings_with_the_lazy_main():
    """That write() changes nothing else is shown below on a small package, member by member
    (the bindings' 4,290 would take ~6 s here)."""
    lazy, source = lazy_js.find(), lazy_js.source()
    assert source is not None
    assert lazy is not None, "set-up (`infra toolchain`) writes the copy; it is missing or stale"
    before, after = _package_json(source), _package_json(lazy.tarball)
    assert after == {**before, "main": "lib/lazy-index.js"}


def _with_jsii_log(program: str, *, before: str = "", args: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run `before`, import the seam, run `program`, in a new process on the project's Node
    with jsii's debug log (every request to the kernel) on its stderr; it must succeed."""
    head = "import sys; from infra.toolchain import use_local_node; use_local_node()"
    code = f"{head}\n{before}\nfrom modules.common.cdk import App, TerraformStack, aws\n{program}"
    env = {**os.environ, "JSII_DEBUG": "1"}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_kernel_is_given_the_copy_before_the_bindings_load_their_own():
    """jsii's debug log shows each request to the kernel: the copy's load comes first, and the
    bindings' own load (same name and version) is answered as already loaded."""
    lazy = lazy_js.find()
    assert lazy is not None, "set-up (`infra toolchain`) writes the copy"
    done = _with_jsii_log("aws.kms_key.KmsKey(TerraformStack(App(), 's'), 'k')")
    requests = [json.loads(line[2:]) for line in done.stderr.splitlines() if line.startswith("> {")]
    loads = [r["tarball"] for r in requests if r.get("api") == "load" and r.get("name") == lazy.name]
    assert loads[0] == str(lazy.tarball)
    assert len(loads) == 2 and loads[1] == str(lazy_js.source())
    assert f"look up already-loaded assembly {lazy.name}" in done.stderr  # the kernel kept the copy


def test_a_copy_jsii_cannot_load_is_named_and_the_bindings_load_whole(tmp_path):
    """A damaged copy of the right size (find() checks only the size): a warning names it,
    the kernel loads the bindings' own tarball, and the synth goes on."""
    lazy = lazy_js.find()
    assert lazy is not None, "set-up (`infra toolchain`) writes the copy"
    manifest = next(lazy_js.FOLDER.glob("*.json"))
    (tmp_path / manifest.name).write_text(manifest.read_text())
    damaged = bytearray(lazy.tarball.read_bytes())
    damaged[10:4096] = bytes(4086)  # the first deflate block: unreadable at once
    (tmp_path / lazy.tarball.name).write_bytes(damaged)
    done = _with_jsii_log(
        "print(aws.kms_key.KmsKey(TerraformStack(App(), 's'), 'k').node.id)",
        before="from pathlib import Path; from modules.common import lazy_js; lazy_js.FOLDER = Path(sys.argv[1])",
        args=[str(tmp_path)],
    )
    assert done.stdout.splitlines()[-1] == "k"
    assert f"{tmp_path / lazy.tarball.name}: jsii could not load it" in done.stderr
    assert f"look up already-loaded assembly {lazy.name}" not in done.stderr  # the original, loaded


# write() and find() on a small package of the npm shape (everything under package/)
def _tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            entry = tarfile.TarInfo(f"package/{name}")
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return path


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the bindings' tarball; copies are written under tmp_path."""
    source = tmp_path / "provider-x@1.0.0.jsii.tgz"
    monkeypatch.setattr(lazy_js, "source", lambda: source)
    monkeypatch.setattr(lazy_js, "FOLDER", tmp_path / "copies")
    return source


def _package(main: str = "lib/index.js") -> str:
    return json.dumps({"name": "@x/provider-x", "version": "1.0.0", "main": main})


def test_the_copy_points_main_at_the_lazy_index_and_is_found_until_the_bindings_change(small):
    _tarball(small, {"package.json": _package(), "lib/index.js": "eager", "lib/lazy-index.js": "lazy"})
    written = lazy_js.write()
    assert written is not None and (written.name, written.version) == ("@x/provider-x", "1.0.0")
    assert lazy_js.find() == written
    original, copy = _members(small), _members(written.tarball)
    assert original.keys() == copy.keys()
    assert [name for name in original if original[name] != copy[name]] == [lazy_js.PACKAGE_JSON]
    assert _package_json(written.tarball) == {**_package_json(small), "main": "lib/lazy-index.js"}
    assert not list(lazy_js.FOLDER.glob("*.part"))
    first = written.tarball.read_bytes()  # the same bytes each time: jsii unpacks each new tarball again
    for path in lazy_js.FOLDER.iterdir():
        path.unlink()
    assert lazy_js.write() == written and written.tarball.read_bytes() == first

    _tarball(small, {"package.json": _package(), "lib/index.js": "eager 2", "lib/lazy-index.js": "lazy"})
    assert lazy_js.find() is None  # other bindings: the kernel loads theirs, whole
    assert lazy_js.write() is not None and lazy_js.find() is not None


def test_a_manifest_that_is_not_as_written_finds_no_copy_and_set_up_writes_it_again(small):
    _tarball(small, {"package.json": _package(), "lib/index.js": "eager", "lib/lazy-index.js": "lazy"})
    written = lazy_js.write()
    assert written is not None
    manifest = next(lazy_js.FOLDER.glob("*.json"))
    good = json.loads(manifest.read_text())
    elsewhere = small.parent / "elsewhere.tgz"  # the copy's bytes, outside the folder
    elsewhere.write_bytes(written.tarball.read_bytes())
    for bad in [
        "{not json",
        json.dumps({**good, "tarball": str(elsewhere)}),
        json.dumps({"tarball": good["tarball"]}),
    ]:
        manifest.write_text(bad)
        assert lazy_js.find() is None, bad
    manifest.write_text(json.dumps(good))
    assert lazy_js.find() == written

    first = written.tarball.read_bytes()
    written.tarball.write_bytes(bytes(len(first)))  # the same size, other bytes: find() cannot tell
    assert lazy_js.find() == written
    assert lazy_js.write() == written and written.tarball.read_bytes() == first  # set-up can


@pytest.mark.parametrize(
    "files",
    [
        {"package.json": _package(), "lib/index.js": "eager"},  # no lazy-index.js
        {"package.json": _package("lib/main.js"), "lib/main.js": "", "lib/lazy-index.js": "lazy"},
    ],
    ids=["no-lazy-index", "another-main"],
)
def test_bindings_of_another_shape_get_no_copy(small, files):
    _tarball(small, files)
    assert lazy_js.write() is None
    assert lazy_js.find() is None
