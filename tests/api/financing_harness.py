"""A gateway on a chain of its own, for financing and settlement tests that move the chain's clock.

The session gateway's chain is shared and never reverted, so moving its time forward
would break later tests that date maturities by the wall clock. The modules that
travel in time start their own Anvil chain and gateway here, move the chain to noon
UTC of its next day (so that "today" cannot roll over mid-test), and date every
maturity from the chain's latest block, never from the wall clock.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3

from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from scf_chain.domain.money import from_day
from tests.api.conftest import Api, ApiMember, GatewayProcess, new_document_hash, new_invoice_number

DAY = 86_400
_names = itertools.count()


class Harness:
    """Members, money, certificates and the chain's clock, through the gateway's HTTP API."""

    def __init__(self, gateway: GatewayProcess, rpc_url: str, operator_key: str) -> None:
        self.gateway = gateway
        self.operator = Api(gateway.base_url, operator_key)
        self.w3 = Web3(Web3.HTTPProvider(rpc_url))

    # Chain time

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def today(self) -> int:
        """The chain's day, as the contracts see it: days since 1970-01-01 UTC."""
        return self.now() // DAY

    def date_in(self, days: int) -> date:
        return from_day(self.today() + days)

    def travel(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def travel_to(self, day: int, hour: int = 12) -> None:
        """Moves the chain to ``hour`` o'clock UTC on ``day``."""
        target = day * DAY + hour * 3600
        assert target > self.now(), "the chain only moves forward"
        self.travel(target - self.now())

    # Members and money

    def onboard(self, role: str, name: str | None = None) -> ApiMember:
        name = name or f"{role.replace('_', ' ').title()} F{next(_names)}"
        response = self.operator.post("/v1/members", {"name": name, "role": role})
        assert response.status_code == 201, response.text
        body = response.json()
        return ApiMember(body["address"], name, role, Api(self.gateway.base_url, body["api_key"]))

    def core(self, limit: str = "50000000.00") -> ApiMember:
        core = self.onboard("core_enterprise")
        response = self.operator.put(f"/v1/credit-lines/{core.address}", {"limit": limit})
        assert response.status_code == 200, response.text
        return core

    def deposit(self, member: ApiMember, amount: str | Decimal) -> None:
        response = self.operator.post("/v1/deposits", {"member": member.address, "amount": f"{Decimal(amount):.2f}"})
        assert response.status_code == 201, response.text

    def balance(self, member: ApiMember) -> Decimal:
        response = member.api.get("/v1/balances")
        assert response.status_code == 200, response.text
        return Decimal(response.json()["balance"])

    def allowance(self, member: ApiMember) -> Decimal:
        return Decimal(member.api.get("/v1/balances").json()["allowance"])

    # Certificates

    def issue(self, core: ApiMember, holder: ApiMember, amount: str = "100000.00", *, days: int = 90) -> dict[str, Any]:
        """Issues a certificate from ``core`` to ``holder``, maturing ``days`` after the chain's today, accepted."""
        response = core.api.post(
            "/v1/certificates",
            {
                "to": holder.address,
                "amount": amount,
                "maturity_date": self.date_in(days).isoformat(),
                "document_hash": new_document_hash(),
                "invoice_number": new_invoice_number(),
            },
        )
        assert response.status_code == 201, response.text
        certificate_id = response.json()["certificates"][0]["id"]
        accepted = holder.api.post(f"/v1/certificates/{certificate_id}/accept")
        assert accepted.status_code == 200, accepted.text
        certificate: dict[str, Any] = accepted.json()["certificates"][0]
        return certificate

    def certificate(self, member: ApiMember, certificate_id: int) -> dict[str, Any]:
        response = member.api.get(f"/v1/certificates/{certificate_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # Financing

    def request_financing(self, holder: ApiMember, certificate_id: int, **body: Any) -> dict[str, Any]:
        response = holder.api.post(f"/v1/certificates/{certificate_id}/financing-requests", body or None)
        assert response.status_code == 201, response.text
        request: dict[str, Any] = response.json()
        return request

    def offer(
        self,
        financier: ApiMember,
        certificate_id: int,
        *,
        rate: str = "0.0385",
        day_count: int = 365,
        expires_in: int = 3600,
        recourse: bool = False,
    ) -> dict[str, Any]:
        response = financier.api.post(
            "/v1/offers", self.offer_body(certificate_id, rate, day_count, expires_in, recourse)
        )
        assert response.status_code == 201, response.text
        offer: dict[str, Any] = response.json()
        return offer

    def offer_body(
        self,
        certificate_id: int,
        rate: str = "0.0385",
        day_count: int = 365,
        expires_in: int = 3600,
        recourse: bool = False,
    ) -> dict[str, Any]:
        expires_at = datetime.fromtimestamp(self.now() + expires_in, UTC).isoformat()
        return {
            "certificate_id": certificate_id,
            "annual_rate": rate,
            "day_count": day_count,
            "expires_at": expires_at,
            "recourse": recourse,
        }

    def finance(
        self, holder: ApiMember, financier: ApiMember, certificate_id: int, *, recourse: bool = False, **request: Any
    ) -> dict[str, Any]:
        """The whole flow: request, offer, fund the financier, accept. Returns the acceptance."""
        self.request_financing(holder, certificate_id, **request)
        offer = self.offer(financier, certificate_id, recourse=recourse)
        self.deposit(financier, offer["price"])
        accepted = holder.api.post(f"/v1/offers/{offer['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        result: dict[str, Any] = accepted.json()
        return result


@contextmanager
def gateway_on(
    data_dir: Path, chain: LocalChain, rpc_url: str, *, database_url: str | None = None, **settings: str
) -> Iterator[tuple[GatewayProcess, str]]:
    """A gateway process in ``data_dir`` on ``chain`` (reached at ``rpc_url``), and the operator's API key.

    ``database_url``: a PostgreSQL database for it, whatever the run's ``--database``. ``settings`` are more
    ``SCF_`` variables for the gateway, over the defaults here. The chain is the caller's to stop.
    """
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_URL": rpc_url,
        "SCF_DEV_MODE": "true",
        "SCF_RATE_LIMIT_PER_MINUTE": "100000",
        "SCF_RATE_LIMIT_BURST": "10000",
        # The tests mark overdue themselves; the background marking is tested where it is switched on.
        "SCF_OVERDUE_INTERVAL_S": "0",
        **{f"SCF_{name}": value for name, value in settings.items()},
    }
    database = {"database_url": database_url} if database_url else {}  # else the run's database
    process = GatewayProcess(f"http://127.0.0.1:{free_port()}", data_dir, chain, env, **database)
    try:
        process.start()
        store = process.open_store()
        try:
            operator_key = store.create_api_key(anvil_account(0).address)
        finally:
            store.close()
        yield process, operator_key
    finally:
        process.stop()


@contextmanager
def own_gateway(data_dir: Path, *, database_url: str | None = None, **settings: str) -> Iterator[Harness]:
    """A chain and a gateway of their own in ``data_dir``, the chain moved to noon UTC of its next day.

    ``database_url`` and ``settings`` as :func:`gateway_on` takes them (``OVERDUE_INTERVAL_S="1"``).
    """
    chain = LocalChain(data_dir / "chain", port=free_port())
    record = chain.start()
    try:
        with gateway_on(data_dir, chain, record.url, database_url=database_url, **settings) as (process, operator_key):
            harness = Harness(process, record.url, operator_key)
            harness.travel_to(harness.today() + 1)
            assert httpx.get(f"{process.base_url}/readyz").status_code == 200
            yield harness
    finally:
        chain.stop()
