// The workbench's entry point: tabs (arrow keys move between them), the token form, and the
// four views, each loaded when first shown.

import { replace, notice } from "./dom.js";
import * as api from "./api.js";
import { mountValidate, offerProfiles } from "./validate.js";
import { mountEvaluate } from "./evaluate.js";
import { mountReferrals } from "./referrals.js";
import { renderServer } from "./server.js";

const $ = (id) => document.getElementById(id);

const state = { capability: null, authOn: false };

function setupTabs(onShow) {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    onShow(tab.id.replace("tab-", ""));
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
    });
  });
  return select;
}

function showBanner(kind, text) {
  const banner = $("banner");
  if (!text) {
    banner.hidden = true;
    replace(banner);
    return;
  }
  banner.className = `banner banner-${kind}`;
  replace(banner, text);
  banner.hidden = false;
}

function renderAuthState() {
  const stateEl = $("auth-state");
  const group = $("auth-token-group");
  const forget = $("auth-forget");
  if (!state.authOn) {
    stateEl.textContent = "Authorization off (loopback)";
    stateEl.className = "auth-state auth-off";
    group.hidden = true;
    return;
  }
  group.hidden = false;
  forget.hidden = !api.hasToken();
  stateEl.textContent = api.hasToken() ? "Token in use (this tab only)" : "Token needed";
  stateEl.className = `auth-state ${api.hasToken() ? "auth-ok" : "auth-needed"}`;
}

function setupAuth(reload) {
  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("auth-token");
    api.setToken(input.value);
    input.value = "";
    api.resetCaches();
    showBanner();
    renderAuthState();
    reload();
  });
  $("auth-forget").addEventListener("click", () => {
    api.setToken(null);
    api.resetCaches();
    renderAuthState();
  });
  api.onUnauthorized(() => {
    state.authOn = true;
    renderAuthState();
    showBanner("warn", "The gateway asks for a bearer token: paste one in the top bar (it is kept in this tab's memory only).");
  });
}

async function loadCapability() {
  const result = await api.get("/fhir/metadata");
  if (!result.ok || result.body?.resourceType !== "CapabilityStatement") {
    showBanner("bad", `Cannot read the CapabilityStatement: ${api.problem(result)}`);
    return null;
  }
  state.capability = result.body;
  state.authOn = Boolean(result.body.rest?.[0]?.security);
  renderAuthState();
  return result.body;
}

async function main() {
  const capability = loadCapability();
  const views = {
    validate: () => {
      const view = mountValidate($("validate-input"), $("validate-result"));
      capability.then(offerProfiles);
      return view;
    },
    evaluate: () => mountEvaluate($("evaluate-input"), $("evaluate-result")),
    referrals: () => mountReferrals($("referrals-toolbar"), $("referrals-queue"), $("referrals-detail")),
    server: () => ({}),
  };
  const mounted = {};
  const fixturesLoaded = new Set();
  const show = async (name) => {
    if (!mounted[name]) mounted[name] = views[name]();
    const view = mounted[name];
    if (view.refreshFixtures && !fixturesLoaded.has(name)) {
      fixturesLoaded.add(name);
      await view.refreshFixtures();
    }
    if (view.load) await view.load();
    if (name === "server") {
      const cap = await capability;
      if (cap) renderServer($("server-body"), cap);
      else replace($("server-body"), notice("bad", "The CapabilityStatement could not be read."));
    }
  };
  const select = setupTabs((name) => {
    const panel = $(`view-${name}`);
    panel.dataset.ready = "false";
    show(name).finally(() => {
      panel.dataset.ready = "true";
    });
  });
  setupAuth(() => {
    fixturesLoaded.clear();
    const current = document.querySelector('[role="tab"][aria-selected="true"]');
    if (current) select(current, false);
  });
  await capability;
  select($("tab-validate"), false);
}

main();
