"""One real Anvil chain for the whole session; every test runs in a snapshot that is reverted after it.

``--database=postgres`` runs the stores, indexes and gateway processes of the tests on a real PostgreSQL
server (tests/databases.py) instead of SQLite files; tests marked ``sqlite_only`` are then skipped. Tests
that need PostgreSQL whatever the option says (replicas sharing one database: those that ask for the
``postgres`` fixture, or are marked ``postgres_only``) run in that pass only, so that ``make test`` runs
them once.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from eth_account.signers.local import LocalAccount

from scf_chain.chain.local import LocalChain
from scf_chain.domain.money import today_utc
from scf_chain.domain.types import MemberRole
from scf_chain.runtime import Runtime, local_chain, open_runtime
from scf_chain.settings import Settings
from tests import databases
from tools.postgres import LocalPostgres


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=databases.CHOICES,
        default=databases.SQLITE,
        help="where the gateway's store and the index live in the tests: SQLite files, or a real PostgreSQL server",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: SQLite-specific by nature (its files, their modes, old SQLite files to migrate)"
    )
    config.addinivalue_line("markers", "postgres_only: needs PostgreSQL by nature (replicas sharing a database)")
    databases.configure(config.getoption("database"))
    config.add_cleanup(databases.stop)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not databases.on_postgres():
        postgres_only = pytest.mark.skip(reason="needs PostgreSQL by nature; it runs with --database=postgres")
        for item in items:
            if "postgres_only" in item.keywords or "postgres" in getattr(item, "fixturenames", ()):
                item.add_marker(postgres_only)
        return
    missing = databases.missing_postgres()
    sqlite_only = pytest.mark.skip(reason="SQLite-specific by nature; it runs with --database=sqlite")
    for item in items:
        if missing:
            item.add_marker(pytest.mark.skip(reason=missing))
        elif "sqlite_only" in item.keywords:
            item.add_marker(sqlite_only)


@pytest.fixture(scope="session")
def postgres() -> LocalPostgres:
    """This worker's PostgreSQL server (started at the first test that needs it, stopped at the end)."""
    missing = databases.missing_postgres()
    if missing:
        pytest.skip(missing)
    return databases.server()


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """A new, empty PostgreSQL database for the test (dropped after it), or None when the run is on SQLite."""
    url = databases.fresh_database_url()
    yield url
    databases.drop(url)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("scf-data"), chain_port=0)


@pytest.fixture(scope="session")
def chain(settings: Settings) -> Iterator[LocalChain]:
    local = local_chain(settings)
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="session")
def runtime(settings: Settings, chain: LocalChain) -> Runtime:
    return open_runtime(settings, deploy_if_missing=True)


@pytest.fixture(autouse=True)
def _isolated_chain_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Reverts the chain after each test that uses it, so that tests never see each other's state."""
    if "runtime" not in request.fixturenames:
        yield
        return
    runtime: Runtime = request.getfixturevalue("runtime")
    snapshot = runtime.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield
    runtime.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    # Nonces the sender handed out inside the snapshot are gone with it.
    runtime.sender.forget_nonces()


@pytest.fixture(scope="session")
def operator(runtime: Runtime) -> LocalAccount:
    return runtime.operator


_document_counter = itertools.count()


@pytest.fixture
def new_document() -> Callable[[], bytes]:
    """A fresh document hash for each call."""

    def make() -> bytes:
        return hashlib.sha256(f"invoice-{next(_document_counter)}".encode()).digest()

    return make


_invoice_counter = itertools.count(1)


def new_invoice_number() -> str:
    """A fresh invoice number for each call: an obligor issues against an invoice number once."""
    return f"INV-TEST-{next(_invoice_counter):06d}"


@pytest.fixture
def maturity() -> date:
    return today_utc() + timedelta(days=90)


class Consortium:
    """A small consortium on the test chain: one core enterprise, four suppliers, a bank, an auditor."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ledger = runtime.ledger
        self.operator = runtime.operator
        ks = runtime.keystore
        self.core: LocalAccount = ks.create()
        self.suppliers: list[LocalAccount] = [ks.create() for _ in range(4)]
        self.bank: LocalAccount = ks.create()
        self.auditor: LocalAccount = ks.create()
        self.outsider: LocalAccount = ks.create()  # never registered
        ledger, op = self.ledger, self.operator
        ledger.register_member(op, self.core.address, MemberRole.CORE_ENTERPRISE, "Acme Motors")
        for tier, supplier in enumerate(self.suppliers, start=1):
            ledger.register_member(op, supplier.address, MemberRole.SUPPLIER, f"Tier {tier} Parts")
        ledger.register_member(op, self.bank.address, MemberRole.FINANCIER, "First Bank")
        ledger.register_member(op, self.auditor.address, MemberRole.AUDITOR, "Audit Office")
        ledger.set_credit_limit(op, self.core.address, Decimal("2000000.00"))


@pytest.fixture(scope="session")
def _session_consortium(runtime: Runtime) -> Consortium:
    # Registered once, before any test's snapshot, so every test starts with it.
    return Consortium(runtime)


@pytest.fixture
def consortium(_session_consortium: Consortium) -> Consortium:
    return _session_consortium
