// Every certificate of a provenance tree as a table, a page at a time: the path above first,
// then depth first.

import { formatTimestamp } from "./dates.js";
import { $, el, fill, show } from "./dom.js";
import { groupDigits, plural, toMinor } from "./money.js";
import { hashChip, moneyCell, party, statusPill } from "./widgets.js";

const TABLE_PAGE = 100;

// The page of the table that shows the certificate at this place in the tree's order.
export const tablePageOf = (index) => Math.floor(index / TABLE_PAGE);

// Draws the page asked for, or the last one if there are fewer, and answers the page drawn.
export function renderProvenanceTable({ model, page, selectedId, tracedId, focus }) {
  const order = model.order;
  const pages = Math.max(1, Math.ceil(order.length / TABLE_PAGE));
  const shown = Math.min(page || 0, pages - 1);
  const first = shown * TABLE_PAGE;
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      el("th", {}, "Certificate"),
      el("th", {}, "Parent"),
      el("th", {}, "Holder"),
      el("th", { class: "num" }, "Amount"),
      el("th", {}, "Status"),
      el("th", { class: "num" }, "Hops"),
      el("th", { class: "num" }, "Block"),
      el("th", {}, "Created (UTC)"),
      el("th", {}, "Transaction"),
    ),
  );
  const rows = order.slice(first, first + TABLE_PAGE).map((entry) => {
    const node = entry.node;
    const classes = [];
    if (entry.ancestor || entry === model.target) classes.push("on-path");
    if (entry.ancestor) classes.push("ancestor");
    if (node.id === selectedId) classes.push("selected");
    return el(
      "tr",
      { class: classes.join(" ") || null, "data-id": String(node.id), onclick: () => focus(node.id) },
      el(
        "td",
        { class: "tree-cell" },
        el("span", { class: "indent", "data-depth": String(Math.min(entry.depth, 12)) }),
        entry.depth ? el("span", { class: "branch" }, "└ ") : null,
        el("strong", {}, `#${node.id}`),
      ),
      el("td", {}, node.parent_id ? `#${node.parent_id}` : el("span", { class: "muted" }, "—")),
      el("td", {}, node.holder ? party(node.holder) : party(node.last_holder, { muted: true })),
      moneyCell(toMinor(node.amount)),
      el("td", {}, statusPill(node.status, node.frozen)),
      el("td", { class: "num" }, String(node.hops)),
      el("td", { class: "num mono" }, String(node.block_number)),
      el("td", { class: "nowrap" }, formatTimestamp(node.created_at).replace(" UTC", "")),
      el("td", {}, hashChip(node.tx_hash)),
    );
  });
  fill($("prov-table"), head, el("tbody", {}, rows));
  const above = order.filter((entry) => entry.ancestor).length;
  const below = order.length - above;
  show($("prov-pager"), pages > 1);
  $("prov-page").textContent =
    `${groupDigits(first + 1)}–${groupDigits(Math.min(first + TABLE_PAGE, order.length))} of ${groupDigits(order.length)}`;
  $("prov-prev").disabled = shown === 0;
  $("prov-next").disabled = shown >= pages - 1;
  $("prov-count").textContent =
    `${plural(below, "certificate")} from #${tracedId} down` +
    (above ? `, and ${plural(above, "certificate")} on the path above it` : "");
  return shown;
}

export function markSelectedRow(id) {
  for (const row of document.querySelectorAll("#prov-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.id === String(id));
  }
}
