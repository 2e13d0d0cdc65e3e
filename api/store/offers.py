"""Financing requests, financiers' signed offers, their withdrawals, and financiers' allowances to the desk."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from api.store.db import AnyRow, BigInt, StorePart, UnixTime, Upsert, metadata

financing_requests = sa.Table(
    "financing_requests",
    metadata,
    sa.Column("id", BigInt, primary_key=True),
    sa.Column("certificate_id", BigInt, nullable=False),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("amount", sa.Text),  # a Decimal's text
    sa.Column("financiers", sa.Text),  # a JSON list
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", UnixTime, nullable=False),
    sa.Column("updated_at", UnixTime, nullable=False),
    sa.Index("financing_requests_by_certificate", "certificate_id", "status"),
    sa.Index("financing_requests_by_holder", "holder"),
    sqlite_autoincrement=True,
)
offers = sa.Table(
    "offers",
    metadata,
    sa.Column("id", BigInt, primary_key=True),
    sa.Column("request_id", BigInt, nullable=False),
    sa.Column("certificate_id", BigInt, nullable=False),
    sa.Column("seller", sa.Text, nullable=False),
    sa.Column("financier", sa.Text, nullable=False),
    sa.Column("annual_rate", sa.Text, nullable=False),
    sa.Column("day_count", sa.Integer, nullable=False),
    sa.Column("expires_at", BigInt, nullable=False),
    sa.Column("recourse", sa.Integer, nullable=False),
    sa.Column("nonce", BigInt, nullable=False),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("financed_id", BigInt),
    sa.Column("accepted_amount", sa.Text),
    sa.Column("interest", sa.Text),
    sa.Column("price", sa.Text),
    sa.Column("days", sa.Integer),
    sa.Column("tx_hash", sa.Text),
    sa.Column("created_at", UnixTime, nullable=False),
    sa.Column("updated_at", UnixTime, nullable=False),
    sa.UniqueConstraint("financier", "nonce"),
    sa.Index("offers_by_certificate", "certificate_id"),
    sa.Index("offers_by_financier", "financier", "status"),
    sqlite_autoincrement=True,
)
offer_withdrawals = sa.Table(
    "offer_withdrawals",
    metadata,
    sa.Column("offer_id", BigInt, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
)
offer_allowances = sa.Table(
    "offer_allowances",
    metadata,
    sa.Column("financier", sa.Text, primary_key=True),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("updated_at", UnixTime, nullable=False),
)


_WITHDRAWAL = Upsert(offer_withdrawals, [offer_withdrawals.c.offer_id], lambda new: {"reason": new.reason})
_ALLOWANCE = Upsert(
    offer_allowances,
    [offer_allowances.c.financier],
    lambda new: {"amount": new.amount, "updated_at": new.updated_at},
)


@dataclass(frozen=True)
class FinancingRequest:
    """A holder's request for offers on a certificate, kept beside the chain."""

    id: int
    certificate_id: int
    holder: str
    amount: Decimal | None  # None: the whole certificate
    financiers: tuple[str, ...] | None  # None: every financier
    status: str  # open, financed, cancelled, replaced
    created_at: float

    def addressed_to(self, financier: str) -> bool:
        return self.financiers is None or financier in self.financiers


@dataclass(frozen=True)
class StoredOffer:
    """A financier's signed financing offer, as the gateway signed it with the financier's key."""

    id: int
    request_id: int
    certificate_id: int
    seller: str
    financier: str
    annual_rate: Decimal
    day_count: int
    expires_at: int  # unix seconds
    recourse: bool
    nonce: int
    amount: Decimal  # the face value the offer was priced for
    signature: str
    status: str  # open, withdrawn, accepted
    financed_id: int | None
    accepted_amount: Decimal | None
    interest: Decimal | None
    price: Decimal | None
    days: int | None
    tx_hash: str | None
    created_at: float
    withdrawn_because: str | None  # set when the gateway withdrew the offer, not its financier


_REQUEST_COLUMNS = (
    financing_requests.c.id,
    financing_requests.c.certificate_id,
    financing_requests.c.holder,
    financing_requests.c.amount,
    financing_requests.c.financiers,
    financing_requests.c.status,
    financing_requests.c.created_at,
)
_SELECT_OFFERS = sa.select(
    *(offers.c[name] for name in StoredOffer.__dataclass_fields__ if name != "withdrawn_because"),
    sa.select(offer_withdrawals.c.reason)
    .where(offer_withdrawals.c.offer_id == offers.c.id)
    .scalar_subquery()
    .label("withdrawn_because"),
)
_DECIMALS = ("annual_rate", "amount", "accepted_amount", "interest", "price")


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _request(row: AnyRow) -> FinancingRequest:
    return FinancingRequest(
        row.id,
        row.certificate_id,
        row.holder,
        _decimal(row.amount),
        None if row.financiers is None else tuple(json.loads(row.financiers)),
        row.status,
        row.created_at,
    )


def _offer(row: AnyRow) -> StoredOffer:
    fields = row._asdict()
    fields.update({name: _decimal(fields[name]) for name in _DECIMALS})
    return StoredOffer(**{**fields, "recourse": bool(fields["recourse"])})


def _inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _matching(table: sa.Table, **filters: object) -> list[sa.ColumnElement[bool]]:
    """The conditions of every filter given (not None)."""
    return [table.c[column] == value for column, value in filters.items() if value is not None]


class Offers(StorePart):
    def requested_certificates(self, financier: str, low: int, high: int) -> set[int]:
        """Certificates with ids from ``low`` to ``high`` that ``financier`` was ever asked to finance."""
        rows = self._db.query(
            sa.select(financing_requests.c.certificate_id, financing_requests.c.financiers).where(
                financing_requests.c.certificate_id.between(low, high)
            )
        )
        return {row.certificate_id for row in rows if row.financiers is None or financier in json.loads(row.financiers)}

    # Financing requests: a holder asks financiers to quote

    def create_financing_request(
        self, certificate_id: int, holder: str, amount: Decimal | None, financiers: tuple[str, ...] | None
    ) -> FinancingRequest:
        """Records an open request; an open request of the same holder on the certificate is replaced."""
        now = self._clock()
        with self._db.transaction() as db:
            db.execute(
                financing_requests.update()
                .where(*_matching(financing_requests, certificate_id=certificate_id, holder=holder, status="open"))
                .values(status="replaced", updated_at=now)
            )
            inserted = db.execute(
                financing_requests.insert().values(
                    certificate_id=certificate_id,
                    holder=holder,
                    amount=None if amount is None else str(amount),
                    financiers=None if financiers is None else json.dumps(list(financiers)),
                    status="open",
                    created_at=now,
                    updated_at=now,
                )
            )
        return FinancingRequest(_inserted_id(inserted), certificate_id, holder, amount, financiers, "open", now)

    def financing_request(self, request_id: int) -> FinancingRequest | None:
        rows = self._db.query(sa.select(*_REQUEST_COLUMNS).where(financing_requests.c.id == request_id))
        return _request(rows[0]) if rows else None

    def financing_requests(
        self, *, holder: str | None = None, certificate_id: int | None = None, status: str | None = None
    ) -> list[FinancingRequest]:
        """Requests matching every filter given, newest first."""
        rows = self._db.query(
            sa.select(*_REQUEST_COLUMNS)
            .where(*_matching(financing_requests, holder=holder, certificate_id=certificate_id, status=status))
            .order_by(financing_requests.c.id.desc())
        )
        return [_request(row) for row in rows]

    def set_financing_request_status(self, request_id: int, status: str, *, only_if: str | None = None) -> bool:
        """Sets a request's status (when it is ``only_if``, if given); returns whether it changed."""
        with self._db.transaction() as db:
            changed = db.execute(
                financing_requests.update()
                .where(*_matching(financing_requests, id=request_id, status=only_if))
                .values(status=status, updated_at=self._clock())
            )
            return changed.rowcount == 1

    # Offers: financiers' signed quotes

    def next_offer_nonce(self, financier: str) -> int:
        """The next offer nonce of ``financier`` after every one this gateway has signed."""
        rows = self._db.query(sa.select(sa.func.max(offers.c.nonce)).where(offers.c.financier == financier))
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    def create_offer(
        self,
        *,
        request_id: int,
        certificate_id: int,
        seller: str,
        financier: str,
        annual_rate: Decimal,
        day_count: int,
        expires_at: int,
        recourse: bool,
        nonce: int,
        amount: Decimal,
        signature: str,
    ) -> StoredOffer:
        now = self._clock()
        with self._db.transaction() as db:
            inserted = db.execute(
                offers.insert().values(
                    request_id=request_id,
                    certificate_id=certificate_id,
                    seller=seller,
                    financier=financier,
                    annual_rate=str(annual_rate),
                    day_count=day_count,
                    expires_at=expires_at,
                    recourse=int(recourse),
                    nonce=nonce,
                    amount=str(amount),
                    signature=signature,
                    status="open",
                    created_at=now,
                    updated_at=now,
                )
            )
        offer = self.offer(_inserted_id(inserted))
        assert offer is not None
        return offer

    def offer(self, offer_id: int) -> StoredOffer | None:
        rows = self._db.query(_SELECT_OFFERS.where(offers.c.id == offer_id))
        return _offer(rows[0]) if rows else None

    def offers(
        self, *, certificate_id: int | None = None, financier: str | None = None, status: str | None = None
    ) -> list[StoredOffer]:
        """Offers matching every filter given, oldest first."""
        rows = self._db.query(
            _SELECT_OFFERS.where(
                *_matching(offers, certificate_id=certificate_id, financier=financier, status=status)
            ).order_by(offers.c.id)
        )
        return [_offer(row) for row in rows]

    def mark_offer_withdrawn(self, offer_id: int, tx_hash: str) -> None:
        with self._db.transaction() as db:
            db.execute(
                offers.update()
                .where(offers.c.id == offer_id)
                .values(status="withdrawn", tx_hash=tx_hash, updated_at=self._clock())
            )

    def withdraw_open_offers(self, certificate_id: int, reason: str) -> list[StoredOffer]:
        """Marks every open offer on a certificate that can no longer be accepted as withdrawn, for ``reason``."""
        now = self._clock()
        with self._db.transaction() as db:
            rows = db.execute(_SELECT_OFFERS.where(*_matching(offers, certificate_id=certificate_id, status="open")))
            open_offers = [_offer(row) for row in rows]
            for offer in open_offers:
                db.execute(offers.update().where(offers.c.id == offer.id).values(status="withdrawn", updated_at=now))
                db.execute(_WITHDRAWAL.on(db), {"offer_id": offer.id, "reason": reason})
        return open_offers

    def mark_offer_accepted(
        self,
        offer_id: int,
        *,
        financed_id: int,
        amount: Decimal,
        interest: Decimal,
        price: Decimal,
        days: int,
        tx_hash: str,
    ) -> None:
        """Records the acceptance, and marks the request the offer answered as financed."""
        now = self._clock()
        with self._db.transaction() as db:
            db.execute(
                offers.update()
                .where(offers.c.id == offer_id)
                .values(
                    status="accepted",
                    financed_id=financed_id,
                    accepted_amount=str(amount),
                    interest=str(interest),
                    price=str(price),
                    days=days,
                    tx_hash=tx_hash,
                    updated_at=now,
                )
            )
            answered = sa.select(offers.c.request_id).where(offers.c.id == offer_id).scalar_subquery()
            db.execute(
                financing_requests.update()
                .where(financing_requests.c.id == answered, financing_requests.c.status == "open")
                .values(status="financed", updated_at=now)
            )

    # Financiers' allowances to the desk, as the gateway last set them for their open offers

    def offer_allowance(self, financier: str) -> Decimal | None:
        rows = self._db.query(sa.select(offer_allowances.c.amount).where(offer_allowances.c.financier == financier))
        return Decimal(rows[0].amount) if rows else None

    def set_offer_allowance(self, financier: str, amount: Decimal) -> None:
        with self._db.transaction() as db:
            db.execute(_ALLOWANCE.on(db), {"financier": financier, "amount": str(amount), "updated_at": time.time()})

    def financiers_with_offer_allowance(self) -> list[str]:
        """Financiers whose allowance the gateway last set above zero."""
        rows = self._db.query(
            sa.select(offer_allowances.c.financier, offer_allowances.c.amount).order_by(offer_allowances.c.financier)
        )
        return [row.financier for row in rows if Decimal(row.amount) > 0]
