"""Keys are encrypted at rest and never shown; unsafe settings are refused; the data folder is its user's only."""

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from scf_chain.chain.compiler import compile_contracts
from scf_chain.chain.deploy import Deployment
from scf_chain.chain.keys import KeyStore
from scf_chain.chain.local import free_port
from scf_chain.runtime import rpc_url
from scf_chain.settings import (
    DEFAULT_PASSPHRASE,
    InvalidSettings,
    Settings,
    load_settings,
    make_data_dir_private,
    write_private,
)


def test_key_store_files_are_encrypted_and_owner_only(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    store = KeyStore(tmp_path, "correct horse battery staple", scrypt_n=2**4)
    account = store.create()
    (path,) = tmp_path.glob("0x*.json")
    text = path.read_text()
    assert account.key.hex().removeprefix("0x") not in text
    assert json.loads(text)["crypto"]["kdf"] == "scrypt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    reopened = KeyStore(tmp_path, "correct horse battery staple", scrypt_n=2**4)
    assert reopened.unlock_all() == [account.address]
    assert reopened.account(account.address).key == account.key
    assert account.key.hex().removeprefix("0x") not in caplog.text


def test_a_wrong_passphrase_does_not_unlock(tmp_path):
    KeyStore(tmp_path, "right", scrypt_n=2**4).create()
    with pytest.raises(ValueError):
        KeyStore(tmp_path, "wrong", scrypt_n=2**4).unlock_all()


@pytest.mark.parametrize("passphrase", ["", DEFAULT_PASSPHRASE])
def test_production_refuses_an_empty_or_default_passphrase(passphrase):
    with pytest.raises(ValidationError, match="SCF_KEYSTORE_PASSPHRASE"):
        Settings(dev_mode=False, keystore_passphrase=passphrase)


def test_production_accepts_a_real_passphrase_and_development_its_default():
    assert Settings(dev_mode=False, keystore_passphrase="a long and real passphrase").dev_mode is False
    assert Settings(dev_mode=True).keystore_passphrase.get_secret_value() == DEFAULT_PASSPHRASE


def test_two_checkouts_differ_only_by_data_folder_and_ports(tmp_path):
    first = Settings(data_dir=tmp_path / "a", chain_port=18545, api_port=18000)
    second = Settings(data_dir=tmp_path / "b", chain_port=28545, api_port=28000)
    assert first.manifest_path != second.manifest_path
    assert first.index_db_path != second.index_db_path
    assert rpc_url(first) != rpc_url(second)


REMOTE = "https://deployer:s3cret-token@rpc.consortium.example:8545"


@pytest.mark.parametrize("url", [REMOTE, "http://10.0.0.5:8545", "http://127.0.0.1:18999", "ws://127.0.0.1:8545"])
def test_development_mode_refuses_any_chain_but_the_embedded_one(tmp_path, url):
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, dev_mode=True, rpc_url=url, chain_port=8545)
    message = str(refused.value)
    assert "SCF_DEV_MODE" in message and "SCF_RPC_URL" in message
    assert "s3cret-token" not in message  # the URL is named without its credentials


def test_development_mode_accepts_the_embedded_chain_at_its_port_or_the_one_it_recorded(tmp_path):
    assert Settings(data_dir=tmp_path, dev_mode=True, rpc_url="http://127.0.0.1:18545", chain_port=18545).rpc_url
    # The embedded chain takes a free port when its own is busy, and records it in the data folder.
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "chain.json").write_text(json.dumps({"pid": 1, "port": 23456}))
    assert Settings(data_dir=tmp_path, dev_mode=True, rpc_url="http://localhost:23456", chain_port=8545).rpc_url


def test_outside_development_mode_any_chain_may_be_used(tmp_path):
    settings = Settings(data_dir=tmp_path, dev_mode=False, keystore_passphrase="a long and real one", rpc_url=REMOTE)
    assert settings.rpc_url == REMOTE


def test_refused_settings_read_as_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SCF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCF_RPC_URL", REMOTE)
    monkeypatch.delenv("SCF_DEV_MODE", raising=False)  # development mode is the default
    with pytest.raises(InvalidSettings) as refused:
        load_settings()
    message = str(refused.value)
    assert "\n" not in message and "SCF_DEV_MODE" in message and "SCF_RPC_URL" in message
    assert "Value error" not in message and "s3cret-token" not in message


def _refusing_env(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCF_")}
    return {**env, "SCF_DATA_DIR": str(tmp_path), "SCF_RPC_URL": REMOTE, "SCF_API_PORT": str(free_port())}


def test_the_service_refuses_to_start_in_development_mode_on_a_remote_chain(tmp_path):
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.main:app_factory", "--port", str(free_port())]
    ran = subprocess.run(command, env=_refusing_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert "SCF_DEV_MODE" in lines[0] and "SCF_RPC_URL" in lines[0]


def test_the_cli_refuses_to_start_in_development_mode_on_a_remote_chain(tmp_path):
    script = Path(sys.executable).with_name("scf")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "scf_chain.cli.main"]
    ran = subprocess.run([*command, "member", "list"], env=_refusing_env(tmp_path), capture_output=True, text=True)
    assert ran.returncode == 1
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.stderr
    assert "SCF_DEV_MODE" in lines[0] and "SCF_RPC_URL" in lines[0]


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def process_umask():
    """The process's umask, put back after the test (make_data_dir_private changes it for the process)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_data_folder_left_readable_is_made_private_and_so_is_every_file_made_later(tmp_path, process_umask):
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)
    (data / "gateway.db").write_bytes(b"members' business")
    (data / "keys" / "0xabc.json").write_text("{}")
    for path in (data, data / "keys"):
        path.chmod(0o755)
    for path in (data / "gateway.db", data / "keys" / "0xabc.json"):
        path.chmod(0o644)

    make_data_dir_private(data)

    assert _mode(data) == _mode(data / "keys") == 0o700
    assert _mode(data / "gateway.db") == _mode(data / "keys" / "0xabc.json") == 0o600
    (data / "documents").mkdir()
    (data / "documents" / "later.pdf").write_bytes(b"an invoice")
    assert _mode(data / "documents") == 0o700 and _mode(data / "documents" / "later.pdf") == 0o600


def test_manifest_chain_record_and_key_store_are_written_owner_only(tmp_path, process_umask):
    Deployment(chain_id=31337, ledger="0x" + "11" * 20, operator="0x" + "22" * 20, block=1, abi_hash="ab").save(
        tmp_path / "deployment.json"
    )
    write_private(tmp_path / "chain" / "chain.json", "{}")
    KeyStore(tmp_path / "keys", "correct horse battery staple", scrypt_n=2**4).create()
    assert _mode(tmp_path / "deployment.json") == _mode(tmp_path / "chain" / "chain.json") == 0o600
    assert _mode(tmp_path / "chain") == _mode(tmp_path / "keys") == 0o700
    assert {_mode(path) for path in (tmp_path / "keys").iterdir()} == {0o600}


def test_the_compiler_cache_is_owner_only(tmp_path):
    cache = tmp_path / "contracts"
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)
    for built in Settings().build_dir.glob("contracts-*.json"):  # the cache this checkout already built
        (cache / built.name).write_bytes(built.read_bytes())
    assert compile_contracts(cache)
    assert _mode(cache) == 0o700
