// scf-chain explorer: a member's view of the ledger, over the gateway's JSON API.
//
// Rules this file keeps:
// - The API key lives in sessionStorage only, goes out only in the Authorization header
//   of same-origin requests, and is never logged, put in a URL or shown.
// - Text from the API reaches the page only as text nodes or attribute values
//   (textContent, setAttribute); nothing here parses HTML.
// - Amounts are decimal strings; they are summed as integer minor units (BigInt), never floats.

const KEY_STORAGE = "scf-explorer.api-key";
const PAGE_SIZE = 500;
// What an obligor owes: accepted and not yet paid.
const UNSETTLED = ["active", "financed", "overdue"];
const STATUS_ORDER = ["pending", "active", "financed", "overdue", "settled", "split", "cancelled"];
const STATUS_LABEL = {
  pending: "Pending",
  active: "Active",
  split: "Split",
  cancelled: "Cancelled",
  financed: "Financed",
  settled: "Settled",
  overdue: "Overdue",
};
const ROLE_LABEL = {
  core_enterprise: "Core enterprise",
  supplier: "Supplier",
  financier: "Financier",
  auditor: "Auditor",
  operator: "Operator",
};

const state = {
  me: null,
  members: new Map(),
  prov: null,
  selectedId: null,
  collapsed: new Set(),
  zoom: 1,
  view: null,
  epoch: 0, // bumped at every sign-out
  today: null, // the ledger's today (ms, UTC) once the gateway has said it
};

// ---------------------------------------------------------------------------
// DOM helpers: elements from data, never from markup.

const $ = (id) => document.getElementById(id);

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) {
      // Handlers are functions, never attribute strings.
      if (typeof value === "function") node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return node;
}

function el(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

function show(node, visible = true) {
  node.hidden = !visible;
}

// ---------------------------------------------------------------------------
// Money, dates, addresses.

function toMinor(amount) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(amount ?? "").trim());
  if (!match) return 0n;
  const minor = BigInt(match[2]) * 100n + BigInt((match[3] || "").padEnd(2, "0") || "0");
  return match[1] ? -minor : minor;
}

function formatMinor(minor) {
  const negative = minor < 0n;
  const absolute = negative ? -minor : minor;
  const whole = (absolute / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = (absolute % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}${whole}.${cents}`;
}

const formatAmount = (amount) => formatMinor(toMinor(amount));
const sumMinor = (items) => items.reduce((total, item) => total + toMinor(item.amount), 0n);

function money(minor, attrs = {}) {
  return el("span", { class: "money", ...attrs }, formatMinor(minor), el("span", { class: "ccy" }, " CNY"));
}

function moneyCell(minor) {
  return el("td", { class: "num" }, money(minor));
}

function todayUtc() {
  if (state.today) return state.today;
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
}

function parseDay(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(text || ""));
  return match ? Date.UTC(+match[1], +match[2] - 1, +match[3]) : NaN;
}

function daysUntil(text) {
  return Math.round((parseDay(text) - todayUtc()) / 86400000);
}

function daysLabel(days) {
  if (Number.isNaN(days)) return "";
  if (days === 0) return "today";
  return days > 0 ? `in ${days} d` : `${-days} d ago`;
}

function formatTimestamp(text) {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return String(text ?? "");
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function shortHex(hex, head = 6, tail = 4) {
  const text = String(hex ?? "");
  return text.length > head + tail + 3 ? `${text.slice(0, head)}…${text.slice(-tail)}` : text;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const certCount = (list) => plural(list.length, "certificate");

function memberName(address) {
  if (!address) return "";
  return state.members.get(address.toLowerCase()) || "";
}

// ---------------------------------------------------------------------------
// Copying, banners, toasts.

let toastTimer = 0;

function toast(message) {
  const node = $("toast");
  node.textContent = message;
  show(node);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => show(node, false), 1600);
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
function hashChip(value, { full = false, field = null } = {}) {
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

function party(info, { muted = false } = {}) {
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

function statusPill(status, frozen = false) {
  return el(
    "span",
    { class: "pill-group" },
    el("span", { class: `pill st-${status}` }, STATUS_LABEL[status] || status),
    frozen ? el("span", { class: "pill pill-frozen", title: "Frozen by the consortium operator" }, "Frozen") : null,
  );
}

function showBanner(message, kind = "error") {
  $("banner").className = `banner banner-${kind}`;
  $("banner-text").textContent = message;
  show($("banner"));
}

function hideBanner() {
  show($("banner"), false);
}

// ---------------------------------------------------------------------------
// The API.

class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

async function api(path) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (!key) throw new ApiError(401, "Sign in first.", "unauthorized");
  let response;
  try {
    response = await fetch(path, {
      headers: { Authorization: `Bearer ${key}`, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "The gateway cannot be reached.", "network");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail =
      (body && typeof body.detail === "string" && body.detail) || `The gateway answered ${response.status}.`;
    const error = new ApiError(response.status, detail, body && body.code);
    if (response.status === 401) signOut(detail);
    throw error;
  }
  return body;
}

// Every page of a certificate listing.
async function allCertificates(params) {
  const items = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const query = new URLSearchParams({ ...params, limit: String(PAGE_SIZE), offset: String(offset) });
    const page = await api(`/v1/certificates?${query}`);
    items.push(...page.items);
    if (page.items.length === 0 || items.length >= page.total) return { items, indexedBlock: page.indexed_block };
  }
}

async function loadMembers() {
  try {
    const members = await api("/v1/members");
    state.members = new Map(members.map((member) => [member.address.toLowerCase(), member.name]));
  } catch (error) {
    if (error.status === 401) throw error;
    state.members = new Map();
  }
  if (state.me) state.members.set(state.me.address.toLowerCase(), state.me.name);
}

// ---------------------------------------------------------------------------
// Session.

async function signIn(event) {
  event.preventDefault();
  const input = $("api-key");
  const key = input.value.trim();
  input.value = "";
  show($("signin-error"), false);
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $("signin-submit").disabled = true;
  try {
    await startSession();
  } catch (error) {
    sessionStorage.removeItem(KEY_STORAGE);
    $("signin-error").textContent = error.message;
    show($("signin-error"));
    show($("view-signin"));
  } finally {
    $("signin-submit").disabled = false;
  }
}

// Forgets everything shown, so that the next member to sign in in this tab sees nothing of it.
function resetViews() {
  state.prov = null;
  state.display = null;
  state.byId = null;
  state.selectedId = null;
  state.maturityDays = null;
  state.today = null;
  show($("prov-result"), false);
  show($("prov-empty"));
  $("prov-empty").textContent = "Enter a certificate ID to trace it from issuance to its current holders.";
  $("search-id").value = "";
  for (const id of [
    "prov-indexed",
    "prov-title",
    "prov-issuance",
    "prov-totals",
    "graph-scroll",
    "detail-body",
    "prov-table",
    "prov-count",
    "prov-verified",
    "hold-totals",
    "hold-table",
    "hold-count",
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

function signOut(reason) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.epoch += 1;
  state.me = null;
  if (location.hash) history.replaceState(null, "", location.pathname);
  state.members = new Map();
  resetViews();
  show($("tabs"), false);
  show($("session"), false);
  for (const view of document.querySelectorAll(".view")) show(view, false);
  show($("view-signin"));
  if (typeof reason === "string" && reason) {
    $("signin-error").textContent = reason;
    show($("signin-error"));
  }
  hideBanner();
  $("api-key").focus();
}

async function startSession() {
  const me = await api("/v1/me");
  state.me = me;
  await loadMembers();
  $("session-name").textContent = me.name;
  $("session-role").textContent = ROLE_LABEL[me.role] || me.role;
  $("session-address").textContent = shortHex(me.address);
  $("session-address").title = me.address;
  show($("tab-maturities"), me.role === "core_enterprise");
  show($("tabs"));
  show($("session"));
  show($("view-signin"), false);
  route();
}

// ---------------------------------------------------------------------------
// Routing: #/provenance[/id], #/holdings, #/maturities.

function route() {
  if (!state.me) return;
  const [, view = "provenance", arg = ""] = location.hash.split("/");
  const known = ["provenance", "holdings", "maturities"];
  let target = known.includes(view) ? view : "provenance";
  if (target === "maturities" && state.me.role !== "core_enterprise") target = "provenance";
  state.view = target;
  hideBanner();
  for (const name of known) show($(`view-${name}`), name === target);
  for (const tab of document.querySelectorAll("#tabs a")) tab.classList.toggle("active", tab.dataset.view === target);
  if (target === "provenance") {
    const id = /^\d+$/.test(arg) ? arg : "";
    if (id) {
      $("search-id").value = id;
      loadProvenance(id);
    } else if (state.prov) {
      $("search-id").value = String(state.prov.certificate_id); // the last one traced, still shown
    }
  } else if (target === "holdings") {
    loadHoldings();
  } else {
    loadMaturities();
  }
}

function reportError(error) {
  if (error.status === 401) return;
  showBanner(error.message);
}

// ---------------------------------------------------------------------------
// Provenance.

function flatten(node, depth = 0, out = []) {
  out.push({ node, depth });
  for (const child of node.children || []) flatten(child, depth + 1, out);
  return out;
}

// Only the latest load of each kind, in the current session, may draw: a slow answer to an
// earlier search, or to the member who signed out meanwhile, is dropped.
const latest = {};

function begin(kind) {
  const ticket = (latest[kind] || 0) + 1;
  latest[kind] = ticket;
  const epoch = state.epoch;
  return () => latest[kind] === ticket && state.epoch === epoch;
}

async function loadProvenance(id) {
  const current = begin("provenance");
  show($("prov-empty"), false);
  $("prov-indexed").textContent = "Loading…";
  try {
    const prov = await api(`/v1/certificates/${encodeURIComponent(id)}/provenance`);
    if (!current()) return;
    state.prov = prov;
    state.collapsed = new Set();
    state.selectedId = prov.certificate_id;
    state.zoom = 1;
    renderProvenance();
  } catch (error) {
    if (!current()) return;
    state.prov = null;
    show($("prov-result"), false);
    show($("prov-empty"));
    $("prov-empty").textContent =
      error.status === 404
        ? `No certificate #${id}, or it is not visible to you.`
        : "The provenance could not be loaded.";
    $("prov-indexed").textContent = "";
    reportError(error);
  }
}

function kv(label, ...value) {
  return [el("div", { class: "kv-label" }, label), el("div", { class: "kv-value" }, ...value)];
}

function totalCard(key, label, minor, sub, subClass = "") {
  return el(
    "div",
    { class: minor === 0n ? `total total-${key} is-zero` : `total total-${key}`, "data-total": key },
    el("div", { class: "total-label" }, label),
    el("div", { class: "total-value" }, minor === null ? "—" : money(minor)),
    sub ? el("div", { class: subClass ? `total-sub ${subClass}` : "total-sub" }, sub) : null,
  );
}

function renderProvenance() {
  const prov = state.prov;
  const issuance = prov.issuance || {};
  const totals = prov.totals || {};
  // The tree starts at this certificate; the path from the issuance down to it is drawn above it.
  const ancestors = (prov.path || []).slice(0, -1);
  let display = prov.tree;
  for (const ancestor of [...ancestors].reverse()) display = { ...ancestor, ancestor: true, children: [display] };
  state.display = display;
  const nodes = flatten(display);
  state.byId = new Map(nodes.map(({ node, depth }) => [node.id, { node, depth }]));
  state.pathIds = new Set((prov.path || []).map((node) => node.id));

  show($("prov-empty"), false);
  show($("prov-result"));
  $("prov-indexed").textContent = `Indexed to block ${prov.indexed_block}`;
  $("prov-title").replaceChildren(
    `Certificate #${prov.certificate_id}`,
    el("span", { class: "title-sub" }, ` · issuance #${issuance.root_id}`),
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
  $("prov-issuance").replaceChildren(
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
        (prov.path || []).map((node, index) => [
          index ? el("span", { class: "crumb-sep" }, "›") : null,
          el("button", { type: "button", class: "link", onclick: () => selectNode(node.id, true) }, `#${node.id}`),
        ]),
      ),
    ),
  );

  const cards = [
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
      el("div", { class: "total-value" }, String(totals.node_count ?? nodes.length)),
    ),
  ].filter(Boolean);
  $("prov-totals").replaceChildren(...cards);

  renderLegend(nodes);
  renderTree();
  renderNodeTable(nodes);
  renderDetail();
}

async function verifyProvenance() {
  const prov = state.prov;
  if (!prov) return;
  const badge = $("prov-verified");
  badge.className = "verified";
  badge.textContent = "Reading the ledger…";
  try {
    const current = begin("verify");
    const report = await api(`/v1/certificates/${Number(prov.certificate_id)}/verify`);
    if (!current() || state.prov !== prov) return;
    const bad = report.nodes.filter((node) => !node.matches).map((node) => `#${node.id}`);
    badge.className = report.verified ? "verified ok" : "verified bad";
    badge.textContent = report.verified
      ? `✓ Matches the ledger at block ${report.block_number} (${plural(report.nodes.length, "certificate")})`
      : `✗ ${plural(bad.length, "certificate")} differ from the ledger: ${bad.join(", ")}`;
  } catch (error) {
    if (state.prov !== prov) return;
    badge.textContent = "";
    reportError(error);
  }
}

function renderLegend(nodes) {
  const present = new Set(nodes.map(({ node }) => node.status));
  $("legend").replaceChildren(
    ...STATUS_ORDER.filter((status) => present.has(status)).map((status) =>
      el("span", { class: "legend-item" }, el("span", { class: `swatch st-${status}` }), STATUS_LABEL[status]),
    ),
  );
}

// A tidy tree, root on the left: leaves take successive rows, a parent sits centred on its
// children, so nothing overlaps and the reading order is the ledger's id order.
const NODE_W = 216;
const NODE_H = 62;
const COL_GAP = 52;
const ROW_GAP = 12;
const PAD = 16;

function layoutTree(root) {
  const placed = [];
  let nextRow = 0;
  let maxDepth = 0;
  const visit = (node, depth) => {
    maxDepth = Math.max(maxDepth, depth);
    const children = state.collapsed.has(node.id) || node.ghost ? [] : [...(node.children || [])];
    // Parts the caller may not see stand in as one placeholder box.
    if (node.hidden_children && !state.collapsed.has(node.id)) {
      children.push({ ghost: true, id: `hidden-${node.id}`, count: node.hidden_children });
    }
    const childBoxes = children.map((child) => visit(child, depth + 1));
    let y;
    if (childBoxes.length === 0) {
      y = nextRow * (NODE_H + ROW_GAP);
      nextRow += 1;
    } else {
      y = (childBoxes[0].y + childBoxes[childBoxes.length - 1].y) / 2;
    }
    const box = { node, depth, x: depth * (NODE_W + COL_GAP), y, childBoxes };
    placed.push(box);
    return box;
  };
  visit(root, 0);
  const width = (maxDepth + 1) * NODE_W + maxDepth * COL_GAP;
  const height = nextRow * NODE_H + Math.max(nextRow - 1, 0) * ROW_GAP;
  return { placed, width: width + 2 * PAD, height: height + 2 * PAD };
}

function clip(text, max) {
  const value = String(text ?? "");
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function countDescendants(node) {
  return (node.children || []).reduce((total, child) => total + 1 + countDescendants(child), 0);
}

function renderTree() {
  const prov = state.prov;
  const { placed, width, height } = layoutTree(state.display);
  state.treeSize = { width, height };
  const edges = svg("g", { class: "edges" });
  const nodes = svg("g", { class: "nodes" });

  for (const box of placed) {
    const { node } = box;
    for (const childBox of box.childBoxes) {
      const x1 = box.x + NODE_W;
      const y1 = box.y + NODE_H / 2;
      const x2 = childBox.x;
      const y2 = childBox.y + NODE_H / 2;
      const xm = x1 + COL_GAP / 2;
      const onPath = state.pathIds.has(node.id) && state.pathIds.has(childBox.node.id);
      const dashed = node.ancestor || childBox.node.ghost;
      edges.append(
        svg("path", {
          class: ["edge", onPath ? "edge-path" : "", dashed ? "edge-dashed" : ""].join(" ").trim(),
          d: `M${x1},${y1} H${xm} V${y2} H${x2}`,
        }),
      );
    }

    if (node.ghost) {
      nodes.append(ghostNode(box));
      continue;
    }
    const holder = node.holder || null;
    const shown = holder || node.last_holder || {};
    const name = shown.name || memberName(shown.address) || shortHex(shown.address);
    const classes = ["node", `st-${node.status}`];
    if (node.id === prov.certificate_id) classes.push("node-current");
    if (state.pathIds.has(node.id)) classes.push("node-path");
    if (node.id === state.selectedId) classes.push("node-selected");
    if (node.frozen) classes.push("node-frozen");
    if (node.ancestor) classes.push("node-ancestor");
    const hidden = state.collapsed.has(node.id) ? countDescendants(node) : 0;
    const summary =
      `Certificate #${node.id} · ${STATUS_LABEL[node.status] || node.status}` +
      `\n${holder ? "Holder" : "Last holder"}: ${name} (${shown.address || "—"})` +
      `\nAmount: ${formatAmount(node.amount)} CNY · hops ${node.hops}` +
      `\nTx: ${node.tx_hash}`;

    const group = svg(
      "g",
      {
        class: classes.join(" "),
        transform: `translate(${box.x},${box.y})`,
        tabindex: "0",
        role: "button",
        "aria-label": `Certificate ${node.id}`,
        "data-id": String(node.id),
        "data-amount": node.amount,
        "data-status": node.status,
        onclick: () => selectNode(node.id),
        onkeydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            selectNode(node.id);
          }
        },
      },
      svg("title", {}, summary),
      svg("rect", { class: "node-ring", x: -4, y: -4, width: NODE_W + 8, height: NODE_H + 8, rx: 7 }),
      svg("rect", { class: "node-box", width: NODE_W, height: NODE_H, rx: 4 }),
      svg("rect", { class: "node-stripe", width: 5, height: NODE_H, rx: 2 }),
      svg("text", { class: "node-id", x: 14, y: 18 }, `#${node.id}`),
      svg(
        "text",
        { class: "node-status", x: NODE_W - 10, y: 18 },
        `${node.frozen ? "FROZEN · " : ""}${(STATUS_LABEL[node.status] || node.status).toUpperCase()}`,
      ),
      svg(
        "text",
        { class: holder ? "node-holder" : "node-holder node-holder-last", x: 14, y: 36 },
        clip(holder ? name : `last: ${name}`, 30),
      ),
      svg("text", { class: "node-hops", x: 14, y: 53 }, `hop ${node.hops}`),
      svg("text", { class: "node-amount", x: NODE_W - 10, y: 53 }, `${formatAmount(node.amount)} CNY`),
    );

    if ((node.children || []).length) {
      const collapsed = state.collapsed.has(node.id);
      group.append(
        svg(
          "g",
          {
            class: "node-toggle",
            transform: `translate(${NODE_W},${NODE_H / 2})`,
            onclick: (event) => {
              event.stopPropagation();
              toggleCollapsed(node.id);
            },
          },
          svg("title", {}, collapsed ? `Expand (${hidden} hidden)` : "Collapse"),
          svg("circle", { r: 8 }),
          svg("text", { y: 4 }, collapsed ? "+" : "−"),
        ),
      );
      if (collapsed) {
        group.append(svg("text", { class: "node-hidden", x: NODE_W + 14, y: NODE_H / 2 + 4 }, `+${hidden}`));
      }
    }
    nodes.append(group);
  }

  const canvas = svg(
    "svg",
    {
      class: "tree",
      id: "tree",
      viewBox: `${-PAD} ${-PAD} ${width} ${height}`,
      width: Math.round(width * state.zoom),
      height: Math.round(height * state.zoom),
      role: "img",
      "aria-label": "Provenance tree",
    },
    edges,
    nodes,
  );
  $("graph-scroll").replaceChildren(canvas);
  sizeGraph();
}

// The graph panel is as tall as the tree, within bounds; it scrolls beyond that.
function sizeGraph() {
  const height = Math.round(state.treeSize.height * state.zoom) + 24;
  $("graph-scroll").style.height = `${Math.max(220, Math.min(620, height))}px`;
}

function ghostNode(box) {
  const count = box.node.count;
  const label = `${plural(count, "part")} not shown`;
  return svg(
    "g",
    { class: "ghost", transform: `translate(${box.x},${box.y + 8})` },
    svg("title", {}, `${label}: held by others, outside what you hold or held`),
    svg("rect", { width: NODE_W, height: NODE_H - 16, rx: 4 }),
    svg("text", { x: NODE_W / 2, y: (NODE_H - 16) / 2 + 4 }, label),
  );
}

function setZoom(zoom) {
  state.zoom = Math.min(2, Math.max(0.25, zoom));
  const tree = $("tree");
  if (!tree || !state.treeSize) return;
  tree.setAttribute("width", String(Math.round(state.treeSize.width * state.zoom)));
  tree.setAttribute("height", String(Math.round(state.treeSize.height * state.zoom)));
  sizeGraph();
}

function fitZoom() {
  if (!state.treeSize) return;
  const scroll = $("graph-scroll");
  const fit = Math.min((scroll.clientWidth - 4) / state.treeSize.width, 596 / state.treeSize.height);
  setZoom(Math.min(1, fit));
}

function toggleCollapsed(id) {
  if (state.collapsed.has(id)) state.collapsed.delete(id);
  else state.collapsed.add(id);
  renderTree();
}

function selectNode(id, reveal = false) {
  state.selectedId = id;
  for (const group of document.querySelectorAll("#tree g.node")) {
    group.classList.toggle("node-selected", group.dataset.id === String(id));
  }
  for (const row of document.querySelectorAll("#prov-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.id === String(id));
  }
  renderDetail();
  if (reveal) {
    const group = document.querySelector(`#tree g.node[data-id="${Number(id)}"]`);
    if (group) group.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
}

function renderDetail() {
  const body = $("detail-body");
  const entry = state.byId && state.byId.get(state.selectedId);
  if (!entry) {
    body.replaceChildren(el("p", { class: "muted" }, "Click a certificate in the tree."));
    return;
  }
  const { node, depth } = entry;
  const children = node.children || [];
  const row = (label, ...value) => el("tr", {}, el("th", {}, label), el("td", {}, ...value));
  body.replaceChildren(
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
        row(
          "Parent",
          node.parent_id
            ? el(
                "button",
                { type: "button", class: "link", onclick: () => selectNode(node.parent_id, true) },
                `#${node.parent_id}`,
              )
            : el("span", { class: "muted" }, "none (issuance)"),
        ),
        row(
          node.ancestor ? "On the path" : "Children",
          children.length
            ? el(
                "span",
                { class: "crumbs" },
                children.map((child) =>
                  el(
                    "button",
                    { type: "button", class: "link", onclick: () => selectNode(child.id, true) },
                    `#${child.id}`,
                  ),
                ),
              )
            : el("span", { class: "muted" }, "none"),
          node.hidden_children ? el("span", { class: "muted" }, ` · ${node.hidden_children} not shown to you`) : null,
        ),
        row("Depth · hops", `${depth} · ${node.hops}`),
        row("Frozen", node.frozen ? "Yes" : "No"),
        row("Created", formatTimestamp(node.created_at)),
        row("Block", el("span", { class: "mono", "data-field": "block_number" }, String(node.block_number))),
        row("Transaction", hashChip(node.tx_hash, { full: true, field: "tx_hash" })),
      ),
    ),
    node.id === state.prov.certificate_id
      ? null
      : el("a", { class: "btn btn-small", href: `#/provenance/${Number(node.id)}` }, `Trace #${node.id} instead`),
  );
}

function renderNodeTable(nodes) {
  const table = $("prov-table");
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
  const rows = nodes.map(({ node, depth }) => {
    const classes = [];
    if (state.pathIds.has(node.id)) classes.push("on-path");
    if (node.ancestor) classes.push("ancestor");
    if (node.id === state.selectedId) classes.push("selected");
    return el(
      "tr",
      { class: classes.join(" ") || null, "data-id": String(node.id), onclick: () => selectNode(node.id, true) },
      el(
        "td",
        { class: "tree-cell" },
        el("span", { class: "indent", "data-depth": String(Math.min(depth, 12)) }),
        depth ? el("span", { class: "branch" }, "└ ") : null,
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
  table.replaceChildren(head, el("tbody", {}, rows));
  const above = nodes.filter(({ node }) => node.ancestor).length;
  const below = nodes.length - above;
  $("prov-count").textContent =
    `${plural(below, "certificate")} from #${state.prov.certificate_id} down` +
    (above ? `, and ${plural(above, "certificate")} on the path above it` : "");
}

// ---------------------------------------------------------------------------
// My holdings.

async function loadHoldings() {
  const current = begin("holdings");
  $("hold-count").textContent = "Loading…";
  try {
    const me = await api("/v1/me");
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

function byMaturity(a, b) {
  return a.maturity_date === b.maturity_date ? a.id - b.id : a.maturity_date < b.maturity_date ? -1 : 1;
}

function renderHoldings(items, indexedBlock) {
  items.sort(byMaturity);
  const of = (status) => items.filter((item) => item.status === status);
  const count = (list) => `${list.length} certificate${list.length === 1 ? "" : "s"}`;
  const upcoming = items.filter((item) => item.status !== "overdue" && daysUntil(item.maturity_date) >= 0);
  const next = upcoming[0];
  const nextItems = next ? upcoming.filter((item) => item.maturity_date === next.maturity_date) : [];
  $("hold-totals").replaceChildren(
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
  const table = $("hold-table");
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
  table.replaceChildren(head, body, foot);
  $("hold-count").textContent = `${count(items)} · indexed to block ${indexedBlock}`;
}

// ---------------------------------------------------------------------------
// Maturity calendar, for obligors.

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

async function loadMaturities() {
  const current = begin("maturities");
  $("mat-count").textContent = "Loading…";
  try {
    const me = await api("/v1/me");
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

function renderMaturities({ items, asOf, balance, allowance, indexedBlock }) {
  // Days are counted from the ledger's today where the gateway says it.
  state.today = asOf ? parseDay(asOf) : null;
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
  $("mat-totals").replaceChildren(...cards);
  renderCalendar(days);

  let running = 0n;
  const rows = [...days.entries()].map(([day, list]) => {
    const amount = sumMinor(list);
    running += amount;
    const d = daysUntil(day);
    const late = list.some((item) => item.status === "overdue");
    const classes = [late ? "late" : "", d <= 0 && !late ? "due" : ""].filter(Boolean).join(" ");
    return el(
      "tr",
      { class: classes || null, "data-day": day, onclick: () => showDay(day) },
      el("td", { class: "nowrap" }, el("button", { type: "button", class: "link" }, day)),
      el("td", {}, new Date(parseDay(day)).toLocaleDateString("en-GB", { weekday: "short", timeZone: "UTC" })),
      el("td", { class: d < 0 ? "num negative" : "num" }, daysLabel(d)),
      el("td", { class: "num" }, String(list.length)),
      moneyCell(amount),
      moneyCell(sumMinor(list.filter((item) => item.status === "financed"))),
      moneyCell(running),
    );
  });
  $("mat-table").replaceChildren(
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

  const holders = [...groupBy(items, (item) => item.holder).entries()]
    .map(([holder, list]) => ({ holder, name: list[0].holder_name, list, total: sumMinor(list) }))
    .sort((a, b) => (a.total === b.total ? 0 : a.total > b.total ? -1 : 1));
  $("mat-holders").replaceChildren(
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
  $("mat-count").textContent =
    `${plural(days.size, "date")}${asOf ? ` · as of ${asOf}` : ""} · indexed to block ${indexedBlock}`;
  show($("mat-day"), false);
}

function percent(part, whole) {
  if (whole === 0n) return "—";
  return `${(Number((part * 10000n) / whole) / 100).toFixed(2)}%`;
}

function renderCalendar(days) {
  const calendar = $("mat-calendar");
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
  calendar.replaceChildren(...months);
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
            onclick: () => showDay(key),
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

function showDay(day) {
  const list = (state.maturityDays && state.maturityDays.get(day)) || [];
  $("mat-day-title").textContent = `Due on ${day} · ${certCount(list)} · ${formatMinor(sumMinor(list))} CNY`;
  for (const node of document.querySelectorAll("[data-day]"))
    node.classList.toggle("selected", node.dataset.day === day);
  $("mat-day-table").replaceChildren(
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

// ---------------------------------------------------------------------------
// Wiring.

function dragToPan(scroll) {
  let start = null;
  scroll.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest("g.node")) return;
    start = { x: event.clientX, y: event.clientY, left: scroll.scrollLeft, top: scroll.scrollTop };
    scroll.classList.add("panning");
  });
  window.addEventListener("pointermove", (event) => {
    if (!start) return;
    scroll.scrollLeft = start.left - (event.clientX - start.x);
    scroll.scrollTop = start.top - (event.clientY - start.y);
  });
  window.addEventListener("pointerup", () => {
    start = null;
    scroll.classList.remove("panning");
  });
}

function init() {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("banner-close").addEventListener("click", hideBanner);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("search-id").value.trim().replace(/^#/, "");
    if (!/^\d+$/.test(id)) {
      showBanner("A certificate ID is a whole number, such as 12.");
      return;
    }
    if (location.hash === `#/provenance/${id}`) loadProvenance(id);
    else location.hash = `#/provenance/${id}`;
  });
  $("verify").addEventListener("click", verifyProvenance);
  $("zoom-in").addEventListener("click", () => setZoom(state.zoom * 1.25));
  $("zoom-out").addEventListener("click", () => setZoom(state.zoom / 1.25));
  $("zoom-fit").addEventListener("click", fitZoom);
  dragToPan($("graph-scroll"));
  window.addEventListener("hashchange", route);

  if (sessionStorage.getItem(KEY_STORAGE)) {
    startSession().catch((error) => signOut(error.message));
  } else {
    signOut();
  }
}

init();
