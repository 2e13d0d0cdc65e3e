// The gateway's JSON API, called with the member's API key.
//
// The key lives in sessionStorage only, goes out only in the Authorization header of
// same-origin requests, and is never logged, put in a URL or shown.

const KEY_STORAGE = "scf-explorer.api-key";
const PAGE_SIZE = 500;

export const hasApiKey = () => Boolean(sessionStorage.getItem(KEY_STORAGE));
export const saveApiKey = (key) => sessionStorage.setItem(KEY_STORAGE, key);
export const forgetApiKey = () => sessionStorage.removeItem(KEY_STORAGE);

class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

// What a 401 does (the session signs out), handed in when the page starts.
let onUnauthorized = () => {};

export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

// A GET; an error answer (application/problem+json) becomes an ApiError with its detail and code.
export async function api(path) {
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
    if (response.status === 401) onUnauthorized(detail);
    throw error;
  }
  return body;
}

// Every page of a certificate listing.
export async function allCertificates(params) {
  const items = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const query = new URLSearchParams({ ...params, limit: String(PAGE_SIZE), offset: String(offset) });
    const page = await api(`/v1/certificates?${query}`);
    items.push(...page.items);
    if (page.items.length === 0 || items.length >= page.total) return { items, indexedBlock: page.indexed_block };
  }
}
