"""Settings, read from the environment (prefix ``SCF_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Passphrases that mean "nobody set one"; refused outside development mode.
DEFAULT_PASSPHRASE = "scf-dev-passphrase"  # noqa: S105 - the well-known development value, refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCF_", env_file=".env", extra="ignore")

    dev_mode: bool = Field(
        default=True,
        description="Development mode: the local chain, Anvil's well-known accounts and default passphrases.",
    )
    data_dir: Path = Field(default=Path(".scf"), description="Where chain state, keys, manifests and databases live.")
    rpc_url: str | None = Field(default=None, description="JSON-RPC endpoint; unset means the embedded local chain.")
    chain_id: int = Field(default=31337, description="Chain id the gateway signs for.")
    chain_port: int = Field(default=8545, description="Port of the embedded local chain.")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    keystore_passphrase: SecretStr = SecretStr(DEFAULT_PASSPHRASE)
    operator_address: str | None = Field(default=None, description="The operator's address outside development mode.")
    gas_price_wei: int = Field(default=0, description="Gas price; consortium networks run gas-free at 0.")
    poa: bool = Field(default=False, description="Besu QBFT: add web3's ExtraDataToPOAMiddleware.")
    receipt_timeout_s: float = 30.0
    max_pending_per_sender: int = Field(
        default=64, description="Transactions one signer may have in flight; keep below Besu's per-sender limit."
    )
    confirmations: int = Field(default=0, description="Blocks the indexer waits for; 0 for Anvil and QBFT.")
    rate_limit_per_minute: int = Field(default=1200, description="Requests one API key may make each minute.")
    rate_limit_burst: int = Field(default=200, description="Requests one API key may make at once.")
    max_body_bytes: int = Field(default=64 * 1024, description="Largest request body the gateway reads.")
    max_document_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest invoice or contract file the gateway accepts for upload."
    )
    provenance_cache_nodes: int = Field(
        default=100_000,
        ge=0,
        description="Certificates the gateway keeps in built provenance trees for the next read; 0 keeps none.",
    )

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if not self.dev_mode:
            secret = self.keystore_passphrase.get_secret_value()
            if not secret or secret == DEFAULT_PASSPHRASE:
                raise ValueError("SCF_KEYSTORE_PASSPHRASE must be set to a real passphrase outside development mode")
        return self

    @property
    def effective_rpc_url(self) -> str:
        return self.rpc_url or f"http://127.0.0.1:{self.chain_port}"

    @property
    def keystore_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "deployment.json"

    @property
    def chain_state_path(self) -> Path:
        return self.data_dir / "chain" / "state.json"

    @property
    def build_dir(self) -> Path:
        # Compiled contracts depend on the sources only, so every data folder shares one cache.
        return Path(__file__).resolve().parent.parent / ".cache" / "contracts"

    @property
    def gateway_db_path(self) -> Path:
        return self.data_dir / "gateway.db"

    @property
    def index_db_path(self) -> Path:
        return self.data_dir / "index.db"


@lru_cache
def get_settings() -> Settings:
    return Settings()
