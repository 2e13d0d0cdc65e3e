"""Provenance of a certificate (JSON, CSV or SVG) and its verification against the chain."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CertificateId, CurrentCaller, GatewayDep, requested_lookup, visible_provenance
from api.render.responses import problem_responses
from api.schemas import Mismatch, ProvenanceOut, VerificationOut, VerifiedNode
from api.services.provenance import load, to_csv, to_json, to_svg
from api.services.verification import FIELDS, compare, read_chain

router = APIRouter(prefix="/v1/certificates", tags=["provenance"])

PROVENANCE_DESCRIPTION = """
Where the certificate came from and what became of it: the issuance it belongs to
(obligor, anchored document hash, invoice number, face value, maturity), the `path`
of certificates from the root issuance down to it, and its `tree`: every certificate
split from it, nested under `children`, with holder names from the member registry.

`totals` sums the live leaves of the tree shown by status; `leaves_sum` is every leaf
that is not cancelled, and `conserved` says whether those leaves add up to this
certificate's face value (and every split's parts to their parent), checked over the
whole tree.

Who sees what: the operator and auditors see everything; an obligor sees the whole tree
of its own issuances. Another member sees the certificates it holds or held (a
financier also those it was asked to finance), the path from the root to them and
everything below them. Asked about a certificate above those, it gets the tree only as
far as it leads to them: `partial` is true, nodes carry `hidden_children`, and
`totals.hidden` is the face value left out. Anything else is 404, as for an unknown id.

`format=csv` gives one row per certificate (the path, then the tree depth first);
`format=svg` a picture of the tree, coloured by status. Both carry the indexed block in
the `X-Indexed-Block` header.
"""


@router.get(
    "/{certificate_id}/provenance",
    summary="Provenance of a certificate: its path and its tree",
    description=PROVENANCE_DESCRIPTION,
    response_model=ProvenanceOut,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "image/svg+xml": {"schema": {"type": "string"}},
            }
        },
        **problem_responses(401, 404, 422),
    },
)
def get_provenance(
    certificate_id: CertificateId,
    caller: CurrentCaller,
    gateway: GatewayDep,
    format: Annotated[Literal["json", "csv", "svg"], Query(description="json (default), csv or svg")] = "json",
) -> Response:
    provenance = visible_provenance(gateway, caller, certificate_id)
    headers = {"X-Indexed-Block": str(provenance.indexed_block)}
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="provenance-{certificate_id}.csv"'
        return Response(to_csv(provenance), media_type="text/csv; charset=utf-8", headers=headers)
    if format == "svg":
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Content-Security-Policy"] = "default-src 'none'"
        return Response(to_svg(provenance), media_type="image/svg+xml", headers=headers)
    invoice_number = gateway.store.invoice_number(provenance.root.id)
    return Response(to_json(provenance, invoice_number), media_type="application/json", headers=headers)


@router.get(
    "/{certificate_id}/verify",
    summary="Verify a certificate's provenance against the chain",
    description="Reads every certificate of the provenance you may see (the path and the tree) straight from the "
    "ledger contract, at one block: the index's `indexed_block`, so that both describe the same moment. Each is "
    "compared field by field with what the index shows (" + ", ".join(f"`{f}`" for f in FIELDS) + "); `verified` "
    "is true when every one matches. Same visibility as the provenance.",
    response_model=VerificationOut,
    responses=problem_responses(401, 404, 422, 503),
)
def verify_provenance(certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep) -> VerificationOut:
    with gateway.index.snapshot() as snapshot:
        # Not from the cache: what the index holds now, every field of every certificate shown, is on trial.
        provenance = load(snapshot, caller, certificate_id, requested=requested_lookup(gateway, caller))
        shown = {node.id for node in provenance.nodes}
        nodes = {node.id: node for node in provenance.path}
        nodes.update({row.id: row for row in snapshot.subtree(provenance.target) if row.id in shown})
    block = provenance.indexed_block
    on_chain = read_chain(gateway.runtime.ledger, sorted(nodes), block)
    report = []
    for node_id in sorted(nodes):
        mismatches = compare(nodes[node_id], on_chain[node_id])
        report.append(VerifiedNode(id=node_id, matches=not mismatches, mismatches=[Mismatch(**m) for m in mismatches]))
    return VerificationOut(
        certificate_id=certificate_id,
        block_number=block,
        indexed_block=block,
        verified=all(node.matches for node in report),
        fields=list(FIELDS),
        nodes=report,
    )
