// Reading the resources the gateway answers with: the referral Task's determination and
// delivery outputs, OperationOutcome issues, names and codes.

import { h, badge } from "./dom.js";

export const TASK_PARAMETER = "http://hbpc.example.org/fhir/CodeSystem/hbpc-task-parameter";
export const REFERRAL_TASK_PROFILE = "http://hbpc.example.org/fhir/StructureDefinition/hbpc-referral-task";
export const BSER_STATUS = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS";

/** The first coding's display, else the text, else the code. */
export function conceptText(concept) {
  if (!concept) return "";
  const coding = (concept.coding || [])[0] || {};
  return concept.text || coding.display || coding.code || "";
}

export function codeOf(concept) {
  return ((concept && concept.coding) || [])[0]?.code || "";
}

export function humanName(patient) {
  const name = ((patient && patient.name) || []).find((n) => n.use === "official") || (patient?.name || [])[0];
  if (!name) return "";
  if (name.text) return name.text;
  return [...(name.given || []), name.family].filter(Boolean).join(" ");
}

/** `Task.output`/`input` entries of one hbpc-task-parameter type. */
export function parametersOfType(list, code) {
  return (list || []).filter((p) => (p.type?.coding || []).some((c) => c.system === TASK_PARAMETER && c.code === code));
}

/**
 * The determination contained in a referral Task: {decision, criteria: [{code, display,
 * result, reason, evidence: [ref], expression}], missing: {code: text}}.
 */
export function determination(task) {
  const ref = parametersOfType(task.output, "determination")[0]?.valueReference?.reference || "#determination";
  const contained = (task.contained || []).find((r) => `#${r.id}` === ref) || {};
  const criteria = [];
  let decision = null;
  for (const p of contained.parameter || []) {
    if (p.name === "decision") decision = p.valueCode;
    if (p.name !== "criterion") continue;
    const c = { code: "", display: "", result: "unknown", reason: "", evidence: [], expression: "" };
    for (const part of p.part || []) {
      if (part.name === "code") {
        c.code = part.valueCoding?.code || "";
        c.display = part.valueCoding?.display || c.code;
      }
      if (part.name === "result") c.result = part.valueCoding?.code || "unknown";
      if (part.name === "reason") c.reason = part.valueString || "";
      if (part.name === "evidence" && part.valueReference?.reference) c.evidence.push(part.valueReference.reference);
      if (part.name === "expression") c.expression = part.valueString || "";
    }
    criteria.push(c);
  }
  const missing = {};
  for (const m of parametersOfType(task.output, "missing-evidence")) {
    const text = m.valueString || "";
    const at = text.indexOf(":");
    if (at > 0) missing[text.slice(0, at).trim()] = text.slice(at + 1).trim();
  }
  return { decision, criteria, missing };
}

/** The delivery state shown on the Task: {state, locations: [{reference, display}], httpStatus}. */
export function deliveryState(task) {
  const state = parametersOfType(task.output, "delivery")[0];
  return {
    state: state ? codeOf(state.valueCodeableConcept) : null,
    locations: parametersOfType(task.output, "delivery-location").map((o) => o.valueReference || {}),
    httpStatus: parametersOfType(task.output, "delivery-http-status")[0]?.valueString || null,
  };
}

export function evidenceOnFile(task) {
  return parametersOfType(task.input, "evidence").map((i) => i.valueReference?.reference).filter(Boolean);
}

const RESULT = {
  met: ["ok", "Met", "✓"],
  "not-met": ["bad", "Not met", "✗"],
  unknown: ["warn", "Unknown", "?"],
};

export function resultBadge(result) {
  const [kind, label, icon] = RESULT[result] || ["neutral", result, "·"];
  return badge(kind, h("span", {}, h("span", { class: "badge-icon", "aria-hidden": "true" }, icon), ` ${label}`), "result");
}

const DECISION = {
  eligible: ["ok", "Eligible", "Every criterion is met: acceptance creates the plan of care below."],
  ineligible: ["bad", "Not eligible", "At least one criterion is not met: the referral would be declined."],
  pending: ["warn", "Pending", "No criterion failed, but evidence is missing: the referral would wait on hold."],
  "not-evaluated": ["neutral", "Not evaluated", "The referral is not an active order (draft, on hold, revoked, completed): its status decides the Task."],
};

export function decisionInfo(decision) {
  return DECISION[decision] || ["neutral", decision || "No decision", ""];
}

const TASK_STATUS = {
  "on-hold": "warn",
  received: "info",
  requested: "info",
  accepted: "ok",
  "in-progress": "info",
  completed: "neutral",
  rejected: "bad",
  cancelled: "neutral",
  failed: "bad",
  "entered-in-error": "neutral",
};

export function statusBadge(status) {
  return badge(TASK_STATUS[status] || "neutral", status || "unknown", "status");
}

const DELIVERY = {
  pending: ["info", "Pending"],
  delivered: ["ok", "Delivered"],
  "failed-retrying": ["warn", "Retrying"],
  retrying: ["warn", "Retrying"],
  dead: ["bad", "Dead"],
  superseded: ["neutral", "Superseded"],
};

export function deliveryBadge(state) {
  if (!state) return badge("neutral", "Not delivered", "delivery");
  const [kind, label] = DELIVERY[state] || ["neutral", state];
  return badge(kind, label, "delivery");
}

export const SEVERITY_ORDER = ["fatal", "error", "warning", "information"];

export function severityKind(severity) {
  return { fatal: "bad", error: "bad", warning: "warn", information: "info" }[severity] || "neutral";
}

/** "line 232, column 9" (from diagnostics or, for broken JSON, the text) → {line, column}. */
export function location(issue) {
  const texts = [issue.diagnostics, issue.details?.text].filter(Boolean);
  for (const text of texts) {
    const m = /line (\d+), column (\d+)/.exec(text);
    if (m) return { line: Number(m[1]), column: Number(m[2]) };
  }
  return null;
}

/**
 * The criteria as a checklist: result, criterion, reason, evidence, what would decide it; the
 * criteria not met or unknown are summed up above it.
 */
export function criteriaTable(det, caption) {
  const rows = det.criteria.map((c) =>
    h(
      "tr",
      { class: `criterion res-${c.result}`, dataset: { criterion: c.code, result: c.result } },
      h("td", { class: "col-result" }, resultBadge(c.result)),
      h("th", { scope: "row", class: "col-criterion" }, h("span", { class: "criterion-name" }, c.display), h("code", { class: "criterion-code" }, c.code)),
      h(
        "td",
        { class: "col-reason" },
        h("p", { class: "reason" }, c.reason),
        c.result === "unknown" && det.missing[c.code]
          ? h("p", { class: "would-decide" }, h("strong", {}, "Would decide it: "), det.missing[c.code])
          : null,
        c.expression
          ? h("details", { class: "expression" }, h("summary", {}, "FHIRPath"), h("code", {}, c.expression))
          : null,
      ),
      h(
        "td",
        { class: "col-evidence" },
        c.evidence.length
          ? h("ul", { class: "refs" }, c.evidence.map((r) => h("li", {}, shortRef(r))))
          : h("span", { class: "muted" }, "none"),
      ),
    ),
  );
  const counts = { met: 0, "not-met": 0, unknown: 0 };
  det.criteria.forEach((c) => (counts[c.result] = (counts[c.result] || 0) + 1));
  const open = det.criteria.filter((c) => c.result !== "met");
  const attention = open.length
    ? h(
        "ul",
        { class: "attention", "aria-label": "Criteria not met or unknown" },
        open.map((c) =>
          h(
            "li",
            { class: `res-${c.result}` },
            resultBadge(c.result),
            " ",
            h("strong", {}, c.display),
            `: ${c.reason}`,
            c.result === "unknown" && det.missing[c.code] ? h("span", { class: "attention-decide" }, ` Would decide it: ${det.missing[c.code]}`) : null,
          ),
        ),
      )
    : null;
  return h(
    "div",
    { class: "criteria-block" },
    attention,
    h(
      "table",
      { class: "criteria" },
      h("caption", {}, caption || "Eligibility criteria", h("span", { class: "caption-counts" }, ` ${counts.met} met · ${counts["not-met"]} not met · ${counts.unknown} unknown`)),
      h(
        "colgroup",
        {},
        h("col", { class: "w-result" }),
        h("col", { class: "w-criterion" }),
        h("col", { class: "w-reason" }),
        h("col", { class: "w-evidence" }),
      ),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, "Result"), h("th", { scope: "col" }, "Criterion"), h("th", { scope: "col" }, "Reason"), h("th", { scope: "col" }, "Evidence used")),
      ),
      h("tbody", {}, rows),
    ),
  );
}

/** `Coverage/3cb9dcdc-964c-…` shortened for reading; the whole reference in the title. */
export function shortRef(reference) {
  const [type, id = ""] = reference.split("/");
  const short = /^[0-9a-f]{8}-[0-9a-f-]{27}$/.test(id) ? `${id.slice(0, 8)}…` : id;
  return h("span", { class: "ref", title: reference }, h("span", { class: "ref-type" }, type), " ", h("code", { class: "ref-id" }, short));
}
