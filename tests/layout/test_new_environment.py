"""Adding an environment is a new folder under environments/ and nothing else.

A `qa` environment is added to a copy of the layer tree (its env.toml says where it stands
in the promotion order); the real CLI then configures and synthesizes it, and the comment
orders it between dev and staging. No engine file names an environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from infra.config import promotion
from infra.paths import REPO
from infra.report.comment import Context, render
from infra.report.plan import ResourceChange, StackPlan


def add_qa(layers: Path) -> Path:
    qa = layers / "nonprod" / "sa-east-1" / "qa"
    qa.mkdir()
    text = (layers / "nonprod" / "sa-east-1" / "dev" / "env.toml").read_text()
    text = text.replace('name = "dev"', 'name = "qa"').replace('tag = "development"', 'tag = "qa"')
    text = re.sub(r'suffix = "\w+"', 'suffix = "qa01"', text)
    text = re.sub(r"order = \d+", "order = 2", text)
    (qa / "env.toml").write_text(text)
    return qa


def test_qa_is_a_folder(layers, tmp_path):
    add_qa(layers)
    env = {**os.environ, "INFRA_ENVIRONMENTS": str(layers), "INFRA_WORK_DIR": str(tmp_path / "work")}
    command = [sys.executable, "-c", "from infra.cli import main; main()"]

    config = subprocess.run([*command, "config", "qa"], cwd=REPO, env=env, capture_output=True, text=True)
    assert config.returncode == 0, config.stderr
    assert json.loads(config.stdout)["environment"]["name"] == "qa"

    synth = subprocess.run([*command, "synth", "qa"], cwd=REPO, env=env, capture_output=True, text=True)
    assert synth.returncode == 0, synth.stderr
    manifest = json.loads((tmp_path / "work" / "synth" / "manifest.json").read_text())
    qa_stacks = sorted(name for name in manifest["stacks"] if name.startswith("qa-"))
    assert "qa-lms" in qa_stacks and "qa-database" in qa_stacks
    doc = json.loads((tmp_path / "work" / "synth" / "stacks" / "qa-kms" / "cdk.tf.json").read_text())
    assert doc["terraform"]["backend"]["s3"]["key"] == "qa/kms/terraform.tfstate"

    order = promotion(layers)
    assert order.order == ("dev", "qa", "staging", "prod")
    assert order.approval == frozenset({"prod"})


def test_the_comment_orders_environments_by_the_layers(layers):
    add_qa(layers)
    change = ResourceChange("aws_kms_key.k", "aws_kms_key", "update", "", ("~ description",))
    plans = [StackPlan(f"{env}-kms", env, "kms", changes=(change,)) for env in ("prod", "qa", "staging", "dev")]
    text = render(plans, Context(target="all", promotion=promotion(layers)))
    assert "`dev` → `qa` → `staging` → `prod` (after approval)" in text
