// The head of a provenance: the issuance's facts, whether the tree is conserved, and its totals.

import { daysLabel, daysUntil, formatTimestamp } from "./dates.js";
import { $, el, fill, show } from "./dom.js";
import { formatMinor, groupDigits, toMinor } from "./money.js";
import { hashChip, kv, money, party, totalCard } from "./widgets.js";

// focus(id): brings a certificate of the tree into view and selects it.
export function renderProvenanceSummary(prov, model, focus) {
  const issuance = prov.issuance || {};
  const totals = prov.totals || {};

  $("prov-indexed").textContent = `Indexed to block ${prov.indexed_block}`;
  fill(
    $("prov-title"),
    `Certificate #${prov.certificate_id}`,
    issuance.root_id ? el("span", { class: "title-sub" }, ` · issuance #${issuance.root_id}`) : null,
    issuance.invoice_number ? el("span", { class: "title-sub" }, ` · invoice ${issuance.invoice_number}`) : null,
  );

  const conserved = $("prov-conserved");
  conserved.className = totals.conserved ? "conserved ok" : "conserved bad";
  conserved.textContent = totals.conserved
    ? "✓ Conserved: leaves sum to the face value"
    : "✗ Not conserved: leaves do not sum to the face value";
  const verified = $("prov-verified");
  verified.className = "verified";
  verified.textContent = "";
  show($("prov-partial"), Boolean(prov.partial));
  if (prov.partial) {
    $("prov-partial").textContent =
      `Partial view: branches you neither hold nor held are left out (${formatMinor(toMinor(totals.hidden))} CNY).`;
  }

  const days = daysUntil(issuance.maturity_date);
  const path = prov.path || [];
  fill(
    $("prov-issuance"),
    ...kv("Obligor", party(issuance.obligor)),
    ...kv("Face value", money(toMinor(issuance.amount))),
    ...kv("Maturity", issuance.maturity_date || "—", el("span", { class: "muted" }, `  ${daysLabel(days)}`)),
    ...kv("Invoice", issuance.invoice_number || el("span", { class: "muted" }, "—")),
    ...kv("Document hash", hashChip(issuance.document_hash)),
    ...kv("Issued", formatTimestamp(issuance.issued_at)),
    ...kv(
      "Issuance tx",
      hashChip(issuance.tx_hash),
      el("span", { class: "muted" }, `  block ${issuance.block_number}`),
    ),
    ...kv(
      "Path",
      el(
        "span",
        { class: "crumbs" },
        path.map((node, index) => [
          index ? el("span", { class: "crumb-sep" }, "›") : null,
          el("button", { type: "button", class: "link", onclick: () => focus(node.id) }, `#${node.id}`),
        ]),
      ),
    ),
  );

  fill($("prov-totals"), [
    totalCard("face_value", "Face value", toMinor(totals.face_value)),
    totalCard("active", "Active", toMinor(totals.active)),
    totalCard("pending", "Pending", toMinor(totals.pending)),
    totalCard("financed", "Financed", toMinor(totals.financed)),
    totalCard("overdue", "Overdue", toMinor(totals.overdue)),
    totalCard("settled", "Settled", toMinor(totals.settled)),
    toMinor(totals.cancelled) ? totalCard("cancelled", "Cancelled", toMinor(totals.cancelled)) : null,
    prov.partial ? totalCard("hidden", "Not shown", toMinor(totals.hidden)) : null,
    totalCard("leaves_sum", "Leaves sum", toMinor(totals.leaves_sum)),
    el(
      "div",
      { class: "total total-count", "data-total": "node_count" },
      el("div", { class: "total-label" }, "Certificates"),
      el("div", { class: "total-value" }, groupDigits(totals.node_count ?? model.order.length)),
    ),
  ]);
}
