from decimal import Decimal

import pytest

from scf_chain.domain import ledger_errors
from tests.conftest import new_invoice_number


def test_issue_accept_and_pay_a_part(consortium, new_document, maturity):
    ledger, core, (tier1, tier2, *_) = consortium.ledger, consortium.core, consortium.suppliers
    issued = ledger.issue(
        core, tier1.address, Decimal("1000.00"), maturity, new_document(), invoice_number=new_invoice_number()
    )
    ledger.accept(tier1, issued.certificate_id)
    remainder_id, part_id = ledger.transfer_part(tier1, issued.certificate_id, tier2.address, "250.00").certificate_ids
    assert ledger.certificate(part_id).holder == tier2.address
    assert ledger.certificate(remainder_id).face_value == Decimal("750.00")
    assert sum(c.face_value for c in ledger.holdings(issued.certificate_id)) == Decimal("1000.00")


def test_over_limit_issue_is_refused_with_a_plain_message(consortium, new_document, maturity):
    ledger = consortium.ledger
    with pytest.raises(ledger_errors.CreditLineExceeded) as error:
        ledger.issue(
            consortium.core,
            consortium.suppliers[0].address,
            Decimal("2000000.01"),
            maturity,
            new_document(),
            invoice_number=new_invoice_number(),
        )
    assert "Acme Motors" in str(error.value)
    assert ledger.credit_line(consortium.core.address).outstanding == Decimal("0.00")
