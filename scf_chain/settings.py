"""Settings, read from the environment (prefix ``SCF_``) or a ``.env`` file."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scf_chain.domain.errors import ScfError

# Passphrases that mean "nobody set one"; refused outside development mode.
DEFAULT_PASSPHRASE = "scf-dev-passphrase"  # noqa: S105 - the well-known development value, refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCF_", env_file=".env", extra="ignore")

    dev_mode: bool = Field(
        default=True,
        description="Development mode: the local chain, Anvil's well-known accounts and default passphrases.",
    )
    data_dir: Path = Field(default=Path(".scf"), description="Where chain state, keys, manifests and databases live.")
    rpc_url: str | None = Field(
        default=None,
        description="JSON-RPC endpoint, or the consortium's nodes as a comma-separated list (one is used at a time, "
        "the next when it stops); unset means the embedded local chain.",
    )
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
    confirmations: int = Field(
        default=0,
        ge=0,
        description="Blocks a write's block must have above it before it is indexed and answered: 0 for Anvil and "
        "for BFT finality (IBFT, QBFT: a block is final once made); a few (2) for Clique, which can reorganise. "
        "Unset on a Clique chain, the gateway uses 2.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL for the gateway's store and the index, one database for both, e.g. "
        "postgresql+psycopg://scf@127.0.0.1:5432/scf (or ?host=/socket/dir); unset means the SQLite files in the "
        "data folder. Secret: it may hold a password.",
    )
    stall_after_s: float = Field(
        default=10.0,
        ge=0,
        description="Several block intervals: a node whose head has not moved for this long while another's did "
        "is passed over, and a network where no node's head has moved for this long is halted (a BFT network "
        "that lost its quorum): writes are refused with 503 until blocks come again. 0: never judged halted. "
        "Watched where SCF_RPC_URL names several nodes; not applied to a chain that mines only on demand "
        "(Anvil's automine).",
    )

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if not self.dev_mode:
            secret = self.keystore_passphrase.get_secret_value()
            if not secret or secret == DEFAULT_PASSPHRASE:
                raise ValueError("SCF_KEYSTORE_PASSPHRASE must be set to a real passphrase outside development mode")
        remote = [url for url in self.rpc_urls if not self._is_embedded_chain(url)] if self.dev_mode else []
        if remote:
            # Development mode signs with Anvil's publicly known keys: anyone could sign as the operator there.
            raise ValueError(
                f"SCF_DEV_MODE is on, which signs with Anvil's publicly known keys, but SCF_RPC_URL points at "
                f"{_without_credentials(remote[0])}, not the embedded chain: set SCF_DEV_MODE=false for that "
                f"network, or unset SCF_RPC_URL"
            )
        return self

    @property
    def rpc_urls(self) -> list[str]:
        """The configured nodes' URLs, in order (``SCF_RPC_URL`` split at commas); empty for the embedded chain."""
        if not self.rpc_url:
            return []
        return [url.strip() for url in self.rpc_url.split(",") if url.strip()]

    @model_validator(mode="after")
    def _check_rpc_urls(self) -> Settings:  # after the dev-mode check: its refusal says more
        if self.rpc_url and not self.rpc_urls:
            raise ValueError("SCF_RPC_URL is empty: name the node's URL (several, separated by commas), or unset it")
        for url in self.rpc_urls:
            if not _is_http_url(url):
                raise ValueError(
                    f"SCF_RPC_URL: {_without_credentials(url)} is not an http(s) URL such as http://besu-1:8545 "
                    "(several nodes are separated by commas)"
                )
        return self

    @model_validator(mode="after")
    def _check_database_url(self) -> Settings:
        if self.database_url is not None:
            url = self.database_url.get_secret_value().strip()
            if not url:
                raise ValueError("SCF_DATABASE_URL is empty: name a PostgreSQL database, or unset it for SQLite")
            if urlsplit(url).scheme not in _POSTGRESQL_SCHEMES:
                raise ValueError(
                    f"SCF_DATABASE_URL: {shown_database_url(url)} is not a PostgreSQL URL such as "
                    "postgresql+psycopg://scf@127.0.0.1:5432/scf"
                )
        return self

    @property
    def postgresql_url(self) -> str | None:
        """The PostgreSQL URL of ``SCF_DATABASE_URL`` for SQLAlchemy (on the psycopg driver), or None for SQLite."""
        if self.database_url is None:
            return None
        url = self.database_url.get_secret_value().strip()
        scheme, rest = url.split(":", 1)
        return ("postgresql+psycopg" if scheme in ("postgres", "postgresql") else scheme) + ":" + rest

    @property
    def index_database(self) -> Path | str:
        """Where the index lives: its SQLite file, or the PostgreSQL URL it shares with the gateway's store."""
        return self.postgresql_url or self.index_db_path

    def _is_embedded_chain(self, url: str) -> bool:
        """Whether ``url`` is this machine's embedded chain: its configured port, or that of this data folder's."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            return False
        return port == self.chain_port or port == self._embedded_chain_port()

    def _embedded_chain_port(self) -> int | None:
        # The record the embedded chain of this data folder writes when it starts (scf_chain.chain.local.LocalChain).
        record = self.data_dir / "chain" / "chain.json"
        try:
            port = json.loads(record.read_text())["port"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return port if isinstance(port, int) else None

    @property
    def keystore_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "deployment.json"

    @property
    def build_dir(self) -> Path:
        # Compiled contracts depend on the sources only, so every data folder shares one cache.
        return Path(__file__).resolve().parent.parent / ".cache" / "contracts"

    @property
    def index_db_path(self) -> Path:
        return self.data_dir / "index.db"


S = TypeVar("S", bound=Settings)


class InvalidSettings(ScfError):
    """Settings that are refused, with a one-line message naming them."""


def load_settings() -> Settings:
    """The settings of the environment, or InvalidSettings saying in one line what is wrong."""
    return load_settings_of(Settings)


def load_settings_of(kind: type[S]) -> S:
    """Settings of ``kind`` (the library's, or a subclass with more) from the environment, as load_settings."""
    try:
        return kind()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            field = ".".join(str(part) for part in error["loc"])
            problems.append(f"SCF_{field.upper()}: {message}" if field else message)
        raise InvalidSettings("invalid settings: " + "; ".join(problems)) from None


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# The schemes a PostgreSQL URL may have; without a driver, or naming another, psycopg is used.
_POSTGRESQL_SCHEMES = ("postgresql+psycopg", "postgresql", "postgres")


def shown_database_url(url: str) -> str:
    """A database URL as it may be logged or shown: without its password (in the address or as a parameter)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "an invalid URL"
    user = f"{unquote(parts.username)}@" if parts.username else ""
    where = f"[{host}]" if ":" in host else host
    query = "&".join(
        f"{name}={value}" for name, value in parse_qsl(parts.query, keep_blank_values=True) if name != "password"
    )
    return (
        f"{parts.scheme}://{user}{where}" + (f":{port}" if port else "") + parts.path + (f"?{query}" if query else "")
    )


def _without_credentials(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "an invalid URL"


# The data folder holds signing keys, API-key hashes and members' business: its user's only.
PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# A data folder its group may enter but not list: run as root, the local PostgreSQL server's user passes
# through it to a folder of its own (tools/postgres.py); everything else in it stays 0700 and 0600.
PASS_THROUGH_DIR_MODE = 0o710


def private_dir(path: Path) -> Path:
    """``path`` as a folder only this user may open, created (with its parents) if missing."""
    path.mkdir(parents=True, exist_ok=True)
    _restrict(path, PRIVATE_DIR_MODE)
    return path


def create_private_file(path: Path) -> None:
    """Creates ``path`` empty if it is missing, so that whoever opens it next finds it owner-only."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    _restrict(path, PRIVATE_FILE_MODE)


def write_private(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text`` in one step, readable by this user only from the first byte."""
    private_dir(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def make_data_dir_private(data_dir: Path) -> None:
    """Makes the data folder and everything in it its user's only, and every file this process makes later.

    Called once at start-up by the service and the CLI; it also mends folders an older version left readable.
    """
    os.umask(PRIVATE_UMASK)
    if not data_dir.is_dir():
        return
    if stat.S_IMODE(data_dir.stat().st_mode) != PASS_THROUGH_DIR_MODE:
        _restrict(data_dir, PRIVATE_DIR_MODE)
    for root, folders, files in os.walk(data_dir):
        for name in folders:
            _restrict(Path(root, name), PRIVATE_DIR_MODE)
        for name in files:
            _restrict(Path(root, name), PRIVATE_FILE_MODE)


def _restrict(path: Path, mode: int) -> None:
    try:
        status = path.lstat()
        # Links are left alone (their targets are not ours to judge), and so are other users' files.
        if stat.S_ISLNK(status.st_mode) or status.st_uid != os.getuid() or stat.S_IMODE(status.st_mode) == mode:
            return
        path.chmod(mode)
    except FileNotFoundError:  # removed meanwhile, as SQLite does with its -shm and -wal files
        return
