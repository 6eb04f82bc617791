"""Facts from the real provider schema (which resource types take tags), cached per version."""

from __future__ import annotations

import json
import subprocess

from infra.paths import WORK
from infra.toolchain import terraform_binary, terraform_env
from infra.versions import AWS_PROVIDER_SOURCE, AWS_PROVIDER_VERSION

SCHEMA_DIR = WORK / "schema"


def taggable_types() -> frozenset[str]:
    """Resource types of the pinned aws provider that have a `tags` argument."""
    cache = SCHEMA_DIR / f"taggable-{AWS_PROVIDER_VERSION}.json"
    if cache.is_file():
        return frozenset(json.loads(cache.read_text()))
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    (SCHEMA_DIR / "main.tf.json").write_text(
        json.dumps(
            {
                "terraform": {
                    "required_providers": {"aws": {"source": AWS_PROVIDER_SOURCE, "version": AWS_PROVIDER_VERSION}}
                }
            }
        )
    )
    env = terraform_env()
    subprocess.run(
        [terraform_binary(), "init", "-backend=false", "-input=false", "-no-color"],
        cwd=SCHEMA_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.run(
        [terraform_binary(), "providers", "schema", "-json"],
        cwd=SCHEMA_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    schemas = json.loads(proc.stdout)["provider_schemas"]
    resources = next(iter(schemas.values()))["resource_schemas"]
    taggable = sorted(kind for kind, schema in resources.items() if "tags" in schema["block"].get("attributes", {}))
    cache.write_text(json.dumps(taggable))
    return frozenset(taggable)
