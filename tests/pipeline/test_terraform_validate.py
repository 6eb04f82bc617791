"""Every synthesized stack passes real `terraform validate` against the provider mirror."""

from __future__ import annotations

import pytest

from infra.runner import operations
from infra.runner.executor import OK

pytestmark = pytest.mark.terraform


def test_every_stack_of_every_environment_validates(synthesized):
    _, graph = synthesized
    outcomes = operations.validate(graph, graph.nodes)
    assert [o.stack for o in outcomes if o.status != OK] == []
    assert len(outcomes) == len(graph.nodes)


def test_init_is_skipped_when_nothing_it_depends_on_changed(synthesized):
    from infra.runner.terraform import VALIDATE_WORKSPACES, Workspace

    _, graph = synthesized
    ws = Workspace(graph.nodes["dev-kms"], root=VALIDATE_WORKSPACES)
    ws.prepare()
    ws.init(backend=False)
    assert ws.init(backend=False) is False  # second time: nothing changed, no init
    assert ws.init(backend=False, backend_config=["use_path_style=true"]) is True
