"""One renderer for the pull-request comment, the job summary and the drift report.

The document is built in priority order and always fits its limit: the headline, the
warning about deletes and replaces, the table, new checkov failures and failed stacks
first; then one folded block per stack with changes (stacks that delete first, then
replace, update, create), each cut at whole lines; stacks whose block no longer fits are
listed compactly with a pointer to the full report. Blocks are added whole, so nothing is
ever cut inside a code fence or a <details>.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from infra.config import Promotion, promotion
from infra.report.plan import ACTIONS, MAIN, NOT_PLANNED, SIGNS, ResourceChange, StackPlan
from infra.report.values import natural_key

COMMENT_LIMIT = 65_536  # characters GitHub accepts in an issue or pull-request comment
SUMMARY_LIMIT = 1_048_576  # bytes GitHub accepts in one step's $GITHUB_STEP_SUMMARY
BLOCK_SHARE = 4  # one stack's block takes at most a quarter of the limit
ADDRESSES_PER_ACTION = 40
ALLOW_LABEL = "allow-stateful-changes"


KINDS = ("plan", "apply", "drift")


@dataclass(frozen=True)
class Context:
    kind: str = "plan"  # plan (a pull request), apply (after merge), drift (nothing changed in code)
    target: str = ""  # what the report covers: "dev", "all environments"
    sha: str = ""
    allow_stateful: bool = False
    report_url: str = ""  # where the full report is (the run's job summary, an artifact)
    marker: str = ""  # hidden comment that identifies this report for updates
    extra: str = ""  # markdown shown after the summary (the probe results of an apply)
    # the order merges apply environments in, and which wait for approval (from the layers)
    promotion: Promotion = field(default_factory=promotion)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")

    @property
    def drift(self) -> bool:
        return self.kind == "drift"


def measure(text: str) -> int:
    """Size as GitHub counts it at worst (bytes; a character is never more)."""
    return len(text.encode("utf-8"))


def blocked_by(plans: Sequence[StackPlan], ctx: Context) -> list[str]:
    """Why the check fails: unapproved stateful deletes/replaces, new checkov failures, failed stacks."""
    reasons = []
    stateful = [c for p in plans for c in p.destructive if c.stateful and c.destroys]
    if stateful and not ctx.allow_stateful and ctx.kind == "plan":
        reasons.append(f"{len(stateful)} stateful delete/replace (label `{ALLOW_LABEL}` allows them)")
    findings = sum(len(p.new_findings) for p in plans)
    if findings:
        reasons.append(f"{findings} new checkov failure{'s' * (findings != 1)}")
    failed = [p.stack for p in plans if p.status == "failed"]
    if failed:
        reasons.append(f"{len(failed)} stack{'s' * (len(failed) != 1)} failed to plan")
    return reasons


def _totals(plans: Sequence[StackPlan]) -> str:
    main = " ".join(f"{SIGNS[a]}{sum(p.count(a) for p in plans)}" for a in MAIN)
    every = StackPlan(
        "",
        "",
        "",
        changes=tuple(c for p in plans for c in p.changes),
        outputs=tuple(o for p in plans for o in p.outputs),
    )
    return " · ".join(part for part in (main, every.others()) if part)


def code(text: str) -> str:
    """Text from Terraform or checkov as inline code: on one line, in a run of backticks
    longer than any inside it, so nothing in it can end the span or become markdown."""
    text = " ".join(text.split())
    ticks = max((len(run) for run in re.findall(r"`+", text)), default=0)
    pad = " " if ticks else ""
    return f"{'`' * (ticks + 1)}{pad}{text}{pad}{'`' * (ticks + 1)}"


def plain(text: str) -> str:
    """Text from Terraform, checkov or GitHub as plain words on one line: no HTML, no links,
    no emphasis, no table cells and no @mentions can come out of it."""
    text = html.escape(" ".join(text.split()), quote=False)
    return re.sub(r"([\\`*\[\]|@~!#])", r"\\\1", text)


def _what_merging_does(plans: Sequence[StackPlan], promo: Promotion) -> str:
    envs = sorted({p.environment for p in plans if p.has_changes}, key=promo.rank)
    if not envs:
        return "Merging changes no infrastructure."
    # account-wide stacks (scope "nonprod", "prod") are applied with their account's first environment
    scopes = _account_scopes(plans)
    accounts = [f"`{e}` (account-wide)" for e in envs if e in scopes]
    own = [f"`{e}`" + (" (after approval)" if promo.needs_approval(e) else "") for e in envs if e not in scopes]
    steps = " → ".join(accounts + own)
    return f"Merging applies these changes in order: {steps}, each followed by the post-apply probes."


def _account_scopes(plans: Sequence[StackPlan]) -> set[str]:
    """Scopes of account-wide stacks that are not also an environment here (prod is both)."""
    accounts = {p.environment for p in plans if p.component == "account"}
    return accounts - {p.environment for p in plans if p.component != "account"}


def _headline(plans: Sequence[StackPlan], ctx: Context) -> list[str]:
    changed = [p for p in plans if p.has_changes or p.outside]
    reasons = blocked_by(plans, ctx)
    if ctx.kind == "drift":
        icon, status = ("⚠️", "drift found") if changed else ("✅", "no drift")
    elif ctx.kind == "apply":
        icon, status = ("⛔", "failed") if reasons else ("✅", "applied")
    else:
        icon, status = ("⛔", "blocked") if reasons else ("✅", "ready")
    target = f" for `{ctx.target}`" if ctx.target else ""
    count = f"{len(changed)} stack{'s' * (len(changed) != 1)} {'drifted' if ctx.drift else 'changed'}"
    lines = [f"### {icon} {ctx.kind.capitalize()}{target}: {status} · {count} · {_totals(plans)}", ""]
    facts = [f"commit `{ctx.sha[:12]}`"] if ctx.sha else []
    facts.append(f"{sum(p.status == 'ok' for p in plans)} stacks planned" if plans else "no stack affected")
    waiting = sum(p.status == "deferred" for p in plans)
    if waiting:
        facts.append(f"{waiting} wait for an upstream stack's first apply (planned after it)")
    lines.append(" · ".join(facts))
    if ctx.kind == "plan":
        lines += ["", _what_merging_does(plans, ctx.promotion)]
    if reasons:
        lines += ["", "**This check fails:** " + "; ".join(reasons) + "."]
    return lines


def _warning(plans: Sequence[StackPlan], ctx: Context) -> list[str]:
    destructive = [(p, c) for p in plans for c in p.destructive]
    forgotten = [(p, c) for p in plans for c in p.forgotten]
    lines = []
    if destructive:
        lines += ["", "> [!WARNING]", f"> **{len(destructive)} delete/replace** in this plan:"]
        for p, c in destructive:
            mark = f" ⛔ **stateful ({c.stateful})**" if c.stateful and c.destroys else ""
            why = "; ".join(x for x in (c.reason, _unusual_order(c)) if x)
            lines.append(f"> - `{p.stack}`: {c.action} {code(c.address)}{mark}" + (f" ({why})" if why else ""))
        if any(c.stateful and c.destroys for _, c in destructive):
            allowed = (
                "allowed for this run" if ctx.allow_stateful else f"blocked unless the PR has label `{ALLOW_LABEL}`"
            )
            lines.append(f"> Stateful deletes/replaces lose data: {allowed}.")
    if forgotten:
        lines += ["", "> [!NOTE]", f"> **{len(forgotten)} no longer managed by Terraform** (they stay in AWS):"]
        lines += [f"> - `{p.stack}`: {code(c.address)}" for p, c in forgotten]
    return lines


def _unusual_order(change: ResourceChange) -> str:
    """A replace's order when it is not Terraform's default (destroy first)."""
    return change.replace_order if change.replace_order and not change.replace_order.startswith("destroy") else ""


def _table(plans: Sequence[StackPlan], promo: Promotion) -> list[str]:
    changed = [p for p in plans if p.has_changes or p.outside or p.new_findings]
    lines = [""]
    if changed:
        lines += [
            "| environment | component | add | change | replace | destroy | other | outside | new checkov |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
        ]
        for p in sorted(changed, key=lambda p: (promo.rank(p.environment), p.priority, natural_key(p.stack))):
            counts = " | ".join(str(p.count(a)) for a in MAIN)
            lines.append(
                f"| {p.environment} | {p.component} | {counts} | {p.others()} | {len(p.outside)} "
                f"| {len(p.new_findings) or ''} |"
            )
    quiet = [p for p in plans if p.status == "ok" and not (p.has_changes or p.outside or p.new_findings)]
    unchanged = sorted((p.stack for p in quiet if p.detail != NOT_PLANNED), key=natural_key)
    skipped = sorted((p.stack for p in quiet if p.detail == NOT_PLANNED), key=natural_key)
    if unchanged:
        stacks = "stack" if len(unchanged) == 1 else "stacks"
        lines += ["", f"No changes in {len(unchanged)} {stacks}: " + ", ".join(f"`{s}`" for s in unchanged) + "."]
    if skipped:
        lines += [
            "",
            "Not planned, downstream of a change that changes no output they read: "
            + ", ".join(f"`{s}`" for s in skipped)
            + ".",
        ]
    return lines


def _problems(plans: Sequence[StackPlan]) -> list[str]:
    lines = []
    findings = [(p.stack, f) for p in plans for f in p.new_findings]
    if findings:
        lines += ["", f"**New checkov failures** (versus the base branch): {len(findings)}", ""]
        lines += [f"- `{stack}`: {f}" for stack, f in findings]
    others = [p for p in plans if p.status != "ok"]
    if others:
        lines += ["", "**Stacks without a plan:**", ""]
        lines += [f"- `{p.stack}`: {p.status}: {plain(_one_line(p.detail))}" for p in others]
    return lines


def _one_line(text: str) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return (kept[-1] if kept else "")[:300]


def _fenced(lines: Sequence[str]) -> list[str]:
    if any("```" in line for line in lines):  # a fence inside would end ours early
        return ["<pre>", *(html.escape(line) for line in lines), "</pre>"]
    return ["```diff", *lines, "```"]


def _groups(changes: Sequence[ResourceChange]) -> list[str]:
    """The groups present, in ACTIONS order; an action this code does not know comes first."""
    present = {c.group for c in changes}
    return sorted(present - set(ACTIONS)) + [a for a in ACTIONS if a in present]


def _notes(c: ResourceChange) -> list[str]:
    notes = [c.reason] if c.reason else []
    notes += [_unusual_order(c)] if _unusual_order(c) else []
    notes += [f"moved from {code(c.moved_from)}"] if c.moved_from else []
    notes += [f"imported from id {code(c.import_id)}"] if c.import_id else []
    return notes


def _resource_lines(changes: Sequence[ResourceChange], heading: str) -> list[str]:
    lines = []
    for action in _groups(changes):
        group = [c for c in changes if c.group == action]
        lines += ["", f"**{heading}{action}** ({len(group)})", ""]
        for c in group[:ADDRESSES_PER_ACTION]:
            mark = [f"stateful ({c.stateful})"] if c.stateful and c.destroys else []
            lines.append(" — ".join([f"- {code(c.address)}", *mark, *_notes(c)]))
        if len(group) > ADDRESSES_PER_ACTION:
            lines.append(f"- … and {len(group) - ADDRESSES_PER_ACTION} more")
    return lines


VERBS = {  # as Terraform's plan text says it
    "create": "will be created",
    "update": "will be updated in-place",
    "replace": "must be replaced",
    "delete": "will be destroyed",
    "forget": "will no longer be managed by Terraform, but will not be destroyed",
    "read": "will be read during apply",
    "import": "will be imported",
    "move": "has moved",
}


def _header(c: ResourceChange) -> str:
    verb = VERBS.get(c.group, f"will be changed ({c.action})")
    if c.group == "import":
        verb += f" from id {c.import_id}"
    if c.group == "move":
        verb += f" from {c.moved_from}"
    notes = [c.replace_order] if c.replace_order else []
    notes += [c.reason] if c.reason else []
    notes += [f"moved from {c.moved_from}"] if c.moved_from and c.group != "move" else []
    notes += [f"imported from id {c.import_id}"] if c.import_id and c.group != "import" else []
    return f"# {c.address} {verb}" + (f" ({'; '.join(notes)})" if notes else "")


def _diff(changes: Sequence[ResourceChange]) -> list[str]:
    lines = []
    for c in changes:
        lines.append(_header(c))
        lines += c.lines
    return lines


def _output_diff(outputs: Sequence[ResourceChange]) -> list[str]:
    if not outputs:
        return []
    lines = ["", "# --- changes to outputs ---"]
    for o in outputs:
        lines += [f"# output {o.address.removeprefix('output.')} {VERBS.get(o.action, o.action)}", *o.lines]
    return lines


def _block(plan: StackPlan, budget: int) -> str:
    """One stack's folded details, its diff cut at whole lines to stay within budget."""
    summary = f"<details><summary><code>{plan.stack}</code>: {plan.totals()}"
    summary += f", {len(plan.outside)} changed outside Terraform" if plan.outside else ""
    head = [summary + "</summary>", *_resource_lines(plan.changes, "")]
    if plan.outside:
        head += _resource_lines(plan.outside, "Changed outside Terraform: ")
    if plan.outputs:
        head += ["", f"**outputs** ({len(plan.outputs)}): " + ", ".join(code(o.address[7:]) for o in plan.outputs)]
    diff = _diff(plan.changes) + _output_diff(plan.outputs)
    outside = _diff(plan.outside)
    if outside:
        diff = [*diff, "", "# --- changed outside Terraform (the next apply sets these back) ---", *outside]
    for keep in _shrinking(len(diff)):
        body = diff[:keep]
        if keep < len(diff):
            body = [*body, f"# … {len(diff) - keep} more lines: see the full report"]
        text = "\n".join([*head, "", *_fenced(body), "", "</details>", ""])
        if measure(text) <= budget:
            return text
    return ""


def _shrinking(n: int) -> list[int]:
    """Line counts to try, from all of them down to none (halving, so long diffs are quick)."""
    counts, k = [], n
    while k > 0:
        counts.append(k)
        k //= 2
    return [*counts, 0]


def render(plans: Sequence[StackPlan], ctx: Context, limit: int = COMMENT_LIMIT) -> str:
    lines = [ctx.marker] if ctx.marker else []
    lines += _headline(plans, ctx) + _warning(plans, ctx) + _table(plans, ctx.promotion) + _problems(plans)
    lines += ["", ctx.extra.strip()] if ctx.extra.strip() else []
    head = "\n".join(lines) + "\n"
    pointer = f"[full report]({ctx.report_url})" if ctx.report_url else "the full report (job summary)"
    detailed = sorted(
        (p for p in plans if p.has_changes or p.outside), key=lambda p: (p.priority, natural_key(p.stack))
    )
    footer_room = 400 + 120 * len(detailed)  # the compact list of stacks that did not fit, at worst
    if measure(head) + footer_room > limit:
        head = _cut(head, limit - footer_room)
    body, compact = [], []
    used = measure(head) + footer_room
    for plan in detailed:
        block = _block(plan, min(limit // BLOCK_SHARE, limit - used))
        if block:
            body.append(block)
            used += measure(block) + 1
        else:
            compact.append(f"- `{plan.stack}`: {plan.totals()}")
    text = head + ("\n" + "\n".join(body) if body else "")
    if compact:
        text += f"\n**{len(compact)} more stacks** did not fit here; their details are in {pointer}:\n\n"
        text += "\n".join(compact) + "\n"
    if measure(text) > limit:  # cannot happen with the room kept above; never post over the limit
        text = _cut(text, limit)
    return text


def _cut(text: str, limit: int) -> str:
    """Whole lines up to the limit (used on the head, which has no fences or details)."""
    note = "\n… (cut to fit; see the full report)\n"
    kept, size = [], measure(note)
    for line in text.splitlines():
        size += measure(line) + 1
        if size > limit:
            break
        kept.append(line)
    return "\n".join(kept) + note
