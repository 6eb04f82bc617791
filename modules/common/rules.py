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

# Fargate task sizes: memory range (MiB) allowed for each cpu value (CPU units).
FARGATE_SIZES: dict[int, tuple[int, int]] = {
    256: (512, 2048),
    512: (1024, 4096),
    1024: (2048, 8192),
    2048: (4096, 16384),
    4096: (8192, 30720),
    8192: (16384, 61440),
    16384: (32768, 122880),
}
# The oldest Redis major version with IAM authentication.
REDIS_IAM_MAJOR = 7
# The oldest RDS MySQL version in standard support: 8.4, the LTS (8.0 left it on 2026-07-31).
MYSQL_OLDEST_SUPPORTED = (8, 4)


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
    major = version.split(".")[0]
    if not major.isdigit() or int(major) < REDIS_IAM_MAJOR:
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
    low, high = FARGATE_SIZES[cpu]
    if not low <= memory_mib <= high:
        raise ValueError(
            f"memory_mib: {memory_mib} is not a Fargate size for cpu={cpu}; "
            f"memory_mib must be {low}..{high} for that cpu (or choose another cpu)"
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
