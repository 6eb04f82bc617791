"""Layered configuration: root -> account -> region -> environment -> component.

`load_environment("dev")` is the one entry point; it returns a frozen, validated
`EnvConfig` and the provenance of every value. Errors are `ConfigError`s that name the
file and the key.
"""

from infra.config.errors import ConfigError
from infra.config.layers import Loaded, Promotion, environment_names, load_environment, promotion
from infra.config.models import EnvConfig

__all__ = ["ConfigError", "EnvConfig", "Loaded", "Promotion", "environment_names", "load_environment", "promotion"]
