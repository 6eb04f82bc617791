"""staging and prod through the whole loop, each on a fresh emulator (its own module, so
that no other module's deployment is alive meanwhile).

staging's loop runs as the CI roles with IAM enforced (`infra up --as-ci-roles`): after the
administrator's set-up, its plans, compliance scan and re-plan run as the read-only plan
role, its apply, probes and destroy as the apply role, each with the policies
modules/ci_identities/documents.py gives it (issue 11: the whole environment applied and
destroyed as the apply role). prod's runs as the emulator's default, unauthenticated caller."""

from __future__ import annotations

import pytest

from infra.pipeline.up import up
from modules.ci_identities import documents

pytestmark = pytest.mark.e2e

AS_ROLE = {
    "plan": "plan",
    "apply": "apply",
    "probe": "apply",
    "compliance": "plan",
    "re-plan": "plan",
    "destroy": "apply",
}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_whole_loop_passes(env):
    loop = up(env, as_ci_roles=env == "staging")
    phases = [(p.name, p.status) for p in loop.phases]
    names = ["emulator", "bootstrap", "synth", "scan", "plan", "apply", "probe", "compliance", "re-plan", "destroy"]
    assert phases == [(name, "ok") for name in names], [(p.name, p.status, p.detail) for p in loop.phases]
    if env == "staging":  # each phase says whom it ran as: the role its GitHub job assumes
        for phase in loop.phases:
            if role := AS_ROLE.get(phase.name):
                assert f":assumed-role/{documents.ROLE_NAMES[role]}/" in phase.detail, (phase.name, phase.detail)
