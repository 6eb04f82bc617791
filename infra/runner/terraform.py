"""Run Terraform in one working folder per stack.

A stack's folder under .infra/work/ holds a copy of its synthesized JSON, its .terraform
and lock file, and a log of every command. `terraform init` is skipped when what it
depends on (the backend block, the providers, the init mode) has not changed since the
last successful init: with many stacks, init is the slow step.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.errors import Failed
from infra.paths import WORK
from infra.synth.graph import StackNode
from infra.toolchain import PLUGIN_CACHE, terraform_binary, terraform_env

WORKSPACES = WORK / "work"
# `validate` initialises without a backend: its own folders, so it never re-initialises
# (or races) the folders that plan and apply use.
VALIDATE_WORKSPACES = WORK / "validate"
INIT_STAMP = ".init-stamp"


class TerraformError(Failed):
    def __init__(self, stack: str, command: str, output: str, log: Path) -> None:
        tail = "\n".join(output.strip().splitlines()[-25:])
        super().__init__(f"{stack}: `terraform {command}` failed (full log: {log})\n{tail}")
        self.stack = stack
        self.log = log


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
        command = [terraform_binary(), *args]
        started = time.monotonic()
        proc = subprocess.run(
            command, cwd=self.dir, env={**self.env, **(env or {})}, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
        output = proc.stdout + proc.stderr
        with self.log.open("a") as log:
            log.write(f"$ terraform {' '.join(args)}  # exit {proc.returncode}, {seconds:.1f}s\n{output}\n")
        if check and proc.returncode != 0:
            raise TerraformError(self.node.name, " ".join(args[:1]), output, self.log)
        return Result(proc.returncode, output, seconds)

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
