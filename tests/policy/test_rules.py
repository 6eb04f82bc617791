"""Each of our rules: one compliant and one non-compliant stack (cdk-nag's test shape)."""

from __future__ import annotations

from typing import Any

from infra.policy import rules

TAGS = {"Environment": "x", "Owner": "x", "Project": "x", "Component": "x", "ManagedBy": "x"}


def stack(resources: dict[str, dict[str, Any]], data: dict[str, Any] | None = None, tags: dict | None = None) -> dict:
    doc: dict[str, Any] = {
        "//": {"metadata": {"stackName": "dev-test"}},
        "provider": {"aws": [{"default_tags": [{"tags": TAGS if tags is None else tags}]}]},
        "resource": {},
    }
    for address, props in resources.items():
        kind, name = address.split(".")
        doc["resource"].setdefault(kind, {})[name] = props
    if data:
        doc["data"] = data
    return doc


def run(rule, doc, *args):
    return list(rule(doc, *args))


# --- open-ingress ---------------------------------------------------------------------


def test_https_on_the_alb_may_be_open_to_the_internet():
    doc = stack(
        {
            "aws_vpc_security_group_ingress_rule.Edge_HttpsIn": {
                "cidr_ipv4": "0.0.0.0/0",
                "from_port": 443,
                "to_port": 443,
            }
        }
    )
    assert run(rules.no_open_ingress_except_https_on_the_alb, doc) == []


def test_fails_when_anything_else_is_open_to_the_internet():
    doc = stack(
        {
            "aws_vpc_security_group_ingress_rule.Edge_HttpIn": {
                "cidr_ipv4": "0.0.0.0/0",
                "from_port": 80,
                "to_port": 80,
            },
            "aws_security_group.Db": {"ingress": [{"cidr_blocks": ["0.0.0.0/0"], "from_port": 3306, "to_port": 3306}]},
            "aws_vpc_security_group_ingress_rule.Lms_Https": {
                "cidr_ipv6": "::/0",
                "from_port": 443,
                "to_port": 443,
            },  # 443, but not on the ALB
        }
    )
    found = run(rules.no_open_ingress_except_https_on_the_alb, doc)
    assert sorted(v.resource for v in found) == [
        "aws_security_group.Db",
        "aws_vpc_security_group_ingress_rule.Edge_HttpIn",
        "aws_vpc_security_group_ingress_rule.Lms_Https",
    ]


# --- customer-key ------------------------------------------------------------------------

KEY = "${data.terraform_remote_state.kms.outputs.cross-stack-output-aws_kms_keyKms_DataKey_ABCDarn}"


def test_data_stores_with_our_key_pass():
    doc = stack(
        {
            "aws_db_instance.Db": {"storage_encrypted": True, "kms_key_id": KEY},
            "aws_efs_file_system.Fs": {"encrypted": True, "kms_key_id": KEY},
            "aws_elasticache_replication_group.R": {"at_rest_encryption_enabled": "true", "kms_key_id": KEY},
            "aws_cloudwatch_log_group.L": {"kms_key_id": KEY},
            "aws_sns_topic.T": {"kms_master_key_id": KEY},
        }
    )
    assert run(rules.data_stores_use_customer_keys, doc) == []


def test_fails_when_a_store_is_unencrypted_or_uses_an_aws_key():
    doc = stack(
        {
            "aws_db_instance.Db": {"storage_encrypted": False, "kms_key_id": KEY},
            "aws_efs_file_system.Fs": {"encrypted": True},
            "aws_sns_topic.T": {"kms_master_key_id": "alias/aws/sns"},
        }
    )
    messages = sorted(f"{v.resource}: {v.message}" for v in run(rules.data_stores_use_customer_keys, doc))
    assert messages == [
        "aws_db_instance.Db: storage_encrypted is not true",
        "aws_efs_file_system.Fs: kms_key_id is not a customer KMS key",
        "aws_sns_topic.T: kms_master_key_id is not a customer KMS key",
    ]


# --- no-secrets ---------------------------------------------------------------------------


def test_secret_references_are_fine():
    doc = stack(
        {"aws_db_instance.Db": {"manage_master_user_password": True}},
        data={"aws_secretsmanager_secret": {"Creds": {"name": "edutech/lms/db-credentials"}}},
    )
    assert run(rules.no_secret_values, doc) == []


def test_fails_when_a_secret_value_is_in_the_json():
    doc = stack(
        {
            "aws_db_instance.Db": {"password": "hunter22"},
            "aws_ecs_task_definition.T": {
                "container_definitions": '[{"environment": [{"value": "AKIAABCDEFGHIJKLMNOP"}]}]'
            },
        },
        data={"aws_secretsmanager_secret_version": {"Creds": {"secret_id": "x"}}},
    )
    found = {(v.resource.split("[")[0], v.message.split(" (")[0]) for v in run(rules.no_secret_values, doc)}
    assert ("aws_db_instance.Db", "sets password") in found
    assert ("data.aws_secretsmanager_secret_version", "reads a secret's value into state") in found
    assert any(r.startswith("resource.aws_ecs_task_definition") for r, _ in found)


# --- tagged -------------------------------------------------------------------------------


def test_named_resources_under_default_tags_pass():
    doc = stack({"aws_vpc.V": {"tags": {"Name": "vpc-dev-t1"}}, "aws_route.R": {}})
    assert run(rules.every_taggable_resource_is_tagged, doc, frozenset({"aws_vpc"})) == []


def test_fails_when_default_tags_or_a_name_are_missing():
    doc = stack({"aws_vpc.V": {}}, tags={"Environment": "dev"})
    found = [v.message for v in run(rules.every_taggable_resource_is_tagged, doc, frozenset({"aws_vpc"}))]
    assert found == ["default_tags lack ['Component', 'ManagedBy', 'Owner', 'Project']", "no Name tag"]


# --- label-names ----------------------------------------------------------------------------


def test_label_names_pass():
    doc = stack(
        {
            "aws_db_instance.Db": {"identifier": "rds-lms-prod-prd01"},
            "aws_kms_alias.A": {"name": "alias/kms-data-prod-prd01"},
            "aws_cloudwatch_log_group.L": {"name": "/ecs/lms-prod-prd01"},
            "aws_db_parameter_group.P": {"name": "rds-params-prod-prd01", "family": "mysql8.4"},
        }
    )
    assert run(rules.every_name_comes_from_label, doc) == []


def test_fails_when_a_name_is_made_by_hand():
    doc = stack({"aws_s3_bucket.B": {"bucket": "my-logs"}, "aws_iam_role.R": {"name": "LmsRole"}})
    assert sorted(v.resource for v in run(rules.every_name_comes_from_label, doc)) == [
        "aws_iam_role.R",
        "aws_s3_bucket.B",
    ]
