"""What an interrupted settlement leaves for its resumption: the obligor's allowance to the desk before it.

A settlement approves the desk for what it pays, on top of the allowance the obligor keeps for
presentment. Noted before the approval is signed, so that a settlement sent again after a crash
approves only what is still missing, not the unpaid part a second time.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from api.store.db import BigInt, StorePart, Upsert, metadata

settlement_allowances = sa.Table(
    "settlement_allowances",
    metadata,
    sa.Column("obligor", sa.Text, primary_key=True),
    sa.Column("root_id", BigInt, primary_key=True),
    sa.Column("standing_allowance", sa.Text, nullable=False),  # a Decimal's text
)

_OF = sa.and_(
    settlement_allowances.c.obligor == sa.bindparam("of_obligor"),
    settlement_allowances.c.root_id == sa.bindparam("of_root"),
)
_KEEP = Upsert(
    settlement_allowances,
    [settlement_allowances.c.obligor, settlement_allowances.c.root_id],
    lambda new: {"standing_allowance": new.standing_allowance},
)


class SettlementAllowances(StorePart):
    def standing_allowance(self, obligor: str, root_id: int) -> Decimal | None:
        """The allowance an interrupted settlement of issuance ``root_id`` found standing, if one was interrupted."""
        rows = self._db.query(
            sa.select(settlement_allowances.c.standing_allowance).where(_OF),
            {"of_obligor": obligor.lower(), "of_root": root_id},
        )
        return Decimal(rows[0].standing_allowance) if rows else None

    def keep_standing_allowance(self, obligor: str, root_id: int, standing: Decimal) -> None:
        with self._db.transaction() as db:
            db.execute(
                _KEEP.on(db), {"obligor": obligor.lower(), "root_id": root_id, "standing_allowance": f"{standing:.2f}"}
            )

    def forget_standing_allowance(self, obligor: str, root_id: int) -> None:
        """Once every payable certificate is paid: nothing of the approval is left over."""
        with self._db.transaction() as db:
            db.execute(settlement_allowances.delete().where(_OF), {"of_obligor": obligor.lower(), "of_root": root_id})
