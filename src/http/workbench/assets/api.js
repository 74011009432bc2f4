// The gateway's REST API, same origin. The bearer token the user types lives in this module's
// variable only: it is never written to any browser storage, cookie or URL, and a reload
// forgets it. Request bodies carry the data; URLs carry only ids, codes and profile URLs.

const FHIR_JSON = "application/fhir+json";

let token = null;
const listeners = new Set();

export function setToken(value) {
  token = value ? value.trim() : null;
}

export function hasToken() {
  return Boolean(token);
}

/** Called with the response of any request that answered 401 (a token is needed). */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

/**
 * One request. Returns {status, ok, headers, body, text}; body is the parsed JSON when the
 * answer is JSON, else null. Network failures give status 0 and the error text.
 */
export async function call(method, path, options = {}) {
  const headers = { Accept: `${FHIR_JSON}, application/json;q=0.9`, ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (options.body !== undefined) {
    headers["Content-Type"] = options.contentType || FHIR_JSON;
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body,
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch (error) {
    return { status: 0, ok: false, headers: new Headers(), body: null, text: String(error) };
  }
  const text = await response.text();
  let parsed = null;
  if (text && /json/.test(response.headers.get("Content-Type") || "")) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  const result = { status: response.status, ok: response.ok, headers: response.headers, body: parsed, text };
  if (response.status === 401) listeners.forEach((listener) => listener(result));
  return result;
}

export const get = (path) => call("GET", path);
export const post = (path, body, options = {}) => call("POST", path, { ...options, body });
export const put = (path, body, options = {}) => call("PUT", path, { ...options, body });

/** The issues' texts of an OperationOutcome answer, or the status line. */
export function problem(result) {
  if (result.status === 0) return `The gateway cannot be reached (${result.text}).`;
  const issues = result.body && result.body.resourceType === "OperationOutcome" ? result.body.issue || [] : [];
  const texts = issues
    .map((i) => (i.details && i.details.text) || i.diagnostics || i.code)
    .filter(Boolean);
  const head = `HTTP ${result.status}`;
  if (texts.length) return `${head}: ${texts.join("; ")}`;
  if (result.status === 401) return `${head}: a bearer token is needed.`;
  if (result.status === 403) return `${head}: the token's scopes do not allow this.`;
  return result.text ? `${head}: ${result.text.slice(0, 300)}` : head;
}

let fixtureList = null;
/** The fixtures the server embeds: [{folder, fixtures: [path…]}], or throws with a message. */
export async function fixtures() {
  if (fixtureList) return fixtureList;
  const result = await get("/workbench/fixtures");
  if (!result.ok || !result.body) throw new Error(problem(result));
  fixtureList = result.body.groups || [];
  return fixtureList;
}

/** Forget what was fetched with the old token (a new token may see more). */
export function resetCaches() {
  fixtureList = null;
}

/** One fixture's text, exactly as stored (some are deliberately broken JSON). */
export async function fixture(path) {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  const result = await call("GET", `/workbench/fixtures/${encoded}`, { headers: { Accept: "application/json" } });
  if (!result.ok) throw new Error(problem(result));
  return result.text;
}
