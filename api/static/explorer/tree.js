// The provenance tree, drawn as the neighbourhood of the selected certificate.
//
// A tree may hold ten thousand certificates; drawing them all would make the page slow and
// every label unreadable. So the view draws the path from the issuance down to the selected
// certificate, the selected certificate, its parts and, within a budget of boxes, the levels
// below. A part that is not opened stands as one summary box for the subtree below it, and a
// run of parts not shown as one summary box for the run, each with its count of certificates
// and total; a click opens it. The view pans (drag) and zooms (wheel, buttons), and "Fit"
// never goes below the zoom at which the smallest label is still 10 px on screen.

import { svg } from "./dom.js";
import { formatMinor, plural, toMinor } from "./money.js";

export const NODE_W = 204;
export const NODE_H = 66;
const SUMMARY_H = NODE_H;
const GHOST_H = 48;
const COL_GAP = 44;
const ROW_GAP = 12;
const ROW_H = NODE_H + ROW_GAP;
const PAD = 20;
const ALL_PARTS = 20; // a certificate with this many parts or fewer shows them all when opened
const FIRST_PARTS = 12; // else the first ones, any revealed since, and summaries for the rest
const REVEAL_STEP = 12; // parts a click on a run's summary reveals
const AUTO_BOXES = 40; // boxes the view may open by itself below the selected certificate
const SMALLEST_LABEL_PX = 11; // the smallest font in a box (see style.css)
export const READABLE_ZOOM = 10 / SMALLEST_LABEL_PX;
const MIN_ZOOM = 0.4;
const MAX_ZOOM = 2.5;

// Every certificate of a provenance answer, with its parent, parts, depth and subtree size.
// The path's certificates above the one asked about are ancestors: only their step down the
// path is known.
export function treeModel(prov) {
  const byId = new Map();
  const order = [];
  let up = null;
  for (const [depth, node] of (prov.path || []).slice(0, -1).entries()) {
    const entry = { id: node.id, node, parent: up, children: [], depth, size: 1, hidden: 0, ancestor: true };
    if (up) up.children.push(entry);
    byId.set(node.id, entry);
    order.push(entry);
    up = entry;
  }
  const stack = [[prov.tree, up, order.length]];
  const below = [];
  while (stack.length) {
    const [node, parent, depth] = stack.pop();
    const entry = {
      id: node.id,
      node,
      parent,
      children: [],
      depth,
      size: 1,
      hidden: node.hidden_children || 0,
      ancestor: false,
    };
    if (parent) parent.children.push(entry);
    byId.set(node.id, entry);
    order.push(entry);
    below.push(entry);
    const kids = node.children || [];
    for (let i = kids.length - 1; i >= 0; i -= 1) stack.push([kids[i], entry, depth + 1]);
  }
  for (let i = below.length - 1; i > 0; i -= 1) {
    const entry = below[i];
    if (entry.parent && !entry.parent.ancestor) entry.parent.size += entry.size;
  }
  return { byId, order, top: order[0], target: byId.get(prov.certificate_id) };
}

export function pathTo(entry) {
  const path = [];
  for (let cursor = entry; cursor; cursor = cursor.parent) path.push(cursor);
  return path.reverse();
}

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

function clip(text, max) {
  const value = String(text ?? "");
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

const shortHex = (hex) => {
  const text = String(hex ?? "");
  return text.length > 13 ? `${text.slice(0, 6)}…${text.slice(-4)}` : text;
};

export class TreeView {
  // frame: the element the tree is drawn in; labels: { status(status), name(party) };
  // onSelect(entry): called when a certificate becomes the selected one.
  constructor(frame, { statusLabel, partyName, onSelect }) {
    this.frame = frame;
    this.statusLabel = statusLabel;
    this.partyName = partyName;
    this.onSelect = onSelect;
    this.model = null;
    this.k = 1;
    this.tx = 0;
    this.ty = 0;
    this.viewport = svg("g", { class: "viewport" });
    this.canvas = svg(
      "svg",
      { class: "tree", id: "tree", role: "group", "aria-label": "Provenance tree" },
      this.viewport,
    );
    this.wirePanAndZoom();
    // A panel that changes size (the window resized, the layout reflowed) keeps the selection in sight.
    this.seen = { width: 0, height: 0 };
    new ResizeObserver(() => {
      const { width, height } = this.size();
      if (!this.model || (width === this.seen.width && height === this.seen.height)) return;
      this.seen = { width, height };
      this.centreOn(this.focusId);
    }).observe(frame);
  }

  // A new tree, with ``focusId`` selected and centred.
  load(model, focusId) {
    this.model = model;
    this.expanded = new Set();
    this.revealed = new Map();
    this.k = 1;
    this.frame.replaceChildren(this.canvas);
    const entry = model.byId.get(focusId) || model.target;
    this.open(entry);
    this.openBelow(entry);
    this.focusId = entry.id;
    this.draw();
    this.centreOn(entry.id);
    this.seen = this.size();
  }

  // Selects a certificate of the tree and brings it to the centre, opening the way to it.
  focus(id) {
    const entry = this.model && this.model.byId.get(id);
    if (!entry) return false;
    this.open(entry);
    this.focusId = entry.id;
    this.draw();
    this.centreOn(entry.id);
    this.onSelect(entry);
    return true;
  }

  // Selects a certificate clicked in the tree and opens its parts, keeping it where it is on screen.
  select(id) {
    const entry = this.model.byId.get(id);
    if (!entry) return;
    this.focusId = id;
    if (entry.children.length) this.expanded.add(id);
    this.drawKeeping(`n${id}`, `n${id}`);
    this.onSelect(entry);
  }

  // Every certificate from the top down to ``entry`` is opened, and shown among its siblings.
  open(entry) {
    const path = pathTo(entry);
    for (const [index, step] of path.entries()) {
      if (index < path.length - 1) this.expanded.add(step.id);
      const parent = step.parent;
      if (parent && parent.children.length > ALL_PARTS) {
        const position = parent.children.indexOf(step);
        const shown = this.revealedOf(parent.id);
        // The certificate and a neighbour either side, for context.
        for (const kid of parent.children.slice(Math.max(0, position - 1), position + 2)) shown.add(kid.id);
      }
    }
    if (entry.children.length) this.expanded.add(entry.id);
  }

  // Opens whole levels below ``entry`` while the boxes drawn stay within the budget.
  openBelow(entry) {
    let boxes = this.layout().boxes.length;
    let level = [entry];
    while (level.length) {
      const next = [];
      for (const parent of level) {
        for (const item of this.childItems(parent)) {
          if (item.kind === "node" && item.entry.children.length) next.push(item.entry);
        }
      }
      const shown = (e) => (e.children.length <= ALL_PARTS ? e.children.length : FIRST_PARTS + 1);
      const cost = next.reduce((total, e) => total + shown(e) - 1, 0);
      if (!next.length || boxes + cost > AUTO_BOXES) return;
      for (const e of next) this.expanded.add(e.id);
      boxes += cost;
      level = next;
    }
  }

  revealedOf(id) {
    let shown = this.revealed.get(id);
    if (!shown) {
      shown = new Set();
      this.revealed.set(id, shown);
    }
    return shown;
  }

  // What is drawn to the right of a certificate: its parts (some as summaries), or one summary of them.
  childItems(entry) {
    const items = [];
    const kids = entry.children;
    if (entry.ancestor) {
      for (const kid of kids) items.push({ kind: "node", entry: kid, key: `n${kid.id}` });
    } else if (!this.expanded.has(entry.id)) {
      if (kids.length) items.push({ kind: "summary", owner: entry, run: kids, subtree: true, key: `s${entry.id}` });
    } else {
      const shown = kids.length > ALL_PARTS ? this.revealedOf(entry.id) : null;
      let run = [];
      const flush = () => {
        if (run.length) items.push({ kind: "summary", owner: entry, run, subtree: false, key: `r${run[0].id}` });
        run = [];
      };
      for (const [index, kid] of kids.entries()) {
        if (!shown || index < FIRST_PARTS || shown.has(kid.id)) {
          flush();
          items.push({ kind: "node", entry: kid, key: `n${kid.id}` });
        } else {
          run.push(kid);
        }
      }
      flush();
    }
    if (entry.hidden) items.push({ kind: "ghost", owner: entry, count: entry.hidden, key: `g${entry.id}` });
    return items;
  }

  // A tidy tree, issuance on the left: each leaf box takes the next row, a certificate sits level
  // with the middle of its parts, so nothing overlaps and the reading order is the ledger's id order.
  layout() {
    const boxes = [];
    let row = 0;
    const top = this.model.top;
    const visit = (item, column) => {
      const kids = item.kind === "node" ? this.childItems(item.entry) : [];
      const below = kids.map((kid) => visit(kid, column + 1));
      let middle;
      if (below.length) {
        middle = (below[0].y + below[0].h / 2 + below[below.length - 1].y + below[below.length - 1].h / 2) / 2;
      } else {
        middle = row * ROW_H + NODE_H / 2;
        row += 1;
      }
      const h = item.kind === "node" ? NODE_H : item.kind === "summary" ? SUMMARY_H : GHOST_H;
      const box = { ...item, x: column * (NODE_W + COL_GAP), y: middle - h / 2, w: NODE_W, h, below };
      boxes.push(box);
      return box;
    };
    visit({ kind: "node", entry: top, key: `n${top.id}` }, 0);
    const right = Math.max(...boxes.map((box) => box.x + box.w));
    const bottom = Math.max(...boxes.map((box) => box.y + box.h));
    return { boxes, bounds: { left: 0, top: 0, right, bottom } };
  }

  draw() {
    const { boxes, bounds } = this.layout();
    this.boxes = new Map(boxes.map((box) => [box.key, box]));
    this.bounds = bounds;
    const edges = svg("g", { class: "edges" });
    const shapes = svg("g", { class: "nodes" });
    for (const box of boxes) {
      for (const kid of box.below) {
        const x1 = box.x + box.w;
        const y1 = box.y + box.h / 2;
        const x2 = kid.x;
        const y2 = kid.y + kid.h / 2;
        const xm = x1 + COL_GAP / 2;
        const onPath = box.entry.ancestor || (kid.kind === "node" && this.onFocusPath(kid.entry));
        const dashed = box.entry.ancestor || kid.kind !== "node";
        edges.append(
          svg("path", {
            class: ["edge", onPath ? "edge-path" : "", dashed ? "edge-dashed" : ""].join(" ").trim(),
            d: `M${x1},${y1} H${xm} V${y2} H${x2}`,
          }),
        );
      }
      if (box.kind === "node") shapes.append(this.nodeShape(box));
      else if (box.kind === "summary") shapes.append(this.summaryShape(box));
      else shapes.append(this.ghostShape(box));
    }
    this.viewport.replaceChildren(edges, shapes);
    this.apply();
  }

  onFocusPath(entry) {
    const focus = this.model.byId.get(this.focusId);
    for (let cursor = focus; cursor; cursor = cursor.parent) if (cursor === entry) return true;
    return false;
  }

  nodeShape(box) {
    const { entry } = box;
    const node = entry.node;
    const holder = node.holder || null;
    const shown = holder || node.last_holder || {};
    const name = this.partyName(shown) || shortHex(shown.address);
    const status = this.statusLabel(node.status);
    const classes = ["node", `st-${node.status}`];
    if (entry === this.model.target) classes.push("node-current");
    if (this.onFocusPath(entry)) classes.push("node-path");
    if (entry.id === this.focusId) classes.push("node-selected");
    if (node.frozen) classes.push("node-frozen");
    if (entry.ancestor) classes.push("node-ancestor");
    const summary =
      `Certificate #${node.id} · ${status}` +
      `\n${holder ? "Holder" : "Last holder"}: ${name} (${shown.address || "—"})` +
      `\nAmount: ${formatMinor(toMinor(node.amount))} CNY · hops ${node.hops}` +
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
        onclick: () => this.select(entry.id),
        onkeydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            this.select(entry.id);
          }
        },
      },
      svg("title", {}, summary),
      svg("rect", { class: "node-ring", x: -4, y: -4, width: NODE_W + 8, height: NODE_H + 8, rx: 7 }),
      svg("rect", { class: "node-box", width: NODE_W, height: NODE_H, rx: 4 }),
      svg("rect", { class: "node-stripe", width: 5, height: NODE_H, rx: 2 }),
      svg("text", { class: "node-id", x: 14, y: 20 }, `#${node.id}`),
      svg(
        "text",
        { class: "node-status", x: NODE_W - 10, y: 19 },
        `${node.frozen ? "FROZEN · " : ""}${status.toUpperCase()}`,
      ),
      svg(
        "text",
        { class: holder ? "node-holder" : "node-holder node-holder-last", x: 14, y: 39 },
        clip(holder ? name : `last: ${name}`, 27),
      ),
      svg("text", { class: "node-hops", x: 14, y: 57 }, `hop ${node.hops}`),
      svg("text", { class: "node-amount", x: NODE_W - 10, y: 57 }, `${formatMinor(toMinor(node.amount))} CNY`),
    );
    if (!entry.ancestor && entry.children.length && this.expanded.has(entry.id)) {
      group.append(
        svg(
          "g",
          {
            class: "node-toggle",
            transform: `translate(${NODE_W},${NODE_H / 2})`,
            onclick: (event) => {
              event.stopPropagation();
              this.expanded.delete(entry.id);
              this.drawKeeping(`n${entry.id}`, `n${entry.id}`);
            },
          },
          svg("title", {}, `Fold the ${plural(entry.size - 1, "certificate")} below into one box`),
          svg("circle", { r: 8 }),
          svg("text", { y: 4 }, "−"),
        ),
      );
    }
    return group;
  }

  summaryShape(box) {
    const certificates = box.run.reduce((total, kid) => total + kid.size, 0);
    const amount = box.run.reduce((total, kid) => total + toMinor(kid.node.amount), 0n);
    // "37 certificates below, in 4 parts" for a folded subtree; "12 more parts, 37 certificates" for a run.
    const [head, sub] = box.subtree
      ? [`${plural(certificates, "certificate")} below`, `in ${plural(box.run.length, "part")}`]
      : [plural(box.run.length, "more part"), plural(certificates, "certificate")];
    const open = () => {
      if (box.subtree) {
        this.expanded.add(box.owner.id);
        this.drawKeeping(`n${box.owner.id}`, `n${box.owner.id}`);
      } else {
        const shown = this.revealedOf(box.owner.id);
        for (const kid of box.run.slice(0, REVEAL_STEP)) shown.add(kid.id);
        this.drawKeeping(box.key, `n${box.run[0].id}`);
      }
    };
    return svg(
      "g",
      {
        class: "summary",
        transform: `translate(${box.x},${box.y})`,
        tabindex: "0",
        role: "button",
        "data-owner": String(box.owner.id),
        "data-count": String(certificates),
        onclick: open,
        onkeydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            open();
          }
        },
      },
      svg("title", {}, box.subtree ? "Click to show these parts" : `Click to show ${REVEAL_STEP} more parts`),
      svg("rect", { width: NODE_W, height: SUMMARY_H, rx: 4 }),
      svg("text", { class: "summary-count", x: 12, y: 20 }, `▸ ${head}`),
      svg("text", { class: "summary-sub", x: 12, y: 39 }, sub),
      svg("text", { class: "summary-amount", x: 12, y: 57 }, `${formatMinor(amount)} CNY`),
    );
  }

  ghostShape(box) {
    const label = `${plural(box.count, "part")} not shown`;
    return svg(
      "g",
      { class: "ghost", transform: `translate(${box.x},${box.y})` },
      svg("title", {}, `${label}: held by others, outside what you hold or held`),
      svg("rect", { width: NODE_W, height: GHOST_H, rx: 4 }),
      svg("text", { x: NODE_W / 2, y: GHOST_H / 2 + 4 }, label),
    );
  }

  // Redraws with the box ``beforeKey`` was at on screen now holding ``afterKey``, so nothing jumps.
  drawKeeping(beforeKey, afterKey) {
    const before = this.boxes && this.boxes.get(beforeKey);
    const screen = before && { x: before.x * this.k + this.tx, y: before.y * this.k + this.ty };
    this.draw();
    const after = this.boxes.get(afterKey);
    if (screen && after) {
      this.tx = screen.x - after.x * this.k;
      this.ty = screen.y - after.y * this.k;
      this.apply();
    }
  }

  size() {
    return { width: this.frame.clientWidth, height: this.frame.clientHeight };
  }

  // The selected box in the middle, then moved as little as needed to leave no empty margin
  // where the tree is larger than the panel (the box stays in sight), or the tree centred where it fits.
  centreOn(id) {
    const box = this.boxes.get(`n${id}`);
    if (!box) return;
    const { width, height } = this.size();
    const k = this.k;
    const { left, top, right, bottom } = this.bounds;
    const place = (span, low, high, centre) => {
      if ((high - low) * k + 2 * PAD <= span) return (span - (high - low) * k) / 2 - low * k;
      return clamp(span / 2 - centre * k, span - PAD - high * k, PAD - low * k);
    };
    this.tx = place(width, left, right, box.x + box.w / 2);
    this.ty = place(height, top, bottom, box.y + box.h / 2);
    this.apply();
  }

  // The whole drawing in the panel, but never smaller than a readable size: past that, the
  // selected certificate at that size in the middle.
  fit() {
    if (!this.model) return;
    const { width, height } = this.size();
    const { left, top, right, bottom } = this.bounds;
    const whole = Math.min((width - 2 * PAD) / (right - left), (height - 2 * PAD) / (bottom - top), 1.25);
    this.k = clamp(whole, READABLE_ZOOM, MAX_ZOOM);
    this.centreOn(this.focusId);
  }

  zoomBy(factor, at = null) {
    const { width, height } = this.size();
    const point = at || { x: width / 2, y: height / 2 };
    const k = clamp(this.k * factor, MIN_ZOOM, MAX_ZOOM);
    this.tx = point.x - ((point.x - this.tx) * k) / this.k;
    this.ty = point.y - ((point.y - this.ty) * k) / this.k;
    this.k = k;
    this.apply();
  }

  apply() {
    this.viewport.setAttribute("transform", `translate(${this.tx.toFixed(1)},${this.ty.toFixed(1)}) scale(${this.k})`);
  }

  wirePanAndZoom() {
    const canvas = this.canvas;
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || event.target.closest("g.node, g.summary, .node-toggle")) return;
      drag = { x: event.clientX, y: event.clientY, tx: this.tx, ty: this.ty, id: event.pointerId };
      canvas.setPointerCapture(event.pointerId);
      canvas.classList.add("panning");
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag || event.pointerId !== drag.id) return;
      this.tx = drag.tx + event.clientX - drag.x;
      this.ty = drag.ty + event.clientY - drag.y;
      this.apply();
    });
    const end = (event) => {
      if (!drag || event.pointerId !== drag.id) return;
      drag = null;
      canvas.classList.remove("panning");
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener(
      "wheel",
      (event) => {
        if (!this.model) return;
        event.preventDefault();
        const frame = canvas.getBoundingClientRect();
        const at = { x: event.clientX - frame.left, y: event.clientY - frame.top };
        this.zoomBy(Math.exp(-clamp(event.deltaY, -100, 100) * 0.002), at);
      },
      { passive: false },
    );
  }
}
