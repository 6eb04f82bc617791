"""Every pinned tool version the engine relies on, in one place.

Python packages are pinned in pyproject.toml; these are the versions that live outside it.
"""

# The only provider this repository may use. The CDKTF bindings (19.65.1) were generated
# for 5.99.1; the machine's mirror holds 5.100.0, which is API-compatible within 5.x.
AWS_PROVIDER_SOURCE = "hashicorp/aws"
AWS_PROVIDER_VERSION = "5.100.0"

# Terraform CLI we test against (required_version in every stack).
TERRAFORM_REQUIRED = ">= 1.10, < 2.0"  # use_lockfile on the S3 backend needs 1.10+

# Node runtime for jsii (Node 20 is end of life and jsii prints a banner about it).
NODE_MAJOR = 22

# Prowler, the live compliance scanner (`infra compliance`): installed on first use into its
# own environment under .infra/tools/, not into the project's venv (it is 1.4 GB).
PROWLER_VERSION = "5.46.0"
