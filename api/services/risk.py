"""Early-warning risk signals: an obligor's exposure, and the breaches now open, from the event index.

Everything is read in one snapshot of the index, so that an obligor's figures and the alerts
agree with one indexed block. The ledger's date and its grace period are the ledger's own
(its clock, and ``SettlementDesk.gracePeriod``), as the overdue marking judges them.

Amounts are worked in integer minor units; the one division, a share (credit-line use, the
largest holder's part), is rounded half up to four decimal places ("0.9150"), in integers.

The signals are built to grow by sources, not by rewrites:

- an alert comes from :data:`ALERT_SOURCES`, one function per kind of breach, each reading the
  :class:`RiskFacts` of one snapshot and yielding :class:`Alert`\\ s; a breach's visibility is
  the parties and obligors it names;
- an obligor's ``inventory`` positions come from :data:`INVENTORY_SOURCES`, empty until the
  inventory-finance products (pledge loans, prepayment facilities) are indexed; each will add
  its loans or facilities, with their loan-to-value, and its alert sources beside the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from api.render.problems import not_found
from scf_chain.domain.money import format_amount, from_day, to_day
from scf_chain.domain.types import CertificateStatus, Role
from scf_chain.index.queries import Snapshot
from scf_chain.index.records import CertificateRecord, EventRecord, MemberRecord

if TYPE_CHECKING:
    from api.gateway import Caller, Gateway

# What an obligor still owes: drawn on its credit line and not given back (by a cancel, a reject or a settlement).
LIVE = (CertificateStatus.PENDING, CertificateStatus.ACTIVE, CertificateStatus.FINANCED, CertificateStatus.OVERDUE)
# What falls due on a maturity date: accepted and unpaid (pending ones are not owed until accepted).
DUE = (CertificateStatus.ACTIVE, CertificateStatus.FINANCED)
# Credit-line use above this part of the limit is a breach (compared exactly: outstanding * 10 > limit * 9).
HIGH_USE_NUMERATOR, HIGH_USE_DENOMINATOR = 9, 10
MATURITY_HORIZONS_DAYS = (7, 30, 90)
SHARE_PLACES = 4

# The ledger events that say when a breach opened: the credit line's draws, releases and limits, overdue
# marks and member freezes.
CREDIT_EVENTS = (
    "CreditLimitSet",
    "CertificateIssued",
    "CertificateRejected",
    "CertificateCancelled",
    "CertificateSettled",
)
RISK_EVENTS = (*CREDIT_EVENTS, "CertificateOverdue", "MemberFrozen")

AlertCode = Literal["credit_line_high", "certificate_overdue", "frozen_member_holding"]
SubjectKind = Literal["obligor", "certificate", "member"]


def share(part: int, whole: int) -> str | None:
    """``part / whole`` rounded half up to four decimal places, as a decimal string ("0.9150"); None for no whole."""
    if whole <= 0:
        return None
    scale = 10**SHARE_PLACES
    quotient = (2 * part * scale + whole) // (2 * whole)  # half up, exactly
    return f"{quotient // scale}.{quotient % scale:0{SHARE_PLACES}d}"


def percent(ratio: str | None) -> str:
    """A share as a percentage with two decimals ("0.9150" is "91.50%")."""
    return "an unlimited share" if ratio is None else f"{Decimal(ratio) * 100:.2f}%"


def _start_of(day: int) -> datetime:
    return datetime.combine(from_day(day), time.min, UTC)


@dataclass(frozen=True)
class CreditHistory:
    """An obligor's credit line replayed from its events: the limit now, and when its use went above 90%."""

    limit_minor: int
    high_since: datetime | None  # the event that took use above 90%, if it is above now
    high_by: EventRecord | None


def replay_credit(
    obligor: str, certificates: dict[int, CertificateRecord], events: Iterable[EventRecord]
) -> CreditHistory:
    """The credit line of ``obligor`` as its events built it, in chain order, the way ``CreditLines`` keeps it."""
    limit = outstanding = 0
    high_since: datetime | None = None
    high_by: EventRecord | None = None
    for event in events:
        args = event.args
        if event.name == "CreditLimitSet":
            if args["obligor"] != obligor:
                continue
            limit = int(args["limit"])
        elif event.name == "CertificateIssued":
            if args["obligor"] != obligor:
                continue
            outstanding += int(args["faceValue"])
        elif event.name in ("CertificateRejected", "CertificateCancelled"):
            record = certificates.get(int(args["id"]))
            if record is None:
                continue
            outstanding -= record.face_minor
        elif event.name == "CertificateSettled":
            if int(args["id"]) not in certificates:
                continue
            outstanding -= int(args["amount"])
        else:
            continue
        high = outstanding * HIGH_USE_DENOMINATOR > limit * HIGH_USE_NUMERATOR
        if high and high_since is None:
            high_since, high_by = event.timestamp, event
        elif not high:
            high_since = high_by = None
    return CreditHistory(limit, high_since, high_by)


@dataclass(frozen=True)
class HolderShare:
    address: str
    name: str
    amount_minor: int
    share: str


@dataclass(frozen=True)
class OverdueCertificate:
    record: CertificateRecord
    opened_at: datetime
    marked: bool  # marked overdue on the ledger, or past maturity and grace and not yet marked


@dataclass(frozen=True)
class InventoryPosition:
    """A loan or facility against an obligor's goods, with its loan-to-value (filled by inventory finance)."""

    kind: Literal["pledge_loan", "prepayment_facility"]
    id: int
    outstanding_minor: int
    loan_to_value: str | None


@dataclass(frozen=True)
class ObligorRisk:
    address: str
    name: str
    limit_minor: int
    outstanding_minor: int
    credit_line_use: str | None
    high_since: datetime | None
    overdue: list[OverdueCertificate]
    largest_holder: HolderShare | None
    deepest_tier: int | None
    maturing_minor: dict[int, int]  # horizon in days -> amount due from today to today + horizon
    inventory: list[InventoryPosition]
    today: date
    indexed_block: int

    @property
    def overdue_minor(self) -> int:
        return sum(item.record.face_minor for item in self.overdue)


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: int | None = None
    address: str | None = None


@dataclass(frozen=True)
class Alert:
    """A breach now open, and whom it concerns: its ``parties`` see it, and those with exposure to its obligors."""

    code: AlertCode
    subject: Subject
    message: str
    opened_at: datetime
    amount_minor: int
    parties: frozenset[str] = field(default_factory=frozenset)
    obligors: frozenset[str] = field(default_factory=frozenset)


class RiskFacts:
    """What the risk signals read, from one snapshot of the index: members, certificates and the risk events."""

    def __init__(self, snapshot: Snapshot, today: date, grace_days: int) -> None:
        self.snapshot = snapshot
        self.today = today
        self.grace_days = grace_days
        self.indexed_block = snapshot.indexed_block()
        self._certificates: dict[str, dict[int, CertificateRecord]] = {}

    @cached_property
    def events(self) -> list[EventRecord]:
        return self.snapshot.ledger_events_named(RISK_EVENTS)

    @cached_property
    def members(self) -> dict[str, MemberRecord]:
        return {member.address: member for member in self.snapshot.members()}

    def name(self, address: str | None) -> str:
        member = self.members.get(address or "")
        return member.name if member is not None else str(address)

    def certificates_of(self, obligor: str) -> dict[int, CertificateRecord]:
        """Every certificate ``obligor`` owes or owed, by id."""
        if obligor not in self._certificates:
            self._certificates[obligor] = {c.id: c for c in self.snapshot.obligor_certificates(obligor)}
        return self._certificates[obligor]

    @property
    def obligors(self) -> list[str]:
        return [m.address for m in self.members.values() if m.role == Role.CORE_ENTERPRISE]

    def credit(self, obligor: str) -> CreditHistory:
        return replay_credit(obligor, self.certificates_of(obligor), self.events)

    @cached_property
    def overdue_marks(self) -> dict[int, datetime]:
        """When each certificate was last marked overdue."""
        return {int(e.args["id"]): e.timestamp for e in self.events if e.name == "CertificateOverdue"}

    @cached_property
    def freezes(self) -> dict[str, datetime]:
        """When each member was last frozen."""
        return {e.args["account"]: e.timestamp for e in self.events if e.name == "MemberFrozen"}

    def overdue_of(self, obligor: str) -> list[OverdueCertificate]:
        """The obligor's certificates marked overdue, and those unpaid past maturity and grace not yet marked."""
        # The ledger allows marking from the day after maturity plus grace: that day the breach opens.
        today = to_day(self.today)
        overdue: list[OverdueCertificate] = []
        for record in self.certificates_of(obligor).values():
            if record.status == CertificateStatus.OVERDUE:
                opened = self.overdue_marks.get(record.id, _start_of(record.maturity_day + self.grace_days + 1))
                overdue.append(OverdueCertificate(record, opened, marked=True))
            elif record.status in DUE and today > record.maturity_day + self.grace_days:
                overdue.append(OverdueCertificate(record, _start_of(record.maturity_day + self.grace_days + 1), False))
        return overdue


# Inventory finance: loans and facilities against an obligor's goods. None is indexed yet.
InventorySource = Callable[[RiskFacts, str], Iterable[InventoryPosition]]
INVENTORY_SOURCES: tuple[InventorySource, ...] = ()


def _largest_holder(facts: RiskFacts, live: list[CertificateRecord], outstanding: int) -> HolderShare | None:
    by_holder: dict[str, int] = defaultdict(int)
    for record in live:
        if record.holder is not None:
            by_holder[record.holder] += record.face_minor
    if not by_holder:
        return None
    # The largest amount; among equal ones the lowest address, so that the answer does not depend on order.
    holder, amount = min(by_holder.items(), key=lambda item: (-item[1], item[0]))
    return HolderShare(holder, facts.name(holder), amount, share(amount, outstanding) or "0.0000")


def obligor_risk(facts: RiskFacts, obligor: MemberRecord) -> ObligorRisk:
    """The risk figures of one core enterprise."""
    records = list(facts.certificates_of(obligor.address).values())
    live = [r for r in records if r.status in LIVE]
    outstanding = sum(r.face_minor for r in live)
    credit = facts.credit(obligor.address)
    today = to_day(facts.today)
    maturing = {
        horizon: sum(r.face_minor for r in live if r.status in DUE and today <= r.maturity_day <= today + horizon)
        for horizon in MATURITY_HORIZONS_DAYS
    }
    # Tier 1 is the obligor's own suppliers; each hop down the chain is one tier deeper.
    reached = [r.hops + 1 for r in records if r.status != CertificateStatus.CANCELLED]
    return ObligorRisk(
        address=obligor.address,
        name=obligor.name,
        limit_minor=credit.limit_minor,
        outstanding_minor=outstanding,
        credit_line_use=share(outstanding, credit.limit_minor),
        high_since=credit.high_since,
        overdue=facts.overdue_of(obligor.address),
        largest_holder=_largest_holder(facts, live, outstanding),
        deepest_tier=max(reached, default=None),
        maturing_minor=maturing,
        inventory=[p for source in INVENTORY_SOURCES for p in source(facts, obligor.address)],
        today=facts.today,
        indexed_block=facts.indexed_block,
    )


# Alert sources: one per kind of breach.


def credit_line_high(facts: RiskFacts) -> Iterator[Alert]:
    """An obligor whose outstanding is above 90% of its credit limit, from the event that took it there."""
    for obligor in facts.obligors:
        credit = facts.credit(obligor)
        if credit.high_since is None or credit.high_by is None:
            continue
        live = [r for r in facts.certificates_of(obligor).values() if r.status in LIVE]
        outstanding = sum(r.face_minor for r in live)
        cause = credit.high_by
        if cause.name == "CertificateIssued":
            since = f"since the issue of certificate {int(cause.args['id'])}"
        elif cause.name == "CreditLimitSet":
            since = f"since its limit was set to {format_amount(int(cause.args['limit']))}"
        else:
            since = f"since certificate {int(cause.args['id'])} was given back"
        message = (
            f"{facts.name(obligor)} owes {format_amount(outstanding)} against a credit limit of "
            f"{format_amount(credit.limit_minor)}: {percent(share(outstanding, credit.limit_minor))} used, "
            f"above 90%, {since}."
        )
        yield Alert(
            "credit_line_high",
            Subject("obligor", address=obligor),
            message,
            credit.high_since,
            outstanding,
            parties=frozenset({obligor}),
            obligors=frozenset({obligor}),
        )


def certificate_overdue(facts: RiskFacts) -> Iterator[Alert]:
    """A certificate unpaid past maturity and the grace period: from its overdue mark, or maturity + grace."""
    for obligor in facts.obligors:
        for item in facts.overdue_of(obligor):
            record = item.record
            holder = record.holder or record.last_holder
            state = "marked overdue" if item.marked else "past the grace period, not yet marked overdue"
            message = (
                f"Certificate {record.id}: {format_amount(record.face_minor)} that {facts.name(obligor)} owes "
                f"{facts.name(holder)} matured on {record.maturity_date.isoformat()} and is unpaid after the "
                f"{facts.grace_days}-day grace period ({state})."
            )
            yield Alert(
                "certificate_overdue",
                Subject("certificate", id=record.id),
                message,
                item.opened_at,
                record.face_minor,
                parties=frozenset({obligor, holder}),
                obligors=frozenset({obligor}),
            )


def frozen_member_holding(facts: RiskFacts) -> Iterator[Alert]:
    """A frozen member holding certificates with value: they cannot move until it is unfrozen."""
    for member in facts.members.values():
        if not member.frozen:
            continue
        held = [r for r in facts.snapshot.held_certificates(member.address) if r.status in LIVE]
        if not held:
            continue
        total = sum(r.face_minor for r in held)
        obligors = frozenset(r.obligor for r in held)
        owed_by = ", ".join(sorted(facts.name(o) for o in obligors))
        count = f"{len(held)} certificate{'s' if len(held) != 1 else ''}"
        message = f"{member.name} is frozen and holds {count} worth {format_amount(total)}, owed by {owed_by}."
        opened = facts.freezes.get(member.address, _start_of(to_day(facts.today)))
        yield Alert(
            "frozen_member_holding",
            Subject("member", address=member.address),
            message,
            opened,
            total,
            parties=frozenset({member.address}),
            obligors=obligors,
        )


AlertSource = Callable[[RiskFacts], Iterable[Alert]]
ALERT_SOURCES: tuple[AlertSource, ...] = (credit_line_high, certificate_overdue, frozen_member_holding)


# Visibility


def exposure(facts: RiskFacts, caller: Caller) -> set[str]:
    """The obligors ``caller`` has exposure to: its own line for a core enterprise; for a financier, the
    obligors of every certificate it holds or financed (its holdings, past and present)."""
    if caller.role == Role.CORE_ENTERPRISE:
        return {caller.address}
    if caller.role == Role.FINANCIER:
        return facts.snapshot.obligors_held(caller.address)
    return set()


def _sees(caller: Caller, exposed: set[str], alert: Alert) -> bool:
    return caller.sees_everything or caller.address in alert.parties or bool(alert.obligors & exposed)


@dataclass(frozen=True)
class AlertList:
    items: list[Alert]
    total: int
    indexed_block: int


def _facts(gateway: Gateway, snapshot: Snapshot) -> RiskFacts:
    ledger = gateway.runtime.ledger
    return RiskFacts(snapshot, gateway.runtime.clock.today(), ledger.grace_period())


def load_obligor(gateway: Gateway, caller: Caller, address: str) -> ObligorRisk:
    """The risk figures of core enterprise ``address``, if the caller may see them; else the 404 of a missing one.

    The operator, auditors, the obligor itself and financiers with exposure to it see them.
    """
    with gateway.index.snapshot() as snapshot:
        member = snapshot.member(address)
        if member is None or member.role != Role.CORE_ENTERPRISE:
            raise not_found("obligor")
        allowed = caller.sees_everything or caller.address == member.address
        if not allowed and caller.role == Role.FINANCIER:
            allowed = member.address in snapshot.obligors_held(caller.address)
        if not allowed:
            raise not_found("obligor")
        return obligor_risk(_facts(gateway, snapshot), member)


def open_alerts(
    gateway: Gateway, caller: Caller, *, code: AlertCode | None = None, limit: int = 50, offset: int = 0
) -> AlertList:
    """Every breach now open that the caller may see, oldest first, a page of them and how many in all."""
    with gateway.index.snapshot() as snapshot:
        facts = _facts(gateway, snapshot)
        exposed = exposure(facts, caller)
        alerts = [
            alert
            for source in ALERT_SOURCES
            for alert in source(facts)
            if (code is None or alert.code == code) and _sees(caller, exposed, alert)
        ]
    alerts.sort(key=lambda a: (a.opened_at, a.code, a.subject.id or 0, a.subject.address or ""))
    return AlertList(alerts[offset : offset + limit], len(alerts), facts.indexed_block)
