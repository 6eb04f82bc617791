"""The one error type for bad configuration: it always names the file and the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infra.errors import BadInput
from infra.paths import REPO


def display_path(path: Path | str) -> str:
    """A path relative to the repository when it is inside it (what a reviewer sees).

    A symbolic link is shown where it is, not resolved: it may point nowhere, or at itself.
    """
    p = Path(path)
    try:
        absolute = p.parent.resolve() / p.name
    except (OSError, RuntimeError):  # a loop above it
        absolute = p.absolute()
    try:
        return str(absolute.relative_to(REPO))
    except ValueError:
        return str(p)


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


@dataclass
class ConfigError(BadInput):
    """One or more problems in hand-edited configuration. Exit code 2; nothing is synthesized."""

    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def single(cls, file: Path | str, key: str, message: str) -> ConfigError:
        return cls([Problem(display_path(file), key, message)])

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
