"""The AWS bindings load a submodule when it is first used, not all 2,123 of them at import
(modules/common/cdk.py): the import costs ~3 s, where importing them as written takes 11-13 s."""

from __future__ import annotations

import json
import subprocess
import sys

from infra.paths import REPO

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


def test_the_count_sees_bindings_imported_whole():
    """The check above can fail: the bindings imported as their __init__ is written (before
    the seam's loader runs) bring every submodule with them."""
    seen = _run(f"import {PACKAGE}\n{PROGRAM}")
    assert len(seen["at_import"]) > 2000


def test_a_type_jsii_meets_before_its_submodule_is_imported_is_found():
    """As in bindings jsii-pacmak 1.133+ generates: jsii imports the type's submodule (through
    the seam's map of submodule names); without the map it is jsii's "Unknown type" error."""
    assert _run(NODE_SIDE)["children"] == ["KmsKey"]
