"""ELBv2: the ALB data plane's hooks (infra/emulator/planes/alb.py).

Stock moto 5.2.5 reports a DNS name for a load balancer (`<name>-1.<region>.elb.amazonaws.com`)
that nothing answers: not a name this machine resolves, no HTTPS behind it, no web ACL
asked. Ours, in the emulator the launcher starts, gives each application load balancer a
loopback address of its own as its DNS name, serves its HTTPS listeners there, and stops
them when the listener or the load balancer is deleted. The API's answers are otherwise
stock.
"""

from __future__ import annotations

from typing import Any

from infra.emulator.fixes import replace
from infra.emulator.planes import alb as alb_plane


def _create_load_balancer(stock: Any) -> Any:
    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        lb = stock(self, *args, **kwargs)
        alb_plane.created(self, lb)
        return lb

    return create_load_balancer


def _listener_changed(stock: Any) -> Any:
    """CreateListener and ModifyListener: the listener, as it now is, is served (again)."""

    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        listener = stock(self, *args, **kwargs)
        alb_plane.listener_changed(listener)
        return listener

    return changed


def _delete_listener(stock: Any) -> Any:
    def delete_listener(self: Any, listener_arn: str) -> Any:
        listener = stock(self, listener_arn)
        alb_plane.listener_deleted(listener)
        return listener

    return delete_listener


def _delete_load_balancer(stock: Any) -> Any:
    def delete_load_balancer(self: Any, arn: str) -> None:
        stock(self, arn)
        alb_plane.deleted(arn)

    return delete_load_balancer


def apply() -> None:
    from moto.elbv2.models import ELBv2Backend

    for name, wrap in (
        ("create_load_balancer", _create_load_balancer),
        ("create_listener", _listener_changed),
        ("modify_listener", _listener_changed),
        ("delete_listener", _delete_listener),
        ("delete_load_balancer", _delete_load_balancer),
    ):
        replace(ELBv2Backend, name, wrap(getattr(ELBv2Backend, name)))
