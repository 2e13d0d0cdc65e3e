"""Members, their API keys and credit lines."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.certificates import WriteResult
from api.schemas.enums import MemberStatus, Role
from api.schemas.fields import Address, Input, Limit, Money
from scf_chain.domain.money import CURRENCY


class MemberCreate(Input):
    name: str = Field(min_length=1, max_length=200, examples=["Huaxia Motors Co., Ltd."])
    role: Role
    address: Address | None = Field(
        default=None, description="An address whose key the member keeps; leave out to have the gateway keep one."
    )

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Tier 1 Parts Ltd.", "role": "supplier"}]}
    )

    @field_validator("role")
    @classmethod
    def _a_member_role(cls, role: Role) -> Role:
        if role is Role.OPERATOR:
            raise ValueError("the operator is no member: a member is a core_enterprise, supplier, financier or auditor")
        return role


class CreditLimitUpdate(Input):
    limit: Limit

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"limit": "2000000.00"}]})


class MemberOut(BaseModel):
    address: str
    name: str
    role: Role
    status: MemberStatus


class MeOut(MemberOut):
    ledger_date: date = Field(
        description="Today (UTC) by the ledger's clock, YYYY-MM-DD: the date maturities, offers and grace count from."
    )


API_KEY_SHOWN_ONCE = (
    "Shown in this response only; the gateway keeps its hash. null in a replay under the same Idempotency-Key."
)
REPLAY_NOTE = "Set in a replay only: says that the API key was shown once and is not kept."


class MemberCreated(MemberOut):
    api_key: str | None = Field(description=API_KEY_SHOWN_ONCE)
    note: str | None = Field(default=None, description=REPLAY_NOTE)


class ApiKeyOut(BaseModel):
    member: str
    api_key: str | None = Field(description=API_KEY_SHOWN_ONCE)
    note: str | None = Field(default=None, description=REPLAY_NOTE)


class CreditLineOut(BaseModel):
    obligor: str
    limit: Money
    outstanding: Money
    available: Money
    currency: str = CURRENCY


class MemberWriteResult(WriteResult):
    """A change to a member (freeze, unfreeze): the transaction and the member as it now is."""

    member: MemberOut
