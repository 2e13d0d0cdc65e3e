"""Reverts decode into one stable exception class per error name, with a plain message."""

import pytest
from eth_abi import encode
from eth_utils import function_abi_to_4byte_selector

from scf_chain.domain import ledger_errors
from scf_chain.domain.errors import TransactionFailed

SAMPLE_VALUES = {"address": "0x" + "00" * 19 + "01", "bool": True, "string": "x", "bytes32": b"\x01" * 32}


def sample(abi_type: str):
    return SAMPLE_VALUES.get(abi_type, 1)  # every other type here is an unsigned integer


def test_every_error_of_the_ledger_decodes_to_its_own_class(h):
    errors = [entry for entry in h.contract.abi if entry["type"] == "error"]
    assert len(errors) > 30
    for entry in errors:
        types = [item["type"] for item in entry["inputs"]]
        data = function_abi_to_4byte_selector(entry) + encode(types, [sample(t) for t in types])
        first, second = h.ledger.decode_revert(data), h.ledger.decode_revert(data)
        expected = ledger_errors.ERROR_CLASSES[entry["name"]]
        assert type(first) is expected and type(second) is expected, entry["name"]
        assert isinstance(first, ledger_errors.LedgerError)
        assert first.error_name == entry["name"]
        assert str(first).startswith(entry["name"] + ": ")
        assert set(first.fields) == {item["name"] for item in entry["inputs"]}


def test_unknown_revert_data_is_a_plain_transaction_failure(h):
    assert isinstance(h.ledger.decode_revert(None), TransactionFailed)
    assert isinstance(h.ledger.decode_revert(b"\xde\xad\xbe\xef"), TransactionFailed)


def test_an_error_without_a_template_can_still_be_caught_by_class(h):
    root = h.issue()
    invalid_approver = ledger_errors.ERROR_CLASSES["ERC721InvalidApprover"]
    with h.unchanged(), pytest.raises(invalid_approver) as error:
        h.send(h.t2, "approve", h.t2.address, root)
    assert error.value.fields == {"approver": h.t2.address}
    with pytest.raises(ledger_errors.ERROR_CLASSES["ERC721InvalidOwner"]):
        h.call("balanceOf", "0x" + "00" * 20)


def test_error_codes_are_snake_case_names():
    assert ledger_errors.CreditLineExceeded("x").code == "credit_line_exceeded"
    assert ledger_errors.AccessControlUnauthorizedAccount("x").code == "access_control_unauthorized_account"
