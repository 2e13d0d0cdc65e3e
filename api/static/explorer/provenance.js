// The provenance view: one certificate traced from its issuance to its current holders, as a
// tree, a table and the selected certificate's detail, checked against the ledger on request.

import { api } from "./api.js";
import { renderCertificateDetail } from "./certificate-detail.js";
import { $, el, fill, show } from "./dom.js";
import { memberName } from "./members.js";
import { plural } from "./money.js";
import { showBanner, reportError } from "./notices.js";
import { renderProvenanceSummary } from "./provenance-summary.js";
import { markSelectedRow, renderProvenanceTable, tablePageOf } from "./provenance-table.js";
import { begin, state } from "./state.js";
import { TreeView, treeModel } from "./tree.js";
import { STATUS_ORDER, statusLabel } from "./vocabulary.js";

const NO_TRACE = "Enter a certificate ID to trace it from issuance to its current holders.";

let treeView = null;

function tree() {
  if (!treeView) {
    treeView = new TreeView($("graph-scroll"), {
      statusLabel,
      partyName: (info) => info.name || memberName(info.address),
      onSelect: (entry) => selectCertificate(entry.id),
    });
  }
  return treeView;
}

const focus = (id) => tree().focus(id);

// The route #/provenance[/id]: traces the id, or shows again the last certificate traced.
export function openProvenance(arg) {
  const id = /^\d+$/.test(arg) ? arg : "";
  if (id) {
    $("search-id").value = id;
    loadProvenance(id);
  } else if (state.prov) {
    $("search-id").value = String(state.prov.certificate_id);
  }
}

// The search form: a certificate ID goes into the address, which traces it.
export function traceCertificate(event) {
  event.preventDefault();
  const id = $("search-id").value.trim().replace(/^#/, "");
  if (!/^\d+$/.test(id)) {
    showBanner("A certificate ID is a whole number, such as 12.");
    return;
  }
  if (location.hash === `#/provenance/${id}`) loadProvenance(id);
  else location.hash = `#/provenance/${id}`;
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

function renderProvenance() {
  show($("prov-empty"), false);
  show($("prov-result"));
  renderProvenanceSummary(state.prov, state.model, focus);
  $("tree-find").value = "";
  $("tree-find-note").textContent = "";
  renderLegend(state.model);
  tree().load(state.model, state.prov.certificate_id);
  renderTable();
  renderDetail();
}

function renderLegend(model) {
  const present = new Set(model.order.map((entry) => entry.node.status));
  fill(
    $("legend"),
    STATUS_ORDER.filter((status) => present.has(status)).map((status) =>
      el("span", { class: "legend-item" }, el("span", { class: `swatch st-${status}` }), statusLabel(status)),
    ),
  );
}

function renderTable() {
  state.tablePage = renderProvenanceTable({
    model: state.model,
    page: state.tablePage,
    selectedId: state.selectedId,
    tracedId: state.prov.certificate_id,
    focus,
  });
}

function renderDetail() {
  const entry = state.model && state.model.byId.get(state.selectedId);
  renderCertificateDetail(entry, { tracedId: state.prov && state.prov.certificate_id, focus });
}

// The selected certificate's details, and its row in the table below.
function selectCertificate(id) {
  state.selectedId = id;
  const index = state.model.order.findIndex((entry) => entry.id === id);
  if (index >= 0 && tablePageOf(index) !== state.tablePage) {
    state.tablePage = tablePageOf(index);
    renderTable();
  }
  markSelectedRow(id);
  renderDetail();
}

export function turnTablePage(step) {
  if (!state.model) return;
  state.tablePage = (state.tablePage || 0) + step;
  renderTable();
}

export function findInTree(event) {
  event.preventDefault();
  const note = $("tree-find-note");
  const text = $("tree-find").value.trim().replace(/^#/, "");
  note.textContent = "";
  if (!state.model) return;
  if (!/^\d+$/.test(text)) {
    note.textContent = "A certificate ID is a whole number.";
    return;
  }
  if (!focus(Number(text))) note.textContent = `#${text} is not in this tree.`;
}

export const zoomTree = (factor) => tree().zoomBy(factor);
export const fitTree = () => tree().fit();

// The tree shown, read again from the ledger contract itself.
export async function verifyProvenance() {
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

// Forgets the certificate shown, so that the next member to sign in sees nothing of it.
export function resetProvenance() {
  state.prov = null;
  state.model = null;
  state.selectedId = null;
  delete $("graph-scroll").dataset.renderedId;
  show($("prov-result"), false);
  show($("prov-empty"));
  $("prov-empty").textContent = NO_TRACE;
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
    "legend",
  ]) {
    $(id).replaceChildren();
  }
}
