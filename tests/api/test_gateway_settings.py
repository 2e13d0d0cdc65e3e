"""The gateway's own settings and files: limits that could never let a request through are refused; its database
is its user's only."""

import os
import stat

import pytest
from pydantic import ValidationError

from api.settings import GatewaySettings, gateway_settings
from api.store import GatewayStore
from scf_chain.settings import Settings


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def process_umask():
    """The process's umask, put back after the test (creating private files changes nothing else)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_two_checkouts_have_their_own_gateway_database(tmp_path):
    first = gateway_settings(Settings(data_dir=tmp_path / "a", chain_port=18545, api_port=18000))
    second = gateway_settings(Settings(data_dir=tmp_path / "b", chain_port=28545, api_port=28000))
    assert first.gateway_db_path != second.gateway_db_path
    assert first.gateway_db_path.parent == tmp_path / "a"


@pytest.mark.sqlite_only
def test_the_gateway_database_and_its_journal_files_are_owner_only(tmp_path, process_umask):
    store = GatewayStore(tmp_path / "data" / "gateway.db")
    try:
        store.create_api_key("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        files = sorted((tmp_path / "data").iterdir())
        assert [path.name for path in files] == ["gateway.db", "gateway.db-shm", "gateway.db-wal"]
        assert {_mode(path) for path in files} == {0o600}
        assert _mode(tmp_path / "data") == 0o700
    finally:
        store.close()


@pytest.mark.parametrize("limits", [{"rate_limit_per_minute": -1}, {"rate_limit_burst": 0}])
def test_a_rate_limit_that_could_never_let_a_request_through_is_refused(limits):
    with pytest.raises(ValidationError):
        GatewaySettings(**limits)
