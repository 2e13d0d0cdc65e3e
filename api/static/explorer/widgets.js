// The small pieces every view draws with: amounts, hashes, members, statuses and totals.

import { el } from "./dom.js";
import { memberName } from "./members.js";
import { formatMinor, plural } from "./money.js";
import { toast } from "./notices.js";
import { statusLabel } from "./vocabulary.js";

export function money(minor, attrs = {}) {
  return el("span", { class: "money", ...attrs }, formatMinor(minor), el("span", { class: "ccy" }, " CNY"));
}

export function moneyCell(minor) {
  return el("td", { class: "num" }, money(minor));
}

export const certCount = (list) => plural(list.length, "certificate");

export function shortHex(hex, head = 6, tail = 4) {
  const text = String(hex ?? "");
  return text.length > head + tail + 3 ? `${text.slice(0, head)}…${text.slice(-tail)}` : text;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { class: "offscreen", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast("Copied to clipboard");
}

// A hash or address: shortened, the full value in its title, copied on click.
export function hashChip(value, { full = false, field = null } = {}) {
  const text = String(value ?? "");
  if (!text) return el("span", { class: "muted" }, "—");
  return el(
    "button",
    {
      type: "button",
      class: full ? "hash hash-full" : "hash",
      title: `${text}\nClick to copy`,
      "data-field": field,
      "data-value": text,
      onclick: (event) => {
        event.stopPropagation();
        copyText(text);
      },
    },
    full ? text : shortHex(text),
  );
}

// A member: its name, and its address as a chip.
export function party(info, { muted = false } = {}) {
  if (!info || !info.address) return el("span", { class: "muted" }, "—");
  const name = info.name || memberName(info.address) || "Unknown member";
  return el(
    "span",
    { class: muted ? "party party-muted" : "party" },
    el("span", { class: "party-name", title: info.address }, name),
    " ",
    hashChip(info.address),
  );
}

export function statusPill(status, frozen = false) {
  return el(
    "span",
    { class: "pill-group" },
    el("span", { class: `pill st-${status}` }, statusLabel(status)),
    frozen ? el("span", { class: "pill pill-frozen", title: "Frozen by the consortium operator" }, "Frozen") : null,
  );
}

// A label and its value, as a pair of cells of a key-value grid.
export function kv(label, ...value) {
  return [el("div", { class: "kv-label" }, label), el("div", { class: "kv-value" }, ...value)];
}

// A summary card: a labelled amount (null for none), with an optional line below it.
export function totalCard(key, label, minor, sub, subClass = "") {
  return el(
    "div",
    { class: minor === 0n ? `total total-${key} is-zero` : `total total-${key}`, "data-total": key },
    el("div", { class: "total-label" }, label),
    el("div", { class: "total-value" }, minor === null ? "—" : money(minor)),
    sub ? el("div", { class: subClass ? `total-sub ${subClass}` : "total-sub" }, sub) : null,
  );
}
