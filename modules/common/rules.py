"""Rules on a component's settings, stated once for the module props and the config models.

Each function checks one rule and raises ValueError with a message that says what to
change. The props call them in `__post_init__`; the pydantic models of infra/config call
them in their validators, so an environment file and a direct use of a module fail with
the same words (the config loader adds the file and the key).

A rule the config checks on one key opens with the value ("3 days: ..."), since the
config error already names that key; a rule it checks on the whole component opens with
the key to change. Either way the message names the setting to change.

Keep this module light: the config loader imports it, so it must not import CDKTF.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

# Fargate task sizes (Amazon ECS Developer Guide, "Task CPU and memory"): the memory values
# (MiB) allowed for each cpu value (CPU units).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
# The oldest Redis major version with IAM authentication.
REDIS_IAM_MAJOR = 7
# The oldest RDS MySQL version in standard support: 8.4, the LTS (8.0 left it on 2026-07-31).
MYSQL_OLDEST_SUPPORTED = (8, 4)
# RDS General Purpose SSD (gp3) storage for MySQL: 20 to 65,536 GiB (RDS User Guide,
# "Amazon RDS DB instance storage").
GP3_STORAGE_GIB = (20, 65536)
# VPC and subnet sizes: a netmask from /16 to /28 (Amazon VPC User Guide, "VPC CIDR blocks"
# and "Subnet CIDR blocks").
CIDR_PREFIXES = (16, 28)
# Instance sizes, as every family names them: nano .. 48xlarge, metal, metal-24xl.
INSTANCE_SIZE = r"(nano|micro|small|medium|large|[1-9]\d*xlarge|metal(-[1-9]\d*xl)?)"
# RDS DB instance classes that run MySQL 8.4 (RDS User Guide, "Supported DB engines for DB
# instance classes"): the current generations; previous ones (db.t2, db.m4, db.r4) do not.
DB_INSTANCE_FAMILIES = frozenset(
    {
        *("t3", "t4g"),
        *("m5", "m5d", "m6g", "m6gd", "m6i", "m6id", "m6idn", "m6in", "m7g", "m7i", "m8g"),
        *("r5", "r5b", "r5d", "r6g", "r6gd", "r6i", "r6id", "r6idn", "r6in", "r7g", "r7i", "r8g"),
        *("x2g", "x2idn", "x2iedn", "x2iezn", "z1d"),
    }
)
# ElastiCache node types of the current generation (ElastiCache User Guide, "Supported node
# types"); the previous ones (cache.t2, cache.m4, cache.r4, ...) are being retired.
CACHE_NODE_FAMILIES = frozenset({"t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r6gd", "r7g", "c7gn"})
# EC2 instance families of the current generation (Amazon EC2 Instance Types, "Current
# generation instances"), bare metal and Mac excepted.
EC2_FAMILIES = frozenset(
    {
        *("t2", "t3", "t3a", "t4g"),
        *("m5", "m5a", "m5ad", "m5d", "m5dn", "m5n", "m5zn", "m6a", "m6g", "m6gd", "m6i", "m6id", "m6idn", "m6in"),
        *("m7a", "m7g", "m7gd", "m7i", "m7i-flex", "m8g", "m8gd"),
        *("c5", "c5a", "c5ad", "c5d", "c5n", "c6a", "c6g", "c6gd", "c6gn", "c6i", "c6id", "c6in"),
        *("c7a", "c7g", "c7gd", "c7gn", "c7i", "c7i-flex", "c8g", "c8gd"),
        *("r5", "r5a", "r5ad", "r5b", "r5d", "r5dn", "r5n", "r6a", "r6g", "r6gd", "r6i", "r6id", "r6idn", "r6in"),
        *("r7a", "r7g", "r7gd", "r7i", "r7iz", "r8g", "r8gd", "x1", "x1e", "x2gd", "x2idn", "x2iedn", "x2iezn", "z1d"),
        *("d3", "d3en", "i3", "i3en", "i4g", "i4i", "im4gn", "is4gen"),
        *("g4ad", "g4dn", "g5", "g5g", "g6", "g6e", "inf1", "inf2", "p4d", "p5", "trn1"),
    }
)
# Graviton (arm64) families: a "g" right after the generation (t4g, m7gd, c6gn, im4gn).
GRAVITON_FAMILY = re.compile(r"[a-z]+\d+g")
# A target group's health-check path (ELB API, CreateTargetGroup HealthCheckPath): 1..1024
# characters, starting with "/".
HEALTH_CHECK_PATH_MAX = 1024
# Tags (Tagging AWS Resources, "Tag naming limits and requirements"): keys 1..128 and values
# 0..256 Unicode characters of letters, separators and numbers (\p{L}\p{Z}\p{N}) and these;
# "aws:" (any case) is reserved for AWS.
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_RESERVED_PREFIX = "aws:"
# The AWS Regions (AWS General Reference, "Regions and endpoints"), commercial and GovCloud.
AWS_REGIONS = frozenset(
    {
        *("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1", "mx-central-1"),
        *("sa-east-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1"),
        *("eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1", "af-south-1"),
        *("ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3"),
        *("ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7"),
        *("us-gov-east-1", "us-gov-west-1"),
    }
)
# The account of Elastic Load Balancing in each region, that writes ALB access logs to the
# bucket (ELB User Guide, "Enable access logs": regions available before August 2022).
ELB_LOG_ACCOUNTS = {"sa-east-1": "507241528517", "us-east-1": "127311923021", "eu-west-1": "156460612806"}


# --- deployment ---------------------------------------------------------------------------


def aws_region(region: str) -> None:
    if region not in AWS_REGIONS:
        raise ValueError(f"{region!r} is not an AWS region (e.g. sa-east-1, us-east-1)")


def availability_zone(zone: str, region: str) -> None:
    if not re.fullmatch(re.escape(region) + r"[a-z]", zone):
        raise ValueError(f"{zone!r} is not a zone of {region} (zones are {region}a, {region}b, ...)")


def elb_log_account(region: str) -> str:
    """The ELB account that delivers the ALB's access logs in `region` (modules/edge)."""
    if region not in ELB_LOG_ACCOUNTS:
        raise ValueError(
            f"{region!r}: no ELB log-delivery account known for it (modules/edge knows "
            f"{', '.join(sorted(ELB_LOG_ACCOUNTS))}); add the region's account to ELB_LOG_ACCOUNTS"
        )
    return ELB_LOG_ACCOUNTS[region]


# --- tags ---------------------------------------------------------------------------------


def _tag_text(text: str) -> bool:
    return all(unicodedata.category(c)[0] in "LZN" or c in TAG_PUNCTUATION for c in text)


def tag_key(key: str) -> None:
    if not 1 <= len(key) <= TAG_KEY_MAX or not _tag_text(key) or key.lower().startswith(TAG_RESERVED_PREFIX):
        raise ValueError(
            f"{key!r}: not a tag key AWS accepts (1..{TAG_KEY_MAX} letters, spaces, numbers and _.:/=+-@; "
            f"no {TAG_RESERVED_PREFIX!r} prefix)"
        )


def tag_value(value: str) -> None:
    if len(value) > TAG_VALUE_MAX or not _tag_text(value) or value.lower().startswith(TAG_RESERVED_PREFIX):
        bad = sorted({c for c in value if not _tag_text(c)})
        why = f"{', '.join(map(repr, bad))} not allowed; " if bad else ""
        raise ValueError(
            f"{value!r}: not a tag value AWS accepts ({why}at most {TAG_VALUE_MAX} letters, spaces, numbers "
            f"and _.:/=+-@; no {TAG_RESERVED_PREFIX!r} prefix)"
        )


# --- network ------------------------------------------------------------------------------


def _prefix_in_range(cidr: str, what: str) -> None:
    low, high = CIDR_PREFIXES
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    if not low <= prefix <= high:
        raise ValueError(f"{cidr}: a /{prefix} {what}; AWS allows /{low} to /{high}")


def vpc_cidr(cidr: str) -> None:
    _prefix_in_range(cidr, "VPC")


def subnet_cidr(cidr: str) -> None:
    _prefix_in_range(cidr, "subnet")


# --- instance types -----------------------------------------------------------------------


def _instance_type(value: str, prefix: str, families: frozenset[str], what: str, example: str) -> str:
    """The family of `<prefix><family>.<size>`, when both parts are known."""
    match = re.fullmatch(rf"{re.escape(prefix)}([a-z0-9-]+)\.([a-z0-9-]+)", value)
    if match is None:
        raise ValueError(f"{value!r}: not {what}; give {prefix}<family>.<size>, e.g. {example!r}")
    family, size = match[1], match[2]
    if family not in families:
        known = ", ".join(prefix + f for f in sorted(families)) if len(families) <= 40 else "in modules/common/rules.py"
        raise ValueError(f"{value!r}: not {what}: no family {prefix}{family} (the families: {known})")
    if not re.fullmatch(INSTANCE_SIZE, size):
        raise ValueError(
            f"{value!r}: not {what}: no size {size!r} (sizes are micro, small, medium, large, xlarge, 2xlarge, ...)"
        )
    return family


def db_instance_class(value: str) -> None:
    _instance_type(value, "db.", DB_INSTANCE_FAMILIES, "an RDS MySQL DB instance class", "db.t3.medium")


def cache_node_type(value: str) -> None:
    _instance_type(value, "cache.", CACHE_NODE_FAMILIES, "an ElastiCache node type", "cache.t4g.small")


def ec2_instance_type(value: str) -> str:
    """The family of an EC2 instance type."""
    return _instance_type(value, "", EC2_FAMILIES, "an EC2 instance type", "t3.medium")


def instance_fits_ami(instance_type: str, ami_parameter: str) -> None:
    """A Graviton type needs an arm64 image; any other an x86_64 one."""
    arm = GRAVITON_FAMILY.fullmatch(instance_type.split(".")[0]) is not None
    for arch, wants_arm in (("x86_64", False), ("arm64", True)):
        if ami_parameter.endswith(arch) and arm != wants_arm:
            raise ValueError(
                f"instance_type: {instance_type} is {'an arm64 (Graviton)' if arm else 'an x86_64'} type "
                f"but ami_parameter names an {arch} image; change one of them"
            )


def health_check_path(path: str) -> None:
    if not re.fullmatch(r"/[!-~]*", path) or len(path) > HEALTH_CHECK_PATH_MAX:
        raise ValueError(
            f"{path!r}: not a health-check path; it starts with '/' and has at most {HEALTH_CHECK_PATH_MAX} "
            'printable characters without spaces, e.g. "/health"'
        )


# --- kms ----------------------------------------------------------------------------------


def kms_deletion_window(days: int) -> None:
    if not 7 <= days <= 30:
        raise ValueError(f"{days} days: outside AWS's limits; deletion_window_days must be 7..30")


def kms_rotation_period(days: int) -> None:
    if not 90 <= days <= 2560:
        raise ValueError(f"{days} days: outside AWS's limits; rotation_period_days must be 90..2560")


# --- database -----------------------------------------------------------------------------


def backup_retention(days: int) -> None:
    if not 7 <= days <= 35:
        raise ValueError(
            f"{days} days: automated backups must be kept at least a week (AWS keeps them 35 days at most); "
            "backup_retention_days must be 7..35"
        )


def mysql_engine_version(version: str) -> tuple[int, int]:
    """The (major, minor) of an RDS MySQL version ("8.4" or "8.4.5"), when still supported."""
    parts = version.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f'{version!r}: not a MySQL version; engine_version is major.minor, e.g. "8.4"')
    major, minor = int(parts[0]), int(parts[1])
    oldest = ".".join(map(str, MYSQL_OLDEST_SUPPORTED))
    if (major, minor) < MYSQL_OLDEST_SUPPORTED:
        raise ValueError(
            f"{version!r}: out of RDS standard support (MySQL 8.0 left it on 2026-07-31); "
            f"engine_version must be {oldest} (the LTS) or later"
        )
    return major, minor


def storage_size(gib: int) -> None:
    low, high = GP3_STORAGE_GIB
    if not low <= gib <= high:
        raise ValueError(f"{gib} GB: outside RDS's gp3 limits for MySQL; storage must be {low}..{high} GiB")


def storage_ceiling(allocated_storage_gb: int, max_allocated_storage_gb: int) -> None:
    if max_allocated_storage_gb < allocated_storage_gb:
        raise ValueError(
            f"{max_allocated_storage_gb} GB is below allocated_storage_gb={allocated_storage_gb}: "
            "max_allocated_storage_gb must be at least allocated_storage_gb (storage grows up to it)"
        )


# --- redis --------------------------------------------------------------------------------


def cache_clusters(count: int) -> None:
    if count < 2:
        raise ValueError(f"{count}: automatic failover needs a replica; num_cache_clusters must be 2 or more")


def redis_engine_version(version: str) -> None:
    if not re.fullmatch(r"\d+\.\d+", version):
        raise ValueError(f'{version!r}: not a Redis version; engine_version is major.minor, e.g. "7.1"')
    if int(version.split(".")[0]) < REDIS_IAM_MAJOR:
        raise ValueError(
            f"{version!r}: IAM authentication needs Redis {REDIS_IAM_MAJOR} or newer; "
            f"engine_version must be {REDIS_IAM_MAJOR}.x or later"
        )


# --- edge ---------------------------------------------------------------------------------


def certificate_zone(certificate: str, hosted_zone_id: str | None) -> None:
    if certificate == "request" and not hosted_zone_id:
        raise ValueError(
            'hosted_zone_id: required when certificate = "request": ACM validates the certificate with a DNS '
            "record, so hosted_zone_id is required; set it to the domain's Route 53 zone, "
            'or use certificate = "existing"'
        )


def ssl_policy(policy: str) -> None:
    if not policy.startswith("ELBSecurityPolicy-TLS13") and "TLS-1-2" not in policy:
        raise ValueError(
            f"{policy!r} allows TLS older than 1.2; ssl_policy must be a TLS13 or TLS-1-2 policy "
            "(e.g. ELBSecurityPolicy-TLS13-1-2-2021-06)"
        )


# --- lms ----------------------------------------------------------------------------------


def fargate_size(cpu: int, memory_mib: int) -> None:
    if cpu not in FARGATE_SIZES:
        raise ValueError(f"cpu: {cpu} is not a Fargate size; cpu must be one of {', '.join(map(str, FARGATE_SIZES))}")
    allowed = FARGATE_SIZES[cpu]
    if memory_mib not in allowed:
        step = allowed[-1] - allowed[-2]
        sizes = ", ".join(map(str, allowed)) if len(allowed) < 4 else f"{allowed[0]}..{allowed[-1]} in steps of {step}"
        raise ValueError(
            f"memory_mib: {memory_mib} is not a Fargate size for cpu={cpu}; "
            f"memory_mib must be {sizes} for that cpu (or choose another cpu)"
        )


def task_counts(min_count: int, desired_count: int, max_count: int) -> None:
    if not min_count <= desired_count <= max_count:
        raise ValueError(
            f"desired_count: {desired_count} must lie between min_count={min_count} and max_count={max_count}; "
            "change desired_count or the bounds"
        )


# --- web ----------------------------------------------------------------------------------


def group_sizes(min_size: int, desired_capacity: int, max_size: int) -> None:
    if not min_size <= desired_capacity <= max_size:
        raise ValueError(
            f"desired_capacity: {desired_capacity} must lie between min_size={min_size} and max_size={max_size}; "
            "change desired_capacity or the bounds"
        )
