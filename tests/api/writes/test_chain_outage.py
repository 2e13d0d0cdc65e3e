"""A chain that is down is a 503 with Retry-After, and the gateway recovers when it is back."""

from tests.api.conftest import maturity_in, new_document_hash, new_invoice_number


def test_chain_down_is_503_with_retry_after_then_recovers(issued, gateway):
    core, supplier, certificate = issued()
    gateway.chain.stop()
    try:
        body = {
            "to": supplier.address,
            "amount": "1.00",
            "maturity_date": maturity_in(),
            "document_hash": new_document_hash(),
            "invoice_number": new_invoice_number(),
        }
        write = core.api.post("/v1/certificates", body)
        assert write.status_code == 503, write.text
        assert write.json()["code"] == "chain_unavailable"
        assert int(write.headers["retry-after"]) > 0
        ready = core.api.get("/readyz")
        assert ready.status_code == 503
    finally:
        gateway.chain.start()
    ready_again = core.api.get("/readyz")
    assert ready_again.status_code == 200, ready_again.text
    assert supplier.api.get(f"/v1/certificates/{certificate['id']}").json()["status"] == "active"
    again = {
        "to": supplier.address,
        "amount": "1.00",
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }
    assert core.api.post("/v1/certificates", again).status_code == 201
