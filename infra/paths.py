"""Where things live in the repository and in the working area (kept out of git)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# INFRA_ENVIRONMENTS points the engine at another layer tree (tests use copies of this one).
ENVIRONMENTS = Path(os.environ.get("INFRA_ENVIRONMENTS", REPO / "environments"))
MODULES = REPO / "modules"
# Everything generated at run time lives below one directory, ignored by git.
WORK = Path(os.environ.get("INFRA_WORK_DIR", REPO / ".infra"))
SYNTH_OUT = WORK / "synth"
# Tools installed on first use (Prowler): shared by every working area, never per test worker.
TOOLS = Path(os.environ.get("INFRA_TOOLS_DIR", REPO / ".infra" / "tools"))
