"""Run Terraform in one working folder per stack.

A stack's folder under .infra/work/ holds a copy of its synthesized JSON, its .terraform
and lock file, and a log of every command. The log is written as Terraform speaks, line by
line, so a run that is killed leaves what it said; whoever `watching` registers sees the
same lines (the live view, `--verbose`). `terraform init` is skipped when what it depends
on (the backend block, the providers, the init mode) has not changed since the last
successful init: with many stacks, init is the slow step.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from infra.errors import Failed
from infra.paths import WORK
from infra.runner import denied, interrupts, watchdog
from infra.runner.locks import from_terraform_output, held, unlock_command
from infra.synth.graph import StackNode
from infra.toolchain import PLUGIN_CACHE, terraform_binary, terraform_env

WORKSPACES = WORK / "work"
# `validate` initialises without a backend: its own folders, so it never re-initialises
# (or races) the folders that plan and apply use.
VALIDATE_WORKSPACES = WORK / "validate"
INIT_STAMP = ".init-stamp"
# What Terraform writes in the working folder when it cannot save the state it changed.
ERRORED_STATE = "errored.tfstate"


# Where an error block ends: the next diagnostic, the end of a boxed one, or a line of
# Terraform's own progress (plain diagnostics do not indent their detail paragraphs).
_DIAGNOSTIC = re.compile(r"^[│ ]*(Error|Warning): ")
_NOT_DIAGNOSTIC = re.compile(
    r"^(╵|\S+: (Creating|Creation complete|Still |Modifying|Modifications complete|Destroying|Destruction complete"
    r"|Refreshing|Reading|Read complete|Provisioning)|(Acquiring|Releasing) state lock|Apply complete|Plan: |# exit )"
)
BLOCK_LINES, TAIL_LINES = 40, 5
FOLLOW_SECONDS = 0.05  # how often the log Terraform writes is read for new lines

# Terraform writes its output to a file, not to a pipe of ours: a Terraform whose `infra` was
# killed would die of SIGPIPE at its next line, wherever its apply was. With util-linux's
# setpriv it is also sent SIGINT when its `infra` dies: its graceful stop (the state saved,
# the lock released), as if `infra` had passed the interrupt on itself. (When `infra` had
# passed one on already, this is Terraform's second interrupt: it exits at once, as after a
# second Ctrl-C, and leaves its lock.) Its output then stays in the stack's OUTPUT_DIR.
OUTPUT_DIR = "output"
_SETPRIV = shutil.which("setpriv")
_DIES_WITH_INFRA = [_SETPRIV, "--pdeathsig", "INT"] if _SETPRIV else []


def error_report(output: str) -> str:
    """What a failure says: every `Error:` block Terraform printed (wherever it came in a
    long log), then its last lines when they are not in those blocks."""
    lines = output.rstrip().splitlines()
    kept: list[int] = []
    block = 0  # lines still to keep of the current block
    for i, line in enumerate(lines):
        if _DIAGNOSTIC.match(line):
            block = BLOCK_LINES if "Error: " in line else 0
        elif _NOT_DIAGNOSTIC.match(line):
            block = 0
        if block:
            kept.append(i)
            block -= 1
    tail = [i for i in range(max(0, len(lines) - TAIL_LINES), len(lines)) if i not in kept]
    said = [lines[i] for i in kept]
    if tail:
        said += ["...", *(lines[i] for i in tail)] if kept else [lines[i] for i in tail]
    return "\n".join(line.rstrip() for line in said).strip("\n")


class TerraformError(Failed):
    """A Terraform command failed: every error it printed, and its last lines. When it met
    another run's state lock, who holds it since when, and the command that releases a
    stale one."""

    def __init__(
        self, stack: str, command: str, output: str, log: Path, notes: Sequence[str] = (), refusal: str | None = None
    ) -> None:
        self.stack = stack
        self.log = log
        self.lock = from_terraform_output(output)
        self.refusal = refusal  # AWS refused the caller: who, and what (infra/runner/denied.py)
        if self.lock is None:
            what = f"{refusal} (`terraform {command}`, " if refusal else f"`terraform {command}` failed ("
            said = [f"{stack}: {what}full log: {log})", error_report(output), *notes]
            super().__init__("\n".join(said))
            return
        super().__init__(
            f"{stack}: `terraform {command}` met the state lock of {self.lock.describe()}\n"
            f"if that run is over (killed, cancelled), release it: {unlock_command(stack)}\n"
            f"full log: {log}"
        )


# Whoever watches Terraform's output: called with (stack, subcommand, line) for every line,
# from the thread that runs the stack.
LineWatcher = Callable[[str, str, str], None]
_watchers: list[LineWatcher] = []
_watchers_lock = threading.Lock()


@contextlib.contextmanager
def watching(watcher: LineWatcher) -> Iterator[None]:
    """Show every line Terraform writes, of every stack, to `watcher` while the block runs."""
    with _watchers_lock:
        _watchers.append(watcher)
    try:
        yield
    finally:
        with _watchers_lock:
            _watchers.remove(watcher)


def _end_group(pgid: int) -> bool:
    """End what is left of a finished Terraform's process group: the provider processes of
    a Terraform that was killed live on for minutes otherwise. Returns whether any were left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def _tell(stack: str, command: str, line: str) -> None:
    with _watchers_lock:
        watchers = list(_watchers)
    for watcher in watchers:
        watcher(stack, command, line)


class _InitLock:
    """Terraform's plugin cache is not safe for concurrent writers, and every init may write
    to it (two inits at once fail with "still not detected in the plugin cache"). Inits run
    one at a time, across threads and processes; they take a second or two each."""

    def __enter__(self) -> None:
        PLUGIN_CACHE.mkdir(parents=True, exist_ok=True)
        self._fd = (PLUGIN_CACHE.parent / "plugin-cache.lock").open("w")
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._fd.close()


@dataclass
class Result:
    returncode: int
    output: str
    seconds: float


@dataclass
class Workspace:
    node: StackNode
    env: Mapping[str, str] = field(default_factory=terraform_env)
    root: Path = WORKSPACES

    @property
    def dir(self) -> Path:
        return self.root / self.node.name

    @property
    def log(self) -> Path:
        return self.dir / "terraform.log"

    def prepare(self) -> None:
        """Copy the synthesized JSON in; keep .terraform and the lock file."""
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.node.json_path, self.dir / "cdk.tf.json")

    def run(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> Result:
        """Run Terraform here. It writes its output to a file of its own (OUTPUT_DIR), which
        infra follows: each line goes to the stack's log (flushed) and the watchers as it
        comes, and the file is removed once Terraform has ended. A Terraform whose infra was
        killed goes on writing there (see `_DIES_WITH_INFRA`)."""
        command = [*_DIES_WITH_INFRA, terraform_binary(), *args]
        subcommand = args[0] if args else ""
        if interrupts.received():
            raise Failed(f"{self.node.name}: `terraform {subcommand}` not started: the run was interrupted")
        endpoint = watchdog.watched_endpoint({**self.env, **(env or {})})
        seen = watchdog.gone(endpoint)
        if endpoint and seen:
            raise Failed(f"{self.node.name}: `terraform {subcommand}` not started: {watchdog.message(endpoint, seen)}")
        started = time.monotonic()
        outputs = self.dir / OUTPUT_DIR
        outputs.mkdir(exist_ok=True)
        with (
            self.log.open("a", encoding="utf-8") as log,
            tempfile.NamedTemporaryFile(dir=outputs, prefix=f"{subcommand}-", suffix=".log", delete=False) as out,
            Path(out.name).open("rb") as reader,
        ):
            log.write(f"$ terraform {' '.join(args)}\n")
            log.flush()
            with subprocess.Popen(
                command,
                cwd=self.dir,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                process_group=0,  # its own group: only `infra` passes an interrupt on (see interrupts)
            ) as proc:
                interrupts.started(proc)
                try:
                    with watchdog.watching(endpoint, proc.pid):
                        lines = []
                        for line in self._follow(reader, proc):
                            log.write(line)
                            log.flush()
                            lines.append(line)
                            _tell(self.node.name, subcommand, line.rstrip("\n"))
                        returncode = proc.wait()
                finally:
                    interrupts.ended(proc)
            seconds = time.monotonic() - started
            log.write(f"# exit {returncode}, {seconds:.1f}s\n\n")
            if _end_group(proc.pid):
                log.write("# ended the provider processes Terraform left running\n\n")
        Path(out.name).unlink()
        result = Result(returncode, "".join(lines), seconds)
        if check and returncode != 0:
            raise self.failure(subcommand, result)
        return result

    @staticmethod
    def _follow(reader: BinaryIO, proc: subprocess.Popen[bytes]) -> Iterator[str]:
        """Each line Terraform writes to its output file, as it comes, until it has ended."""
        pending = b""
        while True:
            ended = proc.poll() is not None  # asked before reading: what it wrote before ending is read
            pending += reader.read()
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                yield raw.removesuffix(b"\r").decode(errors="replace") + "\n"
            if ended:
                break
            time.sleep(FOLLOW_SECONDS)
        if pending:
            yield pending.decode(errors="replace")

    def failure(self, command: str, result: Result) -> TerraformError:
        """The error of a failed command, with what became of the state it was writing: an
        errored.tfstate pushed back; when Terraform was killed or interrupted, its lock."""
        endpoint = watchdog.watched_endpoint(self.env)
        seen = watchdog.gone(endpoint)
        if endpoint and seen:  # nothing is left to save, or to ask about: the emulator held it all
            return TerraformError(self.node.name, command, result.output, self.log, [watchdog.message(endpoint, seen)])
        notes = [self.push_errored_state()] if (self.dir / ERRORED_STATE).is_file() else []
        if "connection refused" in result.output.lower():
            endpoint = self.env.get("AWS_ENDPOINT_URL", "AWS's endpoints")
            notes.insert(0, f"the emulator (or AWS endpoint) at {endpoint} stopped answering (connection refused)")
        if result.returncode < 0:
            name = signal.Signals(-result.returncode).name
            notes.insert(0, f"Terraform was killed by {name}: it saved nothing after that")
        if result.returncode < 0 or interrupts.received():
            lock = self._lock_left()
            if lock:
                notes.append(lock)
            if interrupts.received():
                consistent = not lock and not (self.dir / ERRORED_STATE).is_file()
                interrupts.stopped(self.node.name, "state saved, lock released" if consistent else "; ".join(notes))
        refusal = denied.one_line(error_report(result.output), self.env)
        return TerraformError(self.node.name, command, result.output, self.log, notes, refusal=refusal)

    def _lock_left(self) -> str:
        """Who holds the stack's state lock, and how to release it; "" when none is held."""
        if "backend" not in json.loads((self.dir / "cdk.tf.json").read_text()).get("terraform", {}):
            return ""
        try:
            lock = held(self.node)
        except Exception as exc:  # noqa: BLE001 - the backend may be what failed
            return f"the state lock could not be read ({exc})"
        if lock is None:
            return ""
        return f"the state lock remains, held by {lock.describe()}; release it: {unlock_command(self.node.name)}"

    def push_errored_state(self) -> str:
        """Terraform could not save the state it changed and left it in errored.tfstate: push
        it to the backend (`terraform state push`), or say how once the backend answers.
        Until then the backend's state misses what was created: another apply would create
        it again, or fork the state."""
        pushed = self.run("state", "push", ERRORED_STATE, check=False)
        if pushed.returncode == 0:
            (self.dir / ERRORED_STATE).rename(self.dir / f"{ERRORED_STATE}.pushed")
            return f"Terraform could not save the state; {ERRORED_STATE} was pushed to the backend: the state is whole"
        return (
            f"Terraform could not save the state: it is in {self.dir / ERRORED_STATE}, and pushing it failed:\n"
            f"{error_report(pushed.output)}\n"
            f"before anything else runs on {self.node.name}, once the backend answers (and its lock is released): "
            f"cd {self.dir} && terraform state push {ERRORED_STATE}"
        )

    def _init_inputs(self, backend: bool, backend_config: Sequence[str]) -> str:
        doc = json.loads((self.dir / "cdk.tf.json").read_text())
        terraform = doc.get("terraform", {})
        relevant = {
            "backend": terraform.get("backend") if backend else None,
            "backend_config": list(backend_config),
            "providers": terraform.get("required_providers"),
            "modules": doc.get("module"),
            "cli_config": Path(self.env["TF_CLI_CONFIG_FILE"]).read_text(),
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()

    def init(self, *, backend: bool = True, backend_config: Sequence[str] = ()) -> bool:
        """Initialise when needed. Returns whether init ran."""
        stamp = self.dir / INIT_STAMP
        wanted = self._init_inputs(backend, backend_config)
        lock = self.dir / ".terraform.lock.hcl"
        if stamp.is_file() and stamp.read_text() == wanted and lock.is_file() and (self.dir / ".terraform").is_dir():
            return False
        stamp.unlink(missing_ok=True)
        args = ["init", "-input=false", "-no-color", "-reconfigure"]
        args += [] if backend else ["-backend=false"]
        args += [f"-backend-config={item}" for item in backend_config]
        with _InitLock():
            self.run(*args)
        stamp.write_text(wanted)
        return True

    def validate(self) -> Result:
        return self.run("validate", "-no-color")
