"""ElastiCache: what the replication group, its parameter group and users need.

Stock moto 5.2.5:
- lists member clusters (`<id>-001`, ...) that do not exist, so the provider's read fails
  with CacheClusterNotFound; ours creates them, with the encryption, security groups and
  parameter group the provider reads from the first member;
- reports no TransitEncryptionMode for a group created with TLS (AWS says "required");
- ignores NumCacheClusters (one member unless ReplicasPerNodeGroup is given); ours honours it;
- leaves a deleted group "deleting" forever (destroy waits 45 minutes); ours removes it;
- has no DeleteCacheSubnetGroup, no parameter groups and no user groups; ours keeps them
  in plain dictionaries on the backend;
- refuses tags on parameter-group and user-group ARNs; ours accepts every ElastiCache ARN;
- keeps no auth token and ignores ModifyReplicationGroup's transit encryption, auth token
  and user group changes; ours keeps them (the data plane reads them);
- has no ModifyUser (Terraform's change of a user's access string or authentication fails);
  ours changes the access string (replaced or appended), the passwords and the
  authentication mode (`iam`, `password`, `no-password-required`).

The data plane (a Redis server per group, infra/emulator/planes/redis.py) is started,
reconfigured and stopped from here: `redis_plane.created/changed/deleted`.
"""

from __future__ import annotations

import re
from typing import Any

from moto.core.responses import ActionResult

from infra.emulator.fixes import replace
from infra.emulator.planes import redis as redis_plane

ANY_ARN = re.compile(r"^arn:aws:elasticache:[^:]*:\d*:[a-z]+:.+$")


def _error(code: str, message: str) -> Exception:
    from moto.elasticache.exceptions import ElastiCacheException

    return ElastiCacheException(code, message)


def _store(backend: Any, name: str) -> dict[str, Any]:
    if not hasattr(backend, name):
        setattr(backend, name, {})
    store: dict[str, Any] = getattr(backend, name)
    return store


# --- replication groups ---------------------------------------------------------------------


def _member_clusters(stock: Any) -> Any:
    def members(self: Any, **kwargs: Any) -> Any:
        if not kwargs.get("replicas_per_node_group") and kwargs.get("num_cache_clusters"):
            kwargs["replicas_per_node_group"] = kwargs["num_cache_clusters"] - 1
        return stock(self, **kwargs)

    return members


def _create_group(stock: Any) -> Any:
    def create_replication_group(self: Any, **kwargs: Any) -> Any:
        group = stock(self, **kwargs)
        if kwargs.get("transit_encryption_enabled") and not group.transit_encryption_mode:
            group.transit_encryption_mode = "required"  # what AWS reports for TLS set at creation
        for node in (m for g in group.node_groups for m in g["node_group_members"]):
            self.create_cache_cluster(
                cache_cluster_id=node["cache_cluster_id"],
                replication_group_id=group.replication_group_id,
                az_mode="single-az",
                preferred_availability_zone=node["preferred_availability_zone"],
                num_cache_nodes=1,
                cache_node_type=kwargs["cache_node_type"],
                engine=kwargs["engine"],
                engine_version=kwargs["engine_version"],
                cache_parameter_group_name=kwargs["cache_parameter_group_name"],
                cache_subnet_group_name=kwargs["cache_subnet_group_name"],
                transit_encryption_enabled=kwargs["transit_encryption_enabled"],
                network_type=None,
                ip_discovery=None,
                snapshot_name=None,
                preferred_maintenance_window=kwargs["preferred_maintenance_window"],
                port=kwargs["port"],
                notification_topic_arn=None,
                auto_minor_version_upgrade=kwargs["auto_minor_version_upgrade"],
                snapshot_retention_limit=kwargs["snapshot_retention_limit"],
                snapshot_window=kwargs["snapshot_window"],
                auth_token=None,
                outpost_mode=None,
                preferred_outpost_arn=None,
                preferred_availability_zones=None,
                cache_security_group_names=None,
                security_group_ids=kwargs["security_group_ids"],
                tags=[],
                snapshot_arns=None,
                preferred_outpost_arns=None,
                log_delivery_configurations=[],
                cache_node_ids_to_remove=None,
                cache_node_ids_to_reboot=None,
            )
            # What the provider reads from the first member for the whole group.
            member = self.cache_clusters[node["cache_cluster_id"]]
            member.at_rest_encryption_enabled = bool(kwargs.get("at_rest_encryption_enabled"))
            member.transit_encryption_mode = group.transit_encryption_mode
            member.security_groups = [
                {"SecurityGroupId": g, "Status": "active"} for g in kwargs.get("security_group_ids") or []
            ]
            member.cache_parameter_group = {
                "CacheParameterGroupName": kwargs["cache_parameter_group_name"],
                "ParameterApplyStatus": "in-sync",
                "CacheNodeIdsToReboot": [],
            }
        for user_group_id in kwargs.get("user_group_ids") or []:
            _store(self, "user_groups").get(user_group_id, {}).setdefault("ReplicationGroups", []).append(
                group.replication_group_id
            )
        group.auth_tokens = [kwargs["auth_token"]] if kwargs.get("auth_token") else []
        redis_plane.created(self, group)
        return group

    return create_replication_group


def _delete_group(self: Any, replication_group_id: str, retain_primary_cluster: bool | None) -> Any:
    from moto.elasticache.exceptions import ReplicationGroupNotFound

    if replication_group_id not in self.replication_groups:
        raise ReplicationGroupNotFound(replication_group_id)
    group = self.replication_groups.pop(replication_group_id)
    for member in group.member_clusters:
        self.cache_clusters.pop(member, None)
    for user_group in _store(self, "user_groups").values():
        if replication_group_id in user_group.get("ReplicationGroups", []):
            user_group["ReplicationGroups"].remove(replication_group_id)
    group.status = "deleting"
    redis_plane.deleted(self, replication_group_id)
    return group


def _modify_group(stock: Any) -> Any:
    def modify_replication_group(self: Any) -> ActionResult:
        result: ActionResult = stock(self)
        backend = self.elasticache_backend
        group = backend.replication_groups[self._get_param("ReplicationGroupId")]
        enabled = self._get_bool_param("TransitEncryptionEnabled")
        mode = self._get_param("TransitEncryptionMode")
        if mode is not None and mode not in ("preferred", "required"):
            raise _error("InvalidParameterValue", f"TransitEncryptionMode {mode} is not preferred or required.")
        if enabled is False and (mode or group.transit_encryption_mode) != "preferred":
            raise _error(
                "InvalidParameterCombination",
                "Transit encryption can be disabled only when TransitEncryptionMode is preferred.",
            )
        if enabled is not None:
            group.transit_encryption_enabled = enabled
        if mode is not None or enabled is not None:
            mode = mode or group.transit_encryption_mode
            group.transit_encryption_mode = mode if group.transit_encryption_enabled else None
            for member in group.member_clusters:
                if member in backend.cache_clusters:
                    backend.cache_clusters[member].transit_encryption_enabled = group.transit_encryption_enabled
                    backend.cache_clusters[member].transit_encryption_mode = group.transit_encryption_mode
        token, strategy = self._get_param("AuthToken"), self._get_param("AuthTokenUpdateStrategy") or "SET"
        if strategy == "DELETE":
            group.auth_tokens = []
        elif token:
            group.auth_tokens = [*getattr(group, "auth_tokens", [])[-1:], token] if strategy == "ROTATE" else [token]
        group.auth_token_enabled = bool(getattr(group, "auth_tokens", []))
        user_groups = _store(backend, "user_groups")
        for user_group_id in self._get_param("UserGroupIdsToRemove", []):
            if user_group_id in group.user_group_ids:
                group.user_group_ids.remove(user_group_id)
                user_groups.get(user_group_id, {}).get("ReplicationGroups", []).remove(group.replication_group_id)
        for user_group_id in self._get_param("UserGroupIdsToAdd", []):
            if user_group_id not in group.user_group_ids:
                group.user_group_ids.append(user_group_id)
                user_groups.get(user_group_id, {}).setdefault("ReplicationGroups", []).append(
                    group.replication_group_id
                )
        redis_plane.changed(backend, group)
        return result

    return modify_replication_group


# --- subnet groups, tags -------------------------------------------------------------------


def delete_cache_subnet_group(self: Any) -> ActionResult:
    name = self._get_param("CacheSubnetGroupName")
    if self.elasticache_backend.cache_subnet_groups.pop(name, None) is None:
        raise _error("CacheSubnetGroupNotFoundFault", f"CacheSubnetGroup {name} not found.")
    return ActionResult({})


def _list_tags(self: Any, arn: str) -> Any:
    from moto.elasticache.exceptions import InvalidARNFault

    if not ANY_ARN.match(arn):
        raise InvalidARNFault(arn)
    return self.tagging_service.list_tags_for_resource(arn)


# --- parameter groups ----------------------------------------------------------------------


def _parameter_group(self: Any, name: str) -> dict[str, Any]:
    group: dict[str, Any] | None = _store(self.elasticache_backend, "parameter_groups").get(name)
    if group is None:
        raise _error("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.")
    return group


def create_cache_parameter_group(self: Any) -> ActionResult:
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    arn = f"arn:aws:elasticache:{self.region}:{backend.account_id}:parametergroup:{name}"
    group = {
        "CacheParameterGroupName": name,
        "CacheParameterGroupFamily": self._get_param("CacheParameterGroupFamily"),
        "Description": self._get_param("Description"),
        "IsGlobal": False,
        "ARN": arn,
        "Parameters": {},
    }
    _store(backend, "parameter_groups")[name] = group
    backend.tagging_service.tag_resource(arn, self._get_param("Tags", []))
    return ActionResult({"CacheParameterGroup": group})


def describe_cache_parameter_groups(self: Any) -> ActionResult:
    name = self._get_param("CacheParameterGroupName")
    groups = (
        [_parameter_group(self, name)] if name else list(_store(self.elasticache_backend, "parameter_groups").values())
    )
    return ActionResult({"CacheParameterGroups": groups})


def modify_cache_parameter_group(self: Any) -> ActionResult:
    name = self._get_param("CacheParameterGroupName")
    group = _parameter_group(self, name)
    for item in self._get_param("ParameterNameValues", []):
        group["Parameters"][item["ParameterName"]] = item["ParameterValue"]
    return ActionResult({"CacheParameterGroupName": name})


def reset_cache_parameter_group(self: Any) -> ActionResult:
    name = self._get_param("CacheParameterGroupName")
    group = _parameter_group(self, name)
    if self._get_bool_param("ResetAllParameters"):
        group["Parameters"].clear()
    for item in self._get_param("ParameterNameValues", []):
        group["Parameters"].pop(item["ParameterName"], None)
    return ActionResult({"CacheParameterGroupName": name})


def describe_cache_parameters(self: Any) -> ActionResult:
    group = _parameter_group(self, self._get_param("CacheParameterGroupName"))
    parameters = [
        {"ParameterName": k, "ParameterValue": v, "Source": "user", "DataType": "string", "IsModifiable": True}
        for k, v in sorted(group["Parameters"].items())
    ]
    return ActionResult({"Parameters": parameters})


def delete_cache_parameter_group(self: Any) -> ActionResult:
    name = self._get_param("CacheParameterGroupName")
    _parameter_group(self, name)
    _store(self.elasticache_backend, "parameter_groups").pop(name)
    return ActionResult({})


# --- user groups -----------------------------------------------------------------------------


def _user_group(self: Any, group_id: str) -> dict[str, Any]:
    group: dict[str, Any] | None = _store(self.elasticache_backend, "user_groups").get(group_id)
    if group is None:
        raise _error("UserGroupNotFound", f"User group {group_id} not found.")
    return group


def create_user_group(self: Any) -> ActionResult:
    backend = self.elasticache_backend
    group_id = self._get_param("UserGroupId")
    user_ids = self._get_param("UserIds", [])
    unknown = [u for u in user_ids if u not in backend.users]
    if unknown:
        raise _error("UserNotFound", f"User {unknown[0]} not found.")
    arn = f"arn:aws:elasticache:{self.region}:{backend.account_id}:usergroup:{group_id}"
    group = {
        "UserGroupId": group_id,
        "Status": "active",
        "Engine": self._get_param("Engine"),
        "UserIds": user_ids,
        "MinimumEngineVersion": "6.0",
        "ReplicationGroups": [],
        "ServerlessCaches": [],
        "ARN": arn,
    }
    _store(backend, "user_groups")[group_id] = group
    backend.tagging_service.tag_resource(arn, self._get_param("Tags", []))
    return ActionResult(group)


def describe_user_groups(self: Any) -> ActionResult:
    group_id = self._get_param("UserGroupId")
    groups = (
        [_user_group(self, group_id)] if group_id else list(_store(self.elasticache_backend, "user_groups").values())
    )
    return ActionResult({"UserGroups": groups})


def modify_user_group(self: Any) -> ActionResult:
    group = _user_group(self, self._get_param("UserGroupId"))
    add, remove = self._get_param("UserIdsToAdd", []), self._get_param("UserIdsToRemove", [])
    group["UserIds"] = [u for u in group["UserIds"] if u not in remove] + [u for u in add if u not in group["UserIds"]]
    return ActionResult(group)


def delete_user_group(self: Any) -> ActionResult:
    group_id = self._get_param("UserGroupId")
    group = _user_group(self, group_id)
    _store(self.elasticache_backend, "user_groups").pop(group_id)
    return ActionResult({**group, "Status": "deleting"})


def modify_user(self: Any) -> ActionResult:
    from moto.elasticache.exceptions import UserNotFound

    params = self._get_params()
    user = self.elasticache_backend.users.get(params.get("UserId"))
    if user is None:
        raise UserNotFound(params.get("UserId"))
    if params.get("AccessString"):
        user.access_string = params["AccessString"]
    if params.get("AppendAccessString"):
        user.access_string = f"{user.access_string} {params['AppendAccessString']}"
    mode = params.get("AuthenticationMode") or {}
    passwords = params.get("Passwords") or mode.get("Passwords") or []
    if passwords:
        user.passwords, user.authentication_type, user.no_password_required = passwords, "password", False
    if self._get_bool_param("NoPasswordRequired") or mode.get("Type") == "no-password-required":
        user.passwords, user.authentication_type, user.no_password_required = [], "no-password-required", True
    elif mode.get("Type") in ("iam", "password"):
        user.authentication_type, user.no_password_required = mode["Type"], False
        if mode["Type"] == "iam":
            user.passwords = []
    return ActionResult(user)


def apply() -> None:
    from moto.elasticache.models import ElastiCacheBackend, ReplicationGroup
    from moto.elasticache.responses import ElastiCacheResponse

    stock_members = ReplicationGroup._set_node_members_clusters_disabled
    replace(ReplicationGroup, "_set_node_members_clusters_disabled", _member_clusters(stock_members))
    replace(ElastiCacheBackend, "create_replication_group", _create_group(ElastiCacheBackend.create_replication_group))
    replace(ElastiCacheBackend, "delete_replication_group", _delete_group)
    replace(ElastiCacheBackend, "list_tags_for_resource", _list_tags)
    stock_modify = ElastiCacheResponse.modify_replication_group
    replace(ElastiCacheResponse, "modify_replication_group", _modify_group(stock_modify))
    for handler in (
        delete_cache_subnet_group,
        create_cache_parameter_group,
        describe_cache_parameter_groups,
        modify_cache_parameter_group,
        reset_cache_parameter_group,
        describe_cache_parameters,
        delete_cache_parameter_group,
        create_user_group,
        describe_user_groups,
        modify_user_group,
        delete_user_group,
        modify_user,
    ):
        replace(ElastiCacheResponse, handler.__name__, handler)
