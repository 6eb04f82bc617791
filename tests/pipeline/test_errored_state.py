"""Terraform that cannot save the state it changed leaves it in errored.tfstate: after a
failed run it is pushed back to the backend when that answers, else the failure says where
it is and the exact command that pushes it; the next run pushes it before anything else.

A tiny real stack on the emulator; the errored.tfstate is planted (the state Terraform had
in hand, one serial on), next to a Terraform command that fails.
"""

from __future__ import annotations

import json
import socket

import boto3
import pytest

from infra.runner import operations
from infra.runner.bootstrap import create_state_bucket
from infra.runner.terraform import ERRORED_STATE, TerraformError, Workspace
from infra.toolchain import terraform_env
from tests.pipeline import tiny

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]  # minutes on the emulator: they run beside the loops
KEY = f"{tiny.ENV}/producer/terraform.tfstate"


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory):
    from infra.emulator import launcher

    with launcher.running(tiny.ACCOUNT, tiny.REGION, fresh=True):
        create_state_bucket(tiny.BUCKET, tiny.REGION)
        root = tmp_path_factory.mktemp("errored")
        graph = tiny.graph(tiny.synth(root, "c1", tiny.producer("v1"), tiny.consumer()))
        operations.apply(graph, ["t-producer"], run_dir=root / "run")
        yield graph


def _plant(ws: Workspace, marker: str) -> None:
    """The state a failed apply could not save: the backend's, one serial on, marked."""
    state = json.loads(ws.run("state", "pull").output)
    state["serial"] += 1
    state["outputs"]["marker"] = {"value": marker, "type": "string"}
    (ws.dir / ERRORED_STATE).write_text(json.dumps(state))


def _saved_marker() -> str | None:
    body = boto3.client("s3", region_name=tiny.REGION).get_object(Bucket=tiny.BUCKET, Key=KEY)["Body"].read()
    return json.loads(body)["outputs"].get("marker", {}).get("value")


def _fail(ws: Workspace) -> str:
    with pytest.raises(TerraformError) as failed:
        ws.run("apply", "-input=false", "-no-color", "no-such.tfplan")
    return str(failed.value)


def test_after_a_failed_run_the_errored_state_is_pushed_back(applied):
    ws = Workspace(applied.nodes["t-producer"])
    _plant(ws, "pushed")
    message = _fail(ws)
    assert f"{ERRORED_STATE} was pushed to the backend: the state is whole" in message
    assert _saved_marker() == "pushed"
    assert not (ws.dir / ERRORED_STATE).exists()


def test_with_the_backend_away_the_failure_says_where_the_state_is_and_how_to_push_it(applied):
    with socket.socket() as s:  # a port nothing answers on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ws = Workspace(applied.nodes["t-producer"])
    _plant(ws, "later")
    away = Workspace(ws.node, env=terraform_env() | {"AWS_ENDPOINT_URL": f"https://127.0.0.1:{closed}"})
    message = _fail(away)
    assert f"it is in {ws.dir / ERRORED_STATE}, and pushing it failed" in message
    assert f"cd {ws.dir} && terraform state push {ERRORED_STATE}" in message
    assert (ws.dir / ERRORED_STATE).is_file()

    # the next run, with the backend back, pushes it before it plans
    operations.apply(applied, ["t-producer"], run_dir=ws.dir.parent / "next-run")
    assert not (ws.dir / ERRORED_STATE).exists()
    assert _saved_marker() is None  # pushed, then this apply's plan removed the unknown output
    log = ws.log.read_text()
    assert log.rindex(f"$ terraform state push {ERRORED_STATE}") < log.rindex("$ terraform plan")
