"""The AWS bindings load a submodule when it is first used, not all 2,123 of them at import
(modules/common/cdk.py): the import costs ~3 s, where importing them as written takes 11-13 s.
The real bindings are imported in new processes; the loader's fallback (a generated __init__
of another shape is imported as written) is shown on small packages of that shape."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsii._reference_map as jsii_registry
import pytest

from infra.paths import REPO
from modules.common import cdk

PACKAGE = "cdktf_cdktf_provider_aws"
# A new process imports the seam, lists the bindings' submodules, then uses one and asks
# for a name the provider does not have.
PROGRAM = f"""
import json, sys
from modules.common.cdk import aws
loaded = lambda: sorted({{m.split(".")[1] for m in sys.modules if m.startswith("{PACKAGE}.")}})
at_import = loaded()
key = aws.kms_key.KmsKey.__jsii_type__
try:
    aws.no_such_resource
    missing = ""
except AttributeError as exc:
    missing = str(exc)
print(json.dumps({{"at_import": at_import, "after_use": loaded(), "key": key, "missing": missing}}))
"""


# jsii meets a provider type whose submodule Python never imported: an object made on jsii's
# Node side. Simulated: Python forgets a KmsKey it made (its reference, its types, its
# module), then asks the stack for its children.
NODE_SIDE = f"""
import json, sys, tempfile
import jsii._reference_map as registry
from modules.common.cdk import App, TerraformStack, aws
with tempfile.TemporaryDirectory() as out:
    stack = TerraformStack(App(outdir=out), "s")
    key = aws.kms_key.KmsKey(stack, "k")
    for ref in [ref for ref, obj in registry._refs._refs.items() if obj is key]:
        del registry._refs._refs[ref]
    for fqn in [fqn for fqn in registry._types if fqn.startswith("@cdktf/provider-aws.kmsKey.")]:
        del registry._types[fqn]
    del sys.modules["{PACKAGE}.kms_key"], sys.modules["{PACKAGE}"].kms_key
    print(json.dumps({{"children": [type(c).__name__ for c in stack.node.children]}}))
"""


def _run(program: str) -> dict:
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_bindings_load_a_submodule_on_first_use_and_refuse_a_name_they_do_not_have():
    seen = _run(PROGRAM)
    assert len(seen["at_import"]) < 10, seen["at_import"]  # _jsii and what the package's head imports
    assert set(seen["after_use"]) - set(seen["at_import"]) == {"kms_key"}
    assert seen["key"] == "@cdktf/provider-aws.kmsKey.KmsKey"
    assert "has no attribute 'no_such_resource'" in seen["missing"]


# The loader's two paths, on a package of the bindings' shape with two submodules: a head, the
# line the bindings' eager imports start after, then one `from . import X` per submodule.
MARKER = cdk._EAGER_IMPORTS


def _package(root: Path, name: str, tail: str) -> str:
    folder = root / name
    (folder / "_jsii").mkdir(parents=True)
    (folder / "_jsii" / "__init__.py").write_text(
        "from types import SimpleNamespace\n__jsii_assembly__ = SimpleNamespace(name='@fake/provider')\n"
    )
    for sub in ("kms_key", "s3_bucket"):
        (folder / f"{sub}.py").write_text(f"NAME = {sub!r}\n")
    (folder / "__init__.py").write_text("HEAD = 'ran'\n" + tail)
    return name


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Packages written under tmp_path are importable; what they and the loader leave behind
    (modules, jsii's map of submodule names) is gone afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(jsii_registry, "_submodule_fqn_map", dict(jsii_registry._submodule_fqn_map))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("fake_bindings")]:
        del sys.modules[name]


def test_the_loader_imports_a_submodule_on_first_use_and_tells_jsii_where_each_one_is(fake):
    name = _package(fake, "fake_bindings_lazy", MARKER + "from . import kms_key\nfrom . import s3_bucket\n")
    cdk._load_bindings_lazily(name)
    package = sys.modules[name]
    assert package.HEAD == "ran"
    assert f"{name}.kms_key" not in sys.modules
    assert package.kms_key.NAME == "kms_key"
    assert f"{name}.kms_key" in sys.modules and f"{name}.s3_bucket" not in sys.modules
    with pytest.raises(AttributeError, match="has no attribute 'no_such_resource'"):
        package.no_such_resource  # noqa: B018 - the access is the test
    assert jsii_registry._submodule_fqn_map["@fake/provider.s3Bucket"] == f"{name}.s3_bucket"


SHAPES = {
    "no_marker": "from . import kms_key\nfrom . import s3_bucket\n",
    "code_after_the_imports": MARKER + "from . import kms_key\nfrom . import s3_bucket\nHEAD = 'again'\n",
    "an_import_of_another_form": MARKER + "from . import kms_key as key\nfrom . import s3_bucket\n",
}


@pytest.mark.parametrize("shape", SHAPES)
def test_an_init_of_another_shape_is_left_to_be_imported_as_written(fake, shape):
    """The checks of the test above can fail: a package the loader does not take is imported
    whole, every submodule at once (the bindings: all 2,123 of them, 11-13 s)."""
    name = _package(fake, f"fake_bindings_{shape}", SHAPES[shape])
    cdk._load_bindings_lazily(name)
    assert name not in sys.modules
    importlib.import_module(name)
    assert {f"{name}.kms_key", f"{name}.s3_bucket"} <= set(sys.modules)
    assert not any(key.startswith("@fake/") for key in jsii_registry._submodule_fqn_map)


def test_a_type_jsii_meets_before_its_submodule_is_imported_is_found():
    """As in bindings jsii-pacmak 1.133+ generates: jsii imports the type's submodule (through
    the seam's map of submodule names); without the map it is jsii's "Unknown type" error."""
    assert _run(NODE_SIDE)["children"] == ["KmsKey"]
