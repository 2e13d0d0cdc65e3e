"""The gateway's settings: the library's, and those only the gateway reads (prefix ``SCF_`` as well)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from scf_chain.settings import Settings, load_settings_of


class GatewaySettings(Settings):
    rate_limit_per_minute: int = Field(
        default=1200, ge=0, description="Requests one member may make each minute; 0: only the burst, for good."
    )
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests one member may make at once.")
    max_body_bytes: int = Field(default=64 * 1024, description="Largest request body the gateway reads.")
    max_document_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest invoice or contract file the gateway accepts for upload."
    )
    overdue_interval_s: float = Field(
        default=600.0,
        ge=0,
        description="How often the gateway marks issuances past maturity and grace overdue on its own; 0: never.",
    )
    provenance_cache_nodes: int = Field(
        default=100_000,
        ge=0,
        description="Certificates the gateway keeps in built provenance trees for the next read; 0 keeps none.",
    )
    lease_s: float = Field(
        default=5.0,
        gt=0,
        description="Replicas on one database: how long a signer's or the leader's lease outlasts a replica that "
        "stopped, before another takes it over.",
    )

    @property
    def gateway_db_path(self) -> Path:
        return self.data_dir / "gateway.db"

    @property
    def gateway_database(self) -> Path | str:
        """Where the gateway's store lives: its SQLite file, or the PostgreSQL URL it shares with the index."""
        return self.postgresql_url or self.gateway_db_path


def gateway_settings(settings: Settings) -> GatewaySettings:
    """``settings`` with the gateway's own read from the environment beside them."""
    if isinstance(settings, GatewaySettings):
        return settings
    return GatewaySettings(**settings.model_dump())


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return load_settings_of(GatewaySettings)
