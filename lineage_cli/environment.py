"""The settings a command runs with: the LINEAGE_* environment, then the running local stack."""

from __future__ import annotations

import os
from typing import Any

from lineage.settings import Settings
from lineage_stack import stack


def env_settings(**overrides: Any) -> Settings:
    return Settings.from_env(os.environ, **overrides)


def component_settings() -> Settings:
    """Settings for a component: env first, then the running default stack's addresses."""
    settings = env_settings()
    found: dict[str, Any] = {}
    if not os.environ.get("LINEAGE_KAFKA_BOOTSTRAP") or not os.environ.get("LINEAGE_NEO4J_URI"):
        info = stack.status(settings.stack_data_dir)
        if not os.environ.get("LINEAGE_KAFKA_BOOTSTRAP") and info["kafka_running"]:
            # A SASL client goes to the stack's SASL listener (lineage stack up --kafka-sasl-user).
            sasl = settings.kafka_security_protocol == "SASL_PLAINTEXT" and info["kafka_sasl_bootstrap"]
            found["kafka_bootstrap"] = sasl or info["kafka_bootstrap"]
        if not os.environ.get("LINEAGE_NEO4J_URI") and info["neo4j_running"]:
            found["neo4j_uri"] = info["neo4j_uri"]
    return settings.model_copy(update=found) if found else settings
