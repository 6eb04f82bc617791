"""The account bootstrap stack as synthesized: one per account, outside every environment's
stacks, its state in the bucket it manages, and the CI identities exactly as documents.py
writes them. Its live result on the emulator: tests/e2e/test_loop.py."""

from __future__ import annotations

import json

from infra.synth.accounts import ci_account
from modules.ci_identities import documents
from tests.modules.helpers import resources
from tests.synth.test_synth import stack_docs

ACCOUNTS = {"nonprod-bootstrap": "dev", "prod-bootstrap": "prod"}  # an environment of each


def test_one_bootstrap_stack_per_account_and_no_environment_plans_or_applies_it(synthesized):
    _, graph = synthesized
    assert sorted(n for n, node in graph.nodes.items() if node.scope == "bootstrap") == sorted(ACCOUNTS)
    for env in ("dev", "staging", "prod"):
        assert not [n for n in graph.for_environments([env]) if graph.nodes[n].scope == "bootstrap"]
    assert graph.bootstrap_of("nonprod") == "nonprod-bootstrap"


def test_its_state_is_in_the_bucket_it_imports_and_never_destroys(synthesized):
    docs = stack_docs(synthesized)
    for name, env in ACCOUNTS.items():
        doc, account = docs[name], ci_account(env)
        assert doc["terraform"]["backend"]["s3"]["key"] == "_account/bootstrap/terraform.tfstate"
        assert doc["terraform"]["backend"]["s3"]["bucket"] == account.bucket
        [state] = [b for b in resources(doc, "aws_s3_bucket") if b["bucket"] == account.bucket]
        assert state["lifecycle"] == {"prevent_destroy": True}
        [imported] = doc["import"]
        assert imported["id"] == account.bucket and imported["to"].startswith("aws_s3_bucket.")


def test_the_state_bucket_is_versioned_kms_encrypted_private_tls_only_and_logged(synthesized):
    doc = stack_docs(synthesized)["nonprod-bootstrap"]
    bucket = ci_account("dev").bucket
    assert {v["versioning_configuration"]["status"] for v in resources(doc, "aws_s3_bucket_versioning")} == {"Enabled"}
    encryption = {
        e["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"]: e["rule"][0].get("bucket_key_enabled")
        for e in resources(doc, "aws_s3_bucket_server_side_encryption_configuration")
    }
    assert encryption == {"aws:kms": True, "AES256": None}  # the states; their access logs (no SSE-KMS for logs)
    for block in resources(doc, "aws_s3_bucket_public_access_block"):
        assert all(block[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls"))
        assert block["restrict_public_buckets"] is True
    rules = {
        r["rule"][0]["expiration"][0].get("days"): r["rule"][0]
        for r in resources(doc, "aws_s3_bucket_lifecycle_configuration")
    }
    states, logs = rules[None], rules[365]  # current states never expire; access logs after a year
    assert states["noncurrent_version_expiration"] == [{"noncurrent_days": 90, "newer_noncurrent_versions": 10}]
    assert states["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert logs["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
    policies = [json.loads(p["policy"]) for p in resources(doc, "aws_s3_bucket_policy")]
    assert all(any(s["Sid"] == "TlsOnly" and s["Effect"] == "Deny" for s in p["Statement"]) for p in policies)
    [logging] = resources(doc, "aws_s3_bucket_logging")
    assert logging["target_prefix"] == f"{bucket}/"


def test_the_ci_identities_are_the_documents(synthesized):
    docs = stack_docs(synthesized)
    for name, env in ACCOUNTS.items():
        doc, account = docs[name], ci_account(env)
        [provider] = resources(doc, "aws_iam_openid_connect_provider")
        assert provider["url"] == f"https://{documents.OIDC_HOST}" and provider["client_id_list"] == [
            documents.AUDIENCE
        ]
        [boundary] = resources(doc, "aws_iam_policy")
        assert boundary["name"] == documents.BOUNDARY_NAME
        assert json.loads(boundary["policy"]) == documents.boundary_policy(account)
        roles = {r["name"]: r for r in resources(doc, "aws_iam_role")}
        assert set(roles) == set(documents.ROLE_NAMES.values())
        inline = {p["name"]: json.loads(p["policy"]) for p in resources(doc, "aws_iam_role_policy")}
        attached = sorted(a["policy_arn"] for a in resources(doc, "aws_iam_role_policy_attachment"))
        assert attached == sorted(account.managed(m) for ms in documents.MANAGED_POLICIES.values() for m in ms)
        for purpose, role_name in documents.ROLE_NAMES.items():
            role = roles[role_name]
            assert json.loads(role["assume_role_policy"]) == documents.trust(account, purpose)
            policy_name, policy = documents.own_policies(account)[purpose]
            assert inline[policy_name] == policy
            # only the apply role is bounded: the boundary denies writing saved plans (the queue's job)
            assert ("permissions_boundary" in role) == (purpose == "apply"), role_name


def test_every_document_fits_iams_size_limits(synthesized):
    """AWS refuses a managed policy over 6,144 characters, a role's inline policies over
    10,240 together, and a trust policy over 2,048 (whitespace not counted): the guards grow
    with every threat, and the apply would fail at the bootstrap, not here."""
    for env in ACCOUNTS.values():
        account = ci_account(env)

        def size(doc: dict) -> int:
            return len(json.dumps(doc, separators=(",", ":")))

        assert size(documents.boundary_policy(account)) <= 6144
        for purpose in documents.ROLE_NAMES:
            assert size(documents.own_policies(account)[purpose][1]) <= 10240
            assert size(documents.trust(account, purpose)) <= 2048
