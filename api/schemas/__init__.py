"""Request and response bodies.

Input models hold only what a caller may set: never a signer, a nonce, gas or a
chain id; unknown fields are refused. Amounts are decimal strings in CNY with at
most two decimals; dates are ISO ``YYYY-MM-DD`` in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from eth_utils import is_address, to_checksum_address
from fastapi import UploadFile
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from scf_chain.client.clock import known_ledger_today, ledger_max_tenor_days
from scf_chain.domain.errors import InvalidAmount
from scf_chain.domain.money import (
    AMOUNT_PATTERN,
    CURRENCY,
    MAX_MINOR_UNITS,
    from_minor_units,
    to_minor_units,
    to_positive_minor_units,
)


def _amount(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "1250.50"')
    try:
        return from_minor_units(to_positive_minor_units(value))
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


def _limit(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "2000000.00"')
    try:
        minor = to_minor_units(value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None
    # The bound of every amount (a face value's, uint64): sums of such amounts stay exact in Decimal arithmetic.
    if minor > MAX_MINOR_UNITS:
        raise ValueError(f"{value} is beyond the ledger's largest amount, {from_minor_units(MAX_MINOR_UNITS)}")
    return from_minor_units(minor)


def _address(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError("must be a 0x-prefixed 20-byte address")
    return to_checksum_address(value)


def parse_address(value: str) -> str | None:
    """The checksummed address, or None for anything that is not an address."""
    return to_checksum_address(value) if is_address(value) else None


def _maturity(value: Any) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date as YYYY-MM-DD") from None
    if not isinstance(value, date):
        raise ValueError("must be a date as YYYY-MM-DD")
    # The ledger's date: the contracts judge maturity by block time, which a development chain may move ahead.
    today = known_ledger_today()  # no round trip to the chain per field validated
    if value < today:
        raise ValueError(f"{value} is in the past (today is {today}, UTC, by the ledger's clock)")
    tenor = ledger_max_tenor_days()
    if tenor is not None and value > today + timedelta(days=tenor):
        raise ValueError(f"{value} is more than {tenor} days ahead; the latest is {today + timedelta(days=tenor)}")
    return value


def _document_hash(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    digits = text.removeprefix("0x")
    if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError("must be a 32-byte hash as 0x followed by 64 hex digits")
    return "0x" + digits.lower()


_money_schema = WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["1250.50"]})
Amount = Annotated[
    Decimal, BeforeValidator(_amount), PlainSerializer(lambda v: f"{v:.2f}", return_type=str), _money_schema
]
Limit = Annotated[
    Decimal, BeforeValidator(_limit), PlainSerializer(lambda v: f"{v:.2f}", return_type=str), _money_schema
]
Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str), _money_schema]
Address = Annotated[
    str,
    BeforeValidator(_address),
    WithJsonSchema({"type": "string", "examples": ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]}),
]
MaturityDate = Annotated[date, BeforeValidator(_maturity), WithJsonSchema({"type": "string", "format": "date"})]
DocumentHash = Annotated[
    str,
    BeforeValidator(_document_hash),
    WithJsonSchema({"type": "string", "examples": ["0x" + "ab" * 32]}),
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Role(StrEnum):
    CORE_ENTERPRISE = "core_enterprise"
    SUPPLIER = "supplier"
    FINANCIER = "financier"
    AUDITOR = "auditor"


class RoleOut(StrEnum):
    """The role a caller or member acts as: a member's role, or the consortium operator (who is no member)."""

    OPERATOR = "operator"
    CORE_ENTERPRISE = "core_enterprise"
    SUPPLIER = "supplier"
    FINANCIER = "financier"
    AUDITOR = "auditor"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class CertificateStatus(StrEnum):
    """The ledger's certificate statuses, by their labels."""

    PENDING = "pending"
    ACTIVE = "active"
    SPLIT = "split"
    CANCELLED = "cancelled"
    FINANCED = "financed"
    SETTLED = "settled"
    OVERDUE = "overdue"


class OperationStatus(StrEnum):
    SUBMITTED = "submitted"
    MINED = "mined"
    CONFIRMED = "confirmed"
    FAILED = "failed"


EXAMPLE_TENOR = timedelta(days=90)
OFFER_EXAMPLE_VALIDITY = timedelta(days=7)


def _dated_examples(make: Callable[[date], list[dict[str, Any]]]) -> Callable[[dict[str, Any]], None]:
    """Examples built with the schema, from the ledger's today, so that their dates are valid the day they are read."""

    def extra(schema: dict[str, Any]) -> None:
        schema["examples"] = make(known_ledger_today())

    return extra


# Inputs


class MemberCreate(Input):
    name: str = Field(min_length=1, max_length=200, examples=["Huaxia Motors Co., Ltd."])
    role: Role
    address: Address | None = Field(
        default=None, description="An address whose key the member keeps; leave out to have the gateway keep one."
    )

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Tier 1 Parts Ltd.", "role": "supplier"}]}
    )


class CreditLimitUpdate(Input):
    limit: Limit

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"limit": "2000000.00"}]})


class CertificateIssue(Input):
    to: Address
    amount: Amount
    maturity_date: MaturityDate
    document_hash: DocumentHash | None = Field(
        default=None,
        description="SHA-256 of the invoice or contract's bytes, 0x-prefixed. Give this or `document_id`.",
    )
    document_id: DocumentHash | None = Field(
        default=None,
        description="The `document_hash` of a document you uploaded to `POST /v1/documents`, to anchor it. "
        "Give this or `document_hash`.",
    )
    invoice_number: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"\S",
        description="The invoice's number. The obligor may issue against it once (again only after that issuance "
        "was cancelled or rejected), compared without case or extra spaces; the ledger keeps only its hash.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_dated_examples(
            lambda today: [
                {
                    "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    "amount": "1000000.00",
                    "maturity_date": (today + EXAMPLE_TENOR).isoformat(),
                    "document_hash": "0x" + "ab" * 32,
                    "invoice_number": "INV-2026-0001",
                },
                {
                    "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    "amount": "250000.00",
                    "maturity_date": (today + EXAMPLE_TENOR).isoformat(),
                    "document_id": "0x" + "cd" * 32,
                    "invoice_number": "INV-2026-0002",
                },
            ]
        ),
    )

    @model_validator(mode="after")
    def _one_document(self) -> CertificateIssue:
        if (self.document_hash is None) == (self.document_id is None):
            raise ValueError("give exactly one of document_hash and document_id")
        return self


class SplitPart(Input):
    to: Address
    amount: Amount


class CertificateSplitRequest(Input):
    parts: list[SplitPart] = Field(min_length=2, max_length=100)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "parts": [
                        {"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "amount": "600000.00"},
                        {"to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": "400000.00"},
                    ]
                }
            ]
        },
    )


class CertificateTransfer(Input):
    to: Address
    amount: Amount | None = Field(
        default=None, description="Leave out to move the whole certificate; with an amount, only that part moves."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": "250000.00"}]},
    )


# Outputs


class MemberOut(BaseModel):
    address: str
    name: str
    role: RoleOut
    status: MemberStatus


class MeOut(MemberOut):
    ledger_date: date = Field(
        description="Today (UTC) by the ledger's clock, YYYY-MM-DD: the date maturities, offers and grace count from."
    )


API_KEY_SHOWN_ONCE = (
    "Shown in this response only; the gateway keeps its hash. null in a replay under the same Idempotency-Key."
)
REPLAY_NOTE = "Set in a replay only: says that the API key was shown once and is not kept."


class MemberCreated(MemberOut):
    api_key: str | None = Field(description=API_KEY_SHOWN_ONCE)
    note: str | None = Field(default=None, description=REPLAY_NOTE)


class ApiKeyOut(BaseModel):
    member: str
    api_key: str | None = Field(description=API_KEY_SHOWN_ONCE)
    note: str | None = Field(default=None, description=REPLAY_NOTE)


class CreditLineOut(BaseModel):
    obligor: str
    limit: Money
    outstanding: Money
    available: Money
    currency: str = CURRENCY


class CertificateOut(BaseModel):
    id: int
    root_id: int
    parent_id: int | None
    obligor: str
    holder: str | None
    amount: Money
    currency: str = CURRENCY
    maturity_date: date
    hops: int
    document_hash: str
    status: CertificateStatus
    frozen: bool
    child_ids: list[int]
    tx_hash: str
    created_at: datetime
    invoice_number: str | None = None


class CertificatePage(BaseModel):
    items: list[CertificateOut]
    total: int
    limit: int
    offset: int
    indexed_block: int


class WriteResult(BaseModel):
    tx_hash: str
    block_number: int
    certificates: list[CertificateOut]
    indexed_block: int


class MemberWriteResult(WriteResult):
    """A change to a member (freeze, unfreeze): the transaction and the member as it now is."""

    member: MemberOut


class ProblemFieldError(BaseModel):
    field: str | None = Field(description="The invalid field, dotted (`parts.0.amount`); null for the whole body.")
    message: str


class Problem(BaseModel):
    """The body of every error: RFC 9457 problem details, with a stable `code`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int = Field(description="The HTTP status.")
    code: str = Field(description="Stable, machine-readable error code.")
    detail: str = Field(description="A sentence a person can act on.")
    field: str | None = Field(default=None, description="The offending field, where there is one.")
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="Every invalid field, for `validation_error`."
    )
    ledger_error: str | None = Field(default=None, description="The ledger contract's custom error, when it refused.")


class OperationOut(BaseModel):
    id: str
    kind: str
    status: OperationStatus = Field(
        description="submitted; mined (its transaction is in a block, `result` shows what is known so far); "
        "confirmed (with `result`); or failed (with `problem`)"
    )
    result: OperationResult | None = Field(
        default=None, description="The body the write answers when it is not asynchronous."
    )
    problem: Problem | None = None
    tx_hashes: list[str] = Field(
        default_factory=list,
        description="The transactions the write signed, in order, each recorded before it was broadcast.",
    )
    created_at: datetime
    updated_at: datetime


class Health(BaseModel):
    status: str
    detail: str | None = None
    chain_id: int | None = None
    block: int | None = None
    ledger: str | None = None
    indexed_block: int | None = None


# Financing and settlement: the settlement token, discount offers, settlement at maturity

RATE_DECIMALS = 8


RATE_PATTERN = rf"^\d+(\.\d{{1,{RATE_DECIMALS}}})?$"
_RATE_TEXT = re.compile(r"[0-9]+(?:\.([0-9]+))?")


def _rate(value: Any) -> Decimal:
    # Exactly the documented form, like amounts: no exponent, sign, spaces, NaN or Infinity.
    match = _RATE_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError('must be a decimal string such as "0.0385" (3.85% a year)')
    if len(match[1] or "") > RATE_DECIMALS:
        raise ValueError(f"has more than {RATE_DECIMALS} decimal places")
    rate = Decimal(value)  # exact: from text, no arithmetic
    if not 0 <= rate <= 1:
        raise ValueError("must be between 0 and 1 (100% a year)")
    return rate


def format_rate(rate: Decimal) -> str:
    """A rate as a plain decimal string: 0.0385, 0.05, 0."""
    text = format(rate.normalize(), "f")
    return text if text != "-0" else "0"


def _aware(value: Any) -> Any:
    # A datetime without a zone is taken as UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


AnnualRate = Annotated[
    Decimal,
    BeforeValidator(_rate),
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN, "examples": ["0.0385"]}),
]
# The same, in responses: a rate the gateway computed or stored, shown as a plain decimal string.
Rate = Annotated[
    Decimal,
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["0.0385"]}),
]
UtcDateTime = Annotated[datetime, AfterValidator(_aware)]


class TokenMovement(Input):
    member: Address
    amount: Amount

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"member": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "amount": "500000.00"}]
        },
    )


class AllowanceUpdate(Input):
    amount: Limit = Field(description="What the settlement desk may draw from the caller's tokens from now on.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": "1000000.00"}]})


class FinancingRequestCreate(Input):
    financiers: list[Address] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="The financiers asked to quote; leave out to ask every financier.",
    )
    amount: Amount | None = Field(
        default=None, description="The part to discount; leave out to discount the whole certificate."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"financiers": ["0x90F79bf6EB2c4f870365E785982E1f101E93b906"], "amount": "80000.00"}]
        },
    )


class OfferCreate(Input):
    certificate_id: int = Field(ge=1, le=2**40 - 1)
    annual_rate: AnnualRate = Field(description="Simple discount rate a year, as a fraction: 0.0385 is 3.85%.")
    day_count: Literal[360, 365] = Field(description="The day-count basis.")
    expires_at: UtcDateTime = Field(description="ISO 8601; the offer can be accepted until then (UTC if no zone).")
    recourse: bool = Field(default=False, description="Whether the financier keeps recourse to the seller.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_dated_examples(
            lambda today: [
                {
                    "certificate_id": 7,
                    "annual_rate": "0.0385",
                    "day_count": 365,
                    "expires_at": f"{today + OFFER_EXAMPLE_VALIDITY}T17:00:00Z",
                    "recourse": False,
                }
            ]
        ),
    )


class OfferAccept(Input):
    amount: Amount | None = Field(
        default=None,
        description="The part to sell; leave out for the amount the offer was made for (the requested amount, "
        "else the whole certificate).",
    )

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"amount": "40000.00"}]})


class SettlementCreate(Input):
    root_id: int = Field(ge=1, le=2**40 - 1, description="The issuance: the id of its first certificate.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"root_id": 1}]})


class BalanceOut(BaseModel):
    member: str
    balance: Money
    allowance: Money = Field(description="What the settlement desk may still draw from the balance.")
    currency: str = CURRENCY


class TokenMovementOut(BaseModel):
    member: str
    amount: Money
    balance: Money
    currency: str = CURRENCY
    tx_hash: str
    block_number: int


class AllowanceOut(BaseModel):
    member: str
    allowance: Money
    balance: Money
    currency: str = CURRENCY
    tx_hash: str
    block_number: int


class FinancingRequestOut(BaseModel):
    id: int
    certificate_id: int
    holder: str
    holder_name: str | None
    obligor: str
    obligor_name: str | None
    face_value: Money
    amount: Money = Field(description="The amount to discount: the whole face value unless a part was asked for.")
    currency: str = CURRENCY
    maturity_date: date
    financiers: list[str] | None = Field(description="The financiers asked; null for every financier.")
    status: str = Field(description="open, financed, cancelled, replaced, or closed (no longer financeable)")
    created_at: datetime


class OfferOut(BaseModel):
    id: int
    request_id: int
    certificate_id: int
    seller: str
    financier: str
    financier_name: str | None
    annual_rate: Rate
    day_count: int
    recourse: bool
    amount: Money = Field(
        description="The face value the offer is priced for, signed with it: the most any acceptance can sell."
    )
    days: int = Field(description="Days from the ledger's today to maturity (as of acceptance, once accepted).")
    interest: Money | None
    price: Money | None = Field(description="What the financier pays for `amount`, computed exactly as the desk does.")
    currency: str = CURRENCY
    expires_at: datetime
    status: str = Field(description="open, withdrawn, accepted, expired, or closed (the certificate moved on)")
    withdrawn_because: str | None = Field(
        default=None, description="Why the gateway withdrew the offer, when its financier did not."
    )
    funded: bool | None = Field(
        default=None,
        description="For an open offer, whether the financier's balance and its allowance to the settlement desk "
        "both cover `price` today; null once the offer is no longer open.",
    )
    nonce: int
    signature: str = Field(description="The financier's EIP-712 signature over the offer.")
    created_at: datetime
    financed_certificate_id: int | None = None
    tx_hash: str | None = Field(default=None, description="The transaction that accepted or withdrew the offer.")


class FinancingResult(BaseModel):
    offer: OfferOut
    tx_hash: str
    block_number: int
    certificate_id: int = Field(description="The certificate the financier now holds, financed.")
    remainder_id: int | None = Field(description="What stayed with the seller, when a part was sold.")
    remainder_request_id: int | None = Field(
        default=None,
        description="The financing request that keeps the remainder open for financing, to the same financiers.",
    )
    seller: str
    financier: str
    face_value: Money
    interest: Money
    price: Money
    days: int
    currency: str = CURRENCY
    certificates: list[CertificateOut]
    indexed_block: int


class ObligationItem(BaseModel):
    id: int
    root_id: int
    holder: str
    holder_name: str | None
    amount: Money
    status: CertificateStatus
    maturity_date: date


class MaturityTotal(BaseModel):
    maturity_date: date
    total: Money
    due: bool = Field(description="Whether the date has come: the issuances can be settled.")
    root_ids: list[int]
    certificates: list[ObligationItem]


class HolderTotal(BaseModel):
    holder: str
    holder_name: str | None
    total: Money
    certificate_count: int


class ObligationsOut(BaseModel):
    obligor: str
    currency: str = CURRENCY
    as_of: date = Field(description="The ledger's today.")
    total: Money
    certificate_count: int
    by_maturity: list[MaturityTotal]
    by_holder: list[HolderTotal]
    balance: Money
    allowance: Money
    indexed_block: int


class SettlementBatch(BaseModel):
    tx_hash: str
    block_number: int
    certificates_settled: int
    paid: Money


class Payment(BaseModel):
    certificate_id: int
    holder: str
    amount: Money
    late: bool


class SettlementOut(BaseModel):
    root_id: int
    obligor: str
    currency: str = CURRENCY
    face_value: Money
    paid_total: Money = Field(description="What this request paid.")
    certificates_settled: int = Field(description="How many certificates this request paid.")
    settled_total: Money = Field(description="What the issuance has been paid in all.")
    outstanding: Money
    certificates_outstanding: int
    skipped_frozen: list[int] = Field(
        description="Certificates left unpaid because the operator froze them or their holder; settle again once "
        "unfrozen."
    )
    status: str = Field(description="settled, or partially_settled while certificates remain unpaid")
    approval_tx_hash: str | None
    batches: list[SettlementBatch]
    payments: list[Payment]
    indexed_block: int


class SettlementStatusOut(BaseModel):
    root_id: int
    obligor: str
    maturity_date: date
    currency: str = CURRENCY
    face_value: Money
    settled_total: Money
    outstanding: Money
    certificates_settled: int
    certificates_outstanding: int
    certificates_overdue: int
    status: str = Field(description="not_due, due, partially_settled or settled")
    indexed_block: int


class PresentmentOut(BaseModel):
    certificate_id: int
    root_id: int
    holder: str
    amount: Money
    late: bool
    currency: str = CURRENCY
    tx_hash: str
    block_number: int
    certificates: list[CertificateOut]
    indexed_block: int


class OverdueOut(BaseModel):
    root_id: int
    certificates_marked: int
    certificate_ids: list[int]
    batches: list[str] = Field(description="The transactions, one per batch of at most 200 certificates.")
    certificates: list[CertificateOut]
    indexed_block: int


class RecourseClaimOut(BaseModel):
    certificate_id: int
    seller: str
    financier: str
    amount: Money
    currency: str = CURRENCY
    status: str = Field(description="none, recorded or paid")
    tx_hash: str | None = None
    block_number: int | None = None
    certificates: list[CertificateOut] = Field(default_factory=list)
    indexed_block: int | None = None


# A confirmed operation's `result`: the body its write answers when it is not asynchronous. The most specific
# first, so that a client trying each in turn settles on the right one.
OperationResult = (
    FinancingResult
    | SettlementOut
    | OfferOut
    | PresentmentOut
    | OverdueOut
    | RecourseClaimOut
    | AllowanceOut
    | TokenMovementOut
    | FinancingRequestOut
    | MemberCreated
    | MemberWriteResult
    | CreditLineOut
    | WriteResult
)
OperationOut.model_rebuild()


# Audit: provenance, verification against the chain, documents, the event export


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    name: str = Field(description="The member's registered name; empty if it is not a member.")


class ProvenanceNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    parent_id: int | None
    holder: Party | None = Field(description="Who holds it now; null once it is retired (split, cancelled, settled).")
    last_holder: Party = Field(description="Who holds it now, or held it last before it was retired.")
    amount: Money
    status: CertificateStatus
    hops: int
    frozen: bool
    tx_hash: str = Field(description="The transaction that created it.")
    block_number: int
    created_at: datetime
    hidden_children: int | None = Field(
        default=None, description="Only in a partial view: how many of its parts are not shown to you."
    )


class ProvenanceTreeNode(ProvenanceNode):
    children: list[ProvenanceTreeNode] = Field(description="The certificates it was split into, in id order.")


class ProvenanceIssuance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root_id: int
    obligor: Party
    document_hash: str = Field(description="SHA-256 of the invoice or contract, anchored on chain at issuance.")
    invoice_number: str | None
    amount: Money
    currency: str = CURRENCY
    maturity_date: date
    tx_hash: str
    block_number: int
    issued_at: datetime


class ProvenanceTotals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    face_value: Money = Field(description="This certificate's face value.")
    active: Money
    financed: Money
    settled: Money
    overdue: Money
    pending: Money
    leaves_sum: Money = Field(description="Every leaf of the tree shown that is not cancelled.")
    conserved: bool = Field(
        description="The live leaves sum to the face value, and every split's parts to their parent "
        "(over the whole tree, shown or not)."
    )
    node_count: int = Field(description="Certificates in the tree shown.")
    cancelled: Money
    hidden: Money = Field(description="Face value of the branches not shown to you (0 unless partial).")


class ProvenanceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_id: int
    indexed_block: int
    currency: str = CURRENCY
    partial: bool = Field(description="Whether branches of the tree are left out because they are not yours.")
    issuance: ProvenanceIssuance
    path: list[ProvenanceNode] = Field(description="From the root issuance down to this certificate.")
    tree: ProvenanceTreeNode = Field(description="This certificate, with everything split from it nested below.")
    totals: ProvenanceTotals


class Mismatch(BaseModel):
    field: str
    index: Any = Field(description="What the index shows.")
    chain: Any = Field(description="What the ledger contract holds at `block_number`.")


class VerifiedNode(BaseModel):
    id: int
    matches: bool
    mismatches: list[Mismatch]


class VerificationOut(BaseModel):
    certificate_id: int
    block_number: int = Field(description="The block every chain read was pinned to: the index's indexed block.")
    indexed_block: int
    verified: bool = Field(description="True when every certificate's every field matches.")
    fields: list[str] = Field(description="The fields compared.")
    nodes: list[VerifiedNode]


class DocumentOut(BaseModel):
    document_hash: str = Field(description="SHA-256 of the file's bytes, 0x-prefixed: the hash to anchor.")
    size: int = Field(description="Bytes.")
    content_type: str
    filename: str | None
    uploaded_at: datetime


class DocumentCheck(BaseModel):
    matches: bool = Field(description="Whether the file is the document anchored at the root of the tree.")
    document_hash: str = Field(description="SHA-256 of the file sent.")
    anchored_hash: str = Field(description="The document hash the ledger holds for the issuance.")
    root_id: int
    certificate_id: int
    indexed_block: int


class AuditEvent(BaseModel):
    """One line of the event export."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    contract: Literal["ledger", "desk", "token"] = Field(
        description="Which contract emitted it: the certificate ledger, the settlement desk (offers accepted at "
        "a price, recourse claims), or the settlement token (deposits, withdrawals and payments)."
    )
    timestamp: datetime
    day: date = Field(alias="date", description="The ISO date (UTC) of `timestamp`.")  # `date` would hide the type
    name: str
    details: dict[str, Any] = Field(
        description="The arguments in the API's language: amounts as decimal CNY strings beside their raw value in "
        "minor units (`amount`, `amount_minor`), days as ISO dates (`maturity_date`, `maturity_day`), roles as "
        "words (`role`, `role_code`), rates as fractions a year (`annual_rate`, `annual_rate_units`); for the "
        "token, `movement` is deposit, withdrawal or transfer."
    )
    args: dict[str, Any] = Field(
        description="The arguments as decoded from the log, in the contracts' names and units."
    )
    cursor: str = Field(description="Pass as `after` to continue after this event.")


class DocumentUploadForm(Input):
    """Multipart form: the file to upload."""

    file: UploadFile = Field(description="The invoice or contract, any format.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"file": "(the bytes of INV-0001.pdf)"}]})


class DocumentCheckForm(Input):
    """Multipart form: a file, and the certificate whose anchored document it should be."""

    certificate_id: int = Field(ge=1, le=2**40 - 1)
    file: UploadFile = Field(description="The file to check.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"certificate_id": 7, "file": "(the bytes of INV-0001.pdf)"}]},
    )
