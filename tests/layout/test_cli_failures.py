"""Every expected failure reaches the user as an exit code and one message, never a traceback.

Each case runs the real CLI in a subprocess (as a person or a workflow runs it) and breaks
one thing it depends on: the configuration, an argument, git, checkov, GitHub, AWS, a plan
file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from infra.errors import EXIT_BAD_INPUT, EXIT_FAILED
from infra.paths import REPO


def run_cli(*args: str, env: dict[str, str] | None = None, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{prelude}\nfrom infra.cli import main\nmain()"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AWS_"))} | (env or {})
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=environ, capture_output=True, text=True, timeout=300
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int, *said: str) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == code, proc.stderr
    for text in said:
        assert text in proc.stderr, proc.stderr


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder as `infra plan` leaves it: one stack planned."""
    (tmp_path / "dev-kms").mkdir()
    (tmp_path / "dev-kms" / "plan.json").write_text(json.dumps({"resource_changes": []}))
    doc = {"dev-kms": {"status": "ok", "detail": "", "environment": "dev", "component": "kms"}}
    (tmp_path / "outcomes.json").write_text(json.dumps(doc))
    return tmp_path


class _Denied(BaseHTTPRequestHandler):
    """An S3 endpoint that refuses everything, as AWS answers a role without the permission."""

    def _deny(self) -> None:
        body = b'<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = _deny

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def denying_aws() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Denied)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example",
        "AWS_MAX_ATTEMPTS": "1",
    }
    server.shutdown()
    server.server_close()


def test_unknown_environment_is_bad_input():
    assert_clean_failure(run_cli("config", "nowhere"), EXIT_BAD_INPUT, "unknown environment 'nowhere'")


def test_a_wrong_argument_is_bad_input():
    assert_clean_failure(run_cli("ci", "role", "dev", "admin"), EXIT_BAD_INPUT, "purpose", "'admin'")


def test_an_unknown_git_ref_is_bad_input():
    proc = run_cli("plan", "dev", "--affected-since", "no-such-ref-anywhere")
    assert_clean_failure(proc, EXIT_BAD_INPUT, "git rev-parse", "no-such-ref-anywhere")


def test_a_folder_that_is_not_a_run_fails(tmp_path):
    assert_clean_failure(run_cli("comment", str(tmp_path)), EXIT_FAILED, "not a run folder")


def test_a_plan_file_that_cannot_be_read_fails(run_dir):
    (run_dir / "dev-kms" / "plan.json").write_text("{ not json")
    assert_clean_failure(run_cli("comment", str(run_dir)), EXIT_FAILED, "plan.json: cannot be read as JSON")


def test_github_without_a_token_fails(run_dir):
    proc = run_cli("comment", str(run_dir), "--post", "--sha", "abc123")
    assert_clean_failure(proc, EXIT_FAILED, "GITHUB_TOKEN")


@pytest.mark.parametrize(
    ("checkov", "said"),
    [("/nonexistent/checkov", "checkov is not installed"), ("/bin/false", "checkov failed (exit 1)")],
)
def test_checkov_missing_or_failing_fails(synthesized, checkov, said):
    prelude = f"from pathlib import Path\nimport infra.policy.scan as scan\nscan.CHECKOV = Path({checkov!r})"
    assert_clean_failure(run_cli("scan", "dev", prelude=prelude), EXIT_FAILED, said)


def test_aws_access_denied_fails_with_the_operation(denying_aws):
    proc = run_cli("bootstrap", "dev", env=denying_aws)
    assert_clean_failure(proc, EXIT_FAILED, "AWS refused GetCallerIdentity")  # its first call


def test_aws_unreachable_fails(denying_aws):
    unreachable = denying_aws | {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    assert_clean_failure(run_cli("bootstrap", "dev", env=unreachable), EXIT_FAILED, "AWS: Could not connect")


def test_a_bug_still_shows_its_traceback():
    """Only expected failures are mapped: a programming error must stay visible."""
    prelude = "import infra.config.explain as e\ne.explain = lambda loaded: 1 / 0"
    proc = run_cli("config", "dev", "--explain", prelude=prelude)
    assert proc.returncode == 1 and "ZeroDivisionError" in proc.stderr and "Traceback" in proc.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [(("bogus",), "No such command"), (("config",), "Missing argument"), (("config", "dev", "--nope"), "--nope")],
)
def test_a_usage_error_is_bad_input(args, said):
    proc = run_cli(*args)
    assert_clean_failure(proc, EXIT_BAD_INPUT, said)


def test_an_apply_that_stopped_before_any_stack_still_gets_its_report(tmp_path):
    """The merged PR is told the apply failed, rather than getting no comment (or "no changes")."""
    out = tmp_path / "comment.md"
    proc = run_cli("comment", str(tmp_path / "dev"), "--kind", "apply", "--target", "dev", "--out", str(out))
    assert_clean_failure(proc, EXIT_FAILED, "failed to plan")
    assert "the apply stopped before any stack ran" in out.read_text()


def test_destroying_a_protected_environment_is_bad_input():
    proc = run_cli("destroy", "prod", "--yes")
    assert_clean_failure(
        proc, EXIT_BAD_INPUT, "prod is protected", "env.toml: environment.protected", "--force-protected"
    )


def test_force_protected_lets_destroy_go_on_to_aws(denying_aws):
    """Past the protection it asks AWS for the state bucket (here: refused)."""
    proc = run_cli("destroy", "prod", "--stack", "kms", "--force-protected", env=denying_aws)
    assert_clean_failure(proc, EXIT_FAILED, "state bucket s3://edutech-tfstate-222222222222: access denied")
    assert "protected" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("plan", "dev", "--exclude", "nope"), "--exclude: no stack ['nope'] in dev"),
        (("plan", "dev", "--verbose"), "--verbose streams one stack's output; 10 are chosen"),
        (
            ("apply", "dev", "--stack", "kms", "--stack", "network", "-v", "--yes"),
            "2 are chosen (dev-kms, dev-network)",
        ),
        (("unlock", "dev", "nope"), "--stack: no stack ['nope'] in dev"),
    ],
)
def test_a_wrong_stack_choice_is_bad_input(args, said):
    assert_clean_failure(run_cli(*args), EXIT_BAD_INPUT, said)


def test_unlock_when_aws_refuses_fails_with_the_operation(denying_aws):
    assert_clean_failure(run_cli("unlock", "dev", "kms", env=denying_aws), EXIT_FAILED, "AWS refused GetObject")
