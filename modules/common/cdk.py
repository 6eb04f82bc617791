"""The seam between this repository and CDKTF.

CDKTF was archived by HashiCorp (docs/adr/0001-cdktf.md). Everything that names a cdktf
or provider-binding package is imported here, so moving to the community fork or to
`synth --hcl` output changes this file, not every module.

Importing this module costs ~0.5 s (jsii starts Node and loads CDKTF and the AWS bindings'
assembly; each of the bindings' submodules, Python and JavaScript, is loaded when first used:
`_load_bindings_lazily`, `_load_javascript_lazily`): commands that do not synthesize must not
import it.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import warnings
from pathlib import Path
from types import ModuleType

import jsii
import jsii._reference_map as jsii_registry  # jsii's own registry of types (pinned with jsii), not public API
from cdktf import (
    App,
    Aspects,
    Fn,
    IAspect,
    S3Backend,
    TerraformOutput,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct, IConstruct
from jsii import implements  # a Python class as a jsii interface (an Aspect)

from modules.common import lazy_js

_BINDINGS = lazy_js.PACKAGE
# How the bindings' generated __init__ ends: one `from . import <submodule>` for each of the
# provider's 2,123 resources and data sources.
_EAGER_IMPORTS = "# Loading modules to ensure their types are registered with the jsii runtime library\n"
_SUBMODULE = re.compile(r"from \. import (\w+)")


def _load_bindings_lazily(package: str = _BINDINGS) -> None:
    """Load the AWS bindings as jsii-pacmak now generates them: a submodule on first use.

    The pinned bindings (jsii-pacmak before 1.133) end their __init__ by importing all 2,123
    submodules: ~9 s of an 11-13 s import, for the ~150 our modules use. jsii-pacmak 1.133 and
    later generate a PEP 562 `__getattr__` instead (aws/jsii#5110). This runs the bindings'
    __init__ without that last block and gives the package such a `__getattr__`; every
    environment synthesizes to the same JSON either way. An __init__ of another shape is
    imported as it is (all of it: slow, not wrong).
    """
    spec = importlib.util.find_spec(package)
    if package in sys.modules or spec is None or spec.origin is None:
        return
    head, found, eager = Path(spec.origin).read_text().partition(_EAGER_IMPORTS)
    names = _SUBMODULE.findall(eager)
    if not found or not names or eager.strip() != "\n".join(f"from . import {name}" for name in names):
        return
    submodules = frozenset(names)
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    try:
        exec(compile(head, spec.origin, "exec"), module.__dict__)  # the installed __init__, less its last block
    except BaseException:
        sys.modules.pop(package, None)
        raise
    public: ModuleType = sys.modules[package]  # publication.publish() put the public face there

    def submodule(name: str) -> ModuleType:
        if name not in submodules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return importlib.import_module(f"{package}.{name}")

    public.__getattr__ = submodule  # type: ignore[method-assign]
    # jsii-pacmak 1.133+ also writes each submodule's jsii name and Python module into the
    # bindings (_SUBMODULE_FQN_MAP), and jsii imports the module of a type it meets before
    # its module was imported (an object made on the Node side). Without the map jsii cannot
    # find the module: the same map, in the registry where jsii keeps it.
    assembly = importlib.import_module(f"{package}._jsii").__jsii_assembly__.name
    jsii_registry._submodule_fqn_map.update({f"{assembly}.{_camel(name)}": f"{package}.{name}" for name in names})


def _load_javascript_lazily() -> None:
    """Give jsii's kernel the bindings' JavaScript that requires a submodule on first use
    (lazy_js: ~2 s of Node CPU less in every synth), before their _jsii loads the original:
    the kernel then finds the package loaded (same name and version) and keeps the first.
    Without the copy set-up writes, or with one jsii cannot load (a warning says so), the
    kernel loads the original, whole: slower, the same synth."""
    if _BINDINGS in sys.modules or (lazy := lazy_js.find()) is None:
        return
    try:
        jsii.load(lazy.name, lazy.version, str(lazy.tarball))
    except RuntimeError as exc:  # what jsii raises with the kernel's message; the kernel undoes the load
        warnings.warn(
            f"{lazy.tarball}: jsii could not load it, so the AWS bindings' JavaScript loads whole"
            f" (scripts/setup writes it again): {exc}",
            stacklevel=2,
        )


def _camel(snake: str) -> str:
    """A submodule's jsii name: kms_key -> kmsKey (checked against the jsii types of all 2,123)."""
    first, *rest = snake.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


_load_javascript_lazily()
_load_bindings_lazily()
import cdktf_cdktf_provider_aws as aws  # noqa: E402 - found loaded, lazily, above

__all__ = [
    "App",
    "Aspects",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "S3Backend",
    "TerraformOutput",
    "TerraformStack",
    "Testing",
    "Token",
    "aws",
    "implements",
]
