"""SCF_DATABASE_URL: where the store and the index live, and a password that is never shown."""

from __future__ import annotations

import logging

import pytest

from api.settings import GatewaySettings
from api.store import GatewayStore
from scf_chain.chain.local import free_port
from scf_chain.domain.errors import DatabaseUnavailable
from scf_chain.index.store import LedgerIndex
from scf_chain.settings import InvalidSettings, load_settings, shown_database_url

PASSWORD = "s3cret-pw"


def test_unset_the_store_and_the_index_are_sqlite_files_in_the_data_folder(tmp_path):
    settings = GatewaySettings(data_dir=tmp_path)
    assert settings.database_url is None and settings.postgresql_url is None
    assert settings.gateway_database == tmp_path / "gateway.db"
    assert settings.index_database == tmp_path / "index.db"


@pytest.mark.parametrize(
    "given",
    [
        f"postgresql+psycopg://scf:{PASSWORD}@db.example:5432/scf",
        f"postgresql://scf:{PASSWORD}@db.example:5432/scf",
        f"postgres://scf:{PASSWORD}@db.example:5432/scf",
    ],
)
def test_set_both_share_one_postgresql_database_on_the_psycopg_driver(tmp_path, given):
    settings = GatewaySettings(data_dir=tmp_path, database_url=given)
    url = f"postgresql+psycopg://scf:{PASSWORD}@db.example:5432/scf"
    assert settings.gateway_database == settings.index_database == url
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())


@pytest.mark.parametrize("given", [f"mysql://scf:{PASSWORD}@db.example/scf", "sqlite:///gateway.db", " "])
def test_another_database_is_refused_in_one_line_without_its_password(tmp_path, monkeypatch, given):
    monkeypatch.setenv("SCF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCF_DATABASE_URL", given)
    with pytest.raises(InvalidSettings) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith("invalid settings: SCF_DATABASE_URL") and "\n" not in message
    assert PASSWORD not in message


def test_a_shown_url_has_no_password_in_its_address_or_its_parameters():
    shown = shown_database_url(f"postgresql+psycopg://scf:{PASSWORD}@[::1]:5433/scf?sslmode=require&password=x")
    assert shown == "postgresql+psycopg://scf@[::1]:5433/scf?sslmode=require"
    assert (
        shown_database_url("postgresql://scf@/scf?host=/run/postgresql") == "postgresql://scf@/scf?host=/run/postgresql"
    )


def test_a_database_that_does_not_answer_is_unavailable_and_its_password_is_not_shown(caplog):
    url = f"postgresql+psycopg://scf:{PASSWORD}@127.0.0.1:{free_port()}/scf"  # nothing listens there
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailable) as store_refused:
        GatewayStore(url)
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailable) as index_refused:
        LedgerIndex(url)
    for refused in (store_refused, index_refused):
        assert "does not answer" in str(refused.value) and PASSWORD not in str(refused.value)
    assert caplog.records and all(PASSWORD not in record.getMessage() for record in caplog.records)
