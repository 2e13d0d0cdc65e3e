"""Members' signing keys, in encrypted key-store files.

Each key is an eth-account (scrypt) key-store file in the data folder, named after
the address. Files are decrypted once, when the store is unlocked; private keys are
never logged or put in an error message.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from scf_chain.domain.errors import KeyNotFound
from scf_chain.settings import private_dir

log = logging.getLogger(__name__)

# Anvil's well-known development mnemonic: every key derived from it is public.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
# Key-store files are scrypt-encrypted; lighter parameters keep development start-up quick.
DEV_SCRYPT_N = 2**12
PRODUCTION_SCRYPT_N = 2**18

Account.enable_unaudited_hdwallet_features()


def anvil_account(index: int) -> LocalAccount:
    """Anvil's well-known account ``index``. Development only: its key is public."""
    account: LocalAccount = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account


class KeyStore:
    """Encrypted key-store files in one folder, unlocked with one passphrase."""

    def __init__(self, directory: Path, passphrase: str, *, scrypt_n: int = PRODUCTION_SCRYPT_N) -> None:
        self._directory = directory
        self._passphrase = passphrase
        self._scrypt_n = scrypt_n
        self._unlocked: dict[str, LocalAccount] = {}

    def _path(self, address: str) -> Path:
        return self._directory / f"{to_checksum_address(address)}.json"

    def create(self) -> LocalAccount:
        """Generates a new key, stores it encrypted, and returns the account."""
        account: LocalAccount = Account.create()
        self.add(account)
        return account

    def add(self, account: LocalAccount) -> None:
        """Stores ``account``'s key encrypted (no-op if it is already stored)."""
        path = self._path(account.address)
        if not path.exists():
            private_dir(self._directory)
            encrypted = Account.encrypt(account.key, self._passphrase, kdf="scrypt", iterations=self._scrypt_n)
            temporary = path.with_suffix(".tmp")
            # Owner-only permissions from the first byte written.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(encrypted, handle)
            temporary.replace(path)
        self._unlocked[to_checksum_address(account.address)] = account

    def unlock_all(self) -> list[str]:
        """Decrypts every key-store file once; returns the addresses unlocked."""
        if self._directory.exists():
            for path in sorted(self._directory.glob("0x*.json")):
                address = to_checksum_address(path.stem)
                if address not in self._unlocked:
                    key = Account.decrypt(json.loads(path.read_text()), self._passphrase)
                    self._unlocked[address] = Account.from_key(key)
        log.info("unlocked %d signing keys", len(self._unlocked))
        return list(self._unlocked)

    def account(self, address: str) -> LocalAccount:
        address = to_checksum_address(address)
        if address not in self._unlocked:
            path = self._path(address)
            if not path.exists():
                raise KeyNotFound(f"no signing key is kept for {address}")
            key = Account.decrypt(json.loads(path.read_text()), self._passphrase)
            self._unlocked[address] = Account.from_key(key)
        return self._unlocked[address]

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and (
            to_checksum_address(address) in self._unlocked or self._path(address).exists()
        )
