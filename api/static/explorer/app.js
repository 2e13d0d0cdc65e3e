// scf-chain explorer: a member's view of the ledger, over the gateway's JSON API.
//
// Rules this file keeps:
// - The API key lives in sessionStorage only, goes out only in the Authorization header
//   of same-origin requests, and is never logged, put in a URL or shown.
// - Text from the API reaches the page only as text nodes or attribute values
//   (textContent, setAttribute); nothing here parses HTML.
// - Amounts are decimal strings; they are summed as integer minor units (BigInt), never floats.

import { $, el, fill, show } from "./dom.js";
import { formatMinor, groupDigits, plural, sumMinor, toMinor } from "./money.js";
import { TreeView, treeModel } from "./tree.js";


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
  memberList: [],
  prov: null,
  model: null,
  selectedId: null,
  tablePage: 0,
  view: null,
  epoch: 0, // bumped at every sign-out
  ledgerToday: null, // the ledger's today (ms, UTC), from GET /v1/me
  today: null, // the day a view counts from: the ledger's today, or the day its answer was made
};

// ---------------------------------------------------------------------------
// Money, dates, addresses.

function money(minor, attrs = {}) {
  return el("span", { class: "money", ...attrs }, formatMinor(minor), el("span", { class: "ccy" }, " CNY"));
}

function moneyCell(minor) {
  return el("td", { class: "num" }, money(minor));
}

// Days count from the ledger's date, never from this computer's clock.
function todayUtc() {
  return state.today ?? state.ledgerToday ?? NaN;
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
    state.memberList = members;
    state.members = new Map(members.map((member) => [member.address.toLowerCase(), member.name]));
  } catch (error) {
    if (error.status === 401) throw error;
    state.memberList = [];
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
  state.model = null;
  state.selectedId = null;
  state.maturityDays = null;
  state.today = null;
  delete $("graph-scroll").dataset.renderedId;
  $("find-invoice").value = "";
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
    "find-table",
    "find-count",
    "legend",
  ]) {
    $(id).replaceChildren();
  }
  show($("mat-day"), false);
}

function signOut(reason) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.epoch += 1;
  state.me = null;
  state.ledgerToday = null;
  if (location.hash) history.replaceState(null, "", location.pathname);
  state.members = new Map();
  state.memberList = [];
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
  noteLedgerDate(me);
  await loadMembers();
  $("session-name").textContent = me.name;
  $("session-role").textContent = ROLE_LABEL[me.role] || me.role;
  $("session-address").textContent = shortHex(me.address);
  $("session-address").title = me.address;
  show($("tab-maturities"), me.role === "core_enterprise");
  // Auditors and the operator hold nothing: they search the ledger's issuances instead.
  show($("tab-holdings"), !seesEverything(me));
  show($("tab-search"), seesEverything(me));
  if (seesEverything(me)) renderObligorChoices();
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
  const known = ["provenance", "holdings", "maturities", "search"];
  let target = known.includes(view) ? view : "provenance";
  if (target === "maturities" && state.me.role !== "core_enterprise") target = "provenance";
  if (target === "holdings" && seesEverything(state.me)) target = "search";
  if (target === "search" && !seesEverything(state.me)) target = "provenance";
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
  } else if (target === "search") {
    $("find-invoice").focus();
  } else {
    loadMaturities();
  }
}

const seesEverything = (me) => me.role === "auditor" || me.role === "operator";

function noteLedgerDate(me) {
  const day = parseDay(me.ledger_date);
  state.ledgerToday = Number.isNaN(day) ? null : day;
}

function reportError(error) {
  if (error.status === 401) return;
  showBanner(error.message);
}

// ---------------------------------------------------------------------------
// Provenance.

// Only the latest load of each kind, in the current session, may draw: a slow answer to an
// earlier search, or to the member who signed out meanwhile, is dropped.
const latest = {};

function begin(kind) {
  const ticket = (latest[kind] || 0) + 1;
  latest[kind] = ticket;
  const epoch = state.epoch;
  return () => latest[kind] === ticket && state.epoch === epoch;
}

const TABLE_PAGE = 100;
let treeView = null;

function tree() {
  if (!treeView) {
    treeView = new TreeView($("graph-scroll"), {
      statusLabel: (status) => STATUS_LABEL[status] || status,
      partyName: (info) => info.name || memberName(info.address),
      onSelect: (entry) => selectNode(entry.id),
    });
  }
  return treeView;
}

async function loadProvenance(id) {
  const current = begin("provenance");
  const started = performance.now();
  const frame = $("graph-scroll");
  delete frame.dataset.renderedId;
  delete frame.dataset.renderMs;
  show($("prov-empty"), false);
  $("prov-indexed").textContent = "Loading…";
  try {
    const prov = await api(`/v1/certificates/${encodeURIComponent(id)}/provenance`);
    if (!current()) return;
    state.prov = prov;
    state.model = treeModel(prov);
    state.selectedId = prov.certificate_id;
    state.tablePage = 0;
    renderProvenance();
    // Measured to the first frame painted with the tree in it.
    requestAnimationFrame(() =>
      setTimeout(() => {
        if (!current()) return;
        frame.dataset.renderMs = String(Math.round(performance.now() - started));
        frame.dataset.renderedId = String(prov.certificate_id);
      }, 0),
    );
  } catch (error) {
    if (!current()) return;
    state.prov = null;
    state.model = null;
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
  const model = state.model;
  const issuance = prov.issuance || {};
  const totals = prov.totals || {};

  show($("prov-empty"), false);
  show($("prov-result"));
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
    ...kv("Issuance tx", hashChip(issuance.tx_hash), el("span", { class: "muted" }, `  block ${issuance.block_number}`)),
    ...kv(
      "Path",
      el(
        "span",
        { class: "crumbs" },
        path.map((node, index) => [
          index ? el("span", { class: "crumb-sep" }, "›") : null,
          el("button", { type: "button", class: "link", onclick: () => tree().focus(node.id) }, `#${node.id}`),
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
      el("div", { class: "total-value" }, groupDigits(totals.node_count ?? model.order.length)),
    ),
  ];
  fill($("prov-totals"), cards);
  $("tree-find").value = "";
  $("tree-find-note").textContent = "";

  renderLegend(model);
  tree().load(model, prov.certificate_id);
  renderNodeTable();
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
      : `✗ ${plural(bad.length, "certificate")} differ from the ledger: ${bad.slice(0, 20).join(", ")}` +
        (bad.length > 20 ? ", …" : "");
  } catch (error) {
    if (state.prov !== prov) return;
    badge.textContent = "";
    reportError(error);
  }
}

function renderLegend(model) {
  const present = new Set(model.order.map((entry) => entry.node.status));
  fill(
    $("legend"),
    STATUS_ORDER.filter((status) => present.has(status)).map((status) =>
      el("span", { class: "legend-item" }, el("span", { class: `swatch st-${status}` }), STATUS_LABEL[status]),
    ),
  );
}

function findInTree(event) {
  event.preventDefault();
  const note = $("tree-find-note");
  const text = $("tree-find").value.trim().replace(/^#/, "");
  note.textContent = "";
  if (!state.model) return;
  if (!/^\d+$/.test(text)) {
    note.textContent = "A certificate ID is a whole number.";
    return;
  }
  if (!tree().focus(Number(text))) note.textContent = `#${text} is not in this tree.`;
}

// The selected certificate's details, and its row in the table below.
function selectNode(id) {
  state.selectedId = id;
  const index = state.model.order.findIndex((entry) => entry.id === id);
  if (index >= 0 && Math.floor(index / TABLE_PAGE) !== state.tablePage) {
    state.tablePage = Math.floor(index / TABLE_PAGE);
    renderNodeTable();
  }
  for (const row of document.querySelectorAll("#prov-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.id === String(id));
  }
  renderDetail();
}

const DETAIL_PARTS = 24;

function renderDetail() {
  const body = $("detail-body");
  const entry = state.model && state.model.byId.get(state.selectedId);
  if (!entry) {
    fill(body, el("p", { class: "muted" }, "Click a certificate in the tree."));
    return;
  }
  const node = entry.node;
  const children = entry.children;
  const link = (id) => el("button", { type: "button", class: "link", onclick: () => tree().focus(id) }, `#${id}`);
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
    node.id === state.prov.certificate_id
      ? null
      : el("a", { class: "btn btn-small", href: `#/provenance/${Number(node.id)}` }, `Trace #${node.id} instead`),
  );
}

// Every certificate of the tree, a page at a time: the path above first, then depth first.
function renderNodeTable() {
  const table = $("prov-table");
  const order = state.model.order;
  const pages = Math.max(1, Math.ceil(order.length / TABLE_PAGE));
  state.tablePage = Math.min(state.tablePage || 0, pages - 1);
  const first = state.tablePage * TABLE_PAGE;
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
  const rows = order.slice(first, first + TABLE_PAGE).map((entry) => {
    const node = entry.node;
    const classes = [];
    if (entry.ancestor || entry === state.model.target) classes.push("on-path");
    if (entry.ancestor) classes.push("ancestor");
    if (node.id === state.selectedId) classes.push("selected");
    return el(
      "tr",
      { class: classes.join(" ") || null, "data-id": String(node.id), onclick: () => tree().focus(node.id) },
      el(
        "td",
        { class: "tree-cell" },
        el("span", { class: "indent", "data-depth": String(Math.min(entry.depth, 12)) }),
        entry.depth ? el("span", { class: "branch" }, "└ ") : null,
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
  fill(table, head, el("tbody", {}, rows));
  const above = order.filter((entry) => entry.ancestor).length;
  const below = order.length - above;
  const pager = $("prov-pager");
  show(pager, pages > 1);
  $("prov-page").textContent =
    `${groupDigits(first + 1)}–${groupDigits(Math.min(first + TABLE_PAGE, order.length))} of ${groupDigits(order.length)}`;
  $("prov-prev").disabled = state.tablePage === 0;
  $("prov-next").disabled = state.tablePage >= pages - 1;
  $("prov-count").textContent =
    `${plural(below, "certificate")} from #${state.prov.certificate_id} down` +
    (above ? `, and ${plural(above, "certificate")} on the path above it` : "");
}

function turnTablePage(step) {
  if (!state.model) return;
  state.tablePage = (state.tablePage || 0) + step;
  renderNodeTable();
}


// ---------------------------------------------------------------------------
// Search, for auditors and the operator: issuances by invoice number or obligor.

function renderObligorChoices() {
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

async function searchIssuances(event) {
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


// ---------------------------------------------------------------------------
// My holdings.

async function loadHoldings() {
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
  fill($("hold-totals"), 
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
  fill(table, head, body, foot);
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

function renderMaturities({ items, asOf, balance, allowance, indexedBlock }) {
  // Days are counted from the ledger's today where the gateway says it.
  state.today = asOf ? parseDay(asOf) : null;  // else the ledger's today
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
  fill($("mat-table"), 
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
  fill($("mat-holders"), 
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
  fill(calendar, ...months);
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
  fill($("mat-day-table"), 
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
  $("zoom-in").addEventListener("click", () => tree().zoomBy(1.25));
  $("zoom-out").addEventListener("click", () => tree().zoomBy(1 / 1.25));
  $("zoom-fit").addEventListener("click", () => tree().fit());
  $("tree-find-form").addEventListener("submit", findInTree);
  $("prov-prev").addEventListener("click", () => turnTablePage(-1));
  $("prov-next").addEventListener("click", () => turnTablePage(1));
  $("find-form").addEventListener("submit", searchIssuances);
  window.addEventListener("hashchange", route);

  if (sessionStorage.getItem(KEY_STORAGE)) {
    startSession().catch((error) => signOut(error.message));
  } else {
    signOut();
  }
}

init();
