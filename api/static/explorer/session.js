// The session: signing in with an API key, and signing out, which forgets everything shown.

import { api, forgetApiKey, saveApiKey } from "./api.js";
import { forgetLedgerDate, noteLedgerDate } from "./dates.js";
import { $, show } from "./dom.js";
import { resetHoldings } from "./holdings.js";
import { renderObligorChoices, resetSearch } from "./issuance-search.js";
import { resetMaturities } from "./maturities.js";
import { forgetMembers, loadMembers } from "./members.js";
import { hideBanner } from "./notices.js";
import { resetProvenance } from "./provenance.js";
import { route } from "./router.js";
import { state } from "./state.js";
import { roleLabel, seesEverything } from "./vocabulary.js";
import { shortHex } from "./widgets.js";

export async function signIn(event) {
  event.preventDefault();
  const input = $("api-key");
  const key = input.value.trim();
  input.value = "";
  show($("signin-error"), false);
  if (!key) return;
  saveApiKey(key);
  $("signin-submit").disabled = true;
  try {
    await startSession();
  } catch (error) {
    forgetApiKey();
    $("signin-error").textContent = error.message;
    show($("signin-error"));
    show($("view-signin"));
  } finally {
    $("signin-submit").disabled = false;
  }
}

export async function startSession() {
  const me = await api("/v1/me");
  state.me = me;
  noteLedgerDate(me);
  await loadMembers();
  $("session-name").textContent = me.name;
  $("session-role").textContent = roleLabel(me.role);
  $("session-address").textContent = shortHex(me.address);
  $("session-address").title = me.address;
  show($("tab-maturities"), me.role === "core_enterprise");
  show($("tab-holdings"), !seesEverything(me));
  show($("tab-search"), seesEverything(me));
  if (seesEverything(me)) renderObligorChoices();
  show($("tabs"));
  show($("session"));
  show($("view-signin"), false);
  route();
}

// reason: why the member was signed out (the gateway's detail of a 401), shown on the sign-in form.
export function signOut(reason) {
  forgetApiKey();
  state.epoch += 1;
  state.me = null;
  if (location.hash) history.replaceState(null, "", location.pathname);
  forgetMembers();
  forgetLedgerDate();
  // So that the next member to sign in in this tab sees nothing of what was shown.
  resetProvenance();
  resetHoldings();
  resetMaturities();
  resetSearch();
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
