"""The AWS bindings' JavaScript, loaded a submodule at a time (modules/common/cdk.py loads it).

jsii's kernel (Node) requires a package through its package.json `main`. The bindings' main,
lib/index.js, requires all 2,123 submodules at once: ~2 s of Node CPU in every process that
synthesizes. The package also ships lib/lazy-index.js (written by `cdktf get`): the same
exports, each a getter that requires its submodule on first use. `write()` copies the
bindings' tarball with `main` pointing there and nothing else changed; set-up (`infra
toolchain`) calls it once per installed version, and the seam hands that copy to the kernel
before the bindings load their own (which the kernel then finds loaded).

No jsii here: set-up imports this without starting Node.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "cdktf_cdktf_provider_aws"
EAGER_MAIN, LAZY_MAIN = "lib/index.js", "lib/lazy-index.js"
PACKAGE_JSON = "package/package.json"  # a jsii tarball is an npm pack: everything under package/
# Derived from an installed package, so it lives with the installed packages.
FOLDER = Path(sys.prefix) / "share" / "edutech-infra" / "lazy-js"


@dataclass(frozen=True)
class Lazy:
    """The copy to load: the assembly it is, and its tarball."""

    name: str  # the jsii assembly, e.g. @cdktf/provider-aws
    version: str
    tarball: Path


def source() -> Path | None:
    """The bindings' own tarball (found without importing the bindings: that is the slow part)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations)), "_jsii").glob("*.jsii.tgz"))
    return found[0] if len(found) == 1 else None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(src: Path) -> Path:
    return FOLDER / f"{src.name.removesuffix('.jsii.tgz')}.json"


_KEYS = frozenset({"name", "version", "tarball", "size", "sha256", "source_sha256"})


def _recorded(src: Path, src_sha256: str) -> dict[str, Any] | None:
    """What the manifest says of the copy for these bindings, or None (none, does not parse,
    names a file outside the folder, or was written for other bindings)."""
    try:
        said = json.loads(_manifest(src).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(said, dict) or not said.keys() >= _KEYS:
        return None
    name = said["tarball"]
    if not isinstance(name, str) or Path(name).name != name or said["source_sha256"] != src_sha256:
        return None
    return said


def _copy(said: dict[str, Any] | None) -> Lazy | None:
    """The copy a manifest names, if a file of its recorded size is there."""
    if said is None:
        return None
    tarball = FOLDER / said["tarball"]
    if not tarball.is_file() or tarball.stat().st_size != said["size"]:
        return None
    return Lazy(said["name"], said["version"], tarball)


def find() -> Lazy | None:
    """The copy written for the installed bindings, or None: the kernel then loads their own
    tarball, whole. Every synth asks (hashing their 34 MB tarball: ~45 ms of ~3.6 s), so the
    copy is checked by size here and by digest at set-up (`write`)."""
    src = source()
    return _copy(_recorded(src, _digest(src))) if src is not None else None


def write() -> Lazy | None:
    """Write the copy for the installed bindings unless it is there, whole (its digest as
    recorded); None when their package has another shape (no lazy-index.js, or another
    main): they then load whole."""
    src = source()
    if src is None:
        return None
    src_sha256 = _digest(src)
    said = _recorded(src, src_sha256)
    found = _copy(said)
    if found is not None and said is not None and _digest(found.tarball) == said["sha256"]:
        return found
    with tarfile.open(src, "r:gz") as original:
        names = set(original.getnames())
        member = original.getmember(PACKAGE_JSON)
        package = json.loads(original.extractfile(member).read())  # type: ignore[union-attr]
        if package.get("main") != EAGER_MAIN or f"package/{LAZY_MAIN}" not in names:
            return None
        package["main"] = LAZY_MAIN
        FOLDER.mkdir(parents=True, exist_ok=True)
        name = f"{src.name.removesuffix('.jsii.tgz')}.lazy.jsii.tgz"
        with tempfile.NamedTemporaryFile(dir=FOLDER, suffix=".part", delete=False) as part:
            try:
                # the same bindings give the same bytes: jsii caches what it unpacks by content
                with (
                    gzip.GzipFile("", "wb", 1, part, mtime=0) as zipped,  # no name, no time in the header
                    tarfile.open(fileobj=zipped, mode="w", format=original.format) as copy,
                ):
                    for entry in original:
                        data = original.extractfile(entry) if entry.isfile() else None
                        if entry.name == PACKAGE_JSON:
                            text = (json.dumps(package, indent=2) + "\n").encode()
                            entry.size, data = len(text), io.BytesIO(text)
                        copy.addfile(entry, data)
            except BaseException:
                Path(part.name).unlink()
                raise
        written = Path(part.name)
        written.chmod(0o644)  # as installed packages are (the temporary file was 0600)
        written.replace(FOLDER / name)
    copy_of = {"tarball": name, "size": (FOLDER / name).stat().st_size, "sha256": _digest(FOLDER / name)}
    said = {"name": package["name"], "version": package["version"], **copy_of, "source_sha256": src_sha256}
    with tempfile.NamedTemporaryFile("w", dir=FOLDER, suffix=".part", delete=False) as manifest:
        manifest.write(json.dumps(said, indent=1) + "\n")  # last, and whole: it names a whole tarball
    Path(manifest.name).chmod(0o644)
    Path(manifest.name).replace(_manifest(src))
    return Lazy(said["name"], said["version"], FOLDER / name)
