"""What a Terraform run said: read from Terraform's own output file as it writes it, whole
(a multibyte character split across writes, CRLF, a last line without a newline), and only
its own: another writer of the stack's log (a Terraform left running by a killed infra) does
not get into this run's output. The stack's log gets every line; the output file goes."""

from __future__ import annotations

import threading
import time

from infra.runner.terraform import OUTPUT_DIR
from tests import fake_terraform

FAKE = r"""
import sys, time
out = sys.stdout.buffer
for chunk in (b"\xc3", b"\xa9 first\r\n", b"sec", b"ond\n", b"last"):
    out.write(chunk); out.flush(); time.sleep(0.15)
"""


def test_a_run_reads_its_own_output_whole_and_the_log_keeps_everything(tmp_path, monkeypatch):
    fake_terraform.install(tmp_path, monkeypatch, FAKE)
    ws = fake_terraform.workspace(tmp_path)

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
