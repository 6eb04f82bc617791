"""What an account's bootstrap stack (the state bucket and the CI identities) is built from:
its id, region and state bucket, the environments it holds and this repository, read from
the layers. Cheap to import: `infra ci role` and `infra ci documents` use it without CDKTF."""

from __future__ import annotations

from infra.config import environment_names, load_environment
from modules.ci_identities.documents import CiAccount


def ci_account(env: str) -> CiAccount:
    """The CI identities' account of ENV (modules/ci_identities/documents.py)."""
    cfg = load_environment(env).config
    siblings = [load_environment(name).config for name in environment_names()]
    return CiAccount(
        account_id=cfg.account.id,
        region=cfg.region,
        bucket=cfg.account.state_bucket,
        environments=tuple(c.environment.name for c in siblings if c.account.name == cfg.account.name),
        organization=cfg.github.organization,
        repository=cfg.github.repository,
    )
