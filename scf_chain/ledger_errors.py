"""Reverts of the ledger, decoded into exceptions with a plain message.

Each custom error of the contracts (and the OpenZeppelin ones they can raise) maps to
one exception class here, named as in Solidity, with a stable snake_case ``code`` for
the API to use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from eth_abi import decode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address

from scf_chain.errors import ScfError
from scf_chain.money import format_amount, from_day
from scf_chain.types import CertificateStatus, MemberRole

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
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.error_name).lower()


def _status(value: int) -> str:
    return CertificateStatus(value).label


def _role(value: int) -> str:
    return MemberRole(value).label


def _money(value: int) -> str:
    return format_amount(value)


_TEMPLATES: dict[str, Callable[[dict[str, Any], Describe], str]] = {
    "InvalidMemberAddress": lambda a, d: f"{a['account']} is not a valid member address",
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
    "PartListMismatch": lambda a, d: f"{a['amounts']} amounts were given for {a['receivers']} receivers",
    "PartNotLessThanFace": lambda a, d: (
        f"a part of {_money(a['amount'])} is not less than the face value {_money(a['faceValue'])} "
        f"of certificate {a['id']}; transfer it whole instead"
    ),
    "HopLimitExceeded": lambda a, d: (
        f"passing certificate {a['id']} on would make hop {a['hops']}, beyond the limit of {a['maxHops']}"
    ),
    "LedgerPaused": lambda a, d: "the ledger is paused by the operator",
    "LedgerNotPaused": lambda a, d: "the ledger is not paused",
    "AccessControlUnauthorizedAccount": lambda a, d: f"{d(a['account'])} is not the consortium operator",
    "ERC721NonexistentToken": lambda a, d: f"certificate {a['tokenId']} has no holder",
    "ERC721IncorrectOwner": lambda a, d: f"{d(a['sender'])} does not hold certificate {a['tokenId']}",
    "ERC721InsufficientApproval": lambda a, d: (
        f"{d(a['operator'])} may not move certificate {a['tokenId']}"
    ),
    "ERC721InvalidReceiver": lambda a, d: f"{a['receiver']} cannot receive certificates",
    "ERC721InvalidSender": lambda a, d: f"{a['sender']} cannot send certificates",
}


def _error_class(name: str) -> type[LedgerError]:
    return type(name, (LedgerError,), {"error_name": name, "__doc__": f"The ledger's ``{name}`` revert."})


ERROR_CLASSES: dict[str, type[LedgerError]] = {name: _error_class(name) for name in _TEMPLATES}

InvalidMemberAddress = ERROR_CLASSES["InvalidMemberAddress"]
MemberAlreadyRegistered = ERROR_CLASSES["MemberAlreadyRegistered"]
NotAMember = ERROR_CLASSES["NotAMember"]
MemberIsFrozen = ERROR_CLASSES["MemberIsFrozen"]
WrongMemberRole = ERROR_CLASSES["WrongMemberRole"]
ReceiverNotEligible = ERROR_CLASSES["ReceiverNotEligible"]
CreditLineExceeded = ERROR_CLASSES["CreditLineExceeded"]
ZeroFaceValue = ERROR_CLASSES["ZeroFaceValue"]
MaturityInPast = ERROR_CLASSES["MaturityInPast"]
MaturityTooFar = ERROR_CLASSES["MaturityTooFar"]
DocumentAlreadyUsed = ERROR_CLASSES["DocumentAlreadyUsed"]
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
LedgerPaused = ERROR_CLASSES["LedgerPaused"]
AccessControlUnauthorizedAccount = ERROR_CLASSES["AccessControlUnauthorizedAccount"]


class ErrorDecoder:
    """Turns revert data into the matching :class:`LedgerError`, using the contracts' ABIs."""

    def __init__(self, abis: list[list[dict[str, Any]]]) -> None:
        self._by_selector: dict[bytes, dict[str, Any]] = {}
        for abi in abis:
            for entry in abi:
                if entry.get("type") == "error":
                    self._by_selector[function_abi_to_4byte_selector(entry)] = entry

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
