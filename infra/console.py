"""Terminal output: rich when a person watches, plain lines in CI."""

from __future__ import annotations

from rich.console import Console

# emoji=False: rich would turn ":secret:" inside a Secrets Manager ARN into a picture.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
