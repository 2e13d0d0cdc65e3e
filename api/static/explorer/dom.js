// Elements from data, never from markup: text from the API reaches the page only as text nodes
// and attribute values.

export const $ = (id) => document.getElementById(id);

export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

// Replaces a node's children, skipping the empty ones (the DOM's own replaceChildren writes "null").
export function fill(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
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

export function el(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

export function show(node, visible = true) {
  node.hidden = !visible;
}
