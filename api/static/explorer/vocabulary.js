// The ledger's statuses and roles, as the page names them.

export const STATUS_ORDER = ["pending", "active", "financed", "overdue", "settled", "split", "cancelled"];

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

// A status or role the page does not know yet is shown as the API spells it.
export const statusLabel = (status) => STATUS_LABEL[status] || status;
export const roleLabel = (role) => ROLE_LABEL[role] || role;

// Auditors and the operator hold nothing: they search the ledger's issuances instead.
export const seesEverything = (me) => me.role === "auditor" || me.role === "operator";
