"""The tools outside Python: Node for jsii, Terraform and the provider mirror.

Set-up finds the machine's provider mirror (it is not at the same place everywhere) and
writes a Terraform CLI config that installs from it into one shared plugin cache, so
initialising many stacks does not copy the 675 MB provider each time.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from infra.errors import Failed
from infra.paths import REPO, WORK
from infra.versions import AWS_PROVIDER_VERSION

MIRROR_VARIABLE = "INFRA_PROVIDER_MIRROR"
CLI_CONFIG = WORK / "terraformrc"
# Shared by working areas (tests give each parallel worker its own .infra): one copy of the
# 675 MB provider, not one per area.
PLUGIN_CACHE = Path(os.environ.get("INFRA_PLUGIN_CACHE", WORK / "plugin-cache"))
NODE_BIN = REPO / "node_modules" / ".bin"
_SKIP = {"proc", "sys", "dev", "run", "tmp", "boot", "lost+found", "snap", "node_modules", ".git"}


class ToolchainError(Failed):
    """A tool the engine needs is missing; the message says how to get it."""


def os_arch() -> str:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    return f"{platform.system().lower()}_{arch}"


def _provider_dir(mirror: Path) -> Path:
    return mirror / "registry.terraform.io" / "hashicorp" / "aws" / AWS_PROVIDER_VERSION / os_arch()


def _is_mirror(path: Path) -> bool:
    """An unpacked mirror (this machine's), or a packed one (`terraform providers mirror`)."""
    packed = _provider_dir(path).parent.parent / f"terraform-provider-aws_{AWS_PROVIDER_VERSION}_{os_arch()}.zip"
    return packed.is_file() or any(_provider_dir(path).glob("terraform-provider-aws_*"))


def make_mirror(target: Path) -> Path:
    """Fill a packed mirror with the pinned provider from the registry (CI runners, which
    have internet and no mirror): `terraform providers mirror`."""
    with tempfile.TemporaryDirectory() as tmp:
        aws = {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}
        (Path(tmp) / "main.tf.json").write_text(json.dumps({"terraform": {"required_providers": {"aws": aws}}}))
        command = [terraform_binary(), "providers", "mirror", f"-platform={os_arch()}", str(target)]
        proc = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not _is_mirror(target):
        raise ToolchainError(f"terraform providers mirror failed:\n{proc.stdout}{proc.stderr}")
    return target


def _well_known() -> Iterator[Path]:
    if os.environ.get(MIRROR_VARIABLE):
        yield Path(os.environ[MIRROR_VARIABLE])
    home = Path.home()
    yield from (home / ".terraform.d" / "plugins", home / ".local/share/terraform/plugins")
    yield from (Path("/usr/local/share/terraform/plugins"), Path("/usr/share/terraform/plugins"))
    yield from sorted(Path("/opt").glob("*")) if Path("/opt").is_dir() else ()


def _scan(root: Path, max_depth: int = 7) -> Iterator[Path]:
    """Walk the file system for the provider binary; its mirror is five folders up."""
    wanted = f"terraform-provider-aws_v{AWS_PROVIDER_VERSION}"
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = [] if depth >= max_depth else [d for d in dirnames if d not in _SKIP]
        if any(f.startswith(wanted) for f in filenames):
            yield Path(dirpath).parents[4]


def find_mirror() -> Path:
    for candidate in _well_known():
        if _is_mirror(candidate):
            return candidate
    for candidate in _scan(Path("/")):
        if _is_mirror(candidate):
            return candidate
    raise ToolchainError(
        f"no filesystem mirror holds hashicorp/aws {AWS_PROVIDER_VERSION} for {os_arch()}; "
        f"set {MIRROR_VARIABLE} to the folder that contains registry.terraform.io/"
    )


def cli_config_text(mirror: Path) -> str:
    return f"""# Written by `infra toolchain`; not kept in git (the mirror's place differs by machine).
provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
plugin_cache_dir   = "{PLUGIN_CACHE}"
# A stack initialised for the first time has no lock file; without this, Terraform ignores
# the cached provider and re-installs it into the cache, replacing the entry under every
# other stack that is running at that moment ("no package ... cached in .terraform/providers").
plugin_cache_may_break_dependency_lock_file = true
disable_checkpoint = true
"""


def ensure_cli_config() -> Path:
    """Write the CLI config; keep the mirror it names while that is still a mirror (no scan)."""
    mirror = None
    if CLI_CONFIG.is_file():
        for line in CLI_CONFIG.read_text().splitlines():
            if line.strip().startswith("path") and _is_mirror(Path(line.split('"')[1])):
                mirror = Path(line.split('"')[1])
    text = cli_config_text(mirror or find_mirror())
    PLUGIN_CACHE.mkdir(parents=True, exist_ok=True)
    if not CLI_CONFIG.is_file() or CLI_CONFIG.read_text() != text:
        CLI_CONFIG.write_text(text)
    return CLI_CONFIG


def terraform_binary() -> str:
    found = shutil.which("terraform")
    if not found:
        raise ToolchainError("terraform is not on PATH (1.10 or newer is needed)")
    return found


# Terraform and the provider are Go programs. Loading the provider's schema (every Terraform
# command does) allocates a lot that dies young: with Go's default (GOGC=100) a quarter of their
# CPU went to collecting it. At 400 a plan takes about 20% less CPU for ~30 MB more memory per
# process (docs/performance.md). A GOGC set by the caller wins.
GO_GC = "400"


def terraform_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("GOGC", GO_GC)
    env.update(
        TF_CLI_CONFIG_FILE=str(ensure_cli_config()),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    return env


def use_local_node() -> None:
    """Put the project's Node 22 first on PATH for jsii (set-up installs it)."""
    if (NODE_BIN / "node").exists():
        os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    # jsii's kernel calls util.isArray, which Node 22 reports on every start.
    os.environ.setdefault("NODE_OPTIONS", "--no-deprecation")


def use_mirror(target: Path) -> Path:
    """Download the pinned provider into a mirror at target (CI runners) and use it."""
    os.environ[MIRROR_VARIABLE] = str(make_mirror(target))
    return target


def describe(cli_config: Path) -> str:
    """The tools this machine uses, and the CLI config's text."""
    return f"terraform:  {terraform_binary()}\nCLI config: {cli_config}\nnode:       {NODE_BIN / 'node'}\n" + (
        cli_config.read_text()
    )
