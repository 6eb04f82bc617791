"""The seam between this repository and CDKTF.

CDKTF was archived by HashiCorp (docs/adr/0001-cdktf.md). Everything that names a cdktf
or provider-binding package is imported here, so moving to the community fork or to
`synth --hcl` output changes this file, not every module.

Importing this module costs ~12 s (jsii loads the AWS bindings): commands that do not
synthesize must not import it.
"""

from __future__ import annotations

import cdktf_cdktf_provider_aws as aws
from cdktf import (
    App,
    Aspects,
    Fn,
    IAspect,
    S3Backend,
    TerraformOutput,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct, IConstruct
from jsii import implements  # a Python class as a jsii interface (an Aspect)

__all__ = [
    "App",
    "Aspects",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "S3Backend",
    "TerraformOutput",
    "TerraformStack",
    "Testing",
    "Token",
    "aws",
    "implements",
]
