"""Terminal output: rich when a person watches, plain lines in CI."""

from __future__ import annotations

import os

from rich.console import Console

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
