// What the page holds for the member signed in, shared by the views; signing out clears it.

export const state = {
  me: null,
  members: new Map(), // address (lower case) -> name
  memberList: [],
  prov: null, // the provenance answer shown
  model: null, // its tree (tree.js)
  selectedId: null,
  tablePage: 0,
  maturityDays: null, // maturity date -> certificates due that day
  epoch: 0, // bumped at every sign-out
  ledgerToday: null, // the ledger's today (ms, UTC), from GET /v1/me
  today: null, // the day a view counts from: the ledger's today, or the day its answer was made
};

// Only the latest load of each kind, in the current session, may draw: a slow answer to an
// earlier search, or to the member who signed out meanwhile, is dropped.
const latest = {};

export function begin(kind) {
  const ticket = (latest[kind] || 0) + 1;
  latest[kind] = ticket;
  const epoch = state.epoch;
  return () => latest[kind] === ticket && state.epoch === epoch;
}
