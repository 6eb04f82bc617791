"""Find an environment's layer files, merge them in order and validate the result.

The tree is Terragrunt's: `root.toml` at the top of environments/, then the nearest
`account.toml`, `region.toml` and `env.toml` above an environment directory, then one
optional file per component in that directory (`database.toml` holds only the keys of
components.database). Tables merge key by key; any other value, lists included, is
replaced by the later layer. Every leaf remembers the file it came from.

The tree itself is checked first (`scan`): each layer file sits where it is read, nothing
in it is a link or unreadable, an environment's name is one folder's, and no two accounts
share a name or an id. Any layer above the components may hold a `[require]` table: rules
the merged configuration must meet (`Requirement`), which no later layer can lift.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from infra.config.errors import ConfigError, Problem, display_path
from infra.config.models import SUFFIX_PATTERN, Components, EnvConfig
from infra.paths import ENVIRONMENTS

KeyPath = tuple[str, ...]
ACCOUNT_FILE, REGION_FILE = LAYER_FILES = ("account.toml", "region.toml")
ENV_FILE = "env.toml"
ROOT_FILE = "root.toml"
# Where each layer file is read: its folder's depth below environments/ (README, "Layout").
DEPTH = {ROOT_FILE: 0, ACCOUNT_FILE: 1, REGION_FILE: 2, ENV_FILE: 3}
PLACE = {
    ROOT_FILE: "environments/root.toml",
    ACCOUNT_FILE: "<account>/account.toml",
    REGION_FILE: "<account>/<region>/region.toml",
    ENV_FILE: "<account>/<region>/<env>/env.toml",
}
ENV_DEPTH = DEPTH[ENV_FILE]
# Deeper than any key of the schema (account.guardduty.s3_data_events is 3): a file nested
# further is a mistake, and thousands of levels would exhaust Python's recursion.
MAX_NESTING = 8
REQUIRE_TABLE = "require"
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


# A comparison in a [require] rule: ">= 7", "< 100", for numbers.
COMPARISON = re.compile(r"\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*")
OPERATORS = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__}


@dataclass(frozen=True)
class Requirement:
    """One `[require]` rule: the merged value at `key` must equal `value`, or, when `value`
    is a comparison string (">= 7"), be a number that meets it."""

    key: KeyPath
    value: Any
    source: str  # the file that requires it

    @property
    def comparison(self) -> tuple[str, float] | None:
        found = COMPARISON.fullmatch(self.value) if isinstance(self.value, str) else None
        return (found[1], float(found[2])) if found else None

    def met_by(self, actual: Any) -> bool:
        if self.comparison is None:
            return _same(actual, self.value)
        operator, bound = self.comparison
        is_number = isinstance(actual, int | float) and not isinstance(actual, bool)
        return is_number and OPERATORS[operator](float(actual), bound)

    @property
    def name(self) -> str:
        return _rule_name(self.key)

    def __str__(self) -> str:
        return f"{self.name} = {json.dumps(self.value, default=str)}"


def _rule_name(key: KeyPath) -> str:
    return f'{REQUIRE_TABLE}."{".".join(key)}"'


def _same(actual: Any, wanted: Any) -> bool:
    """Equal and of one kind: true is not 1."""
    return isinstance(actual, bool) == isinstance(wanted, bool) and actual == wanted


@dataclass(frozen=True)
class Layer:
    path: Path
    prefix: KeyPath  # where the file's keys sit in the merged tree
    data: Mapping[str, Any]
    require: tuple[Requirement, ...] = ()  # its [require] rules, kept out of the merge


@dataclass(frozen=True)
class Loaded:
    config: EnvConfig
    directory: Path
    layers: tuple[Layer, ...]
    provenance: Mapping[KeyPath, str]  # leaf key path -> the file (or variable) that set it
    configured_suffix: str  # the suffix the layer files give, before ENVIRONMENT_SUFFIX
    requirements: tuple[Requirement, ...] = field(default=())

    @property
    def scope(self) -> str:
        """The state prefix of this environment's stacks and of its stack ids.

        `dev` normally; `dev-<suffix>` for a side-by-side copy made with ENVIRONMENT_SUFFIX,
        so that a copy never shares state with the environment it copies.
        """
        env = self.config.environment
        return env.name if env.suffix == self.configured_suffix else f"{env.name}-{env.suffix}"


@dataclass(frozen=True)
class Tree:
    """What `scan` found: the environments and every folder by name."""

    environments: Mapping[str, Path]  # name -> its folder
    folders: Mapping[str, tuple[Path, ...]]  # every folder below the root, by name


def _link_problem(path: Path) -> str:
    try:
        target = path.readlink()
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"a symbolic link loop (to {target})"
        return f"a dangling symbolic link (to {target}, which does not exist)"
    return (
        f"a symbolic link (to {target}): layers are plain files and folders of this tree, "
        "so that each value's provenance is the file that holds it; copy or move it here"
    )


def _component_problem(path: Path) -> str | None:
    if path.stem in COMPONENTS:
        return None
    return f"not a component layer; component files are named {', '.join(COMPONENTS)}"


def _placement_problem(path: Path, depth: int) -> str | None:
    """Why this TOML file is never read where it is (None: it is read)."""
    name = path.name
    if name in DEPTH:
        if DEPTH[name] == depth:
            return None
        return f"a layer file in the wrong place: {name} is read only as {PLACE[name]}; here it would be ignored"
    if depth == ENV_DEPTH:
        return _component_problem(path)
    if path.stem in COMPONENTS:
        return (
            "a component layer outside an environment folder is never read: "
            f"it belongs in <account>/<region>/<env>/{name} (or in root.toml, under [components.{path.stem}])"
        )
    return f"not a layer file: the layers are {', '.join(PLACE.values())} and <component>.toml"


def _walk(folder: Path, depth: int, found: dict[str, list[Path]], problems: list[Problem]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(display_path(folder), "", f"cannot be read: {exc.strerror}"))
        return
    layer_files = {e.name for e in entries if e.name.endswith(".toml")}
    if depth == ENV_DEPTH and ENV_FILE not in layer_files and layer_files:
        problems.append(
            Problem(
                display_path(folder),
                "",
                f"layer files ({', '.join(sorted(layer_files))}) but no {ENV_FILE}: this folder is no environment "
                f"and they are never read; add its {ENV_FILE} (see {PLACE[ENV_FILE]})",
            )
        )
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            problems.append(Problem(display_path(path), "", _link_problem(path)))
        elif entry.is_dir():
            if entry.name.endswith(".toml"):
                problems.append(Problem(display_path(path), "", "a folder where a layer file is expected"))
                continue
            found.setdefault(entry.name, []).append(path)
            _walk(path, depth + 1, found, problems)
        elif entry.name.endswith(".toml"):
            if not stat.S_ISREG(entry.stat().st_mode):
                problems.append(Problem(display_path(path), "", "not a regular file"))
                continue
            why = _placement_problem(path, depth)
            if why is not None and not (depth == ENV_DEPTH and ENV_FILE not in layer_files):
                problems.append(Problem(display_path(path), "", why))


def _environments(found: Mapping[str, list[Path]], root: Path) -> tuple[dict[str, Path], list[Problem]]:
    environments: dict[str, Path] = {}
    problems = []
    for name, folders in sorted(found.items()):
        homes = [f for f in folders if (f / ENV_FILE).is_file() and len(f.relative_to(root).parts) == ENV_DEPTH]
        if len(homes) > 1:
            where = " and ".join(display_path(f) for f in homes)
            problems.append(
                Problem(
                    display_path(homes[-1] / ENV_FILE),
                    "environment.name",
                    f"environment {name!r} is in {len(homes)} folders: {where}; an environment's name is one folder's, "
                    "in one account and region (rename or remove the copy)",
                )
            )
        elif homes:
            environments[name] = homes[0]
    return environments, problems


def _account_identities(root: Path) -> list[Problem]:
    """Each account folder's account is another: no two share a name (the account stack is
    named after it) or an id (one account would be two in the graph)."""
    base = [_read(root / ROOT_FILE)] if (root / ROOT_FILE).is_file() else []
    seen: dict[tuple[str, Any], tuple[str, str]] = {}  # (key, value) -> (account folder, file)
    problems = []
    for account_file in sorted(root.glob(f"*/{ACCOUNT_FILE}")):
        folder = account_file.parent
        account = [*base, _read(account_file)]
        regions = [[*account, _read(region)] for region in sorted(folder.glob(f"*/{REGION_FILE}"))]
        for layers in regions or [account]:
            merged, provenance = merge(layers)
            table = merged.get(ACCOUNT_TABLE)
            for key in ("name", "id"):
                value = table.get(key) if isinstance(table, dict) else None
                if not isinstance(value, str):
                    continue  # missing or mistyped: the schema says so
                source = provenance[(ACCOUNT_TABLE, key)]
                first = seen.setdefault((key, value), (folder.name, source))
                if first[0] != folder.name:
                    problems.append(
                        Problem(
                            source,
                            f"{ACCOUNT_TABLE}.{key}",
                            f"{value!r} is also the {key} of the account in {first[1]}: each account folder "
                            f"is one AWS account, with {'an' if key == 'id' else 'a'} {key} of its own",
                        )
                    )
    return list(dict.fromkeys(problems))


def scan(root: Path | None = None) -> Tree:
    """The environments of the tree, once every file in it is where it is read."""
    root = root or ENVIRONMENTS
    if not root.is_dir():
        raise ConfigError.single(root, "", "no such folder: the layer tree (INFRA_ENVIRONMENTS) is missing")
    found: dict[str, list[Path]] = {}
    problems: list[Problem] = []
    _walk(root, 0, found, problems)
    environments, duplicates = _environments(found, root)
    problems += duplicates
    if problems:
        raise ConfigError(problems)
    accounts = _account_identities(root)
    if accounts:
        raise ConfigError(accounts)
    return Tree(environments, {name: tuple(paths) for name, paths in found.items()})


def environment_names(root: Path | None = None) -> list[str]:
    return sorted(scan(root).environments)


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


def _too_deep(data: Any, prefix: KeyPath) -> KeyPath | None:
    """The first key path nested deeper than MAX_NESTING (tables and arrays), if any."""
    stack: list[tuple[Any, KeyPath, int]] = [(data, prefix, 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_NESTING:
            return path
        if isinstance(value, Mapping):
            stack += [(v, (*path, str(k)), depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, path, depth + 1) for v in value]  # an array has no keys of its own
    return None


def _deepest_line(text: str) -> tuple[int, str]:
    """Where brackets first nest deeper than MAX_NESTING, and the key assigned there, for a
    file too deep for the parser to say (strings are not told apart: a rough but safe guess)."""
    depth, key = 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        assigned = re.match(r"\s*([A-Za-z0-9_.-]+)\s*=", line)
        key = assigned[1] if assigned else key
        for char in line:
            depth += (char in "[{") - (char in "]}")
            if depth > MAX_NESTING:
                return number, key
    return 1, key


def _read(path: Path, prefix: KeyPath = ()) -> Layer:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError.single(path, "", f"cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError.single(path, "", f"not UTF-8 text (byte {exc.start}): a layer is a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError.single(path, "", f"invalid TOML: {exc}") from None
    except RecursionError:
        line, key = _deepest_line(raw.decode("utf-8"))
        raise ConfigError.single(
            path, ".".join((*prefix, key)) if key else "", f"line {line}: nested deeper than {MAX_NESTING} levels"
        ) from None
    deep = _too_deep(data, prefix)
    if deep is not None:
        raise ConfigError.single(path, ".".join(deep), f"nested deeper than {MAX_NESTING} levels")
    return Layer(path, prefix, data, _requirements(path, prefix, data))


def _requirements(path: Path, prefix: KeyPath, data: dict[str, Any]) -> tuple[Requirement, ...]:
    """Take the [require] table out of a layer's data (it is rules, not settings)."""
    if REQUIRE_TABLE not in data:
        return ()
    if prefix:
        raise ConfigError.single(
            path, REQUIRE_TABLE, "a component layer holds settings only; put [require] in env.toml or a layer above"
        )
    table = data.pop(REQUIRE_TABLE)
    if not isinstance(table, Mapping):
        raise ConfigError.single(path, REQUIRE_TABLE, 'a table of rules: [require] key = value, or key = ">= 7"')
    source = display_path(path)
    rules = []
    for key, value in _leaves(table, ()):
        # `a.b = 1` nests tables and `"a.b" = 1` does not: both name the key a.b
        parts = tuple(part for dotted in key for part in dotted.split("."))
        if isinstance(value, str) and value.lstrip()[:1] in "<>" and COMPARISON.fullmatch(value) is None:
            raise ConfigError.single(
                path, _rule_name(parts), f'{value!r}: a comparison is ">= N", "> N", "<= N" or "< N"'
            )
        rules.append(Requirement(parts, value, source))
    return tuple(rules)


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
        why = _component_problem(path)
        if why is not None:
            raise ConfigError.single(path, "", why)
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
            for depth, key in enumerate(path[:-1], 1):
                child = node.setdefault(key, {})
                if not isinstance(child, dict):  # a table replaces a scalar set above
                    child = node[key] = {}
                    provenance.pop(path[:depth], None)
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
        elif "input" in err and not isinstance(err["input"], dict) and str(err["input"]) not in message:
            message = f"{message} (got {err['input']!r})"
        named = NAMED_KEY.match(message)
        if named and (*loc, *named[1].split(".")) in provenance:  # "memory_mib: ..." from a model validator
            loc, message = (*loc, *named[1].split(".")), message[named.end() :]
        problems.append(Problem(_owner(loc, provenance, leaf), ".".join(loc), message))
    return problems


NAMED_KEY = re.compile(r"([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*): ")


def _kind(value: Any) -> str:
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "bool"),
        ((int, float), "number"),
        (str, "string"),
        (Mapping, "table"),
        (list, "list"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _requirement_problem(rule: Requirement, actual: Any, setter: str | None) -> Problem | None:
    """What is wrong with the value at a rule's key, or with the rule itself (None: it holds)."""
    key = ".".join(rule.key)
    wanted = "a number" if rule.comparison is not None else f"a {_kind(rule.value)}"
    if _kind(actual) != (_kind(rule.value) if rule.comparison is None else "number"):
        return Problem(rule.source, rule.name, f"{key} is a {_kind(actual)}, so {wanted} never matches")
    if rule.met_by(actual):
        return None
    value = json.dumps(actual, default=str) + ("" if setter else " (the default: no layer sets it)")
    return Problem(setter or rule.source, key, f"{value} breaks a rule of {rule.source}: {rule}")


def _requirements_met(loaded: Loaded) -> None:
    """Every [require] rule of the environment's layers holds for its merged configuration.

    A value an operator's variable set ($INFRA_DELETION_PROTECTION: the teardown of a
    protected environment) is above the layers and their rules.
    """
    values = loaded.config.model_dump()
    problems = []
    for rule in loaded.requirements:
        actual: Any = values
        for part in rule.key:
            if not isinstance(actual, dict) or part not in actual:
                problems.append(Problem(rule.source, rule.name, "no such key in the configuration"))
                break
            actual = actual[part]
        else:
            setter = loaded.provenance.get(rule.key)
            if setter is not None and setter.startswith("$"):
                continue
            problem = _requirement_problem(rule, actual, setter)
            if problem is not None:
                problems.append(problem)
    if problems:
        raise ConfigError(problems)


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
    tree = scan(root)
    dirs = tree.environments
    if name not in dirs:
        known = ", ".join(sorted(dirs)) or "none"
        for folder in tree.folders.get(name, ()):
            raise ConfigError.single(
                folder, "", f"no {ENV_FILE} in this folder, so {name!r} is no environment; known environments: {known}"
            )
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
    requirements = tuple(rule for layer in layers for rule in layer.require)
    loaded = Loaded(config, env_dir, tuple(layers), provenance, configured_suffix, requirements)
    _requirements_met(loaded)
    return loaded
