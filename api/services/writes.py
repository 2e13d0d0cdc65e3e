"""Running a ledger write for a caller: wait for it (the default) or hand back an operation.

By default a write waits for its receipt and for the index to reach its block, so the
caller reads its own write. With ``Prefer: respond-async`` it answers 202 at once with
an operation to poll at ``/v1/operations/{id}``.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from eth_account.signers.local import LocalAccount
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.gateway import Caller, Gateway
from api.render.problems import Problem, chain_unavailable, from_library_error
from api.schemas import CertificateOut, CertificateStatus, OperationOut, OperationStatus, WriteResult
from api.services import rollback
from api.store import IDEMPOTENCY_SCOPE_KEY, SHOWN_ONCE_FIELD, Operation, recording_operation, without_secrets
from scf_chain.chain.nodes import halted_for
from scf_chain.domain.errors import ChainUnavailable, DatabaseUnavailable, ScfError
from scf_chain.domain.types import Role, TxResult
from scf_chain.index.indexer import CertificateRecord

log = logging.getLogger(__name__)

# A write returns what it touched: its transaction and the ids of the certificates to show.
ActionResult = tuple[TxResult, Sequence[int]]
Action = Callable[[], ActionResult]


def signer_for(gateway: Gateway, caller: Caller) -> LocalAccount:
    if caller.role is Role.OPERATOR:
        return gateway.runtime.operator
    return gateway.runtime.keystore.account(caller.address)


def certificate_out(gateway: Gateway, record: CertificateRecord) -> CertificateOut:
    return CertificateOut(
        id=record.id,
        root_id=record.root_id,
        parent_id=record.parent_id,
        obligor=record.obligor,
        holder=record.holder,
        amount=record.face_value,
        maturity_date=record.maturity_date,
        hops=record.hops,
        document_hash=record.document_hash,
        status=CertificateStatus(record.status),
        frozen=record.frozen,
        child_ids=list(record.child_ids),
        tx_hash=record.created_tx,
        created_at=record.created_at,
        invoice_number=gateway.store.invoice_number(record.root_id),
    )


def operation_out(operation: Operation) -> OperationOut:
    return OperationOut(
        id=operation.id,
        kind=operation.kind,
        status=OperationStatus(operation.status),
        result=operation.result,
        problem=operation.problem,
        tx_hashes=list(operation.tx_hashes),
        created_at=datetime.fromtimestamp(operation.created_at, UTC),
        updated_at=datetime.fromtimestamp(operation.updated_at, UTC),
    )


def _written(gateway: Gateway, result: TxResult, certificate_ids: Sequence[int]) -> WriteResult:
    indexed_block = gateway.wait_indexed(result.block_number)
    certificates = []
    for certificate_id in certificate_ids:
        record = gateway.index.certificate(certificate_id)
        if record is not None:
            certificates.append(certificate_out(gateway, record))
    return WriteResult(
        tx_hash=result.tx_hash,
        block_number=result.block_number,
        certificates=certificates,
        indexed_block=indexed_block,
    )


def wants_async(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(token.strip().lower() == "respond-async" for token in prefer.split(","))


Report = Callable[[BaseModel], None]
"""Reports a write's progress: the result so far, while it is ``mined`` but not finished."""
BodyAction = Callable[[Report], BaseModel]

# Every write's answer names its operation, where its transactions are recorded.
OPERATION_HEADER = "Operation-Location"
# Set on a request whose transactions were signed but whose outcome it could not wait for: its
# idempotency record is then settled with the operation, from the chain, rather than kept as answered.
OUTCOME_UNKNOWN_SCOPE_KEY = "scf.outcome_unknown"

# Writes that may send several transactions. After a restart, that each of their transactions was mined does
# not tell whether the workflow finished; the others are one transaction each, and their receipt settles them.
WORKFLOW_KINDS = frozenset({"settlement", "accept_offer", "mark_overdue"})


def _shown_once(body: BaseModel) -> tuple[str, ...]:
    return (SHOWN_ONCE_FIELD,) if getattr(body, SHOWN_ONCE_FIELD, None) is not None else ()


def respond(
    gateway: Gateway, caller: Caller, request: Request, kind: str, action: BodyAction, *, status_code: int = 200
) -> JSONResponse:
    """The one way a ledger write runs: behind an operation, waited for or in the background.

    The operation is recorded first; every transaction the action signs is recorded against it in the
    journal's own database transaction, before it is broadcast. By default the write runs now and answers
    its body; with ``Prefer: respond-async`` it answers 202 and the operation, and runs in the background.
    """
    halted = halted_for(gateway.runtime.w3)
    if halted is not None:  # before anything is signed: it could not be mined, and would wait out the timeout
        raise ChainUnavailable(f"the network has produced no block for {halted:.0f} s")
    if not gateway.chain_checked.is_set():
        rollback.repair(gateway)  # the chain stopped answering since the last check: it may have come back shorter
    operation = gateway.store.create_operation(caller.address, kind)
    location = f"/v1/operations/{operation.id}"
    claimed = request.scope.get(IDEMPOTENCY_SCOPE_KEY)
    if claimed is not None:  # before any transaction: after a crash, the record is settled with the operation
        member, key = claimed
        gateway.store.attach_operation(member, key, operation.id, 202 if wants_async(request) else status_code)

    def report(partial: BaseModel) -> None:
        gateway.store.update_operation(operation.id, "mined", result=jsonable_encoder(partial))

    def fail(problem: Problem) -> None:
        gateway.store.update_operation(operation.id, "failed", problem=problem.body())

    def run() -> BaseModel:
        try:
            return attempt()
        except DatabaseUnavailable:
            # Whether it signed anything cannot be read now, and what it signed may be on its way: the operation
            # and its record are settled from the chain once the database answers (nothing sent: released).
            request.scope[OUTCOME_UNKNOWN_SCOPE_KEY] = True
            gateway.leave_unsettled(operation.id)
            raise

    def attempt() -> BaseModel:
        with recording_operation(operation.id):
            try:
                body = action(report)
            except ChainUnavailable:
                gateway.chain_checked.clear()
                signed = gateway.store.operation(operation.id)
                if signed is None or not signed.tx_hashes:
                    fail(chain_unavailable())
                    raise
                # Its transactions are journalled and may yet be mined: settled from the chain once it answers.
                request.scope[OUTCOME_UNKNOWN_SCOPE_KEY] = True
                gateway.leave_unsettled(operation.id)
                raise
            except DatabaseUnavailable:
                raise  # not failed on the operation, which run() leaves to be settled from the chain
            except ScfError as exc:
                fail(from_library_error(exc))
                raise
            except Problem as exc:
                fail(exc)
                raise
            except Exception:
                fail(Problem(500, "internal_error", "The operation failed on our side; see its progress."))
                raise
        # An operation is kept in the gateway's database, which never holds an API key the answer shows once.
        kept = json.loads(without_secrets(json.dumps(jsonable_encoder(body)).encode(), _shown_once(body)))
        gateway.store.update_operation(operation.id, "confirmed", result=kept)
        return body

    if not wants_async(request):
        body = run()
        return JSONResponse(jsonable_encoder(body), status_code=status_code, headers={OPERATION_HEADER: location})

    def in_background() -> None:
        try:
            run()
        except (ScfError, Problem):
            pass  # recorded on the operation
        except Exception:
            log.exception("operation %s failed unexpectedly", operation.id)

    gateway.operations.submit(contextvars.copy_context().run, in_background)  # with the request's ledger clock
    return JSONResponse(
        jsonable_encoder(operation_out(operation)),
        status_code=202,
        headers={"Location": location, OPERATION_HEADER: location},
    )


def perform(
    gateway: Gateway, caller: Caller, request: Request, kind: str, action: Action, *, creates: bool
) -> JSONResponse:
    """Runs a write of one transaction that answers with the certificates it touched."""

    def write(report: Report) -> WriteResult:
        result, certificate_ids = action()
        report(
            WriteResult(
                tx_hash=result.tx_hash,
                block_number=result.block_number,
                certificates=[],
                indexed_block=gateway.index.indexed_block,
            )
        )
        return _written(gateway, result, certificate_ids)

    return respond(gateway, caller, request, kind, write, status_code=201 if creates else 200)
