// The maturities view, for obligors: what the member owes, by maturity date and by holder,
// beside a calendar (maturity-calendar.js).

import { allCertificates, api } from "./api.js";
import { byMaturity, daysLabel, daysUntil, noteLedgerDate, parseDay } from "./dates.js";
import { $, el, fill, show } from "./dom.js";
import { renderMaturityCalendar } from "./maturity-calendar.js";
import { showMaturityDay } from "./maturity-day.js";
import { memberName } from "./members.js";
import { formatMinor, plural, sumMinor, toMinor } from "./money.js";
import { reportError } from "./notices.js";
import { begin, state } from "./state.js";
import { certCount, moneyCell, party, totalCard } from "./widgets.js";

// What an obligor owes: accepted and not yet paid.
const UNSETTLED = ["active", "financed", "overdue"];

// What the caller owes: GET /v1/obligations where the gateway has it, else the same
// worked out from its certificates (active, financed and overdue ones: pending ones are
// not owed until accepted).
async function loadObligations(me) {
  try {
    const owed = await api("/v1/obligations");
    const items = owed.by_maturity.flatMap((day) => day.certificates);
    return {
      items,
      asOf: owed.as_of,
      balance: toMinor(owed.balance),
      allowance: toMinor(owed.allowance),
      indexedBlock: owed.indexed_block,
    };
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const { items, indexedBlock } = await allCertificates({ obligor: me.address });
  const owed = items
    .filter((item) => item.obligor === me.address && UNSETTLED.includes(item.status))
    .map((item) => ({ ...item, holder_name: memberName(item.holder) || null }));
  return { items: owed, asOf: null, balance: null, allowance: null, indexedBlock };
}

export async function loadMaturities() {
  const current = begin("maturities");
  $("mat-count").textContent = "Loading…";
  try {
    const me = await api("/v1/me");
    noteLedgerDate(me);
    const owed = await loadObligations(me);
    if (!current()) return;
    renderMaturities(owed);
  } catch (error) {
    if (!current()) return;
    $("mat-count").textContent = "";
    reportError(error);
  }
}

function groupBy(items, key) {
  const groups = new Map();
  for (const item of items) {
    const value = key(item);
    if (!groups.has(value)) groups.set(value, []);
    groups.get(value).push(item);
  }
  return groups;
}

function percent(part, whole) {
  if (whole === 0n) return "—";
  return `${(Number((part * 10000n) / whole) / 100).toFixed(2)}%`;
}

function renderMaturities({ items, asOf, balance, allowance, indexedBlock }) {
  // Days are counted from the ledger's today where the gateway says it.
  state.today = asOf ? parseDay(asOf) : null; // else the ledger's today
  items.sort(byMaturity);
  const days = new Map(
    [...groupBy(items, (item) => item.maturity_date).entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  state.maturityDays = days;
  const within = (limit) =>
    items.filter((item) => {
      const d = daysUntil(item.maturity_date);
      return d >= 0 && d <= limit;
    });
  const due = items.filter((item) => daysUntil(item.maturity_date) <= 0);
  const overdue = items.filter((item) => item.status === "overdue");
  const upcoming = [...days.keys()].find((day) => daysUntil(day) > 0);
  const cards = [
    totalCard("outstanding", "Outstanding", sumMinor(items), certCount(items)),
    totalCard("due", "Due now", sumMinor(due), certCount(due)),
    totalCard("due30", "Due in 30 days", sumMinor(within(30)), certCount(within(30))),
    totalCard("overdue", "Overdue", sumMinor(overdue), certCount(overdue)),
    totalCard(
      "next",
      "Next maturity",
      upcoming ? sumMinor(days.get(upcoming)) : null,
      upcoming ? `${upcoming} · ${daysLabel(daysUntil(upcoming))}` : "nothing ahead",
    ),
  ];
  if (balance !== null) {
    const total = sumMinor(items);
    const shortfall = total > balance ? total - balance : 0n;
    cards.push(
      totalCard(
        "balance",
        "Token balance",
        balance,
        shortfall ? `short of all owed by ${formatMinor(shortfall)}` : "covers all owed",
        shortfall ? "warn" : "",
      ),
    );
    cards.push(totalCard("allowance", "Allowance to desk", allowance, "for presentment"));
  }
  fill($("mat-totals"), ...cards);
  renderMaturityCalendar(days);
  renderByDate(items, days);
  renderByHolder(items);
  $("mat-count").textContent =
    `${plural(days.size, "date")}${asOf ? ` · as of ${asOf}` : ""} · indexed to block ${indexedBlock}`;
  show($("mat-day"), false);
}

function renderByDate(items, days) {
  let running = 0n;
  const rows = [...days.entries()].map(([day, list]) => {
    const amount = sumMinor(list);
    running += amount;
    const d = daysUntil(day);
    const late = list.some((item) => item.status === "overdue");
    const classes = [late ? "late" : "", d <= 0 && !late ? "due" : ""].filter(Boolean).join(" ");
    return el(
      "tr",
      { class: classes || null, "data-day": day, onclick: () => showMaturityDay(day) },
      el("td", { class: "nowrap" }, el("button", { type: "button", class: "link" }, day)),
      el("td", {}, new Date(parseDay(day)).toLocaleDateString("en-GB", { weekday: "short", timeZone: "UTC" })),
      el("td", { class: d < 0 ? "num negative" : "num" }, daysLabel(d)),
      el("td", { class: "num" }, String(list.length)),
      moneyCell(amount),
      moneyCell(sumMinor(list.filter((item) => item.status === "financed"))),
      moneyCell(running),
    );
  });
  fill(
    $("mat-table"),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", {}, "Maturity"),
        el("th", {}, "Day"),
        el("th", { class: "num" }, "When"),
        el("th", { class: "num" }, "Certs"),
        el("th", { class: "num" }, "Due"),
        el("th", { class: "num" }, "Financed"),
        el("th", { class: "num" }, "Cumulative"),
      ),
    ),
    el(
      "tbody",
      {},
      rows.length ? rows : el("tr", {}, el("td", { colspan: "7", class: "muted center" }, "Nothing owed.")),
    ),
    el(
      "tfoot",
      {},
      el(
        "tr",
        {},
        el("td", { colspan: "3" }, "Total"),
        el("td", { class: "num" }, String(items.length)),
        moneyCell(sumMinor(items)),
        el("td", { colspan: "2" }),
      ),
    ),
  );
}

function renderByHolder(items) {
  const holders = [...groupBy(items, (item) => item.holder).entries()]
    .map(([holder, list]) => ({ holder, name: list[0].holder_name, list, total: sumMinor(list) }))
    .sort((a, b) => (a.total === b.total ? 0 : a.total > b.total ? -1 : 1));
  fill(
    $("mat-holders"),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", {}, "Holder"),
        el("th", { class: "num" }, "Certs"),
        el("th", { class: "num" }, "Amount"),
        el("th", { class: "num" }, "Share"),
      ),
    ),
    el(
      "tbody",
      {},
      holders.length
        ? holders.map(({ holder, name, list, total }) =>
            el(
              "tr",
              {},
              el("td", {}, party({ address: holder, name: name || memberName(holder) })),
              el("td", { class: "num" }, String(list.length)),
              moneyCell(total),
              el("td", { class: "num" }, percent(total, sumMinor(items))),
            ),
          )
        : el("tr", {}, el("td", { colspan: "4", class: "muted center" }, "Nothing owed.")),
    ),
  );
}

export function resetMaturities() {
  state.maturityDays = null;
  for (const id of [
    "mat-totals",
    "mat-calendar",
    "mat-table",
    "mat-holders",
    "mat-count",
    "mat-day-title",
    "mat-day-table",
  ]) {
    $(id).replaceChildren();
  }
  show($("mat-day"), false);
}
