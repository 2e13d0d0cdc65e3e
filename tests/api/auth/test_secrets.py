"""Secrets: API keys are shown once and stored only as hashes; the data folder is its user's only."""

import json
import sqlite3
import stat

import pytest
import sqlalchemy as sa

from api.store import GatewayStore, hash_api_key
from tests import databases
from tests.api.conftest import Api


def _files_holding(folder, secret):
    holding = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and secret.encode() in path.read_bytes():
                holding.append(path)
        except FileNotFoundError:  # a temporary file replaced meanwhile
            continue
    return holding


def test_raw_api_keys_are_in_no_file_of_the_data_folder(gateway, operator_api):
    created = operator_api.post(
        "/v1/members", {"name": "Keyholder Steel", "role": "supplier"}, headers={"Idempotency-Key": "secret-create"}
    )
    assert created.status_code == 201, created.text
    address, first_key = created.json()["address"], created.json()["api_key"]
    rotated = operator_api.post(f"/v1/members/{address}/api-keys", headers={"Idempotency-Key": "secret-rotate"})
    assert rotated.status_code == 201, rotated.text
    second_key = rotated.json()["api_key"]

    for key in (first_key, second_key):
        assert _files_holding(gateway.data_dir, key) == []
    # What the gateway keeps instead: the hash, in the key table.
    db = databases.engine(gateway.gateway_database)
    try:
        with db.connect() as connection:
            rows = connection.execute(sa.text("SELECT key_hash FROM api_keys WHERE member = :m"), {"m": address})
            hashes = {row[0] for row in rows}
    finally:
        db.dispose()
    assert hashes == {hash_api_key(first_key), hash_api_key(second_key)}


def test_a_replay_of_member_onboarding_withholds_the_key(gateway, operator_api):
    body = {"name": "Replay Bearings", "role": "supplier"}
    first = operator_api.post("/v1/members", body, headers={"Idempotency-Key": "secret-onboard-replay"})
    assert first.status_code == 201, first.text
    api_key = first.json()["api_key"]

    replay = operator_api.post("/v1/members", body, headers={"Idempotency-Key": "secret-onboard-replay"})
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert api_key not in replay.text
    replayed = replay.json()
    assert replayed["api_key"] is None and "shown once" in replayed["note"]
    assert {k: v for k, v in replayed.items() if k not in ("api_key", "note")} == {
        k: v for k, v in first.json().items() if k not in ("api_key", "note")
    }
    assert Api(gateway.base_url, api_key).get("/v1/me").json()["address"] == first.json()["address"]


def test_a_replay_of_key_rotation_neither_shows_nor_mints_a_key(gateway, onboard, operator_api):
    supplier = onboard("supplier")
    path = f"/v1/members/{supplier.address}/api-keys"
    first = operator_api.post(path, headers={"Idempotency-Key": "secret-rotation-replay"})
    assert first.status_code == 201, first.text
    rotated_key = first.json()["api_key"]

    replay = operator_api.post(path, headers={"Idempotency-Key": "secret-rotation-replay"})
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert rotated_key not in replay.text
    assert replay.json()["api_key"] is None and replay.json()["member"] == supplier.address
    # The replay rotated nothing: the key of the first answer still works, the one before it does not.
    assert Api(gateway.base_url, rotated_key).get("/v1/me").json()["address"] == supplier.address
    assert supplier.api.get("/v1/me").status_code == 401


@pytest.mark.sqlite_only  # an older gateway kept its records in SQLite only
def test_keys_an_older_gateway_left_in_its_replay_records_are_removed(tmp_path):
    path = tmp_path / "gateway.db"
    raw_key = "scf_" + "k" * 43
    stored = json.dumps({"member": "0x" + "ab" * 20, "api_key": raw_key}).encode()
    GatewayStore(path).close()
    db = sqlite3.connect(path)
    with db:  # a record as the gateway wrote it before it withheld secrets
        db.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, response_status, response_body, content_type, "
            "created_at) VALUES ('old-scope', 'rotate-1', 'f', 201, ?, 'application/json', 0)",
            (stored,),
        )
    db.close()
    assert _files_holding(tmp_path, raw_key)

    store = GatewayStore(path)
    try:
        assert _files_holding(tmp_path, raw_key) == []
        assert store.claim_idempotency_key("old-scope", "rotate-1", "f")[0] == "done"
        _, (status, body, _, operation_id) = store.claim_idempotency_key("old-scope", "rotate-1", "f")
        assert status == 201 and json.loads(body)["api_key"] is None and operation_id is None
        assert json.loads(body)["member"] == "0x" + "ab" * 20
    finally:
        store.close()


def test_every_folder_and_file_the_gateway_keeps_is_its_users_only(gateway, onboard, operator_api):
    member = onboard("core_enterprise")  # a key-store file, index rows, API-key rows: files made after start-up
    uploaded = member.api.client.post(
        "/v1/documents", files={"file": ("invoice.pdf", b"%PDF-1.4 private invoice", "application/pdf")}
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    assert stat.S_IMODE(gateway.data_dir.stat().st_mode) == 0o700
    assert _loose_modes(gateway.data_dir) == {}


def _loose_modes(folder):
    """Folders not 0700 and files not 0600 under ``folder``, by path, with their modes."""
    loose = {}
    for path in folder.rglob("*"):
        try:
            status = path.lstat()
        except FileNotFoundError:  # a temporary file replaced meanwhile (SQLite's, Anvil's state)
            continue
        mode = stat.S_IMODE(status.st_mode)
        if mode != (0o700 if stat.S_ISDIR(status.st_mode) else 0o600):
            loose[str(path.relative_to(folder))] = oct(mode)
    return loose
