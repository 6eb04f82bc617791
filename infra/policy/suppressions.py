"""Load suppressions.toml and compile it into checkov's own flags."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.config.errors import ConfigError, Problem, display_path

SUPPRESSIONS = Path(__file__).with_name("suppressions.toml")


class Suppression(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    check: Annotated[str, Field(pattern=r"^CKV2?_[A-Z]+_\d+$")]
    resources: list[str]
    scopes: list[str] | None = None
    reason: Annotated[str, Field(min_length=40)]

    def covers(self, scope: str, address: str) -> bool:
        if self.scopes is not None and scope not in self.scopes:
            return False
        kind = address.split(".", 1)[0]
        return any(
            pattern == "*" or pattern == kind or fnmatch.fnmatchcase(address, pattern) for pattern in self.resources
        )


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    suppression: list[Suppression]


def load(path: Path = SUPPRESSIONS) -> list[Suppression]:
    try:
        return _File.model_validate(tomllib.loads(path.read_text())).suppression
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError.single(path, "", f"invalid TOML: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(
            [Problem(display_path(path), ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None


def global_checks(suppressions: Iterable[Suppression]) -> list[str]:
    """Checks skipped for every resource everywhere: passed to checkov as --skip-check."""
    return sorted({s.check for s in suppressions if s.scopes is None and s.resources == ["*"]})


def match(suppressions: Iterable[Suppression], check: str, scope: str, address: str) -> Suppression | None:
    """The suppression that accepts this finding, if any."""
    return next((s for s in suppressions if s.check == check and s.covers(scope, address)), None)
