"""The sender on a chain that makes a block every second, as a consortium network does, not one per transaction.

One Anvil of this module's own (``--block-time 1``), with the ledger deployed on it: a signer keeps many writes
in flight at once, a write may depend on an earlier one of its signer still in the pool, and a transaction lost
from the pool must not hold back the ones sent after it.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.exceptions import Web3RPCError

from scf_chain.chain.local import LocalChain
from scf_chain.chain.transactions import SignedSend, TransactionSender
from scf_chain.domain.errors import ScfError, TransactionFailed
from scf_chain.domain.ledger_errors import LedgerError
from scf_chain.domain.money import today_utc
from scf_chain.domain.types import MemberRole
from scf_chain.runtime import Runtime, open_runtime
from scf_chain.settings import Settings

BLOCK_TIME_S = 1


class MemoryJournal:
    """The journal protocol, kept in memory."""

    def __init__(self) -> None:
        self.sends: dict[str, SignedSend] = {}
        self.mined: dict[str, tuple[int, bool]] = {}
        self._lock = threading.Lock()

    def record(self, send: SignedSend) -> None:
        with self._lock:
            self.sends[send.tx_hash] = send

    def unconfirmed(self, sender: str) -> list[SignedSend]:
        with self._lock:
            sends = [s for s in self.sends.values() if s.sender == sender and s.tx_hash not in self.mined]
        return sorted(sends, key=lambda send: send.nonce)

    def confirm(
        self,
        tx_hash: str,
        block_number: int,
        success: bool,
        *,
        block_hash: str | None = None,
        tx_index: int | None = None,
    ) -> None:
        with self._lock:
            self.mined[tx_hash] = (block_number, success)


@dataclass
class IntervalChain:
    chain: LocalChain
    runtime: Runtime
    journal: MemoryJournal
    core: LocalAccount
    suppliers: list[LocalAccount]

    @property
    def sender(self) -> TransactionSender:
        return self.runtime.sender

    def rpc(self, method: str, params: list[Any]) -> Any:
        answer = self.runtime.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        assert "error" not in answer, answer
        return answer["result"]

    def mining(self, on: bool) -> None:
        self.rpc("evm_setIntervalMining", [BLOCK_TIME_S if on else 0])

    def nonce(self, account: LocalAccount, block: str = "pending") -> int:
        return self.runtime.w3.eth.get_transaction_count(account.address, block)  # type: ignore[call-overload]

    def tx_nonce(self, tx_hash: str) -> int:
        return int(self.runtime.w3.eth.get_transaction(tx_hash)["nonce"])  # type: ignore[arg-type]


_counter = itertools.count(1)


def _issue(env: IntervalChain, holder: LocalAccount, amount: str = "1000.00") -> int:
    n = next(_counter)
    return env.runtime.ledger.issue(
        env.core,
        holder.address,
        Decimal(amount),
        today_utc() + timedelta(days=90),
        hashlib.sha256(f"interval-invoice-{n}".encode()).digest(),
        invoice_number=f"INV-INTERVAL-{n:05d}",
    ).certificate_id


@pytest.fixture(scope="module")
def interval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntervalChain]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("scf-interval"), chain_port=0)
    chain = LocalChain(settings.data_dir / "chain", chain_id=settings.chain_id, block_time=BLOCK_TIME_S)
    chain.start()
    try:
        journal = MemoryJournal()
        runtime = open_runtime(settings, deploy_if_missing=True, journal=journal)
        ledger, operator, keys = runtime.ledger, runtime.operator, runtime.keystore
        core, suppliers = keys.create(), [keys.create() for _ in range(3)]
        members = [(core, MemberRole.CORE_ENTERPRISE)] + [(s, MemberRole.SUPPLIER) for s in suppliers]
        with ThreadPoolExecutor(len(members)) as pool:  # the operator's registrations share a block or two
            list(
                pool.map(
                    lambda m: ledger.register_member(operator, m[0].address, m[1], f"Interval {m[0].address[:8]}"),
                    members,
                )
            )
        ledger.set_credit_limit(operator, core.address, Decimal("10000000.00"))
        yield IntervalChain(chain, runtime, journal, core, suppliers)
    finally:
        chain.stop()


def test_the_chain_makes_blocks_on_its_own_clock(interval: IntervalChain):
    first = interval.runtime.w3.eth.block_number
    time.sleep(2.2 * BLOCK_TIME_S)
    assert interval.runtime.w3.eth.block_number >= first + 2  # blocks without any transaction: interval mining


def test_a_block_time_is_positive(tmp_path):
    with pytest.raises(ScfError):
        LocalChain(tmp_path, block_time=0)


def test_one_signer_puts_many_writes_in_each_block(interval: IntervalChain):
    runtime, operator = interval.runtime, interval.runtime.operator
    newcomers = [runtime.keystore.create() for _ in range(40)]
    first_nonce = interval.nonce(operator)
    started = time.monotonic()
    with ThreadPoolExecutor(len(newcomers)) as pool:
        results = list(
            pool.map(
                lambda pair: runtime.ledger.register_member(
                    operator, pair[1].address, MemberRole.SUPPLIER, f"Bulk supplier {pair[0]}"
                ),
                enumerate(newcomers),
            )
        )
    elapsed = time.monotonic() - started
    blocks = {result.block_number for result in results}
    assert len(blocks) <= 3, blocks
    assert elapsed < 4 * BLOCK_TIME_S
    assert sorted(interval.tx_nonce(result.tx_hash) for result in results) == list(range(first_nonce, first_nonce + 40))
    assert all(runtime.ledger.member(n.address).role is MemberRole.SUPPLIER for n in newcomers)
    assert interval.nonce(operator, "latest") == first_nonce + 40


def test_a_write_that_needs_a_pending_one_of_its_signer_shares_its_block(interval: IntervalChain):
    ledger, holder, payee = interval.runtime.ledger, interval.suppliers[0], interval.suppliers[1]
    certificate = _issue(interval, holder)
    interval.mining(False)  # both are sent while the acceptance is surely pending
    try:
        accepting = interval.sender.send(holder, ledger.contract.functions.accept(certificate))
        nonce = interval.nonce(holder)
        # Against the latest state the certificate is still to be accepted: the error would be the wrong one.
        started = time.monotonic()
        with pytest.raises(LedgerError) as refused:
            ledger.transfer_part(holder, certificate, payee.address, Decimal("1000.00"))
        assert refused.value.code == "part_not_less_than_face"
        # Anvil's pending state runs its pool: the refusal is final at once, without waiting for the acceptance.
        assert interval.sender.pending_state is True and time.monotonic() - started < 1
        assert interval.nonce(holder) == nonce  # refused before it was sent
        call = ledger.contract.functions.transferPart(certificate, payee.address, 25_000)
        paying = interval.sender.send(holder, call)
    finally:
        interval.mining(True)
    accepted = interval.sender.wait(accepting, sender=holder.address)
    paid = interval.sender.wait(paying, call=call, sender=holder.address)
    assert accepted["status"] == paid["status"] == 1
    assert accepted["blockNumber"] == paid["blockNumber"]
    parts = ledger.certificate(certificate).child_ids
    assert sorted(ledger.certificate(part).face_value for part in parts) == [Decimal("250.00"), Decimal("750.00")]


def test_on_a_node_whose_pending_state_is_its_latest_a_dependent_write_waits_for_its_predecessor(
    interval: IntervalChain, monkeypatch: pytest.MonkeyPatch
):
    """Besu answers ``pending`` with its latest block: the dependent estimate reverts until the acceptance is mined."""
    ledger, holder, payee = interval.runtime.ledger, interval.suppliers[1], interval.suppliers[2]
    certificate = _issue(interval, holder)
    eth = interval.runtime.w3.eth
    real_estimate = eth.estimate_gas
    estimates: list[str] = []

    def estimate_at_latest(params: Any, block_identifier: Any = None) -> int:
        estimates.append(str(block_identifier))
        return real_estimate(params, block_identifier="latest")

    monkeypatch.setattr(eth, "estimate_gas", estimate_at_latest)
    monkeypatch.setattr(interval.sender, "pending_state", False)
    accepting = interval.sender.send(holder, ledger.contract.functions.accept(certificate))
    result = ledger.transfer_part(holder, certificate, payee.address, Decimal("100.00"))
    assert len(estimates) == 3  # the acceptance, then the transfer twice: before and after the acceptance was mined
    accepted = interval.sender.wait(accepting, sender=holder.address)
    assert result.block_number > accepted["blockNumber"]
    # A write that reverts on its own is still refused, with the ledger's error, once nothing is in flight.
    remainder = min(result.certificate_ids, key=lambda part: ledger.certificate(part).face_value * -1)
    with pytest.raises(LedgerError) as refused:
        ledger.transfer_part(holder, remainder, payee.address, Decimal("5000.00"))
    assert refused.value.code == "part_not_less_than_face"


def test_a_revert_at_mining_uses_its_nonce_and_the_next_ones_mine(interval: IntervalChain):
    ledger, holder, payee = interval.runtime.ledger, interval.suppliers[2], interval.suppliers[0]
    certificates = [_issue(interval, holder) for _ in range(2)]
    for certificate in certificates:
        ledger.accept(holder, certificate)
    first = interval.nonce(holder)
    transfer = ledger.contract.functions.transferPart
    calls = [
        transfer(certificates[0], payee.address, 10_000),
        # Split by the one before it in the same block: run on its own, on the block before, it would succeed.
        transfer(certificates[0], payee.address, 5_000),
        transfer(certificates[1], payee.address, 20_000),
    ]
    interval.mining(False)
    try:
        # A gas limit given skips the estimate: the doomed one is sent and reverts in the block.
        hashes = [interval.sender.send(holder, call, gas=400_000) for call in calls]
    finally:
        interval.mining(True)
    first_receipt = interval.sender.wait(hashes[0], call=calls[0], sender=holder.address)
    with pytest.raises(LedgerError) as reverted:
        interval.sender.wait(hashes[1], call=calls[1], sender=holder.address)
    assert reverted.value.code == "certificate_wrong_status"  # decoded from its own run, after the first's split
    last_receipt = interval.sender.wait(hashes[2], call=calls[2], sender=holder.address)
    assert first_receipt["blockNumber"] == last_receipt["blockNumber"]
    assert [interval.tx_nonce(h) for h in hashes] == [first, first + 1, first + 2]
    assert interval.nonce(holder, "latest") == first + 3


def _gap(interval: IntervalChain, signer: LocalAccount) -> tuple[list[str], list[Any]]:
    """Two registrations sent, then the first lost by the node while the second waits behind it: a nonce gap."""
    ledger = interval.runtime.ledger
    newcomers = [interval.runtime.keystore.create() for _ in range(2)]
    calls = [
        ledger.contract.functions.registerMember(n.address, int(MemberRole.SUPPLIER), f"Gap {n.address[:10]}")
        for n in newcomers
    ]
    hashes = [interval.sender.send(signer, call) for call in calls]
    # Anvil drops what depends on a dropped transaction too: the second is given to it again, alone.
    interval.rpc("anvil_dropTransaction", [hashes[0]])
    interval.rpc("eth_sendRawTransaction", ["0x" + interval.journal.sends[hashes[1]].raw.hex()])
    assert interval.rpc("txpool_status", []) == {"pending": "0x0", "queued": "0x1"}
    return hashes, calls


@pytest.fixture
def quick_gap_checks(interval: IntervalChain, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interval.sender, "gap_check_s", 0.5)


def _wait_all(interval: IntervalChain, hashes: list[str], calls: list[Any], signer: LocalAccount) -> list[Any]:
    def wait(pair: tuple[str, Any]) -> Any:
        try:
            return interval.sender.wait(pair[0], call=pair[1], sender=signer.address)
        except TransactionFailed as exc:
            return exc

    with ThreadPoolExecutor(len(hashes)) as pool:
        return list(pool.map(wait, zip(hashes, calls, strict=True)))


@pytest.mark.usefixtures("quick_gap_checks")
def test_a_transaction_lost_by_the_node_is_sent_again_and_the_ones_behind_it_mine(interval: IntervalChain):
    operator = interval.runtime.operator
    interval.mining(False)
    try:
        hashes, calls = _gap(interval, operator)
    finally:
        interval.mining(True)
    started = time.monotonic()
    outcomes = _wait_all(interval, hashes, calls, operator)
    assert [o["status"] for o in outcomes] == [1, 1], outcomes
    assert time.monotonic() - started < 5
    assert outcomes[0]["blockNumber"] <= outcomes[1]["blockNumber"]


@pytest.mark.usefixtures("quick_gap_checks")
def test_a_lost_transaction_the_node_refuses_is_filled_and_fails_clearly(
    interval: IntervalChain, monkeypatch: pytest.MonkeyPatch
):
    operator, eth = interval.runtime.operator, interval.runtime.w3.eth
    first = interval.nonce(operator)
    interval.mining(False)
    try:
        hashes, calls = _gap(interval, operator)
        lost = interval.journal.sends[hashes[0]].raw
        real_send = eth.send_raw_transaction

        def refuse_the_lost_one(raw: Any) -> Any:
            if bytes(raw) == lost:
                raise Web3RPCError("transaction underpriced", rpc_response={"error": {"message": "underpriced"}})
            return real_send(raw)

        monkeypatch.setattr(eth, "send_raw_transaction", refuse_the_lost_one)
    finally:
        interval.mining(True)
    started = time.monotonic()
    dropped, mined = _wait_all(interval, hashes, calls, operator)
    assert time.monotonic() - started < 5  # told, not left to the receipt timeout
    assert isinstance(dropped, TransactionFailed) and "dropped" in str(dropped) and "filled" in str(dropped)
    assert not isinstance(mined, Exception) and mined["status"] == 1
    assert interval.tx_nonce(hashes[1]) == first + 1
    filler = eth.get_block(mined["blockNumber"] - 1, full_transactions=True)["transactions"]
    block = eth.get_block(mined["blockNumber"], full_transactions=True)["transactions"]
    fillers = [tx for tx in [*filler, *block] if tx["nonce"] == first and tx["from"] == operator.address]  # type: ignore[index]
    assert len(fillers) == 1 and fillers[0]["to"] == operator.address and fillers[0]["value"] == 0  # type: ignore[index]
    # The signer goes on from there, without a gap.
    result = interval.runtime.ledger.register_member(
        operator, interval.runtime.keystore.create().address, MemberRole.SUPPLIER, "After the gap"
    )
    assert interval.tx_nonce(result.tx_hash) == first + 2
