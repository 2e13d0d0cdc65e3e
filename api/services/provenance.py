"""Provenance of a certificate: where it came from, what became of it, and who may see which part.

A certificate's provenance is its path (from the root issuance down to it) and its
tree (every certificate split from it, below it), read from the index in one snapshot.

Visibility keeps suppliers from learning one another's business. The operator and
auditors see everything, and an obligor sees the whole tree of its own issuances.
Any other member sees, in a tree, the certificates it holds or ever held (a financier
also those it was asked to finance), the path from the root to each of them and
everything split from them below: the certificate asked about must be one of those,
and the tree below it is shown only as far as it reaches them, with ``hidden_children``
counting the branches left out on each node. Everyone else gets the same 404 as for an
id that does not exist.

The JSON body of a ten-thousand-certificate tree is several megabytes; it is written
as text straight from the index's rows, with the pieces many certificates share (a
holder, an amount, what one split transaction made) built once, rather than through a
model per node. The whole tree below a certificate, and the text written from it, are
kept in the gateway's :class:`~api.services.provenance_cache.ProvenanceCache` until the tree
changes; a partial view is cut from that whole tree for each caller.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from html import escape
from pathlib import Path

from api.gateway import Caller
from api.render.problems import not_found
from api.services.provenance_cache import ProvenanceCache
from scf_chain.domain.money import CURRENCY, from_day
from scf_chain.domain.types import CertificateStatus
from scf_chain.index.queries import Snapshot
from scf_chain.index.records import CertificateRecord

# Statuses whose certificates still carry value (the live leaves), and how totals name them.
LEAF_TOTALS = (
    CertificateStatus.ACTIVE,
    CertificateStatus.FINANCED,
    CertificateStatus.SETTLED,
    CertificateStatus.OVERDUE,
    CertificateStatus.PENDING,
)
CANCELLED = CertificateStatus.CANCELLED


def money(minor: int) -> str:
    """Minor units as a decimal string with two places: 123456 -> "1234.56"."""
    sign = "-" if minor < 0 else ""
    whole, fen = divmod(abs(minor), 100)
    return f"{sign}{whole}.{fen:02d}"


def readable_money(minor: int) -> str:
    """For people: 1234567 -> "12,345.67"."""
    whole, fen = divmod(minor, 100)
    return f"{whole:,}.{fen:02d}"


@lru_cache(maxsize=4096)  # the certificates of one split share their block's time
def iso_time(timestamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


Shown = CertificateRecord
Order = list[tuple[Shown, int]]  # (certificate, depth below the root), depth first, children in id order


@dataclass
class Provenance:
    """What one caller may see of one certificate's provenance, at one indexed block."""

    certificate_id: int
    indexed_block: int
    target: CertificateRecord
    path: list[CertificateRecord]  # root first, ending with the target
    order: Order  # the tree shown: the target first, then depth first
    children: dict[int, list[Shown]]  # shown children by parent id, in id order
    hidden_children: dict[int, int]  # branches left out, by parent id (only for a partial view)
    hidden_minor: int  # the face value of those branches
    conserved: bool  # checked over the whole tree, shown or not
    leaf_sums: dict[str, int]  # face values of the leaves shown, by status
    names: dict[str, str] = field(default_factory=dict)
    rows: list[CertificateRecord] = field(default_factory=list, repr=False)  # the whole tree as read, in id order
    # Text written from this tree that does not depend on the indexed block, by format; the copies made of a
    # cached tree for later reads share it.
    rendered: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> CertificateRecord:
        return self.path[0]

    @property
    def nodes(self) -> list[Shown]:
        return [node for node, _ in self.order]

    @property
    def partial(self) -> bool:
        return bool(self.hidden_children)

    def name(self, address: str | None) -> str:
        return "" if address is None else self.names.get(address, "")

    def totals(self) -> dict[str, str | bool | int]:
        sums = {status: self.leaf_sums.get(status, 0) for status in (*LEAF_TOTALS, CANCELLED)}
        leaves = sum(total for status, total in self.leaf_sums.items() if status != CANCELLED)
        totals: dict[str, str | bool | int] = {"face_value": money(self.target.face_minor)}
        totals.update({status: money(sums[status]) for status in LEAF_TOTALS})
        totals.update(
            {
                "leaves_sum": money(leaves),
                "conserved": self.conserved,
                "node_count": len(self.order),
                "cancelled": money(sums[CANCELLED]),
                "hidden": money(self.hidden_minor),
            }
        )
        return totals


# Who sees what


def visible_ids(
    caller: Caller,
    snapshot: Snapshot,
    target: CertificateRecord,
    candidates: Iterable[int],
    *,
    requested: Callable[[int, int], set[int]] | None,
) -> set[int] | None:
    """The certificates among ``candidates`` that open the tree to ``caller``; None means the whole tree."""
    if caller.sees_everything or caller.address == target.obligor:
        return None
    ids = set(candidates)
    anchors = snapshot.held_among(caller.address, ids)
    if requested is not None and ids:
        anchors |= requested(min(ids), max(ids)) & ids
    return anchors


def _children(rows: list[CertificateRecord], top: int) -> dict[int, list[Shown]]:
    children: dict[int, list[Shown]] = {}
    for node in rows:
        parent = node.parent_id
        if parent is not None and node.id != top:
            kids = children.get(parent)
            if kids is None:
                children[parent] = [node]
            else:
                kids.append(node)
    return children


def _walk(top: Shown, children: dict[int, list[Shown]], depth: int) -> Order:
    """Depth first from ``top`` along the parent links; a row the links do not reach is left out."""
    order: Order = []
    stack = [(top, depth)]
    while stack:
        node, depth = stack.pop()
        order.append((node, depth))
        kids = children.get(node.id)
        if kids:
            below = depth + 1
            stack.extend([(kid, below) for kid in reversed(kids)])
    return order


def _tally(order: Order, children: dict[int, list[Shown]], target: CertificateRecord) -> tuple[dict[str, int], bool]:
    """The leaves' face values by status, and whether value is conserved.

    Conserved: the live leaves (all but cancelled) sum to the target's face value (to nothing for a cancelled
    target), and every split's parts to their parent.
    """
    sums: dict[str, int] = {}
    parts_agree = True
    for node, _ in order:
        kids = children.get(node.id)
        if kids is None:
            sums[node.status] = sums.get(node.status, 0) + node.face_minor
        elif parts_agree and sum([kid.face_minor for kid in kids]) != node.face_minor:
            parts_agree = False
    live = sum(total for status, total in sums.items() if status != CANCELLED)
    return sums, parts_agree and live == (0 if target.status == CANCELLED else target.face_minor)


def load(
    snapshot: Snapshot,
    caller: Caller,
    certificate_id: int,
    *,
    requested: Callable[[int, int], set[int]] | None = None,
    cache: ProvenanceCache | None = None,
) -> Provenance:
    """The provenance ``caller`` may see of ``certificate_id``; 404 if it may see none of it.

    ``requested(low, high)`` gives the certificates with ids in that range that the
    caller (a financier) was asked to finance. The whole tree below the certificate
    may come from (and goes to) ``cache``; a partial view is cut from it.
    """
    target = snapshot.certificate(certificate_id)
    if target is None:
        raise not_found("certificate")
    path = snapshot.path(certificate_id)
    anchors = visible_ids(caller, snapshot, target, (n.id for n in path), requested=requested)
    whole = _whole_tree(snapshot, target, path, cache)
    if anchors is None or anchors:
        return whole
    # Not on the path to anything the caller held, so it must lie above something it held, or nowhere.
    anchors = visible_ids(caller, snapshot, target, (n.id for n, _ in whole.order), requested=requested)
    if not anchors:
        raise not_found("certificate")
    order, children, hidden, hidden_minor = _prune(whole.order, whole.children, anchors)
    leaf_sums, _ = _tally(order, children, target)
    return replace(
        whole,
        order=order,
        children=children,
        hidden_children=hidden,
        hidden_minor=hidden_minor,
        leaf_sums=leaf_sums,
        rendered={},
    )


def _whole_tree(
    snapshot: Snapshot, target: CertificateRecord, path: list[CertificateRecord], cache: ProvenanceCache | None
) -> Provenance:
    """Everything below ``target``: kept in ``cache`` while its version holds, and brought up to date after."""
    indexed_block = snapshot.indexed_block()
    version = None
    rows = None
    if cache is not None:
        version = snapshot.tree_version(path[0].id)
        kept = cache.latest(target.id)
        if kept is not None and kept[0] == version:
            return replace(kept[1], indexed_block=indexed_block)
        if kept is not None and kept[0].generation == version.generation:
            rows = _updated(kept[1].rows, snapshot.changed_since(path[0].id, kept[0].tree_change))
    if rows is None:
        rows = snapshot.subtree(target)
    children = _children(rows, target.id)
    order = _walk(target, children, len(path) - 1)
    leaf_sums, conserved = _tally(order, children, target)
    provenance = Provenance(
        certificate_id=target.id,
        indexed_block=indexed_block,
        target=target,
        path=path,
        order=order,
        children=children,
        hidden_children={},
        hidden_minor=0,
        conserved=conserved,
        leaf_sums=leaf_sums,
        rows=rows,
    )
    # Holders are last holders too (a retired certificate keeps only its last holder).
    addresses = {node.last_holder for node, _ in order}
    addresses.update([provenance.root.obligor, *(node.last_holder for node in path)])
    provenance.names = snapshot.member_names(addresses)
    if version is not None and cache is not None:
        cache.put(target.id, version, provenance)
    return provenance


def _updated(rows: list[CertificateRecord], changed: list[CertificateRecord]) -> list[CertificateRecord]:
    """``rows`` (a tree, in id order) with the issuance's ``changed`` rows that belong to it put in.

    A changed row belongs if it is in the tree already, or was split from one that is: rows
    come in id order, so a parent is placed before its parts. No row ever leaves a tree.
    """
    if not changed:
        return rows
    by_id = {row.id: row for row in rows}
    added = False
    for row in changed:
        if row.id in by_id:
            by_id[row.id] = row
        elif row.parent_id in by_id:
            by_id[row.id] = row
            added = True
    updated = list(by_id.values())  # in insertion order: the old id order, new rows after
    if added:
        updated.sort(key=_row_id)
    return updated


def _row_id(row: CertificateRecord) -> int:
    return row.id


def _prune(
    order: Order, children: dict[int, list[Shown]], anchors: set[int]
) -> tuple[Order, dict[int, list[Shown]], dict[int, int], int]:
    """Keeps the anchors, everything below them, and the paths from the top of ``order`` down to them."""
    top = order[0][0].id
    parent_of = {node.id: node.parent_id for node, _ in order}
    keep: set[int] = set()
    for anchor in anchors:  # up from each anchor to the top
        cursor: int | None = anchor
        while cursor is not None and cursor not in keep and cursor in parent_of:
            keep.add(cursor)
            cursor = None if cursor == top else parent_of[cursor]
    below = set(anchors)
    for node, _ in order:  # depth first: a parent's mark is known before its children's
        if node.id != top and node.parent_id in below:
            below.add(node.id)
    keep |= below
    shown: dict[int, list[Shown]] = {}
    hidden: dict[int, int] = {}
    hidden_minor = 0
    for node, _ in order:
        kids = children.get(node.id)
        if not kids or node.id not in keep:
            continue
        kept = [kid for kid in kids if kid.id in keep]
        if kept:
            shown[node.id] = kept
        if len(kept) < len(kids):
            hidden[node.id] = len(kids) - len(kept)
            hidden_minor += sum(kid.face_minor for kid in kids if kid.id not in keep)
    return [(node, depth) for node, depth in order if node.id in keep], shown, hidden, hidden_minor


# JSON


class _NodeText:
    """JSON text of nodes, with the pieces many nodes share (parties, amounts, what a transaction made) built once."""

    def __init__(self, names: dict[str, str], hidden_children: dict[int, int]) -> None:
        self._names = names
        self._hidden = hidden_children
        self._parties: dict[str | None, str] = {None: "null"}
        self._amounts: dict[int, str] = {}
        self._tails: dict[tuple[str, int, int, str, int, int], str] = {}

    def party(self, address: str) -> str:
        text = self._parties.get(address)
        if text is None:
            name = self._names.get(address, "")
            text = self._parties[address] = json.dumps({"address": address, "name": name}, ensure_ascii=False)
        return text

    def _tail(self, key: tuple[str, int, int, str, int, int]) -> str:
        status, hops, frozen, tx, block, created_at = key
        return (
            f'"status":{json.dumps(status)},"hops":{json.dumps(hops)},"frozen":{"true" if frozen else "false"},'
            f'"tx_hash":{json.dumps(tx)},"block_number":{json.dumps(block)},"created_at":"{iso_time(created_at)}"'
        )

    def nodes(self, order: Iterable[Shown]) -> Iterator[str]:
        """Each node's fields, without the closing brace."""
        parties, amounts, tails, hidden = self._parties, self._amounts, self._tails, self._hidden
        for n in order:
            last = parties.get(n.last_holder) or self.party(n.last_holder)
            holder = last if n.holder == n.last_holder else (parties.get(n.holder) or self.party(str(n.holder)))
            amount = amounts.get(n.face_minor)
            if amount is None:
                amount = amounts[n.face_minor] = f'"{money(n.face_minor)}"'
            key = (n.status, n.hops, n.frozen, n.created_tx, n.created_block, n.created_timestamp)
            tail = tails.get(key)
            if tail is None:
                tail = tails[key] = self._tail(key)
            parent = "null" if n.parent_id is None else n.parent_id
            text = f'{{"id":{n.id},"parent_id":{parent},"holder":{holder},"last_holder":{last},"amount":{amount},{tail}'
            if hidden and n.id in hidden:
                text += f',"hidden_children":{hidden[n.id]}'
            yield text


def to_json(provenance: Provenance, invoice_number: str | None) -> str:
    body = provenance.rendered.get("json")
    if body is None:
        body = provenance.rendered["json"] = _body_json(provenance)
    root = provenance.root
    issuance = {
        "root_id": root.id,
        "obligor": {"address": root.obligor, "name": provenance.name(root.obligor)},
        "document_hash": root.document_hash,
        "invoice_number": invoice_number,
        "amount": money(root.face_minor),
        "currency": CURRENCY,
        "maturity_date": from_day(root.maturity_day).isoformat(),
        "tx_hash": root.created_tx,
        "block_number": root.created_block,
        "issued_at": iso_time(root.created_timestamp),
    }
    return (
        f'{{"certificate_id":{provenance.certificate_id},"indexed_block":{provenance.indexed_block},'
        f'"currency":"{CURRENCY}","partial":{"true" if provenance.partial else "false"},"issuance":'
        f"{json.dumps(issuance, ensure_ascii=False)},{body}"
    )


def _body_json(provenance: Provenance) -> str:
    """``"path":[...],"tree":{...},"totals":{...}}``: the rest of the object after the issuance."""
    text = _NodeText(provenance.names, provenance.hidden_children)
    parts = [
        '"path":[',
        ",".join(opened + "}" for opened in text.nodes(provenance.path)),
        '],"tree":',
    ]
    # The depth-first order nests by depth: a node deeper than the one before is its first child; one no
    # deeper closes the nodes it is not below.
    order = provenance.order
    base = order[0][1]
    previous = base - 1
    for (_, depth), opened in zip(order, text.nodes(node for node, _ in order), strict=True):
        if depth <= previous:
            parts.append("]}" * (previous - depth + 1) + ",")
        parts.append(opened + ',"children":[')
        previous = depth
    parts.append("]}" * (previous - base + 1))
    parts += [',"totals":', json.dumps(provenance.totals()), "}"]
    return "".join(parts)


# CSV

CSV_COLUMNS = (
    "id",
    "parent_id",
    "depth",
    "holder_name",
    "holder_address",
    "amount",
    "status",
    "hops",
    "tx_hash",
    "block_number",
    "created_at",
    "last_holder_name",
    "last_holder_address",
    "frozen",
    "on_path",
    "hidden_children",
)


def _cell(text: str) -> str:
    # A name a spreadsheet would read as a formula is quoted, so that opening the export runs nothing.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(provenance: Provenance) -> str:
    """One row per certificate: the path above the certificate, then its tree depth first."""
    text = provenance.rendered.get("csv")
    if text is None:
        text = provenance.rendered["csv"] = _csv(provenance)
    return text


def _csv(provenance: Provenance) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows: Order = [(node, depth) for depth, node in enumerate(provenance.path[:-1])]
    rows += provenance.order
    path_ids = {node.id for node in provenance.path}
    for node, depth in rows:
        writer.writerow(
            (
                node.id,
                "" if node.parent_id is None else node.parent_id,
                depth,
                _cell(provenance.name(node.holder)),
                node.holder or "",
                money(node.face_minor),
                node.status,
                node.hops,
                node.created_tx,
                node.created_block,
                iso_time(node.created_timestamp),
                _cell(provenance.name(node.last_holder)),
                node.last_holder,
                "true" if node.frozen else "false",
                "true" if node.id in path_ids else "false",
                provenance.hidden_children.get(node.id, ""),
            )
        )
    return out.getvalue()


# SVG

# The explorer's status colours, read from the style sheet that defines them for the page, so that a status
# looks the same in the picture as on the page.
STATUS_STYLE_SHEET = Path(__file__).resolve().parents[1] / "static" / "explorer" / "status.css"
STATUSES = tuple(CertificateStatus)


def _status_colours(style_sheet: str) -> dict[str, tuple[str, str]]:
    """(fill, ink) by status, from the ``--st-<status>`` and ``--st-<status>-bg`` variables."""
    found = dict(re.findall(r"--st-([a-z]+(?:-bg)?)\s*:\s*(#[0-9a-fA-F]{6})\s*;", style_sheet))
    missing = [status for status in STATUSES if status not in found or f"{status}-bg" not in found]
    if missing:
        raise RuntimeError(f"{STATUS_STYLE_SHEET} lacks the colours of {', '.join(missing)}")
    return {status: (found[f"{status}-bg"], found[status]) for status in STATUSES}


STATUS_COLOURS = _status_colours(STATUS_STYLE_SHEET.read_text(encoding="utf-8"))
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 210, 62, 48, 14, 24
LEGEND_H = 54  # the title and the legend above the tree


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_svg(provenance: Provenance) -> str:
    """The path (left) and the tree (growing right), one box per certificate, coloured by status."""
    base = len(provenance.path) - 1
    # Like a file tree turned sideways: a certificate sits level with its first part, its other parts below.
    rows: dict[int, int] = {}
    row, previous = -1, -2
    for node, d in provenance.order:
        if d != previous + 1:
            row += 1
        rows[node.id] = row
        previous = d
    next_row = row + 1
    for ancestor in provenance.path[:-1]:
        rows[ancestor.id] = rows[provenance.target.id]
    depth = {node.id: d for d, node in enumerate(provenance.path)}
    for node, d in provenance.order:
        depth[node.id] = d

    def x(node_id: int) -> float:
        return MARGIN + depth[node_id] * (BOX_W + GAP_X)

    def y(node_id: int) -> float:
        return MARGIN + LEGEND_H + rows[node_id] * (BOX_H + GAP_Y)

    max_depth = max(depth.values())
    width = int(2 * MARGIN + (max_depth + 1) * BOX_W + max_depth * GAP_X)
    height = int(2 * MARGIN + LEGEND_H + max(next_row, 1) * (BOX_H + GAP_Y) - GAP_Y)
    title = f"Provenance of certificate #{provenance.certificate_id} (indexed block {provenance.indexed_block})"
    width = max(width, 2 * MARGIN + 92 * len(STATUS_COLOURS))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="14" font-weight="bold" fill="#1a202c">{escape(title)}</text>',
    ]
    legend_x, legend_y = MARGIN, MARGIN + 18
    for status, (fill, stroke) in STATUS_COLOURS.items():
        out.append(
            f'<rect x="{legend_x}" y="{legend_y}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{legend_x + 20}" y="{legend_y + 11}" fill="#2d3748">{status}</text>'
        )
        legend_x += 92
    edges: list[tuple[Shown, Shown]] = [
        (parent, kid) for parent, kid in zip(provenance.path, provenance.path[1:], strict=False)
    ]
    edges += [(node, kid) for node in provenance.nodes for kid in provenance.children.get(node.id, [])]
    for parent, kid in edges:
        x1, y1 = x(parent.id) + BOX_W, y(parent.id) + BOX_H / 2
        x2, y2 = x(kid.id), y(kid.id) + BOX_H / 2
        mid = x1 + GAP_X / 2
        out.append(f'<path d="M{x1:.0f},{y1:.1f} H{mid:.0f} V{y2:.1f} H{x2:.0f}" fill="none" stroke="#a0aec0"/>')
    shown = [*provenance.path[:-1], *provenance.nodes]
    for node in shown:
        fill, stroke = STATUS_COLOURS.get(node.status, ("#ffffff", "#4a5568"))
        bx, by = x(node.id), y(node.id)
        width_px = 3 if node.id == provenance.certificate_id else 1
        dash = ' stroke-dasharray="5,3"' if node.id in depth and depth[node.id] < base else ""
        holder = node.holder if node.holder is not None else node.last_holder
        who = provenance.name(holder) or holder
        hidden = provenance.hidden_children.get(node.id)
        label = f"#{node.id} · {node.status}" + (" · frozen" if node.frozen else "")
        out.append(
            f'<g data-id="{node.id}" data-status="{escape(node.status)}">'
            f"<title>{escape(f'Certificate #{node.id}, {node.status}, {money(node.face_minor)} {CURRENCY}')}"
            f"</title>"
            f'<rect x="{bx:.0f}" y="{by:.1f}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width_px}"{dash}/>'
            f'<text x="{bx + 10:.0f}" y="{by + 18:.1f}" font-weight="bold" fill="{stroke}">{escape(label)}</text>'
            f'<text x="{bx + 10:.0f}" y="{by + 36:.1f}" fill="#1a202c">{escape(_short(who, 30))}</text>'
            f'<text x="{bx + 10:.0f}" y="{by + 53:.1f}" fill="#1a202c">'
            f"{escape(readable_money(node.face_minor))} {CURRENCY}"
            + (f" · +{hidden} hidden" if hidden else "")
            + "</text></g>"
        )
    out.append("</svg>")
    return "".join(out)
