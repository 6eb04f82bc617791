"""Find an environment's layer files, merge them in order and validate the result.

The tree is Terragrunt's: `root.toml` at the top of environments/, then the nearest
`account.toml`, `region.toml` and `env.toml` above an environment directory, then one
optional file per component in that directory (`database.toml` holds only the keys of
components.database). Tables merge key by key; any other value, lists included, is
replaced by the later layer. Every leaf remembers the file it came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from infra.config.errors import ConfigError, Problem, display_path
from infra.config.models import SUFFIX_PATTERN, Components, EnvConfig
from infra.paths import ENVIRONMENTS

KeyPath = tuple[str, ...]
LAYER_FILES = ("account.toml", "region.toml")
ENV_FILE = "env.toml"
ROOT_FILE = "root.toml"
SUFFIX_VARIABLE = "ENVIRONMENT_SUFFIX"
# Overrides every layer's deletion_protection: the teardown of a protected environment sets
# it to false, applies, then destroys (an operator's explicit step, never a layer's value).
PROTECTION_VARIABLE = "INFRA_DELETION_PROTECTION"
COMPONENTS = tuple(Components.model_fields)
# Set only in root.toml, account.toml or region.toml: the account stack (one per account and
# region) is built from one of the account's environments, so an environment's own file
# must not say anything about it (its value would reach its siblings, or be ignored).
ACCOUNT_TABLE = "account"
ACCOUNT_KEY_HERE = (
    "an account-wide setting: the account stack is shared by every environment of the account; "
    "set it in the account's account.toml (or region.toml, or root.toml for every account)"
)


@dataclass(frozen=True)
class Layer:
    path: Path
    prefix: KeyPath  # where the file's keys sit in the merged tree
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Loaded:
    config: EnvConfig
    directory: Path
    layers: tuple[Layer, ...]
    provenance: Mapping[KeyPath, str]  # leaf key path -> the file (or variable) that set it
    configured_suffix: str  # the suffix the layer files give, before ENVIRONMENT_SUFFIX

    @property
    def scope(self) -> str:
        """The state prefix of this environment's stacks and of its stack ids.

        `dev` normally; `dev-<suffix>` for a side-by-side copy made with ENVIRONMENT_SUFFIX,
        so that a copy never shares state with the environment it copies.
        """
        env = self.config.environment
        return env.name if env.suffix == self.configured_suffix else f"{env.name}-{env.suffix}"


def _environment_dirs(root: Path) -> dict[str, Path]:
    return {p.parent.name: p.parent for p in sorted(root.rglob(ENV_FILE))}


def environment_names(root: Path | None = None) -> list[str]:
    return sorted(_environment_dirs(root or ENVIRONMENTS))


@dataclass(frozen=True)
class Promotion:
    """The order in which a merge applies environments, and which wait for approval."""

    order: tuple[str, ...]
    approval: frozenset[str]

    @property
    def first(self) -> str:
        return self.order[0]

    def environment_of(self, scope: str) -> str | None:
        """The environment of a state scope: `dev` and `dev-pr42` (a suffixed copy) are dev's;
        an account scope is none."""
        return next((env for env in self.order if scope == env or scope.startswith(f"{env}-")), None)

    def rank(self, scope: str) -> tuple[int, str]:
        """Sort key of a state scope: in promotion order, account scopes after every environment."""
        env = self.environment_of(scope)
        return (self.order.index(env) if env else len(self.order), scope)

    def needs_approval(self, scope: str) -> bool:
        return self.environment_of(scope) in self.approval


def promotion(root: Path | None = None) -> Promotion:
    """From every environment's `environment.order` and `environment.approval`."""
    envs = [load_environment(name, root).config.environment for name in environment_names(root)]
    if not envs:
        raise ConfigError.single(root or ENVIRONMENTS, "", f"no environment: no {ENV_FILE} below this folder")
    ordered = sorted(envs, key=lambda e: (e.order, e.name))
    return Promotion(tuple(e.name for e in ordered), frozenset(e.name for e in envs if e.approval))


def account_leads(root: Path | None = None) -> tuple[str, ...]:
    """The first environment of each account in promotion order: the one that applies the
    account-wide stack and that scans the account (`infra compliance`)."""
    leads: dict[str, str] = {}
    for name in promotion(root).order:
        leads.setdefault(load_environment(name, root).config.account.name, name)
    return tuple(leads.values())


def _read(path: Path, prefix: KeyPath = ()) -> Layer:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError.single(path, "", f"invalid TOML: {exc}") from None
    return Layer(path, prefix, data)


def _nearest(directory: Path, name: str, root: Path) -> Path | None:
    for folder in (directory, *directory.parents):
        if (folder / name).is_file():
            return folder / name
        if folder == root:
            return None
    return None


def discover(env_dir: Path, root: Path = ENVIRONMENTS) -> list[Layer]:
    """The layers of one environment, most general first."""
    layers = [_read(root / ROOT_FILE)] if (root / ROOT_FILE).is_file() else []
    for name in LAYER_FILES:
        found = _nearest(env_dir.parent, name, root)
        if found is not None:
            layers.append(_read(found))
    layers.append(_read(env_dir / ENV_FILE))
    for path in sorted(env_dir.glob("*.toml")):
        if path.name == ENV_FILE or path.name in LAYER_FILES:
            continue
        if path.stem not in COMPONENTS:
            raise ConfigError.single(
                path, "", f"not a component layer; component files are named {', '.join(COMPONENTS)}"
            )
        layers.append(_read(path, ("components", path.stem)))
    return layers


def _leaves(data: Mapping[str, Any], prefix: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[KeyPath, str]]:
    merged: dict[str, Any] = {}
    provenance: dict[KeyPath, str] = {}
    for layer in layers:
        source = display_path(layer.path)
        for path, value in _leaves(layer.data, layer.prefix):
            node = merged
            for key in path[:-1]:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):  # a table replaces a scalar set above
                    child = node[key] = {}
                node = child
            node[path[-1]] = value
            provenance = {k: v for k, v in provenance.items() if k[: len(path)] != path}
            provenance[path] = source
    return merged, provenance


def _owner(loc: KeyPath, provenance: Mapping[KeyPath, str], fallback: str) -> str:
    """The file that set this key, or the deepest one that set anything under it."""
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in provenance:
            return provenance[loc[:depth]]
    below = [src for key, src in provenance.items() if key[: len(loc)] == loc]
    return below[-1] if below else fallback


def _problems(exc: ValidationError, provenance: Mapping[KeyPath, str], leaf: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(str(part) for part in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            problems.append(Problem(leaf, ".".join(loc), f"required key is missing: set it in {leaf} or a layer above"))
            continue
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see `infra config ENV --explain` for the known keys)"
        elif "input" in err and not isinstance(err["input"], dict):
            message = f"{message} (got {err['input']!r})"
        problems.append(Problem(_owner(loc, provenance, leaf), ".".join(loc), message))
    return problems


def _account_keys_above_the_environment(layers: list[Layer], env_dir: Path) -> None:
    """Refuse [account] keys in an environment's own files (only env.toml could hold them)."""
    problems = [
        Problem(display_path(layer.path), ".".join(path), ACCOUNT_KEY_HERE)
        for layer in layers
        if layer.path.parent == env_dir and isinstance(layer.data.get(ACCOUNT_TABLE), Mapping)
        for path, _ in _leaves(layer.data[ACCOUNT_TABLE], (ACCOUNT_TABLE,))
    ]
    if problems:
        raise ConfigError(problems)


def load_environment(name: str, root: Path | None = None) -> Loaded:
    root = root or ENVIRONMENTS
    dirs = _environment_dirs(root)
    if name not in dirs:
        known = ", ".join(sorted(dirs)) or "none"
        raise ConfigError.single(root, "", f"unknown environment {name!r}; known environments: {known}")
    env_dir = dirs[name]
    layers = discover(env_dir, root)
    _account_keys_above_the_environment(layers, env_dir)
    merged, provenance = merge(layers)
    leaf = display_path(env_dir / ENV_FILE)

    configured_suffix = merged.get("environment", {}).get("suffix", "")
    suffix = os.environ.get(SUFFIX_VARIABLE)
    if suffix:
        if not re.fullmatch(SUFFIX_PATTERN, suffix):
            raise ConfigError.single(f"${SUFFIX_VARIABLE}", "", f"{suffix!r} must match {SUFFIX_PATTERN}")
        merged.setdefault("environment", {})["suffix"] = suffix
        provenance[("environment", "suffix")] = f"${SUFFIX_VARIABLE}"

    protection = os.environ.get(PROTECTION_VARIABLE)
    if protection:
        if protection not in ("true", "false"):
            raise ConfigError.single(f"${PROTECTION_VARIABLE}", "", f"{protection!r} must be true or false")
        merged["deletion_protection"] = protection == "true"
        provenance[("deletion_protection",)] = f"${PROTECTION_VARIABLE}"

    declared = merged.get("environment", {}).get("name")
    if declared is not None and declared != name:
        raise ConfigError.single(
            provenance[("environment", "name")],
            "environment.name",
            f"{declared!r} does not match its directory name {name!r}",
        )
    try:
        config = EnvConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, provenance, leaf)) from None
    return Loaded(config, env_dir, tuple(layers), provenance, configured_suffix)
