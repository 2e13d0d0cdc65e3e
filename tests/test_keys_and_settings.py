"""Keys are encrypted at rest and never shown; unsafe settings are refused outside development."""

import json
import logging
import stat

import pytest
from pydantic import ValidationError

from scf_chain.keys import KeyStore
from scf_chain.settings import DEFAULT_PASSPHRASE, Settings


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
    assert first.gateway_db_path != second.gateway_db_path
    assert first.effective_rpc_url != second.effective_rpc_url
