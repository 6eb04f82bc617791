"""Every probe run is a new pytest process (infra/pipeline/probe.py): what it imports is paid
for at every run, in `infra up`, `infra probe` and each e2e break test."""

from __future__ import annotations

import subprocess
import sys

from infra.paths import REPO

PROBE_SIDE = (
    "infra.pipeline.probe",
    "infra.pipeline.probe_task",
    "tests.post_apply.conftest",
    "tests.post_apply.test_database",
    "tests.post_apply.test_edge",
    "tests.post_apply.test_guardduty",
    "tests.post_apply.test_in_vpc",
    "tests.post_apply.test_lms",
    "tests.post_apply.test_redis",
    "tests.post_apply.test_storage",
    "tests.post_apply.test_waf",
)


def _loads_bindings(modules: tuple[str, ...]) -> list[str]:
    """Which of the CDKTF packages a new process has loaded after importing `modules`."""
    program = (
        "import importlib, sys\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('cdktf', 'cdktf_cdktf_provider_aws', 'constructs', 'jsii'))))"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_probe_suite_loads_none_of_the_cdktf_bindings():
    """The probe program lives in modules/lms, whose construct loads the AWS bindings (10 s);
    the suite and the runner import the program alone."""
    assert _loads_bindings(PROBE_SIDE) == []


def test_the_check_sees_a_binding_package_that_is_loaded():
    """The check above can fail: a process that loads `constructs` (a base of the bindings,
    0.4 s rather than the bindings' 10) is seen."""
    assert "constructs" in _loads_bindings(("modules.lms.probe_program", "constructs"))
