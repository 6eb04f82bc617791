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


def test_an_invalid_stack_fails_alone_with_its_error(synthesized, tmp_path):
    """One Terraform run validates every stack; an error still lands on its own stack."""
    import json
    import shutil
    from dataclasses import replace

    from infra.runner.operations import OperationFailed
    from infra.synth.graph import StackGraph

    _, graph = synthesized
    broken = tmp_path / "dev-kms.tf.json"
    shutil.copyfile(graph.nodes["dev-kms"].json_path, broken)
    doc = json.loads(broken.read_text())
    key = next(iter(doc["resource"]["aws_kms_key"].values()))
    key["no_such_argument"] = True
    broken.write_text(json.dumps(doc))
    nodes = {**graph.nodes, "dev-kms": replace(graph.nodes["dev-kms"], json_path=broken)}
    names = ["dev-kms", "dev-network", "dev-redis"]
    with pytest.raises(OperationFailed) as failed:
        operations.validate(StackGraph(nodes), names)
    statuses = {o.stack: o.status for o in failed.value.outcomes}
    assert statuses == {"dev-kms": "failed", "dev-network": OK, "dev-redis": OK}
    assert "no_such_argument" in str(failed.value)


def test_init_is_skipped_when_nothing_it_depends_on_changed(synthesized):
    from infra.runner.terraform import VALIDATE_WORKSPACES, Workspace

    _, graph = synthesized
    ws = Workspace(graph.nodes["dev-kms"], root=VALIDATE_WORKSPACES)
    ws.prepare()
    ws.init(backend=False)
    assert ws.init(backend=False) is False  # second time: nothing changed, no init
    assert ws.init(backend=False, backend_config=["use_path_style=true"]) is True
