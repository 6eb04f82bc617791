"""Security groups on the data planes: who may connect, decided by the groups' rules.

A task the emulator runs (planes/tasks.py) gets a network interface of its own: a loopback
address, which its process connects from (its `sitecustomize` binds every connection to
a loopback destination to it), attached here with the task's security groups. A data
plane asks `refusal(peer, ...)` on each connection it accepts and resets it at once
(`reset_on_close`) when the answer is a reason: on AWS the SYN is dropped and the client times out;
here the client sees its connection reset before the server spoke. Either way the server
was never reached, and a client can tell that from a server that closes the connection.

The decision is the VPC's, for TCP to one port:
- the egress rules of one of the task's groups allow the port to one of the store's groups
  (a referenced group) or to 0.0.0.0/0, and
- the ingress rules of one of the store's groups allow the port from one of the task's
  groups or from 0.0.0.0/0.
CIDR rules other than 0.0.0.0/0 match nothing (a task has no VPC address here), nor do
prefix lists. A peer that is no task's interface (this machine: Terraform, the runner's
probes) is outside the model and admitted.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Interface:
    account_id: str
    region: str
    groups: frozenset[str]


_interfaces: dict[str, Interface] = {}
_lock = threading.Lock()


def attach(address: str, account_id: str, region: str, groups: Iterable[str]) -> None:
    with _lock:
        _interfaces[address] = Interface(account_id, region, frozenset(groups))


def detach(address: str) -> None:
    with _lock:
        _interfaces.pop(address, None)


def interface(address: str) -> Interface | None:
    with _lock:
        return _interfaces.get(address)


def reset_on_close(sock: socket.socket) -> None:
    """Make closing `sock` reset the connection (RST, not FIN): a dropped connection looks
    like no server, not like a server that hung up. The caller closes it at once, without
    shutting it down first (a shutdown sends the FIN)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _covers(rule: Any, port: int) -> bool:
    if rule.ip_protocol in ("-1", "all"):
        return True
    return rule.ip_protocol in ("tcp", "6") and rule.from_port is not None and rule.from_port <= port <= rule.to_port


def _peers(rule: Any) -> set[str]:
    """What a rule names on the other side: group ids, and 0.0.0.0/0."""
    peers = set()
    if rule.source_group.get("GroupId"):
        peers.add(rule.source_group["GroupId"])
    if rule.ip_range.get("CidrIp") == ANYWHERE:
        peers.add(ANYWHERE)
    return peers


def _allows(ec2: Any, groups: Iterable[str], direction: str, port: int, others: frozenset[str]) -> bool:
    for group_id in groups:
        group = ec2.get_security_group_from_id(group_id)
        for rule in getattr(group, direction, []) if group is not None else []:
            if _covers(rule, port) and _peers(rule) & (others | {ANYWHERE}):
                return True
    return False


def refusal(peer: str, account_id: str, region: str, store_groups: Iterable[str], port: int) -> str | None:
    """Why the VPC drops a connection from `peer` to a store behind `store_groups` on
    `port`, or None when it lets it through."""
    source = interface(peer)
    if source is None:
        return None
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account_id][region]
    stores = frozenset(store_groups)
    if not _allows(ec2, source.groups, "egress_rules", port, stores):
        return f"no egress rule of {sorted(source.groups)} allows tcp/{port} to {sorted(stores)}"
    if not _allows(ec2, stores, "ingress_rules", port, source.groups):
        return f"no ingress rule of {sorted(stores)} admits tcp/{port} from {sorted(source.groups)}"
    return None
