"""Build one CDKTF app holding every stack of the requested environments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from infra.config import EnvConfig, Loaded
from infra.synth.accounts import ci_account
from infra.synth.components import COMPONENTS, Built, build_account, build_bootstrap, enabled
from infra.synth.stack import InfraStack, state_key
from modules.ci_identities.documents import ACCOUNT_SCOPE, BOOTSTRAP
from modules.common.cdk import App
from modules.common.label import Label

ACCOUNT_COMPONENT = "account"
BOOTSTRAP_COMPONENT = BOOTSTRAP  # also the stack's scope: the state bucket and the CI identities


def bootstrap_stack_id(account: str) -> str:
    return f"{account}-{BOOTSTRAP_COMPONENT}"


def account_stack_id(account: str, region: str) -> str:
    return f"{account}-{region}-{ACCOUNT_COMPONENT}"


def env_stack_id(env: str, component: str) -> str:
    return f"{env}-{component}"


def _stack(
    app: App,
    stack_id: str,
    cfg: EnvConfig,
    *,
    label: Label,
    key: str,
    scope: str,
    environment: str,
    component: str,
    bounded: bool = True,
) -> InfraStack:
    """A stack of cfg's account and region (its state under `key`), marked with the facts the
    engine reads back."""
    stack = InfraStack(
        app,
        stack_id,
        label=label,
        account_id=cfg.account.id,
        region=cfg.region,
        state_bucket=cfg.account.state_bucket,
        state_key=key,
        bounded=bounded,
    )
    # Terraform ignores "//" keys; the engine reads these back from the synthesized JSON.
    facts = dict(scope=scope, environment=environment, component=component, account=cfg.account.name, region=cfg.region)
    stack.add_override("//.infra", facts)
    return stack


def build_app(environments: Sequence[Loaded], outdir: Path) -> App:
    app = App(outdir=str(outdir))
    accounts: set[str] = set()
    for loaded in environments:
        cfg = loaded.config
        scope = loaded.scope

        bootstrap_id = bootstrap_stack_id(cfg.account.name)
        if bootstrap_id not in accounts:  # one per account (IAM is global; the bucket is in its region)
            accounts.add(bootstrap_id)
            stack = _stack(
                app,
                bootstrap_id,
                cfg,
                label=cfg.account_label(BOOTSTRAP_COMPONENT),
                key=state_key(ACCOUNT_SCOPE, BOOTSTRAP_COMPONENT),
                scope=BOOTSTRAP_COMPONENT,
                environment=cfg.account.name,
                component=BOOTSTRAP_COMPONENT,
                bounded=False,
            )
            build_bootstrap(stack, ci_account(cfg.environment.name))

        account_id = account_stack_id(cfg.account.name, cfg.region)
        if account_id not in accounts:  # dev and staging share the nonprod account stack
            accounts.add(account_id)
            stack = _stack(
                app,
                account_id,
                cfg,
                label=cfg.account_label(ACCOUNT_COMPONENT),
                key=state_key(f"{ACCOUNT_SCOPE}/{cfg.region}", ACCOUNT_COMPONENT),
                scope="account",
                environment=cfg.account.name,
                component=ACCOUNT_COMPONENT,
            )
            build_account(stack, cfg)

        built = Built()
        for component, builder in COMPONENTS.items():
            if not enabled(cfg, component):
                continue
            stack = _stack(
                app,
                env_stack_id(scope, component),
                cfg,
                label=cfg.label(component),
                key=state_key(scope, component),
                scope="environment",
                environment=scope,
                component=component,
            )
            setattr(built, component, builder(stack, cfg, built))
    return app
