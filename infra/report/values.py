"""How one value's change reads in the comment: documents structurally, long text around the change.

A reviewer must see everything `terraform show` shows, and nothing sensitive. So a value is
never cut at a fixed width:

- A JSON document (an IAM or bucket policy, container definitions, any `jsonencode`d string)
  and a long nested value are compared structurally: each changed key, and each changed
  element of a list (a policy statement, a container), is shown in full, with the lines that
  changed marked; what stayed the same is counted ("1 other statement unchanged").
- A long plain string shows the changed part whole, with some context around it; a
  multi-line string shows the changed lines with the lines around them.
- Long lines are wrapped, so the comment's cut at whole lines never cuts a line in half.

Every line returned is a line of a `diff` block: "+ ", "- " or "  " first (or "# " for a note).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from typing import Any

MASK = "(sensitive)"
UNKNOWN = "(known after apply)"
VALUE_WIDTH = 160  # a value shorter than this reads on one line
WRAP = 160  # longer lines are wrapped at this many characters
CONTEXT = 40  # characters of a long string shown either side of its change
LINE_CONTEXT = 2  # lines of a multi-line string shown either side of a changed line
IDENTITY_KEYS = ("Sid", "name", "Name", "id", "key", "Key")  # what names a list element


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders numbers by value: `u2` before `u10`, `p[9]` before `p[10]`."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", text)))


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def document(value: Any) -> Any | None:
    """The object or list a value holds: itself, or a JSON string's content; else None."""
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str) and value[:1] in ("{", "[") and value.rstrip()[-1:] in ("}", "]"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict | list) else None
    return None


def wrap(prefix: str, text: str) -> list[str]:
    """`prefix + text`, wrapped at WRAP characters; continuation lines keep the prefix's sign."""
    if len(text) <= WRAP:
        return [prefix + text]
    sign = prefix[:2] if prefix[:2] in ("+ ", "- ", "  ", "# ") else "  "
    chunks = [text[i : i + WRAP] for i in range(0, len(text), WRAP)]
    return [prefix + chunks[0], *(f"{sign}    ↪ {chunk}" for chunk in chunks[1:])]


def pretty(value: Any, indent: int = 0) -> list[str]:
    """A value as indented lines, every item followed by a comma (as Terraform prints
    `jsonencode`), so adding an item to a list marks only that item's line as changed."""
    pad = "  " * indent
    if isinstance(value, dict) and value:
        lines = [pad + "{"]
        for key in sorted(value):
            inner = pretty(value[key], indent + 1)
            inner[0] = f"{pad}  {json.dumps(key, ensure_ascii=False)}: {inner[0].lstrip()}"
            inner[-1] += ","
            lines += inner
        return [*lines, pad + "}"]
    if isinstance(value, list) and value:
        lines = [pad + "["]
        for item in value:
            inner = pretty(item, indent + 1)
            inner[-1] += ","
            lines += inner
        return [*lines, pad + "]"]
    return [pad + dump(value)]


def _marked(old: list[str], new: list[str], margin: str) -> list[str]:
    """The lines of `new`, in full, with those that differ from `old` marked - and +."""
    lines: list[str] = []
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            lines += [f"  {margin}{line}" for line in new[b0:b1]]
            continue
        lines += [f"- {margin}{line}" for line in old[a0:a1]]
        lines += [f"+ {margin}{line}" for line in new[b0:b1]]
    return lines


def _identity(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in IDENTITY_KEYS:
            if isinstance(item.get(key), str | int):
                return f"{key} {dump(item[key])}"
    return None


def _pairs(old: list[Any], new: list[Any]) -> Iterator[tuple[int | None, int | None]]:
    """Which elements of two lists are the same element: by name (a statement's Sid, a
    container's name) when every element has one, else by position among those that differ."""
    ids_old, ids_new = [_identity(x) for x in old], [_identity(x) for x in new]
    named = all(ids_old) and all(ids_new) and len(set(ids_old)) == len(old) and len(set(ids_new)) == len(new)
    if named:
        where = {key: i for i, key in enumerate(ids_old)}
        matched = set()
        for j, key in enumerate(ids_new):
            i = where.get(key)
            matched.add(i)
            yield i, j
        yield from ((i, None) for i in range(len(old)) if i not in matched)
        return
    a, b = [dump(x) for x in old], [dump(x) for x in new]
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            yield from zip(range(a0, a1), range(b0, b1), strict=True)
            continue
        both = min(a1 - a0, b1 - b0)
        yield from zip(range(a0, a0 + both), range(b0, b0 + both), strict=True)
        yield from ((i, None) for i in range(a0 + both, a1))
        yield from ((None, j) for j in range(b0 + both, b1))


def _others(path: str, count: int) -> str:
    """ "2 other statements unchanged", "1 other element of Rules unchanged"."""
    if path.split(".")[-1] == "Statement":
        return f"{count} other statement{'s' * (count != 1)} unchanged"
    return f"{count} other element{'s' * (count != 1)}{f' of {path}' if path else ''} unchanged"


def _label(path: str, index: int, item: Any) -> str:
    name = _identity(item)
    return f"{path}[{index}]" + (f" ({name})" if name else "")


def _walk(old: Any, new: Any, path: str, margin: str) -> list[str]:
    """The changes between two documents: changed keys (recursing into objects and lists of
    objects), each changed list element in full; a note of what stayed the same."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines, same = [], []
        for key in sorted(set(old) | set(new), key=natural_key):
            here = f"{path}.{key}" if path else str(key)
            if key not in new:
                lines += [f"- {margin}{here}:"] + [f"- {margin}  {x}" for x in pretty(old[key])]
            elif key not in old:
                lines += [f"+ {margin}{here}:"] + [f"+ {margin}  {x}" for x in pretty(new[key])]
            elif old[key] != new[key]:
                lines += _walk(old[key], new[key], here, margin)
            else:
                same.append(str(key))
        if same and lines:
            shown = ", ".join(same) if len(same) <= 8 else ", ".join(same[:8]) + ", …"
            where = f" of {path}" if path else ""
            lines.append(f"# {margin}{len(same)} other key{'s' * (len(same) != 1)}{where} unchanged: {shown}")
        return lines
    if isinstance(old, list) and isinstance(new, list) and any(isinstance(x, dict | list) for x in old + new):
        items: list[str] = []
        unchanged = 0
        for i, j in _pairs(old, new):
            if i is not None and j is not None and old[i] == new[j]:
                unchanged += 1
            elif i is None and j is not None:
                items += [f"+ {margin}{_label(path, j, new[j])} added:"] + [f"+ {margin}  {x}" for x in pretty(new[j])]
            elif j is None and i is not None:
                items += [f"- {margin}{_label(path, i, old[i])} removed:"] + [
                    f"- {margin}  {x}" for x in pretty(old[i])
                ]
            elif i is not None and j is not None:
                items += [f"  {margin}{_label(path, j, new[j])} changed:"]
                items += _marked(pretty(old[i]), pretty(new[j]), margin + "  ")
        if unchanged:
            items.append(f"# {margin}{_others(path, unchanged)}")
        return items
    if isinstance(old, dict | list) or isinstance(new, dict | list):  # a list of scalars, or a type change
        return [f"  {margin}{path}:", *_marked(pretty(old), pretty(new), margin + "  ")]
    return [*wrap(f"- {margin}{path} = ", dump(old)), *wrap(f"+ {margin}{path} = ", dump(new))]


def _text_change(key: str, old: str, new: str) -> list[str]:
    """Two long or multi-line strings: the changed part whole, with context around it."""
    if "\n" in old or "\n" in new:
        a, b = old.splitlines(), new.splitlines()
        lines = [f"~ {key}: {len(a)} → {len(b)} lines, changed lines with {LINE_CONTEXT} around them:"]
        for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(LINE_CONTEXT):
            lines.append(f"# @@ line {group[0][1] + 1} @@")
            for op, a0, a1, b0, b1 in group:
                if op == "equal":
                    lines += [x for line in a[a0:a1] for x in wrap("      ", line)]
                    continue
                lines += [x for line in a[a0:a1] for x in wrap("-     ", line)]
                lines += [x for line in b[b0:b1] for x in wrap("+     ", line)]
        return lines
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    left = max(0, start - CONTEXT)
    pieces = []
    for sign, text in (("-", old), ("+", new)):
        stop = len(text) - end
        shown = ("…" if left else "") + text[left : min(len(text), stop + CONTEXT)]
        shown += "…" if stop + CONTEXT < len(text) else ""
        pieces += wrap(f"{sign} {key} = ", json.dumps(shown, ensure_ascii=False))
    note = f"# {key}: {len(old)} → {len(new)} characters; changed from character {start + 1}, shown with context"
    return [note, *pieces]


def value_lines(sign: str, key: str, value: Any, *, sensitive: bool = False) -> list[str]:
    """One value added or removed whole (`sign` + or -): documents pretty-printed in full."""
    if sensitive:
        return [f"{sign} {key} = {MASK}"]
    if isinstance(value, str) and "\n" in value.rstrip("\n"):
        return [
            f"{sign} {key} = <<EOT",
            *(x for line in value.splitlines() for x in wrap(f"{sign}     ", line)),
            f"{sign} EOT",
        ]
    doc = document(value)
    if doc is not None and len(dump(value)) > VALUE_WIDTH:
        label = f"{sign} {key} = jsonencode(" if isinstance(value, str) else f"{sign} {key} ="
        lines = [label, *(f"{sign}   {line}" for line in pretty(doc))]
        return [*lines, f"{sign} )"] if isinstance(value, str) else lines
    return wrap(f"{sign} {key} = ", dump(value))


def change_lines(
    key: str,
    old: Any,
    new: Any,
    *,
    old_sensitive: bool = False,
    new_sensitive: bool = False,
    unknown: bool = False,
    note: str = "",
) -> list[str]:
    """The lines of one attribute that changes from `old` to `new` (`None`: absent)."""
    tail = f"  # {note}" if note else ""
    lines: list[str] = []
    if old_sensitive or new_sensitive:
        if old is not None:
            lines.append(f"- {key} = {MASK}")
        if unknown or new is not None:
            lines.append(f"+ {key} = {UNKNOWN if unknown else MASK}{tail}")
        return lines
    if unknown:
        return [*(value_lines("-", key, old) if old is not None else []), f"+ {key} = {UNKNOWN}{tail}"]
    if old is None or new is None:
        lines = value_lines("-", key, old) if old is not None else value_lines("+", key, new)
        return [lines[0] + tail, *lines[1:]]
    a, b = document(old), document(new)
    short = len(dump(old)) <= VALUE_WIDTH and len(dump(new)) <= VALUE_WIDTH
    if a is not None and b is not None and (isinstance(old, str) or not short):
        kind = "JSON document" if isinstance(old, str) else "value"
        return [f"~ {key}: {kind} changed{' (' + note + ')' if note else ''}:", *_walk(a, b, "", "    ")]
    if isinstance(old, str) and isinstance(new, str) and (not short or "\n" in old + new):
        lines = _text_change(key, old, new)
        return [lines[0] + tail, *lines[1:]]
    return [*wrap(f"- {key} = ", dump(old)), *wrap(f"+ {key} = ", dump(new) + tail)]
