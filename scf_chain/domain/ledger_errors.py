"""Reverts of the ledger, decoded into exceptions with a plain message.

Each custom error of the contracts (and the OpenZeppelin ones they can raise) maps to
one exception class here, named as in Solidity, with a stable snake_case ``code`` for
the API to use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from eth_abi import decode
from eth_utils import function_abi_to_4byte_selector, keccak, to_checksum_address

from scf_chain.domain.errors import ScfError
from scf_chain.domain.money import format_amount, from_day
from scf_chain.domain.pricing import from_rate_units
from scf_chain.domain.types import CertificateStatusCode, MemberRole

Describe = Callable[[str], str]
"""Names an address for a person, for example ``Acme Motors (0x12ab…)``."""


class LedgerError(ScfError):
    """A revert of the ledger's contracts."""

    error_name: ClassVar[str] = "LedgerError"

    def __init__(self, message: str, args: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{self.error_name}: {message}")
        self.reason = message
        self.fields: dict[str, Any] = dict(args or {})

    @property
    def code(self) -> str:
        # CreditLineExceeded -> credit_line_exceeded; ERC721NonexistentToken -> erc721_nonexistent_token
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", self.error_name).lower()


def _status(value: int) -> str:
    return CertificateStatusCode(value).label


def _role(value: int) -> str:
    return MemberRole(value).label


def _money(value: int) -> str:
    return format_amount(value)


def _rate(units: int) -> str:
    return f"{from_rate_units(units) * 100:f}%"


def _time(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _claim(value: int) -> str:
    return ("none", "recorded", "paid")[value] if 0 <= value <= 2 else str(value)


_SETTLEMENT_ROLE = "0x" + keccak(text="SETTLEMENT_ROLE").hex()


def _unauthorized(a: dict[str, Any], d: Describe) -> str:
    if a.get("neededRole") == _SETTLEMENT_ROLE:
        return f"{d(a['account'])} is not the settlement desk; financing and settlement go through the desk"
    return f"{d(a['account'])} is not the consortium operator"


_TEMPLATES: dict[str, Callable[[dict[str, Any], Describe], str]] = {
    "InvalidMemberAddress": lambda a, d: (
        f"{a['account']} cannot be a member: it is the zero address, a contract or the operator"
    ),
    "MemberCannotHoldRole": lambda a, d: f"{d(a['account'])} is a member and cannot also be an operator",
    "MemberNameTaken": lambda a, d: f"{d(a['account'])} is already named {a['name']!r}; member names are unique",
    "MemberAlreadyRegistered": lambda a, d: f"{d(a['account'])} is already a member; an address holds one role",
    "NotAMember": lambda a, d: f"{a['account']} is not a member of the consortium",
    "MemberIsFrozen": lambda a, d: f"{d(a['account'])} is frozen and can neither act, send nor receive",
    "WrongMemberRole": lambda a, d: (
        f"{d(a['account'])} is a {_role(a['actual'])}, and this needs a {_role(a['required'])}"
    ),
    "ReceiverNotEligible": lambda a, d: f"{d(a['account'])} is an auditor and cannot hold certificates",
    "EmptyMemberName": lambda a, d: "a member needs a legal name or identifier",
    "CreditLineExceeded": lambda a, d: (
        f"issuing {_money(a['amount'])} would take {d(a['obligor'])} to "
        f"{_money(a['outstanding'] + a['amount'])} outstanding, above its limit of {_money(a['limit'])}"
    ),
    "ZeroFaceValue": lambda a, d: "a certificate needs a positive face value",
    "FaceValueTooLarge": lambda a, d: f"{_money(a['faceValue'])} is above the largest face value, {_money(a['max'])}",
    "MaturityInPast": lambda a, d: (
        f"maturity {from_day(a['maturityDay'])} is before today, {from_day(a['today'])} (UTC)"
    ),
    "MaturityTooFar": lambda a, d: (
        f"maturity {from_day(a['maturityDay'])} is more than a year ahead; the latest is {from_day(a['latest'])}"
    ),
    "EmptyDocumentHash": lambda a, d: "an issuance must anchor the hash of its invoice or contract",
    "DocumentAlreadyUsed": lambda a, d: (
        f"document {a['documentHash']} already backs certificate {a['rootId']}; one document backs one issuance"
    ),
    "EmptyInvoiceNumber": lambda a, d: "an issuance must name the invoice it is issued against",
    "InvoiceAlreadyUsed": lambda a, d: (
        f"{d(a['obligor'])} already issued certificate {a['rootId']} against this invoice number; "
        "one invoice backs one issuance"
    ),
    "CertificateNotFound": lambda a, d: f"certificate {a['id']} does not exist",
    "CertificateWrongStatus": lambda a, d: (
        f"certificate {a['id']} is {_status(a['status'])}; this needs it {_status(a['required'])}"
    ),
    "CertificateIsFrozen": lambda a, d: f"certificate {a['id']} is frozen by the operator",
    "NotCertificateHolder": lambda a, d: f"{d(a['account'])} does not hold certificate {a['id']}",
    "NotCertificateObligor": lambda a, d: f"{d(a['account'])} is not the obligor of certificate {a['id']}",
    "InvalidPartCount": lambda a, d: f"a split needs 2 to 100 parts, not {a['count']}",
    "ZeroPartAmount": lambda a, d: f"part {a['index'] + 1} has an amount of zero",
    "SplitSumMismatch": lambda a, d: (
        f"the parts add up to {_money(a['sum'])}, not to the face value {_money(a['faceValue'])} "
        f"of certificate {a['id']}"
    ),
    "PartNotLessThanFace": lambda a, d: (
        f"a part of {_money(a['amount'])} is not less than the face value {_money(a['faceValue'])} "
        f"of certificate {a['id']}; transfer it whole instead"
    ),
    "HopLimitExceeded": lambda a, d: (
        f"passing certificate {a['id']} on would make hop {a['hops']}, beyond the limit of {a['maxHops']}"
    ),
    "TransferToHolder": lambda a, d: f"{d(a['holder'])} already holds certificate {a['id']}",
    "TransferToObligor": lambda a, d: (
        f"{d(a['obligor'])} owes certificate {a['id']} and cannot hold it; it would pay itself at settlement"
    ),
    "LedgerPaused": lambda a, d: "the ledger is paused by the operator",
    "LedgerNotPaused": lambda a, d: "the ledger is not paused",
    "AccessControlUnauthorizedAccount": _unauthorized,
    "ERC721NonexistentToken": lambda a, d: f"certificate {a['tokenId']} has no holder",
    "ERC721IncorrectOwner": lambda a, d: f"{d(a['sender'])} does not hold certificate {a['tokenId']}",
    "ERC721InsufficientApproval": lambda a, d: f"{d(a['operator'])} may not move certificate {a['tokenId']}",
    "ERC721InvalidReceiver": lambda a, d: f"{a['receiver']} cannot receive certificates",
    "ERC721InvalidSender": lambda a, d: f"{a['sender']} cannot send certificates",
    # Financing and settlement
    "InvalidSettlementToken": lambda a, d: "the settlement token cannot be the zero address",
    "OfferExpired": lambda a, d: (
        f"offer {a['nonce']} of {d(a['financier'])} expired at {_time(a['expiresAt'])}; it is now {_time(a['time'])}"
    ),
    "OfferNonceUsed": lambda a, d: f"offer {a['nonce']} of {d(a['financier'])} was accepted or withdrawn already",
    "InvalidOfferSignature": lambda a, d: (
        f"the offer is not signed by {d(a['financier'])} for this chain and settlement desk"
    ),
    "NotOfferFinancier": lambda a, d: f"{d(a['account'])} cannot withdraw an offer of {d(a['financier'])}",
    "NotOfferSeller": lambda a, d: f"the offer was made to {d(a['seller'])}; {d(a['account'])} cannot accept it",
    "InvalidDayCount": lambda a, d: f"the day-count basis must be 360 or 365, not {a['dayCount']}",
    "AnnualRateTooHigh": lambda a, d: (
        f"an annual rate of {_rate(a['annualRate'])} is above the highest, {_rate(a['max'])}"
    ),
    "InterestNotBelowFace": lambda a, d: (
        f"discount interest of {_money(a['interest'])} on {_money(a['faceValue'])} leaves no price to pay"
    ),
    "FinanceAmountAboveFace": lambda a, d: (
        f"{_money(a['amount'])} is more than the face value {_money(a['faceValue'])} of certificate {a['id']}"
    ),
    "FinanceAmountAboveOffer": lambda a, d: (
        f"{_money(a['amount'])} is more than the {_money(a['offered'])} that {d(a['financier'])} offered to buy "
        f"in its offer numbered {a['nonce']}"
    ),
    "CertificateMatured": lambda a, d: (
        f"certificate {a['id']} matures on {from_day(a['maturityDay'])} and can be financed only before then; "
        f"today is {from_day(a['today'])} (UTC)"
    ),
    "NotYetMatured": lambda a, d: (
        f"certificate {a['rootId']} matures on {from_day(a['maturityDay'])}; it cannot be settled before, "
        f"and today is {from_day(a['today'])} (UTC)"
    ),
    "NotAnIssuanceRoot": lambda a, d: (
        f"certificate {a['id']} is part of issuance {a['rootId']}; name the issuance by its first certificate"
    ),
    "CertificateNotInIssuance": lambda a, d: f"certificate {a['id']} does not belong to issuance {a['rootId']}",
    "BatchTooLarge": lambda a, d: f"{a['count']} certificates were listed; one call takes at most {a['max']}",
    "SettledAboveFace": lambda a, d: (
        f"settling would take issuance {a['rootId']} to {_money(a['settled'])} paid, "
        f"above its face value {_money(a['faceValue'])}"
    ),
    "GracePeriodNotOver": lambda a, d: (
        f"certificate {a['rootId']} can be marked overdue from {from_day(a['overdueDay'])}, after its grace period; "
        f"today is {from_day(a['today'])} (UTC)"
    ),
    "NotFinancedWithRecourse": lambda a, d: f"certificate {a['id']} was not financed with recourse",
    "RecourseClaimWrongStatus": lambda a, d: (
        f"the recourse claim on certificate {a['id']} is {_claim(a['status'])}; this needs it {_claim(a['required'])}"
    ),
    "NotRecourseSeller": lambda a, d: (
        f"{d(a['account'])} is not the seller that recourse on certificate {a['id']} runs against"
    ),
    # The settlement token
    "ERC20InsufficientAllowance": lambda a, d: (
        f"the payer has allowed the settlement desk to draw {_money(a['allowance'])}, and this needs "
        f"{_money(a['needed'])}; approve the desk for more first"
    ),
    "ERC20InsufficientBalance": lambda a, d: (
        f"{d(a['sender'])} holds {_money(a['balance'])} in settlement tokens, and this needs {_money(a['needed'])}"
    ),
    "ERC20InvalidReceiver": lambda a, d: f"{a['receiver']} cannot receive settlement tokens",
    "ERC20InvalidSender": lambda a, d: f"{a['sender']} cannot send settlement tokens",
    "ERC20InvalidApprover": lambda a, d: f"{a['approver']} cannot approve settlement tokens",
    "ERC20InvalidSpender": lambda a, d: f"{a['spender']} cannot be approved to spend settlement tokens",
    "SafeERC20FailedOperation": lambda a, d: f"the settlement token {a['token']} refused the payment",
}


def _error_class(name: str) -> type[LedgerError]:
    return type(name, (LedgerError,), {"error_name": name, "__doc__": f"The ledger's ``{name}`` revert."})


ERROR_CLASSES: dict[str, type[LedgerError]] = {name: _error_class(name) for name in _TEMPLATES}

InvalidMemberAddress = ERROR_CLASSES["InvalidMemberAddress"]
MemberAlreadyRegistered = ERROR_CLASSES["MemberAlreadyRegistered"]
MemberCannotHoldRole = ERROR_CLASSES["MemberCannotHoldRole"]
MemberNameTaken = ERROR_CLASSES["MemberNameTaken"]
NotAMember = ERROR_CLASSES["NotAMember"]
MemberIsFrozen = ERROR_CLASSES["MemberIsFrozen"]
WrongMemberRole = ERROR_CLASSES["WrongMemberRole"]
ReceiverNotEligible = ERROR_CLASSES["ReceiverNotEligible"]
CreditLineExceeded = ERROR_CLASSES["CreditLineExceeded"]
ZeroFaceValue = ERROR_CLASSES["ZeroFaceValue"]
MaturityInPast = ERROR_CLASSES["MaturityInPast"]
MaturityTooFar = ERROR_CLASSES["MaturityTooFar"]
DocumentAlreadyUsed = ERROR_CLASSES["DocumentAlreadyUsed"]
EmptyInvoiceNumber = ERROR_CLASSES["EmptyInvoiceNumber"]
InvoiceAlreadyUsed = ERROR_CLASSES["InvoiceAlreadyUsed"]
CertificateNotFound = ERROR_CLASSES["CertificateNotFound"]
CertificateWrongStatus = ERROR_CLASSES["CertificateWrongStatus"]
CertificateIsFrozen = ERROR_CLASSES["CertificateIsFrozen"]
NotCertificateHolder = ERROR_CLASSES["NotCertificateHolder"]
NotCertificateObligor = ERROR_CLASSES["NotCertificateObligor"]
InvalidPartCount = ERROR_CLASSES["InvalidPartCount"]
ZeroPartAmount = ERROR_CLASSES["ZeroPartAmount"]
SplitSumMismatch = ERROR_CLASSES["SplitSumMismatch"]
PartNotLessThanFace = ERROR_CLASSES["PartNotLessThanFace"]
HopLimitExceeded = ERROR_CLASSES["HopLimitExceeded"]
TransferToHolder = ERROR_CLASSES["TransferToHolder"]
TransferToObligor = ERROR_CLASSES["TransferToObligor"]
LedgerPaused = ERROR_CLASSES["LedgerPaused"]
AccessControlUnauthorizedAccount = ERROR_CLASSES["AccessControlUnauthorizedAccount"]
OfferExpired = ERROR_CLASSES["OfferExpired"]
OfferNonceUsed = ERROR_CLASSES["OfferNonceUsed"]
InvalidOfferSignature = ERROR_CLASSES["InvalidOfferSignature"]
NotOfferFinancier = ERROR_CLASSES["NotOfferFinancier"]
NotOfferSeller = ERROR_CLASSES["NotOfferSeller"]
InvalidDayCount = ERROR_CLASSES["InvalidDayCount"]
AnnualRateTooHigh = ERROR_CLASSES["AnnualRateTooHigh"]
InterestNotBelowFace = ERROR_CLASSES["InterestNotBelowFace"]
FinanceAmountAboveFace = ERROR_CLASSES["FinanceAmountAboveFace"]
FinanceAmountAboveOffer = ERROR_CLASSES["FinanceAmountAboveOffer"]
CertificateMatured = ERROR_CLASSES["CertificateMatured"]
NotYetMatured = ERROR_CLASSES["NotYetMatured"]
NotAnIssuanceRoot = ERROR_CLASSES["NotAnIssuanceRoot"]
CertificateNotInIssuance = ERROR_CLASSES["CertificateNotInIssuance"]
BatchTooLarge = ERROR_CLASSES["BatchTooLarge"]
SettledAboveFace = ERROR_CLASSES["SettledAboveFace"]
GracePeriodNotOver = ERROR_CLASSES["GracePeriodNotOver"]
NotFinancedWithRecourse = ERROR_CLASSES["NotFinancedWithRecourse"]
RecourseClaimWrongStatus = ERROR_CLASSES["RecourseClaimWrongStatus"]
NotRecourseSeller = ERROR_CLASSES["NotRecourseSeller"]
ERC20InsufficientAllowance = ERROR_CLASSES["ERC20InsufficientAllowance"]
ERC20InsufficientBalance = ERROR_CLASSES["ERC20InsufficientBalance"]


class ErrorDecoder:
    """Turns revert data into the matching :class:`LedgerError`, using the contracts' ABIs."""

    def __init__(self, abis: list[list[dict[str, Any]]]) -> None:
        self._by_selector: dict[bytes, dict[str, Any]] = {}
        for abi in abis:
            for entry in abi:
                if entry.get("type") == "error":
                    self._by_selector[function_abi_to_4byte_selector(entry)] = entry  # type: ignore[arg-type]
                    # One class per error name, even without a template, so that callers can catch it.
                    ERROR_CLASSES.setdefault(entry["name"], _error_class(entry["name"]))

    def decode(self, data: bytes, describe: Describe) -> LedgerError | None:
        entry = self._by_selector.get(bytes(data[:4]))
        if entry is None:
            return None
        types = [item["type"] for item in entry["inputs"]]
        values = decode(types, bytes(data[4:]))
        args: dict[str, Any] = {}
        for item, value in zip(entry["inputs"], values, strict=True):
            if item["type"] == "address":
                value = to_checksum_address(value)
            elif item["type"] == "bytes32":
                value = "0x" + value.hex()
            args[item["name"]] = value
        name = entry["name"]
        template = _TEMPLATES.get(name)
        message = template(args, describe) if template else f"the ledger refused the call ({args})"
        error_class = ERROR_CLASSES.get(name) or _error_class(name)
        return error_class(message, args)
