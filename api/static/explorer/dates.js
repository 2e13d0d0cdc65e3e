// Dates and days. Days count from the ledger's date, never from this computer's clock.

import { state } from "./state.js";

export function todayUtc() {
  return state.today ?? state.ledgerToday ?? NaN;
}

export function noteLedgerDate(me) {
  const day = parseDay(me.ledger_date);
  state.ledgerToday = Number.isNaN(day) ? null : day;
}

export function forgetLedgerDate() {
  state.ledgerToday = null;
  state.today = null;
}

export function parseDay(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(text || ""));
  return match ? Date.UTC(+match[1], +match[2] - 1, +match[3]) : NaN;
}

export function daysUntil(text) {
  return Math.round((parseDay(text) - todayUtc()) / 86400000);
}

export function daysLabel(days) {
  if (Number.isNaN(days)) return "";
  if (days === 0) return "today";
  return days > 0 ? `in ${days} d` : `${-days} d ago`;
}

export function formatTimestamp(text) {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return String(text ?? "");
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

// Certificates by maturity date, then by id.
export function byMaturity(a, b) {
  return a.maturity_date === b.maturity_date ? a.id - b.id : a.maturity_date < b.maturity_date ? -1 : 1;
}
