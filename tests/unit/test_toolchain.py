from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra import toolchain
from infra.versions import AWS_PROVIDER_VERSION


def test_finds_a_mirror_named_by_the_variable(tmp_path, monkeypatch):
    binary = tmp_path / "registry.terraform.io/hashicorp/aws" / AWS_PROVIDER_VERSION / toolchain.os_arch()
    binary.mkdir(parents=True)
    (binary / f"terraform-provider-aws_v{AWS_PROVIDER_VERSION}_x5").write_text("")
    monkeypatch.setenv(toolchain.MIRROR_VARIABLE, str(tmp_path))
    assert toolchain.find_mirror() == tmp_path


def test_scan_finds_the_mirror_five_folders_above_the_binary(tmp_path):
    binary = tmp_path / "deep/registry.terraform.io/hashicorp/aws" / AWS_PROVIDER_VERSION / toolchain.os_arch()
    binary.mkdir(parents=True)
    (binary / f"terraform-provider-aws_v{AWS_PROVIDER_VERSION}_x5").write_text("")
    assert list(toolchain._scan(tmp_path)) == [tmp_path / "deep"]


def test_cli_config_uses_the_mirror_and_a_shared_cache(tmp_path):
    text = toolchain.cli_config_text(tmp_path)
    assert f'path    = "{tmp_path}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert f'plugin_cache_dir   = "{toolchain.PLUGIN_CACHE}"' in text


@pytest.mark.terraform
def test_this_machine_has_terraform_and_the_mirror():
    version = subprocess.run([toolchain.terraform_binary(), "version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("Terraform v1.")
    assert toolchain._is_mirror(toolchain.find_mirror())


def test_node_22_is_installed_for_jsii():
    node = toolchain.NODE_BIN / "node"
    if not node.exists():
        pytest.skip("set-up has not installed node_modules (run scripts/setup)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, env=os.environ)
    assert version.stdout.startswith("v22.")


def test_terraform_runs_with_a_lazier_go_collector_unless_the_caller_chose_one():
    """GOGC=400 cuts a fifth of a plan's CPU (docs/performance.md); a GOGC set by the caller wins."""
    assert toolchain.terraform_env(base={"PATH": "/bin"})["GOGC"] == toolchain.GO_GC == "400"
    assert toolchain.terraform_env(base={"PATH": "/bin", "GOGC": "100"})["GOGC"] == "100"


def test_set_up_goes_on_when_the_bindings_lazy_javascript_cannot_be_written(tmp_path):
    """A read-only environment: `infra toolchain` says the copy was not written and succeeds
    (synth then loads the bindings' JavaScript whole; tests/synth/test_lazy_js.py)."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    program = (
        "import sys; from pathlib import Path; from modules.common import lazy_js\n"
        "lazy_js.FOLDER = Path(sys.argv[1]) / 'lazy-js'\n"
        "from infra.cli import main; sys.argv = ['infra', 'toolchain', '--quiet']; main()"
    )
    done = subprocess.run([sys.executable, "-c", program, str(blocked)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "toolchain: the AWS bindings' lazy JavaScript was not written" in done.stderr
    assert not (blocked / "lazy-js").exists()
