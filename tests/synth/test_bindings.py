"""The AWS bindings load a submodule when it is first used, not all 2,123 of them at import
(modules/common/cdk.py): the import, and so every synth, costs ~3 s instead of ~9."""

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
