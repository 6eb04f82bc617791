"""Our fixes to moto 5.2.5, one module per service, each small and each with a test that
shows the gap on stock moto and the fix with ours (tests/emulator/), so a fix can be
dropped when moto catches up.

Each module has `apply()`, which patches through `replace` so that `undo()` can restore
stock moto (the tests use it to show both behaviours in one process).

This package's name must not start with "moto": moto infers an exception's service from
the module path of the code that raises it.
"""

from __future__ import annotations

import importlib
from typing import Any

MODULES: tuple[str, ...] = (
    "iam_conditions",
    "iam_enforcement",
    "iam_speed",
    "efs",
    "elasticache",
    "applicationautoscaling",
    "xray",
    "kms",
    "rds",
    "rds_managed",
    "autoscaling",
    "ecs",
    "ec2",
    "wafv2",
    "elbv2",
    "guardduty",
    "cloudtrail",
    "s3",
)
_applied: list[str] = []
_originals: list[tuple[Any, str, Any]] = []


_MISSING = object()


def replace(owner: Any, name: str, new: Any) -> Any:
    """Set owner.name = new (or add it), remember what was there for undo(), return that."""
    original = vars(owner).get(name, _MISSING)
    setattr(owner, name, new)
    _originals.append((owner, name, original))
    return original


def apply(name: str) -> None:
    if name not in _applied:
        importlib.import_module(f"infra.emulator.fixes.{name}").apply()
        _applied.append(name)


def apply_all() -> None:
    for name in MODULES:
        apply(name)


def undo() -> None:
    """Back to stock moto."""
    while _originals:
        owner, name, original = _originals.pop()
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _applied.clear()


def applied() -> list[str]:
    return list(_applied)
