"""The LMS: its ECS service, and the probe task that runs in its place (probe.py).

`Lms` and `LmsProps` load on first use (PEP 562): the probe program (probe_program.py) is
imported by the post-apply suite and the runner, which need none of the CDKTF bindings
(10 s to load, for every probe run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modules.lms.construct import Lms, LmsProps

__all__ = ["Lms", "LmsProps"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from modules.lms import construct

        return getattr(construct, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
