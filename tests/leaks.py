"""Search files for known secret values: what a workflow could publish must hold none.

A value is looked for as written and as it appears inside JSON (escaped); plan files are
zip archives, searched member by member.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path


def _forms(value: str) -> set[bytes]:
    return {value.encode(), json.dumps(value)[1:-1].encode()}


def _contents(path: Path) -> Iterable[tuple[str, bytes]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield f"{path}!{member}", archive.read(member)
    else:
        yield str(path), path.read_bytes()


def leaked(secrets: Mapping[str, str], files: Iterable[Path]) -> list[tuple[str, str]]:
    """(where, which secret) for every file (or archive member) holding a secret's value."""
    found = []
    for path in files:
        for where, data in _contents(path):
            found += [(where, name) for name, value in secrets.items() if any(f in data for f in _forms(value))]
    return found
