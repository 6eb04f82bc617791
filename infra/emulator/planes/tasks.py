"""ECS RunTask data plane: a task whose container runs `python ...` runs as a local process.

What the process gets, as a Fargate task would:
- the container's `environment`, and its `secrets` from the emulator's Secrets Manager
  (`<secret ARN>[:<json key>[:<stage>[:<version id>]]]`); a secret that cannot be read
  stops the task before it starts (`ResourceInitializationError`);
- the task role's credentials (STS AssumeRole in the emulator), AWS_REGION, and
  AWS_ENDPOINT_URL and AWS_CA_BUNDLE pointing at the emulator (what the container
  credentials endpoint and AWS's public endpoints are to a real task);
- a network interface: a loopback address of its own, attached with the task's security
  groups (planes/network.py), which its connections to loopback addresses come from, so
  that the Redis and MySQL planes admit or drop them by the groups' rules;
- its mount points, in a mount namespace of its own (`unshare --mount`; the emulator runs
  as root): an EFS volume is a directory per file system under the emulator's state
  (the access point's root directory, made with its creation info when missing), bound at
  the container path, and the process runs as the access point's POSIX user, so what it
  writes belongs to that user, as on EFS (without an access point: as nobody, 65534; never
  as root, and with no_new_privs). An access point's path must be plain names, with no
  `..` and no symbolic link on the way, so a mount never leaves its file system's folder.
  A volume without configuration is an empty directory. The mount is refused, and the
  task stops before it starts, when no mount
  target is in the task's zone, when the mount target's security groups do not admit
  NFS (2049) from the task's, or when the file system's policy denies transport without
  TLS and the volume does not enable transit encryption.
- Its standard output and error, line by line, go to CloudWatch Logs when the container
  uses the awslogs driver (`<prefix>/<container>/<task id>`), after it ends.

The task is RUNNING while the process runs and STOPPED after it, with the container's exit
code ("Essential container in task exited"). StopTask ends the process. A task that runs
longer than RUN_TIMEOUT is stopped.

Not modelled: images (the command's `python` is the emulator's own interpreter, which has
what the probe program needs), the read-only root file system, the IAM policies of the
execution and task roles (`elasticfilesystem:ClientMount` included), CPU and memory limits,
containers other than the first, tasks of services (only RunTask).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from infra.emulator.planes import Planes, enabled, loopback, network

STAGE = "/dev/shm"  # where, in the task's mount namespace, what it needs from this machine is bound
RUN_TIMEOUT = 180.0
PR_SET_NO_NEW_PRIVS = 38
NOBODY = {"Uid": 65534, "Gid": 65534}  # who a task runs as without an access point's POSIX user
SAFE_NAME = re.compile(r"[A-Za-z0-9._@+=,-]{1,255}")  # seconds a task may run here before it is stopped
NFS_PORT = 2049
SITE = """import socket
_SOURCE = {source!r}
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _bind(sock, address):
    if sock.family == socket.AF_INET and isinstance(address, tuple) and str(address[0]).startswith("127."):
        if sock.getsockname()[1] == 0:
            sock.bind((_SOURCE, 0))


def connect(self, address):
    _bind(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _bind(self, address)
    return _connect_ex(self, address)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
"""


class NotStarted(Exception):
    """What stops a task before its container starts (AWS's ResourceInitializationError)."""


def _state_dir() -> Path:
    from infra.emulator.launcher import STATE_DIR

    return STATE_DIR


def runnable(definition: Any) -> bool:
    containers = definition.container_definitions or []
    command = (containers[0].get("command") or []) if containers else []
    return bool(command) and command[0] == "python"


# --- what the container gets -----------------------------------------------------------------


def secret_value(account_id: str, region: str, value_from: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = value_from.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager":
        raise NotStarted(f"unable to retrieve secret from {value_from}: only Secrets Manager secrets are emulated")
    arn, key, stage, version = ":".join(parts[:7]), *(parts[7:10] + ["", "", ""])[:3]
    backend = secretsmanager_backends[account_id][region]
    try:
        answer = backend.get_secret_value(arn, version, stage)  # "" is none, as None is
    except Exception as exc:
        raise NotStarted(f"unable to retrieve secret from {arn}: {exc}") from exc
    text = answer.get("SecretString") or ""
    if not key:
        return str(text)
    try:
        return str(json.loads(text)[key])
    except (ValueError, KeyError, TypeError) as exc:
        raise NotStarted(f"unable to retrieve secret from {arn}: no JSON key {key!r} in its value") from exc


def role_credentials(account_id: str, region: str, role_arn: str | None, session: str) -> dict[str, str]:
    if not role_arn:
        return {}
    from moto.sts.models import sts_backends

    role = sts_backends[account_id]["global"].assume_role(
        region_name=region, role_session_name=session, role_arn=role_arn, policy="", duration=3600, external_id=""
    )
    return {
        "AWS_ACCESS_KEY_ID": role.access_key_id,
        "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
        "AWS_SESSION_TOKEN": role.session_token,
    }


def efs_mount(account_id: str, region: str, config: dict[str, Any], subnet_id: str, source: str) -> tuple[Path, Any]:
    """The local directory an EFS volume mounts, and the access point's POSIX user (or None)."""
    from moto.ec2.models import ec2_backends
    from moto.efs.models import efs_backends

    efs = efs_backends[account_id][region]
    fs_id = config["fileSystemId"]
    file_system = efs.file_systems_by_id.get(fs_id)
    if file_system is None:
        raise NotStarted(f"failed to resolve EFS file system {fs_id}: it does not exist")
    policy = file_system.file_system_policy or ""
    if "aws:SecureTransport" in policy and config.get("transitEncryption") != "ENABLED":
        raise NotStarted(
            f"failed to invoke EFS utils commands to set up EFS volumes: mount of {fs_id}: access denied "
            "(its policy denies clients without TLS, and the volume's transit encryption is off)"
        )
    zone = ec2_backends[account_id][region].get_subnet(subnet_id).availability_zone
    targets = [t for t in efs.mount_targets_by_id.values() if t.file_system_id == fs_id]
    here = [t for t in targets if t.availability_zone_name == zone]
    if not here:
        raise NotStarted(
            f"failed to invoke EFS utils commands to set up EFS volumes: no mount target of {fs_id} in {zone}"
        )
    dropped = network.refusal(source, account_id, region, here[0].security_groups or [], NFS_PORT)
    if dropped:
        raise NotStarted(
            f"failed to invoke EFS utils commands to set up EFS volumes: mount of {fs_id}: "
            f"Connection timed out (security groups: {dropped})"
        )
    root, user = "/", None
    point_id = (config.get("authorizationConfig") or {}).get("accessPointId")
    if point_id:
        point = efs.access_points.get(point_id)
        if point is None or point.file_system_id != fs_id:
            raise NotStarted(f"failed to resolve EFS access point {point_id} of {fs_id}")
        directory_spec: dict[str, Any] = point.root_directory
        root, user, creation = directory_spec.get("Path", "/"), point.posix_user, directory_spec.get("CreationInfo")
    else:
        root = config.get("rootDirectory") or "/"
        creation = None
    directory = _content_directory(fs_id, root)
    if not directory.exists():
        if point_id and not creation:
            raise NotStarted(f"the access point {point_id}'s root directory {root} does not exist")
        directory.mkdir(parents=True)
        if creation:
            os.chown(directory, int(creation["OwnerUid"]), int(creation["OwnerGid"]))
            directory.chmod(int(str(creation["Permissions"]), 8))
    return directory, user


def _content_directory(fs_id: str, root: str) -> Path:
    """The local directory of a path in a file system: refused unless it is an absolute path
    of plain names (as EFS requires), with no symbolic link on the way."""
    names = root.strip("/").split("/") if root.strip("/") else []
    if not root.startswith("/") or any(n in ("", ".", "..") or not SAFE_NAME.fullmatch(n) for n in names):
        raise NotStarted(f"failed to invoke EFS utils commands to set up EFS volumes: invalid root directory {root!r}")
    base = _state_dir() / "efs" / fs_id
    base.mkdir(parents=True, exist_ok=True)
    directory = base.joinpath(*names)
    for step in [base, *(base.joinpath(*names[: i + 1]) for i in range(len(names)))]:
        if step.is_symlink():
            raise NotStarted(f"failed to invoke EFS utils commands to set up EFS volumes: {root!r} goes through a link")
    return directory


# --- one task --------------------------------------------------------------------------------


class TaskProcess:
    def __init__(self, backend: Any, task: Any, definition: Any) -> None:
        self.backend, self.task, self.definition = backend, task, definition
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self._lock = threading.Lock()
        self.folder = Path(tempfile.mkdtemp(prefix=f"task-{task.id}-", dir=_state_dir()))
        self.folder.chmod(0o755)  # the process may run as the access point's user; spec.json stays 0600
        self.address = loopback(f"eni/{task.task_arn}")
        task._transitions = []
        task.last_status = "PROVISIONING"
        self.thread = threading.Thread(target=self._run, name=f"task-{task.id}", daemon=True)
        self.thread.start()

    # The task's life: start, run, log, stop.

    def _run(self) -> None:
        try:
            try:
                launch, container = self._prepare()
            except NotStarted as exc:
                self._stopped("TaskFailedToStart", f"ResourceInitializationError: {exc}", None)
                return
            self.task.last_status = "RUNNING"
            output = self._execute(launch)
            self._log(container, output)
            code = None if self.proc is None else self.proc.returncode
            reason = "Task stopped by user" if self.stopping else "Essential container in task exited"
            self._stopped("UserInitiated" if self.stopping else "EssentialContainerExited", reason, code)
        except Exception as exc:  # noqa: BLE001  (the task stops, saying why, instead of hanging RUNNING)
            self._stopped("TaskFailedToStart", f"emulator: {type(exc).__name__}: {exc}", None)
        finally:
            network.detach(self.address)
            shutil.rmtree(self.folder, ignore_errors=True)

    def _prepare(self) -> tuple[list[str], dict[str, Any]]:
        """The command that starts the task's process (its spec written beside it), and its container."""
        from infra.emulator.launcher import DATA_PLANE_CA, SELF_ENDPOINT

        if os.geteuid() != 0:
            raise NotStarted(
                f"the emulator runs a task in a mount namespace of its own (unshare, mount), which needs root; "
                f"it runs as uid {os.geteuid()}"
            )
        account, region = self.backend.account_id, self.backend.region_name
        container = self.definition.container_definitions[0]
        vpc = (self.task.network_configuration or {}).get("awsvpcConfiguration", {})
        network.attach(self.address, account, region, vpc.get("securityGroups") or [])
        env = {e["name"]: e["value"] for e in container.get("environment") or []}
        for secret in container.get("secrets") or []:
            env[secret["name"]] = secret_value(account, region, secret["valueFrom"])
        env |= role_credentials(account, region, self.definition.task_role_arn, f"task-{self.task.id}")
        env |= {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": os.environ.get(SELF_ENDPOINT, ""),
            "AWS_CA_BUNDLE": f"{STAGE}/site/ca.pem",
            "PYTHONPATH": f"{STAGE}/site:{STAGE}/packages",
            "LD_LIBRARY_PATH": f"{STAGE}/python/lib",
            "HOME": "/tmp",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        mounts, user = self._mounts(container, vpc)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        spec = {
            "stage": {"python": sys.base_prefix, "packages": sysconfig.get_paths()["purelib"]},
            "files": {
                "site/sitecustomize.py": SITE.format(source=self.address),
                "site/ca.pem": Path(os.environ[DATA_PLANE_CA]).read_text(),
            },
            "mounts": mounts,
            "user": user or NOBODY,  # never root: a task's code runs unprivileged here
            "command": [f"{STAGE}/python/bin/{version}", *container["command"][1:]],
            "env": env,
        }
        descriptor = os.open(self.folder / "spec.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w") as out:  # it holds the secrets: never readable by others
            json.dump(spec, out)
        launch = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            sys.executable,
            "-m",
            __name__,
            str(self.folder / "spec.json"),
        ]
        return launch, container

    def _mounts(self, container: dict[str, Any], vpc: dict[str, Any]) -> tuple[list[list[str]], Any]:
        volumes = {v["name"]: v for v in self.definition.volumes or []}
        mounts, user = [], None
        for point in container.get("mountPoints") or []:
            target = Path(point["containerPath"])
            if (
                not target.is_absolute()
                or ".." in target.parts
                or target == Path("/")
                or Path(STAGE) in (target, *target.parents)
            ):
                raise NotStarted(
                    f"mount point {point['containerPath']!r}: not an absolute path this emulator can mount"
                )
            volume = volumes.get(point["sourceVolume"])
            if volume is None:
                raise NotStarted(f"mount point {point['containerPath']}: no volume {point['sourceVolume']!r}")
            config = volume.get("efsVolumeConfiguration")
            if config:
                subnet = (vpc.get("subnets") or [""])[0]
                directory, posix = efs_mount(
                    self.backend.account_id, self.backend.region_name, config, subnet, self.address
                )
                user = posix or user
            else:
                directory = self.folder / "volumes" / volume["name"]
                directory.mkdir(parents=True, exist_ok=True)
                directory.chmod(0o1777)
            mounts.append([str(directory), point["containerPath"]])
        return mounts, user

    def _execute(self, launch: list[str]) -> bytes:
        with self._lock:
            if self.stopping:  # StopTask came before the process started
                return b""
            self.proc = subprocess.Popen(
                launch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, cwd=_repo()
            )
        try:
            output, _ = self.proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stopping = True
            self.kill()
            output, _ = self.proc.communicate()
        return output

    def _log(self, container: dict[str, Any], output: bytes) -> None:
        logging = container.get("logConfiguration") or {}
        options = logging.get("options") or {}
        if logging.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            return
        from moto.logs.models import logs_backends

        logs = logs_backends[self.backend.account_id][options.get("awslogs-region") or self.backend.region_name]
        group = options["awslogs-group"]
        stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{container['name']}/{self.task.id}"
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in output.decode(errors="replace").splitlines() if line]
        with contextlib.suppress(Exception):  # a group gone: the lines are lost, as with the awslogs driver
            logs.create_log_stream(group, stream)
            if events:
                logs.put_log_events(group, stream, events)

    def _stopped(self, code: str, reason: str, exit_code: int | None) -> None:
        container = self.task.containers[0]
        container.last_status = "STOPPED"
        container.exit_code = container.exitCode = exit_code
        container.reason = reason if exit_code is None else None
        self.task.stop_code = code
        self.task.stopped_reason = reason
        self.task.desired_status = "STOPPED"
        self.task.last_status = "STOPPED"
        print(f"task {self.task.id}: stopped ({reason}, exit code {exit_code})", file=sys.stderr)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        with self._lock:
            self.stopping = True
        self.kill()


def _repo() -> Path:
    from infra.paths import REPO

    return REPO


_tasks: Planes[TaskProcess] = Planes()


def started(backend: Any, task: Any, definition: Any) -> None:
    """RunTask made `task`: run it here when its container is a Python command."""
    if enabled() and runnable(definition):
        _tasks.put(task.task_arn, TaskProcess(backend, task, definition))


def stopped(task_arn: str) -> None:
    """StopTask: end the task's process."""
    plane = _tasks.get(task_arn)
    if plane is not None:
        plane.stop()


# --- inside the task's mount namespace -------------------------------------------------------


def _enter(spec_file: str) -> None:
    """Mount the volumes, become the POSIX user, and run the command (never returns).

    Everything the process needs from this machine is first bound under STAGE (a tmpfs of
    its own, which no container path covers): the interpreter (its home may be in a folder
    the POSIX user cannot enter), its packages, each volume's source (a later mount over
    /tmp would hide a source under /tmp), the sitecustomize and the CA."""
    spec = json.loads(Path(spec_file).read_text())
    stage = Path(STAGE)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", STAGE], check=True)
    sources = {**spec["stage"], **{f"volume-{i}": source for i, (source, _) in enumerate(spec["mounts"])}}
    for name, source in sources.items():
        (stage / name).mkdir()
        subprocess.run(["mount", "--bind", source, str(stage / name)], check=True)
    for name, text in spec["files"].items():
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        (stage / name).write_text(text)
        (stage / name).parent.chmod(0o755)
    ours: list[Path] = []  # what this namespace mounted: a missing mount point is made inside those
    for i, target in sorted(enumerate(Path(t) for _, t in spec["mounts"]), key=lambda item: len(item[1].parts)):
        if not target.is_dir():
            parent = next(p for p in target.parents if p.is_dir())
            if not any(parent == o or o in parent.parents for o in ours):
                if parent == Path("/"):
                    raise SystemExit(f"cannot make the mount point {target} here (under /, outside an existing folder)")
                subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", str(parent)], check=True)
                ours.append(parent)
            target.mkdir(parents=True)
        subprocess.run(["mount", "--bind", str(stage / f"volume-{i}"), str(target)], check=True)
        ours.append(target)
    user = spec["user"]
    os.setgroups([int(g) for g in user.get("SecondaryGids") or []])
    os.setgid(int(user["Gid"]))
    os.setuid(int(user["Uid"]))
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # no setuid binary lifts it again
    os.chdir("/")
    os.execve(spec["command"][0], spec["command"], spec["env"])


if __name__ == "__main__":
    _enter(sys.argv[1])
