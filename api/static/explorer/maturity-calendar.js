// The obligor's calendar: one grid per month, from this month (or an earlier maturity's) to the
// last maturity's, thirteen at most; each day with certificates due is shaded by its amount.

import { daysUntil, parseDay, todayUtc } from "./dates.js";
import { $, el, fill } from "./dom.js";
import { showMaturityDay } from "./maturity-day.js";
import { formatMinor, sumMinor } from "./money.js";
import { money } from "./widgets.js";

// days: maturity date -> the certificates due that day, in date order.
export function renderMaturityCalendar(days) {
  const keys = [...days.keys()];
  const today = new Date(todayUtc());
  let start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
  if (keys.length) {
    const first = new Date(parseDay(keys[0]));
    start = Math.min(start, Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1));
  }
  let end = start;
  if (keys.length) {
    const last = new Date(parseDay(keys[keys.length - 1]));
    end = Math.max(start, Date.UTC(last.getUTCFullYear(), last.getUTCMonth(), 1));
  }
  const max = keys.length ? [...days.values()].reduce((m, list) => (sumMinor(list) > m ? sumMinor(list) : m), 0n) : 0n;
  const months = [];
  for (let month = new Date(start), n = 0; month.getTime() <= end && n < 13; n += 1) {
    months.push(renderMonth(month, days, max));
    month = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
  }
  fill($("mat-calendar"), ...months);
}

function renderMonth(month, days, max) {
  const year = month.getUTCFullYear();
  const index = month.getUTCMonth();
  const title = month.toLocaleDateString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
  const lead = (new Date(Date.UTC(year, index, 1)).getUTCDay() + 6) % 7; // Monday first
  const length = new Date(Date.UTC(year, index + 1, 0)).getUTCDate();
  const cells = [];
  for (const name of ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    cells.push(el("div", { class: "cal-dow" }, name));
  for (let i = 0; i < lead; i += 1) cells.push(el("div", { class: "cal-day cal-blank" }));
  let monthTotal = 0n;
  for (let day = 1; day <= length; day += 1) {
    const key = `${year}-${String(index + 1).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
    const list = days.get(key);
    const classes = ["cal-day"];
    if (parseDay(key) === todayUtc()) classes.push("cal-today");
    const weekday = (lead + day - 1) % 7;
    if (weekday >= 5) classes.push("cal-weekend");
    if (list) {
      const amount = sumMinor(list);
      monthTotal += amount;
      classes.push("cal-due");
      if (list.some((item) => item.status === "overdue")) classes.push("cal-late");
      else if (daysUntil(key) <= 0) classes.push("cal-due-now");
      // Five shades by the share of the largest day's amount.
      const level = max > 0n ? Number((amount * 4n) / max) + 1 : 1;
      classes.push(`cal-level-${Math.min(level, 5)}`);
      cells.push(
        el(
          "button",
          {
            type: "button",
            class: classes.join(" "),
            "data-day": key,
            title: `${key}: ${formatMinor(amount)} CNY in ${list.length} certificate${list.length === 1 ? "" : "s"}`,
            onclick: () => showMaturityDay(key),
          },
          el("span", { class: "cal-num" }, String(day)),
          el("span", { class: "cal-amt" }, compactMinor(amount)),
          el("span", { class: "cal-cnt" }, `${list.length}×`),
        ),
      );
    } else {
      cells.push(el("div", { class: classes.join(" ") }, el("span", { class: "cal-num" }, String(day))));
    }
  }
  return el(
    "div",
    { class: "cal-month" },
    el("div", { class: "cal-title" }, el("span", {}, title), monthTotal ? money(monthTotal) : null),
    el("div", { class: "cal-grid" }, cells),
  );
}

// Short enough for a calendar cell: 1.25M, 80K, 950 (the exact amount is in the cell's title).
function compactMinor(minor) {
  const yuan = Number(minor / 100n);
  if (yuan >= 1e9) return `${(yuan / 1e9).toFixed(2)}B`;
  if (yuan >= 1e6) return `${(yuan / 1e6).toFixed(2)}M`;
  if (yuan >= 1e4) return `${Math.round(yuan / 1e3)}K`;
  return String(yuan);
}
