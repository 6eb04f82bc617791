"""Build one CDKTF app holding every stack of the requested environments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from infra.config import Loaded
from infra.synth.accounts import ci_account
from infra.synth.components import COMPONENTS, Built, build_account, build_bootstrap, enabled
from infra.synth.stack import InfraStack, state_key
from modules.ci_identities.documents import ACCOUNT_SCOPE, BOOTSTRAP
from modules.common.cdk import App

ACCOUNT_COMPONENT = "account"
BOOTSTRAP_COMPONENT = BOOTSTRAP  # also the stack's scope: the state bucket and the CI identities


def bootstrap_stack_id(account: str) -> str:
    return f"{account}-{BOOTSTRAP_COMPONENT}"


def account_stack_id(account: str, region: str) -> str:
    return f"{account}-{region}-{ACCOUNT_COMPONENT}"


def env_stack_id(env: str, component: str) -> str:
    return f"{env}-{component}"


def _mark(stack: InfraStack, **facts: str) -> None:
    # Terraform ignores "//" keys; the engine reads these back from the synthesized JSON.
    stack.add_override("//.infra", facts)


def build_app(environments: Sequence[Loaded], outdir: Path) -> App:
    app = App(outdir=str(outdir))
    accounts: set[str] = set()
    for loaded in environments:
        cfg = loaded.config
        scope = loaded.scope

        bootstrap_id = bootstrap_stack_id(cfg.account.name)
        if bootstrap_id not in accounts:  # one per account (IAM is global; the bucket is in its region)
            accounts.add(bootstrap_id)
            stack = InfraStack(
                app,
                bootstrap_id,
                label=cfg.account_label(BOOTSTRAP_COMPONENT),
                account_id=cfg.account.id,
                region=cfg.region,
                state_bucket=cfg.account.state_bucket,
                state_key=state_key(ACCOUNT_SCOPE, BOOTSTRAP_COMPONENT),
                bounded=False,
            )
            _mark(
                stack,
                scope=BOOTSTRAP_COMPONENT,
                environment=cfg.account.name,
                component=BOOTSTRAP_COMPONENT,
                account=cfg.account.name,
                region=cfg.region,
            )
            build_bootstrap(stack, ci_account(cfg.environment.name))

        account_id = account_stack_id(cfg.account.name, cfg.region)
        if account_id not in accounts:  # dev and staging share the nonprod account stack
            accounts.add(account_id)
            label = cfg.account_label(ACCOUNT_COMPONENT)
            stack = InfraStack(
                app,
                account_id,
                label=label,
                account_id=cfg.account.id,
                region=cfg.region,
                state_bucket=cfg.account.state_bucket,
                state_key=state_key(f"{ACCOUNT_SCOPE}/{cfg.region}", ACCOUNT_COMPONENT),
            )
            _mark(
                stack,
                scope="account",
                environment=cfg.account.name,
                component=ACCOUNT_COMPONENT,
                account=cfg.account.name,
                region=cfg.region,
            )
            build_account(stack, cfg)

        built = Built()
        for component, builder in COMPONENTS.items():
            if not enabled(cfg, component):
                continue
            stack = InfraStack(
                app,
                env_stack_id(scope, component),
                label=cfg.label(component),
                account_id=cfg.account.id,
                region=cfg.region,
                state_bucket=cfg.account.state_bucket,
                state_key=state_key(scope, component),
            )
            _mark(
                stack,
                scope="environment",
                environment=scope,
                component=component,
                account=cfg.account.name,
                region=cfg.region,
            )
            setattr(built, component, builder(stack, cfg, built))
    return app
