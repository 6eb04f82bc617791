"""`infra config ENV --explain`: every merged value with the file (or variable) that set it,
then the [require] rules the environment meets, with the file of each."""

from __future__ import annotations

import json
from typing import Any

from infra.config.layers import Loaded


def explain(loaded: Loaded) -> list[str]:
    merged = loaded.config.model_dump(mode="json")
    rows = []
    for key, source in sorted(loaded.provenance.items()):
        value: Any = merged
        for part in key:
            value = value[part]
        rows.append((f"{'.'.join(key)} = {json.dumps(value)}", source))
    rows += [(str(rule), rule.source) for rule in loaded.requirements]  # the [require] rules it meets
    width = max((len(left) for left, _ in rows), default=0)
    return [f"{left.ljust(width)}  # {source}" for left, source in rows]
