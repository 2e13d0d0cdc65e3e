// The search view, for auditors and the operator: issuances by invoice number or obligor.

import { allCertificates } from "./api.js";
import { daysLabel, daysUntil, formatTimestamp } from "./dates.js";
import { $, el, fill } from "./dom.js";
import { plural, toMinor } from "./money.js";
import { reportError } from "./notices.js";
import { begin, state } from "./state.js";
import { moneyCell, party, statusPill } from "./widgets.js";

export function openSearch() {
  $("find-invoice").focus();
}

// The obligors to choose from: the consortium's core enterprises, by name.
export function renderObligorChoices() {
  const select = $("find-obligor");
  const chosen = select.value;
  const obligors = state.memberList
    .filter((member) => member.role === "core_enterprise")
    .sort((a, b) => a.name.localeCompare(b.name));
  fill(
    select,
    el("option", { value: "" }, "Any obligor"),
    obligors.map((member) => el("option", { value: member.address }, member.name)),
  );
  select.value = obligors.some((member) => member.address === chosen) ? chosen : "";
}

export async function searchIssuances(event) {
  if (event) event.preventDefault();
  const invoice = $("find-invoice").value.trim();
  const obligor = $("find-obligor").value;
  const table = $("find-table");
  if (!invoice && !obligor) {
    fill(table);
    $("find-count").textContent = "Enter an invoice number or choose an obligor.";
    return;
  }
  const current = begin("search");
  $("find-count").textContent = "Searching…";
  const params = { issuances_only: "true" };
  if (invoice) params.invoice_number = invoice;
  if (obligor) params.obligor = obligor;
  try {
    const { items, indexedBlock } = await allCertificates(params);
    if (!current()) return;
    renderIssuances(items, indexedBlock);
  } catch (error) {
    if (!current()) return;
    $("find-count").textContent = "";
    reportError(error);
  }
}

function renderIssuances(items, indexedBlock) {
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      el("th", {}, "Issuance"),
      el("th", {}, "Invoice"),
      el("th", {}, "Obligor"),
      el("th", {}, "Holder"),
      el("th", { class: "num" }, "Face value"),
      el("th", {}, "Maturity"),
      el("th", { class: "num" }, "Days"),
      el("th", {}, "Status"),
      el("th", {}, "Issued (UTC)"),
    ),
  );
  const rows = items.map((item) =>
    el(
      "tr",
      { "data-id": String(item.id), onclick: () => (location.hash = `#/provenance/${Number(item.id)}`) },
      el("td", {}, el("a", { href: `#/provenance/${Number(item.id)}`, class: "link" }, `#${item.id}`)),
      el("td", {}, item.invoice_number || el("span", { class: "muted" }, "—")),
      el("td", {}, party({ address: item.obligor })),
      el("td", {}, item.holder ? party({ address: item.holder }) : el("span", { class: "muted" }, "none (retired)")),
      moneyCell(toMinor(item.amount)),
      el("td", { class: "nowrap" }, item.maturity_date),
      el("td", { class: "num" }, daysLabel(daysUntil(item.maturity_date))),
      el("td", {}, statusPill(item.status, item.frozen)),
      el("td", { class: "nowrap" }, formatTimestamp(item.created_at).replace(" UTC", "")),
    ),
  );
  const body = rows.length
    ? el("tbody", {}, rows)
    : el("tbody", {}, el("tr", {}, el("td", { colspan: "9", class: "muted center" }, "No issuance matches.")));
  fill($("find-table"), head, body);
  $("find-count").textContent = `${plural(items.length, "issuance")} · indexed to block ${indexedBlock}`;
}

export function resetSearch() {
  $("find-invoice").value = "";
  for (const id of ["find-table", "find-count"]) $(id).replaceChildren();
}
