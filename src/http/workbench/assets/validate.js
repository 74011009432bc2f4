// Validate: $validate on a pasted, dropped or fixture resource; issues grouped by entry and
// severity, and the JSON with the offending lines marked.

import { h, replace, field, badge, notice, uid } from "./dom.js";
import * as api from "./api.js";
import { sourceInput, codeView } from "./source.js";
import { SEVERITY_ORDER, severityKind, location } from "./fhir.js";

const SEVERITY_LABEL = { fatal: "Fatal", error: "Errors", warning: "Warnings", information: "Information" };

export function mountValidate(inputPane, resultPane) {
  const profiles = h("input", {
    type: "text",
    id: uid("validate-profiles"),
    spellcheck: "false",
    autocomplete: "off",
    placeholder: "e.g. http://hbpc.example.org/fhir/StructureDefinition/hbpc-referral-servicerequest",
    list: "validate-profile-list",
  });
  const profileList = h("datalist", { id: "validate-profile-list" });
  const run = h("button", { type: "button", class: "btn btn-primary", id: "validate-run" }, "Validate");
  const source = sourceInput({
    name: "validate",
    actions: [run],
    filter: (path) => path.startsWith("invalid/"),
    extra: [
      field(
        "Profiles (optional)",
        profiles,
        "Canonical URLs, separated by spaces. Without them, declared profiles and each type's HBPC profile apply.",
      ),
      profileList,
    ],
  });
  replace(inputPane, source.element);

  run.addEventListener("click", () => validate());
  source.textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) validate();
  });

  async function validate() {
    const text = source.text();
    if (!text.trim()) {
      replace(resultPane, notice("warn", "Nothing to validate: paste JSON, drop a file or pick a fixture."));
      return;
    }
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null; // the server says where (line and column)
    }
    const type = parsed && typeof parsed.resourceType === "string" && /^[A-Z][A-Za-z]+$/.test(parsed.resourceType)
      ? parsed.resourceType
      : null;
    const query = profiles.value
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((p) => `profile=${encodeURIComponent(p)}`)
      .join("&");
    const path = `/fhir/${type ? `${type}/` : ""}$validate${query ? `?${query}` : ""}`;
    run.disabled = true;
    replace(resultPane, h("p", { class: "placeholder" }, "Validating…"));
    const result = await api.post(path, text);
    run.disabled = false;
    const outcome = result.body && result.body.resourceType === "OperationOutcome" ? result.body : null;
    if (!outcome) {
      replace(resultPane, notice("bad", api.problem(result)));
      return;
    }
    show(text, parsed, outcome, result.status);
  }

  function show(text, parsed, outcome, status) {
    const issues = (outcome.issue || []).map((issue, index) => ({ issue, index, at: location(issue) }));
    const real = issues;
    const counts = {};
    for (const { issue } of issues) counts[issue.severity] = (counts[issue.severity] || 0) + 1;
    const errors = (counts.fatal || 0) + (counts.error || 0);

    const marks = new Map();
    for (const { issue, at } of issues) {
      if (!at) continue;
      const kind = issue.severity === "fatal" ? "error" : issue.severity;
      const mark = marks.get(at.line);
      const text = `${issue.severity}: ${issue.details?.text || issue.code}`;
      if (!mark) marks.set(at.line, { kind, column: at.column, titles: [text] });
      else {
        mark.titles.push(text);
        if (SEVERITY_ORDER.indexOf(kind) < SEVERITY_ORDER.indexOf(mark.kind)) {
          mark.kind = kind;
          mark.column = at.column;
        }
      }
    }
    const code = codeView(text, marks, "The validated JSON, with the lines the issues point at");

    const summary = h(
      "div",
      { class: "summary", role: "status" },
      errors
        ? badge("bad", `${errors} error${errors === 1 ? "" : "s"}`, "big")
        : badge("ok", status === 200 ? "Valid" : `HTTP ${status}`, "big"),
      counts.warning ? badge("warn", `${counts.warning} warning${counts.warning === 1 ? "" : "s"}`) : null,
      counts.information ? badge("info", `${counts.information} information`) : null,
      status !== 200 ? h("span", { class: "muted" }, ` HTTP ${status}: validation could not run on this body`) : null,
    );

    // Filters: which severities are listed.
    const shown = new Set(["fatal", "error", "warning", "information"]);
    const filters = h(
      "fieldset",
      { class: "filters" },
      h("legend", {}, "Show"),
      ["error", "warning", "information"].map((severity) => {
        const box = h("input", { type: "checkbox", id: uid(`show-${severity}`), checked: true });
        box.addEventListener("change", () => {
          const list = severity === "error" ? ["fatal", "error"] : [severity];
          list.forEach((s) => (box.checked ? shown.add(s) : shown.delete(s)));
          renderGroups();
        });
        return h("span", { class: "check" }, box, h("label", { for: box.id }, SEVERITY_LABEL[severity]));
      }),
    );
    const groupsEl = h("div", { class: "issue-groups" });

    const renderGroups = () => {
      const groups = new Map();
      for (const entry of real) {
        if (!shown.has(entry.issue.severity)) continue;
        const key = groupKey(entry.issue, parsed);
        if (!groups.has(key.id)) groups.set(key.id, { ...key, items: [] });
        groups.get(key.id).items.push(entry);
      }
      // groups with errors first (in file order), then the others
      const hasError = (g) => (g.items.some((e) => e.issue.severity === "error" || e.issue.severity === "fatal") ? 0 : 1);
      const ordered = [...groups.values()].sort((a, b) => hasError(a) - hasError(b) || a.order - b.order);
      if (!ordered.length) {
        replace(groupsEl, h("p", { class: "muted" }, real.length ? "No issue of the chosen severities." : "No issues."));
        return;
      }
      replace(
        groupsEl,
        ordered.map((group) => {
          const bySeverity = SEVERITY_ORDER.map((s) => [s, group.items.filter((e) => e.issue.severity === s)]).filter(
            ([, list]) => list.length,
          );
          const worst = bySeverity[0][0];
          return h(
            "section",
            { class: "issue-group", "aria-label": group.label },
            h("h3", { class: "group-title" }, badge(severityKind(worst), String(group.items.length)), " ", group.label),
            bySeverity.map(([severity, list]) =>
              h(
                "div",
                { class: "severity-block" },
                h("h4", { class: `severity-title sev-${severityKind(severity)}` }, `${SEVERITY_LABEL[severity]} (${list.length})`),
                h("ul", { class: "issues" }, list.map((entry) => issueItem(entry, code))),
              ),
            ),
          );
        }),
      );
    };
    renderGroups();

    replace(
      resultPane,
      h("div", { class: "result-head" }, h("h2", {}, "Issues"), summary),
      filters,
      groupsEl,
    );
    source.showCode(code.element);
  }

  return { refreshFixtures: source.refreshFixtures };
}

function issueItem({ issue, at }, code) {
  const expression = (issue.expression || issue.location || [])[0];
  const text = issue.details?.text || issue.diagnostics || "";
  const go = at
    ? h(
        "button",
        {
          type: "button",
          class: "btn btn-link issue-loc",
          dataset: { line: String(at.line) },
          onclick: () => code.reveal(at.line),
        },
        `Line ${at.line}, col ${at.column}`,
      )
    : null;
  return h(
    "li",
    { class: `issue sev-${severityKind(issue.severity)}`, dataset: { severity: issue.severity, expression: expression || "" } },
    h(
      "div",
      { class: "issue-head" },
      badge(severityKind(issue.severity), issue.severity),
      h("code", { class: "issue-code" }, issue.code || ""),
      expression ? h("code", { class: "issue-expr" }, expression) : null,
      go,
    ),
    h("p", { class: "issue-text" }, text),
  );
}

/** Issues are grouped by the Bundle entry (or resource) their expression names. */
function groupKey(issue, parsed) {
  const expression = (issue.expression || issue.location || [])[0] || "";
  const m = /^Bundle\.entry\[(\d+)\]/.exec(expression);
  if (m) {
    const i = Number(m[1]);
    const resource = parsed?.entry?.[i]?.resource;
    const what = resource ? `${resource.resourceType}${resource.id ? `/${resource.id}` : ""}` : "";
    return { id: `entry-${i}`, order: i + 1, label: `Entry ${i}${what ? ` · ${what}` : ""}` };
  }
  if (expression) {
    const type = expression.split(/[.[]/)[0];
    if (type === "Bundle") return { id: "bundle", order: 0, label: "The Bundle itself" };
    return { id: `type-${type}`, order: 0, label: type };
  }
  return { id: "request", order: -1, label: "The request as a whole" };
}

/** Loads the supported profiles into the datalist (from the CapabilityStatement). */
export function offerProfiles(capability) {
  const list = document.getElementById("validate-profile-list");
  if (!list || !capability) return;
  const urls = new Set();
  for (const resource of capability.rest?.[0]?.resource || []) {
    (resource.supportedProfile || []).forEach((u) => urls.add(u));
  }
  replace(list, [...urls].sort().map((u) => h("option", { value: u })));
}
