"""Early-warning risk signals: an obligor's exposure, and every breach now open (api.services.risk)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import CurrentCaller, GatewayDep
from api.render.responses import problem_responses
from api.schemas.risk import (
    AlertOut,
    AlertPage,
    AlertSubjectOut,
    InventoryPositionOut,
    LargestHolder,
    Maturing,
    ObligorRiskOut,
)
from api.services.risk import Alert, AlertCode, ObligorRisk, load_obligor, open_alerts
from scf_chain.domain.money import from_minor_units

router = APIRouter(prefix="/v1/risk", tags=["risk"])

ObligorAddress = Annotated[str, Path(description="The core enterprise's address.")]


def _obligor_out(risk: ObligorRisk) -> ObligorRiskOut:
    holder = risk.largest_holder
    return ObligorRiskOut(
        obligor=risk.address,
        name=risk.name,
        credit_limit=from_minor_units(risk.limit_minor),
        outstanding=from_minor_units(risk.outstanding_minor),
        credit_line_use=risk.credit_line_use,
        credit_line_high_since=risk.high_since,
        overdue_amount=from_minor_units(risk.overdue_minor),
        overdue_count=len(risk.overdue),
        overdue_certificate_ids=[item.record.id for item in risk.overdue],
        largest_holder=None
        if holder is None
        else LargestHolder(
            address=holder.address, name=holder.name, amount=from_minor_units(holder.amount_minor), share=holder.share
        ),
        deepest_tier=risk.deepest_tier,
        maturing=[Maturing(days=days, amount=from_minor_units(amount)) for days, amount in risk.maturing_minor.items()],
        inventory=[
            InventoryPositionOut(
                kind=p.kind, id=p.id, outstanding=from_minor_units(p.outstanding_minor), loan_to_value=p.loan_to_value
            )
            for p in risk.inventory
        ],
        as_of=risk.today,
        indexed_block=risk.indexed_block,
    )


def _alert_out(alert: Alert) -> AlertOut:
    subject = alert.subject
    return AlertOut(
        code=alert.code,
        subject=AlertSubjectOut(kind=subject.kind, id=subject.id, address=subject.address),
        message=alert.message,
        opened_at=alert.opened_at,
        amount=from_minor_units(alert.amount_minor),
    )


@router.get(
    "/obligors/{address}",
    summary="Read an obligor's risk figures",
    description="Credit-line use, overdue amount and count, the largest holder's share, the deepest tier reached "
    "and the amounts maturing in the next 7, 30 and 90 days, from the event index. The operator, auditors, the "
    "obligor itself and financiers with exposure to it (they hold or financed one of its certificates) see them; "
    "anyone else gets the 404 of a missing obligor.",
    response_model=ObligorRiskOut,
    responses=problem_responses(401, 404, 422, 503),
)
def get_obligor_risk(address: ObligorAddress, caller: CurrentCaller, gateway: GatewayDep) -> ObligorRiskOut:
    return _obligor_out(load_obligor(gateway, caller, address))


@router.get(
    "/alerts",
    summary="List the open risk alerts",
    description="Every breach now open that the caller may see, oldest first: credit-line use above 90% "
    "(`credit_line_high`), a certificate unpaid past maturity and grace (`certificate_overdue`), a frozen member "
    "holding certificates (`frozen_member_holding`). An obligor sees its own, a financier those of the obligors "
    "it has exposure to, a holder its certificates'; auditors and the operator see all.",
    response_model=AlertPage,
    responses=problem_responses(401, 422, 503),
)
def list_alerts(
    caller: CurrentCaller,
    gateway: GatewayDep,
    code: Annotated[AlertCode | None, Query(description="Only the alerts with this code.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**40 - 1)] = 0,
) -> AlertPage:
    alerts = open_alerts(gateway, caller, code=code, limit=limit, offset=offset)
    return AlertPage(
        items=[_alert_out(alert) for alert in alerts.items],
        total=alerts.total,
        limit=limit,
        offset=offset,
        indexed_block=alerts.indexed_block,
    )
