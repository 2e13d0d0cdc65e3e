// Routing: #/provenance[/id], #/holdings, #/maturities, #/search; each member sees only the
// views of its role.

import { $, show } from "./dom.js";
import { loadHoldings } from "./holdings.js";
import { openSearch } from "./issuance-search.js";
import { loadMaturities } from "./maturities.js";
import { hideBanner } from "./notices.js";
import { openProvenance } from "./provenance.js";
import { state } from "./state.js";
import { seesEverything } from "./vocabulary.js";

const VIEWS = ["provenance", "holdings", "maturities", "search"];

export function route() {
  if (!state.me) return;
  const [, view = "provenance", arg = ""] = location.hash.split("/");
  let target = VIEWS.includes(view) ? view : "provenance";
  if (target === "maturities" && state.me.role !== "core_enterprise") target = "provenance";
  if (target === "holdings" && seesEverything(state.me)) target = "search";
  if (target === "search" && !seesEverything(state.me)) target = "provenance";
  hideBanner();
  for (const name of VIEWS) show($(`view-${name}`), name === target);
  for (const tab of document.querySelectorAll("#tabs a")) tab.classList.toggle("active", tab.dataset.view === target);
  if (target === "provenance") openProvenance(arg);
  else if (target === "holdings") loadHoldings();
  else if (target === "search") openSearch();
  else loadMaturities();
}
