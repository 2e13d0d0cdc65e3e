"""``scf settle``: an obligor pays every unpaid certificate of an issuance, from its maturity day.

It runs the settlement saga of :mod:`scf_chain.client.settlement`, which the gateway runs too.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scf_chain.cli.common import Directory, console, money, open_runtime, tx
from scf_chain.domain.errors import ScfError


class NotAnIssuance(ScfError):
    """A settlement names an issuance by its first certificate."""


def settle(
    root_id: Annotated[int, typer.Argument(help="The issuance: the id of its first certificate.", min=1)],
    as_: Annotated[
        str | None, typer.Option("--as", help="The paying obligor (name or address); by default the issuance's.")
    ] = None,
) -> None:
    """Pay every unpaid certificate of an issuance its face value, from its maturity day, as the obligor.

    Certificates are paid to whoever holds them, in batches of the settlement desk's size;
    the desk is first approved for exactly the total. Frozen certificates, and those held by
    a frozen member, wait until they are unfrozen; settling again pays only what is left.
    """
    from scf_chain.client.settlement import IssuanceSettlement, plan_settlement, settle_issuance

    runtime = open_runtime()
    directory = Directory(runtime)
    ledger = runtime.ledger
    root = ledger.certificate(root_id)
    if root.root_id != root.id:
        raise NotAnIssuance(
            f"certificate {root.id} is part of issuance {root.root_id}; settle it with `scf settle {root.root_id}`"
        )
    signer = directory.signer(as_ or root.obligor)
    frozen = {member.address for member in ledger.members() if member.frozen}
    plan = plan_settlement(root.id, ledger.unsettled(root.id), frozen)
    output = console()

    def progress(so_far: IssuanceSettlement) -> None:
        batch = so_far.batches[-1]
        output.print(
            f"paid {len(batch.payments)} certificates, {money(batch.total)}, in batch {len(so_far.batches)} "
            f"({tx(batch)})"
        )
        for certificate_id, holder, amount, late in batch.payments:
            output.print(f"  #{certificate_id} to {directory.name(holder)}: {money(amount)}{' (late)' if late else ''}")

    run = settle_issuance(ledger, signer, plan, on_batch=progress)
    payer = directory.name(signer.address)
    if not run.batches:
        output.print(f"nothing to pay: every certificate of issuance #{root.id} that can be paid is paid")
    else:
        output.print(
            f"{payer} paid {money(run.paid)} for issuance #{root.id} in {len(run.batches)} "
            f"transaction{'s' if len(run.batches) > 1 else ''}; "
            f"settled in all {money(ledger.settled_amount(root.id))} of {money(root.face_value)}"
        )
    if plan.withheld:
        waiting = ", ".join(f"#{i}" for i in plan.withheld)
        output.print(f"waiting, frozen (or held by a frozen member): {waiting}; settle again once unfrozen")


def register(app: typer.Typer) -> None:
    """Adds ``scf settle`` to the command line."""
    app.command("settle")(settle)
