"""Terraform's output is streamed: to each stack's log as it is written, and to the live view.

A fake `terraform` on PATH says a line, then waits until the test lets it go (a file
appears), so the test can look at the log and the view while Terraform still runs.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from infra.runner.executor import OK, run_graph
from infra.runner.live import RunView
from infra.runner.terraform import Workspace
from infra.synth.graph import StackGraph, StackNode

FAKE = """\
#!{python}
import pathlib, sys, time
stack = pathlib.Path.cwd().name
print(f"{{sys.argv[1]}} {{stack}}: first line", flush=True)
gate = pathlib.Path({gates!r}) / stack
deadline = time.monotonic() + 60
while not gate.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
print(f"{{stack}}: last line", flush=True)
sys.exit(3 if (pathlib.Path({gates!r}) / "fail").exists() else 0)
"""


@pytest.fixture
def gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A slow fake terraform first on PATH; touching gates/<stack> lets that stack's run end."""
    bin_dir, gates = tmp_path / "bin", tmp_path / "gates"
    bin_dir.mkdir()
    gates.mkdir()
    fake = bin_dir / "terraform"
    fake.write_text(FAKE.format(python=sys.executable, gates=str(gates)))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return gates


def node(tmp_path: Path, name: str, *depends_on: str) -> StackNode:
    json_path = tmp_path / "synth" / name / "cdk.tf.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text("{}")
    return StackNode(
        name, "dev", name, "environment", "111111111111", "sa-east-1", json_path.parent, json_path, depends_on
    )


def workspace(tmp_path: Path, stack: StackNode) -> Workspace:
    ws = Workspace(stack, env=dict(os.environ), root=tmp_path / "work")
    ws.prepare()
    return ws


def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def text_of(view: RunView) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    with console.capture() as captured:
        console.print(view)
    return captured.get()


def test_the_log_has_each_line_while_terraform_still_runs(tmp_path, gates):
    ws = workspace(tmp_path, node(tmp_path, "dev-kms"))
    results = []
    run = threading.Thread(target=lambda: results.append(ws.run("apply", "-input=false")))
    run.start()
    try:
        eventually(lambda: ws.log.is_file() and "apply dev-kms: first line" in ws.log.read_text(), "the first line")
        assert run.is_alive()
        assert "last line" not in ws.log.read_text()
    finally:
        (gates / "dev-kms").touch()
        run.join()
    log = ws.log.read_text()
    assert log.startswith("$ terraform apply -input=false\napply dev-kms: first line\ndev-kms: last line\n# exit 0")
    assert results[0].output == "apply dev-kms: first line\ndev-kms: last line\n"


def test_a_killed_run_leaves_its_partial_log(tmp_path, gates):
    """The job is killed mid-apply (a cancelled workflow): what Terraform said is still there."""
    ws = workspace(tmp_path, node(tmp_path, "dev-kms"))
    code = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        from infra.runner.terraform import Workspace
        from infra.synth.graph import StackNode
        node = StackNode("dev-kms", "dev", "kms", "environment", "1", "r", Path({str(ws.node.directory)!r}),
                         Path({str(ws.node.json_path)!r}), ())
        Workspace(node, env=dict(os.environ), root=Path({str(ws.root)!r})).run("apply")
    """)
    job = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        eventually(lambda: ws.log.is_file() and "first line" in ws.log.read_text(), "the first line")
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    assert ws.log.read_text() == "$ terraform apply\napply dev-kms: first line\n"


def graph_of(tmp_path: Path) -> StackGraph:
    """kms, then network after it; account on its own."""
    nodes = [node(tmp_path, "dev-kms"), node(tmp_path, "dev-network", "dev-kms"), node(tmp_path, "account")]
    return StackGraph({n.name: n for n in nodes})


def start_run(tmp_path: Path, view: RunView) -> tuple[threading.Thread, list[list[str]]]:
    graph = graph_of(tmp_path)
    statuses: list[list[str]] = []

    def action(stack: StackNode) -> str:
        workspace(tmp_path, stack).run("apply")
        return "applied +1"

    def go() -> None:
        with view:
            statuses.append([o.status for o in run_graph(graph, graph.nodes, action, workers=2, listener=view)])

    thread = threading.Thread(target=go)
    thread.start()
    return thread, statuses


def test_the_live_view_shows_what_runs_for_how_long_and_what_waits_on_what(tmp_path, gates):
    terminal = io.StringIO()
    view = RunView(Console(file=terminal, force_terminal=True, width=160), plain=False)
    thread, statuses = start_run(tmp_path, view)
    try:
        eventually(lambda: "apply dev-kms: first line" in text_of(view), "kms running")
        eventually(lambda: "apply account: first line" in text_of(view), "account running")
        now = text_of(view)
        assert "running dev-kms" in " ".join(now.split())
        assert "waiting dev-network waiting on dev-kms" in " ".join(now.split())
        assert "2 running" in now and "1 waiting" in now
        (gates / "dev-kms").touch()
        eventually(lambda: "apply dev-network: first line" in text_of(view), "network running after kms")
        assert " ".join(text_of(view).split()).count("ok dev-kms") == 1
    finally:
        for stack in ("dev-kms", "dev-network", "account"):
            (gates / stack).touch()
        thread.join()
    assert statuses == [[OK, OK, OK]]
    final = " ".join(text_of(view).split())
    assert "3 ok" in final and "applied +1" in final
    drawn = terminal.getvalue()
    assert "\x1b[" in drawn and "dev-network" in drawn  # drawn in place on the terminal, and left there


def test_in_ci_the_view_is_plain_lines_with_a_heartbeat(tmp_path, gates, monkeypatch):
    monkeypatch.setenv("CI", "true")
    log = io.StringIO()
    view = RunView(Console(file=log, force_terminal=True, width=160), heartbeat=0.2)
    assert view.plain
    thread, _ = start_run(tmp_path, view)
    try:
        # the heartbeat after Terraform's first line (on a loaded machine one may come before it)
        eventually(lambda: "apply dev-kms: first line" in log.getvalue(), "a heartbeat line with kms's last line")
    finally:
        for stack in ("dev-kms", "dev-network", "account"):
            (gates / stack).touch()
        thread.join()
    assert "\x1b[2K" not in log.getvalue() and "\x1b[1A" not in log.getvalue()  # nothing redrawn in place
    lines = [" ".join(re.sub(r"\x1b\[[0-9;]*m", "", line).split()) for line in log.getvalue().splitlines()]
    assert "waiting dev-network (on dev-kms)" in lines
    assert "started dev-kms" in lines and "started dev-network" in lines
    assert any(line.startswith("running dev-kms (") and line.endswith("apply dev-kms: first line") for line in lines)
    assert lines.index("waiting dev-network (on dev-kms)") < lines.index("started dev-network")
    assert any(line.startswith("ok dev-network (") and line.endswith("applied +1") for line in lines)


def test_verbose_shows_terraforms_own_lines_as_they_come(tmp_path, gates):
    out = io.StringIO()
    view = RunView(Console(file=out, width=160), plain=True, verbose=True, heartbeat=0)
    ws = workspace(tmp_path, node(tmp_path, "dev-kms"))
    with view:
        view.started("dev-kms")
        run = threading.Thread(target=lambda: ws.run("apply"))
        run.start()
        try:
            eventually(lambda: "apply dev-kms: first line" in out.getvalue(), "the first line on the terminal")
            assert run.is_alive()
        finally:
            (gates / "dev-kms").touch()
            run.join()
    assert "dev-kms: last line" in out.getvalue()


def test_quiet_without_verbose(tmp_path, gates):
    out = io.StringIO()
    ws = workspace(tmp_path, node(tmp_path, "dev-kms"))
    (gates / "dev-kms").touch()
    with RunView(Console(file=out, width=160), plain=True, heartbeat=0):
        ws.run("apply")
    assert "first line" not in out.getvalue()
