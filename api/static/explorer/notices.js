// Messages to the member: the banner above the views, and a short toast.

import { $, show } from "./dom.js";

let toastTimer = 0;

export function toast(message) {
  const node = $("toast");
  node.textContent = message;
  show(node);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => show(node, false), 1600);
}

export function showBanner(message, kind = "error") {
  $("banner").className = `banner banner-${kind}`;
  $("banner-text").textContent = message;
  show($("banner"));
}

export function hideBanner() {
  show($("banner"), false);
}

// A load that failed; a 401 has signed the member out already and says so there.
export function reportError(error) {
  if (error.status === 401) return;
  showBanner(error.message);
}
