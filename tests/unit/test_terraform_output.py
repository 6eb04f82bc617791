"""What a Terraform run said: read from Terraform's own output file as it writes it, whole
(a multibyte character split across writes, CRLF, a last line without a newline), and only
its own: another writer of the stack's log (a Terraform left running by a killed infra) does
not get into this run's output. The stack's log gets every line; the output file goes."""

from __future__ import annotations

import os
import sys
import threading
import time

from infra.runner.terraform import OUTPUT_DIR, Workspace
from infra.synth.graph import StackNode

FAKE = r"""
import sys, time
out = sys.stdout.buffer
for chunk in (b"\xc3", b"\xa9 first\r\n", b"sec", b"ond\n", b"last"):
    out.write(chunk); out.flush(); time.sleep(0.15)
"""


def test_a_run_reads_its_own_output_whole_and_the_log_keeps_everything(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(f"#!{sys.executable}\n{FAKE}")
    (bin_dir / "terraform").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    json_path = tmp_path / "synth" / "dev-kms" / "cdk.tf.json"
    json_path.parent.mkdir(parents=True)
    json_path.write_text("{}")
    node = StackNode("dev-kms", "dev", "kms", "environment", "1", "sa-east-1", json_path.parent, json_path, ())
    ws = Workspace(node, env=dict(os.environ), root=tmp_path / "work")
    ws.prepare()

    def another_writer() -> None:
        time.sleep(0.3)
        with ws.log.open("a") as log:
            log.write("a line of another Terraform\n")

    writer = threading.Thread(target=another_writer)
    writer.start()
    result = ws.run("plan", check=False)
    writer.join()
    assert result.returncode == 0
    assert result.output == "é first\nsecond\nlast"
    log = ws.log.read_text()
    assert "a line of another Terraform\n" in log
    assert all(line in log for line in ("$ terraform plan\n", "é first\n", "second\n", "last"))
    assert list((ws.dir / OUTPUT_DIR).iterdir()) == []
