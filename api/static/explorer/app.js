// scf-chain explorer: a member's view of the ledger, over the gateway's JSON API.
//
// Rules every module of the page keeps:
// - The API key lives in sessionStorage only, goes out only in the Authorization header
//   of same-origin requests, and is never logged, put in a URL or shown (api.js).
// - Text from the API reaches the page only as text nodes or attribute values
//   (textContent, setAttribute); nothing here parses HTML (dom.js).
// - Amounts are decimal strings; they are summed as integer minor units (BigInt), never floats (money.js).
//
// This entry wires the page's controls to the views; each view is a module of its own.

import { hasApiKey, whenUnauthorized } from "./api.js";
import { $ } from "./dom.js";
import { searchIssuances } from "./issuance-search.js";
import { hideBanner } from "./notices.js";
import { findInTree, fitTree, traceCertificate, turnTablePage, verifyProvenance, zoomTree } from "./provenance.js";
import { route } from "./router.js";
import { signIn, signOut, startSession } from "./session.js";

whenUnauthorized(signOut);

$("signin-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("banner-close").addEventListener("click", hideBanner);
$("search-form").addEventListener("submit", traceCertificate);
$("verify").addEventListener("click", verifyProvenance);
$("zoom-in").addEventListener("click", () => zoomTree(1.25));
$("zoom-out").addEventListener("click", () => zoomTree(1 / 1.25));
$("zoom-fit").addEventListener("click", fitTree);
$("tree-find-form").addEventListener("submit", findInTree);
$("prov-prev").addEventListener("click", () => turnTablePage(-1));
$("prov-next").addEventListener("click", () => turnTablePage(1));
$("find-form").addEventListener("submit", searchIssuances);
window.addEventListener("hashchange", route);

if (hasApiKey()) {
  startSession().catch((error) => signOut(error.message));
} else {
  signOut();
}
