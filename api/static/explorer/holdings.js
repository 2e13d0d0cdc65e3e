// The holdings view: the certificates the member holds, with totals by status and the next
// maturity.

import { allCertificates, api } from "./api.js";
import { byMaturity, daysLabel, daysUntil, formatTimestamp, noteLedgerDate } from "./dates.js";
import { $, el, fill } from "./dom.js";
import { sumMinor, toMinor } from "./money.js";
import { reportError } from "./notices.js";
import { begin } from "./state.js";
import { hashChip, moneyCell, party, statusPill, totalCard } from "./widgets.js";

export async function loadHoldings() {
  const current = begin("holdings");
  $("hold-count").textContent = "Loading…";
  try {
    const me = await api("/v1/me");
    noteLedgerDate(me);
    const { items, indexedBlock } = await allCertificates({ holder: me.address });
    if (!current()) return;
    renderHoldings(
      items.filter((item) => item.holder === me.address),
      indexedBlock,
    );
  } catch (error) {
    if (!current()) return;
    $("hold-count").textContent = "";
    reportError(error);
  }
}

function renderHoldings(items, indexedBlock) {
  items.sort(byMaturity);
  const of = (status) => items.filter((item) => item.status === status);
  const count = (list) => `${list.length} certificate${list.length === 1 ? "" : "s"}`;
  const upcoming = items.filter((item) => item.status !== "overdue" && daysUntil(item.maturity_date) >= 0);
  const next = upcoming[0];
  const nextItems = next ? upcoming.filter((item) => item.maturity_date === next.maturity_date) : [];
  fill(
    $("hold-totals"),
    totalCard("held", "Total held", sumMinor(items), count(items)),
    totalCard("active", "Active", sumMinor(of("active")), count(of("active"))),
    totalCard("pending", "Pending acceptance", sumMinor(of("pending")), count(of("pending"))),
    totalCard("financed", "Financed", sumMinor(of("financed")), count(of("financed"))),
    totalCard("overdue", "Overdue", sumMinor(of("overdue")), count(of("overdue"))),
    totalCard(
      "next",
      "Next maturity",
      next ? sumMinor(nextItems) : null,
      next ? `${next.maturity_date} · ${daysLabel(daysUntil(next.maturity_date))}` : "nothing due",
    ),
  );
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      el("th", {}, "Certificate"),
      el("th", {}, "Root"),
      el("th", {}, "Obligor"),
      el("th", {}, "Invoice"),
      el("th", { class: "num" }, "Amount"),
      el("th", {}, "Maturity"),
      el("th", { class: "num" }, "Days"),
      el("th", {}, "Status"),
      el("th", { class: "num" }, "Hops"),
      el("th", {}, "Received (UTC)"),
      el("th", {}, "Transaction"),
    ),
  );
  const rows = items.map((item) => {
    const days = daysUntil(item.maturity_date);
    return el(
      "tr",
      { "data-id": String(item.id) },
      el("td", {}, el("a", { href: `#/provenance/${Number(item.id)}`, class: "link" }, `#${item.id}`)),
      el("td", {}, `#${item.root_id}`),
      el("td", {}, party({ address: item.obligor })),
      el("td", {}, item.invoice_number || el("span", { class: "muted" }, "—")),
      moneyCell(toMinor(item.amount)),
      el("td", { class: "nowrap" }, item.maturity_date),
      el("td", { class: days < 0 ? "num negative" : "num" }, String(days)),
      el("td", {}, statusPill(item.status, item.frozen)),
      el("td", { class: "num" }, String(item.hops)),
      el("td", { class: "nowrap" }, formatTimestamp(item.created_at).replace(" UTC", "")),
      el("td", {}, hashChip(item.tx_hash)),
    );
  });
  const body = rows.length
    ? el("tbody", {}, rows)
    : el("tbody", {}, el("tr", {}, el("td", { colspan: "11", class: "muted center" }, "You hold no certificates.")));
  const foot = el(
    "tfoot",
    {},
    el(
      "tr",
      {},
      el("td", { colspan: "4" }, `Total · ${count(items)}`),
      moneyCell(sumMinor(items)),
      el("td", { colspan: "6" }),
    ),
  );
  fill($("hold-table"), head, body, foot);
  $("hold-count").textContent = `${count(items)} · indexed to block ${indexedBlock}`;
}

export function resetHoldings() {
  for (const id of ["hold-totals", "hold-table", "hold-count"]) $(id).replaceChildren();
}
