// The selected certificate of a provenance tree, in full: holder, parent, parts, transaction.

import { formatTimestamp } from "./dates.js";
import { $, el, fill } from "./dom.js";
import { plural, toMinor } from "./money.js";
import { hashChip, money, party, statusPill } from "./widgets.js";

const DETAIL_PARTS = 24;

// entry: the certificate's place in the tree (tree.js), or none; tracedId: the certificate
// whose provenance is shown; focus(id): selects another certificate of the tree.
export function renderCertificateDetail(entry, { tracedId, focus }) {
  const body = $("detail-body");
  if (!entry) {
    fill(body, el("p", { class: "muted" }, "Click a certificate in the tree."));
    return;
  }
  const node = entry.node;
  const children = entry.children;
  const link = (id) => el("button", { type: "button", class: "link", onclick: () => focus(id) }, `#${id}`);
  const row = (label, ...value) => el("tr", {}, el("th", {}, label), el("td", {}, ...value));
  fill(
    body,
    el(
      "div",
      { class: "detail-title" },
      el("span", { class: "detail-id", "data-field": "id" }, `#${node.id}`),
      statusPill(node.status, node.frozen),
    ),
    el("div", { class: "detail-amount", "data-field": "amount" }, money(toMinor(node.amount))),
    el(
      "table",
      { class: "kv-table" },
      el(
        "tbody",
        {},
        row("Holder", node.holder ? party(node.holder) : el("span", { class: "muted" }, "none (retired)")),
        row("Last holder", party(node.last_holder)),
        row("Parent", node.parent_id ? link(node.parent_id) : el("span", { class: "muted" }, "none (issuance)")),
        row(
          entry.ancestor ? "On the path" : "Parts",
          children.length
            ? el(
                "span",
                { class: "crumbs" },
                children.slice(0, DETAIL_PARTS).map((child) => link(child.id)),
                children.length > DETAIL_PARTS
                  ? el("span", { class: "muted" }, `and ${children.length - DETAIL_PARTS} more`)
                  : null,
              )
            : el("span", { class: "muted" }, "none"),
          entry.hidden ? el("span", { class: "muted" }, ` · ${entry.hidden} not shown to you`) : null,
        ),
        entry.ancestor ? null : row("Below it", plural(entry.size - 1, "certificate")),
        row("Depth · hops", `${entry.depth} · ${node.hops}`),
        row("Frozen", node.frozen ? "Yes" : "No"),
        row("Created", formatTimestamp(node.created_at)),
        row("Block", el("span", { class: "mono", "data-field": "block_number" }, String(node.block_number))),
        row("Transaction", hashChip(node.tx_hash, { full: true, field: "tx_hash" })),
      ),
    ),
    node.id === tracedId
      ? null
      : el("a", { class: "btn btn-small", href: `#/provenance/${Number(node.id)}` }, `Trace #${node.id} instead`),
  );
}
