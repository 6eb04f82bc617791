"""One Terraform stack per (environment, component): provider, backend and outputs."""

from __future__ import annotations

from typing import Any

from infra.versions import AWS_PROVIDER_SOURCE, AWS_PROVIDER_VERSION, TERRAFORM_REQUIRED
from modules.ci_identities.documents import boundary_arn
from modules.common.cdk import (
    Aspects,
    Construct,
    IAspect,
    IConstruct,
    S3Backend,
    TerraformOutput,
    TerraformStack,
    aws,
    implements,
)
from modules.common.label import Label


def state_key(scope: str, component: str) -> str:
    """The S3 key of a stack's state: `<env>/<component>/terraform.tfstate`."""
    return f"{scope}/{component}/terraform.tfstate"


@implements(IAspect)
class Bounded:
    """Every IAM role of a stack carries the account's permissions boundary: the apply role
    may create a role only with it (modules/ci_identities/documents.py), so a role it makes
    can never do more than the apply role may. Not on the bootstrap stack, which the
    administrator applies: its plan and queue roles are made unbounded, by design."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, aws.iam_role.IamRole):
            node.permissions_boundary = self.arn


class InfraStack(TerraformStack):
    """A stack with the AWS provider (default tags, account guard) and its own S3 state.

    The JSON it synthesizes is the same for real AWS and for the local emulator: the
    emulator is reached through AWS_ENDPOINT_URL, never through anything written here.
    """

    def __init__(
        self,
        scope: Construct,
        stack_id: str,
        *,
        label: Label,
        account_id: str,
        region: str,
        state_bucket: str,
        state_key: str,
        bounded: bool = True,
    ) -> None:
        super().__init__(scope, stack_id)
        self.label = label
        aws.provider.AwsProvider(
            self,
            "aws",
            region=region,
            allowed_account_ids=[account_id],
            default_tags=[aws.provider.AwsProviderDefaultTags(tags=label.tags)],
        )
        S3Backend(self, bucket=state_bucket, key=state_key, region=region, encrypt=True)
        # CDKTF's S3Backend predates S3-native locking; Terraform >= 1.10 supports it.
        self.add_override("terraform.backend.s3.use_lockfile", True)
        # The bindings pin the provider they were generated for; the mirror holds this one.
        self.add_override(
            "terraform.required_providers.aws",
            {"source": AWS_PROVIDER_SOURCE, "version": AWS_PROVIDER_VERSION},
        )
        self.add_override("terraform.required_version", TERRAFORM_REQUIRED)
        if bounded:  # all but the bootstrap's, whose plan and queue roles the boundary would deny
            Aspects.of(self).add(Bounded(boundary_arn(account_id)))

    def export(self, name: str, value: Any, description: str) -> None:
        """A stack output (what `infra output` and the post-apply probes read)."""
        TerraformOutput(self, name, value=value, description=description)
