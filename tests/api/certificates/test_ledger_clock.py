"""One clock everywhere: the gateway dates and counts by the ledger's clock, not its own wall clock.

The chain of this module is moved weeks ahead of the wall clock (as `scf chain advance`
does on a development chain); everything the gateway dates or counts then agrees with
the ledger: the ledger date of `GET /v1/me`, offers' days, obligations, certificates'
times and the times of the gateway's own records.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime

import pytest

from tests.api.financing_harness import DAY, Harness, own_gateway


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with own_gateway(tmp_path_factory.mktemp("clock-gateway")) as harness:
        harness.travel(40 * DAY)
        yield harness


def day_of(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp).date()


def test_the_ledger_date_is_the_chains_not_the_wall_clocks(h: Harness) -> None:
    assert h.today() > int(time.time()) // DAY + 30
    member = h.onboard("supplier")
    me = member.api.get("/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["ledger_date"] == h.date_in(0).isoformat()
    assert h.operator.get("/v1/me").json()["ledger_date"] == h.date_in(0).isoformat()

    h.travel(3 * DAY)
    assert member.api.get("/v1/me").json()["ledger_date"] == h.date_in(0).isoformat()


def test_offers_obligations_and_every_created_at_count_from_the_ledger_date(h: Harness) -> None:
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate = h.issue(core, supplier, "10000.00", days=90)
    today = h.date_in(0)
    assert day_of(certificate["created_at"]) == today

    request = h.request_financing(supplier, certificate["id"])
    assert day_of(request["created_at"]) == today
    offer = h.offer(bank, certificate["id"])
    assert offer["days"] == 90
    assert day_of(offer["created_at"]) == today

    obligations = core.api.get("/v1/obligations").json()
    assert obligations["as_of"] == today.isoformat()
    assert obligations["by_maturity"][0]["due"] is False

    other = h.issue(core, supplier, "500.00", days=30)
    moved = supplier.api.post(
        f"/v1/certificates/{other['id']}/transfer",
        {"to": h.onboard("supplier").address, "amount": "1.00"},
        headers={"Prefer": "respond-async"},
    )
    assert moved.status_code == 202, moved.text
    assert day_of(moved.json()["created_at"]) == today
