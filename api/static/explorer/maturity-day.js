// The certificates due on one maturity date, below the calendar, picked in the calendar or the
// table by date.

import { $, el, fill, show } from "./dom.js";
import { memberName } from "./members.js";
import { formatMinor, sumMinor, toMinor } from "./money.js";
import { state } from "./state.js";
import { certCount, moneyCell, party, statusPill } from "./widgets.js";

export function showMaturityDay(day) {
  const list = (state.maturityDays && state.maturityDays.get(day)) || [];
  $("mat-day-title").textContent = `Due on ${day} · ${certCount(list)} · ${formatMinor(sumMinor(list))} CNY`;
  for (const node of document.querySelectorAll("[data-day]"))
    node.classList.toggle("selected", node.dataset.day === day);
  fill(
    $("mat-day-table"),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", {}, "Certificate"),
        el("th", {}, "Issuance"),
        el("th", {}, "Holder"),
        el("th", { class: "num" }, "Amount"),
        el("th", {}, "Status"),
      ),
    ),
    el(
      "tbody",
      {},
      list.map((item) =>
        el(
          "tr",
          { "data-id": String(item.id), onclick: () => (location.hash = `#/provenance/${Number(item.id)}`) },
          el("td", {}, el("a", { href: `#/provenance/${Number(item.id)}`, class: "link" }, `#${item.id}`)),
          el("td", {}, el("a", { href: `#/provenance/${Number(item.root_id)}`, class: "link" }, `#${item.root_id}`)),
          el("td", {}, party({ address: item.holder, name: item.holder_name || memberName(item.holder) })),
          moneyCell(toMinor(item.amount)),
          el("td", {}, statusPill(item.status, item.frozen)),
        ),
      ),
    ),
  );
  show($("mat-day"));
  $("mat-day").scrollIntoView({ block: "nearest" });
}
