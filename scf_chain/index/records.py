"""What the index hands out and takes in: records of certificates, members and events, and the log entries
the indexer decodes.

Amounts are kept in minor units and dates as days since 1970-01-01, as on chain; the records
convert them to ``Decimal`` and ``date`` when asked. A certificate is a named tuple of the
columns as stored, so that a provenance tree of ten thousand certificates costs one tuple each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from scf_chain.domain.money import from_day, from_minor_units
from scf_chain.domain.types import CertificateStatus, MemberRole, Role

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# Which contract emitted an event. The certificates and members are the ledger's state; the desk's events
# (offers accepted at a price, recourse) and the settlement token's transfers (a mint is a deposit, a burn a
# withdrawal) are kept for the audit trail only, so that an auditor reconciles cash beside certificates.
LEDGER = "ledger"
DESK = "desk"
TOKEN = "token"  # noqa: S105 - which contract emitted an event, not a secret

PENDING = CertificateStatus.PENDING
ACTIVE = CertificateStatus.ACTIVE
SPLIT = CertificateStatus.SPLIT
CANCELLED = CertificateStatus.CANCELLED
FINANCED = CertificateStatus.FINANCED
SETTLED = CertificateStatus.SETTLED
OVERDUE = CertificateStatus.OVERDUE


class CertificateRecord(NamedTuple):
    """One certificate as the index has it: the ledger's fields, and when and by which transaction it was made."""

    id: int
    root_id: int
    parent_id: int | None
    obligor: str
    holder: str | None  # None once retired (split, cancelled, settled)
    last_holder: str
    face_minor: int
    maturity_day: int  # days since 1970-01-01
    hops: int
    document_hash: str
    status: CertificateStatus
    frozen: bool
    first_child_id: int | None
    child_count: int
    created_tx: str
    created_block: int
    created_timestamp: int  # seconds since the epoch, the block's

    @property
    def face_value(self) -> Decimal:
        return from_minor_units(self.face_minor)

    @property
    def maturity_date(self) -> date:
        return from_day(self.maturity_day)

    @property
    def child_ids(self) -> tuple[int, ...]:
        first = self.first_child_id
        return tuple(range(first, first + self.child_count)) if first is not None and self.child_count else ()

    @property
    def created_at(self) -> datetime:
        return utc(self.created_timestamp)


@dataclass(frozen=True)
class MemberRecord:
    address: str
    name: str
    role: Role  # never the operator, who is no member
    frozen: bool
    registered_block: int


@dataclass(frozen=True)
class EventRecord:
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    timestamp: datetime
    name: str
    args: dict[str, Any]
    contract: str = LEDGER


class LogEntry(NamedTuple):
    """One decoded log of the ledger, the settlement desk or the token, as the indexer hands it to the index."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    timestamp: int  # seconds since the epoch, the block's
    name: str
    args: dict[str, Any]
    contract: str = LEDGER  # LEDGER, DESK or TOKEN


class BlockRef(NamedTuple):
    number: int
    hash: str
    timestamp: int


class TreeVersion(NamedTuple):
    """What a provenance read from the index depends on: at equal versions, an issuance's tree reads the same.

    ``tree_change`` is the position of the last event that changed a certificate of the issuance,
    ``names_change`` that of the last member registration (names); positions repeat only across a
    rollback or reset of the index, which moves ``generation`` on.
    """

    generation: int
    tree_change: int
    names_change: int


class EventRange(NamedTuple):
    """Which events to read: inclusive bounds in blocks and/or times (naive ones are UTC), after an exclusive
    (block, log index) cursor."""

    from_block: int | None = None
    to_block: int | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    after: tuple[int, int] | None = None


# An event's place in the chain as one integer, ordered as (block, log index) are: a block has < 2**24 logs.
POSITION_SHIFT = 24


def event_position(block_number: int, log_index: int) -> int:
    """An event's place in the chain as one integer, ordered as (block, log index) are."""
    return (block_number << POSITION_SHIFT) | log_index


def utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def epoch(value: datetime) -> int:
    """Seconds since the epoch; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def role_label(role: int) -> str:
    try:
        return MemberRole(role).name.lower()
    except ValueError:
        return str(role)
