from __future__ import annotations

import pytest

from infra.config import ConfigError
from infra.policy import suppressions


def test_every_suppression_carries_a_reason_and_loads():
    loaded = suppressions.load()
    assert loaded and all(len(s.reason) >= 40 for s in loaded)


def test_scoped_suppressions_apply_only_in_their_scopes():
    loaded = suppressions.load()
    assert suppressions.match(loaded, "CKV_AWS_293", "dev", "aws_db_instance.Database_Instance_1") is not None
    assert suppressions.match(loaded, "CKV_AWS_293", "prod", "aws_db_instance.Database_Instance_1") is None


def test_resource_globs_match_construct_paths():
    loaded = suppressions.load()
    assert suppressions.match(loaded, "CKV_AWS_18", "prod", "aws_s3_bucket.Edge_AccessLogs_1234") is not None
    assert suppressions.match(loaded, "CKV_AWS_18", "prod", "aws_s3_bucket.Other_Bucket_1234") is None


def test_fails_when_a_suppression_has_no_reason(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[suppression]]\ncheck = "CKV_AWS_1"\nresources = ["*"]\n')
    with pytest.raises(ConfigError, match=r"s.toml: suppression.0.reason: Field required"):
        suppressions.load(path)


def test_fails_when_a_suppression_has_an_unknown_key(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[suppression]]\ncheck = "CKV_AWS_1"\nresources = ["*"]\nreason = "' + "x" * 50 + '"\nenv = 1\n')
    with pytest.raises(ConfigError, match="suppression.0.env: Extra inputs are not permitted"):
        suppressions.load(path)
