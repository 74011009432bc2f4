// Evaluate: $evaluate-eligibility on a referral Bundle (a dry run): the decision, the criteria
// as a checklist, and the CarePlan and CareTeam that acceptance would create.

import { h, replace, badge, notice } from "./dom.js";
import * as api from "./api.js";
import { sourceInput } from "./source.js";
import { criteriaTable, decisionInfo, determination, conceptText, codeOf, statusBadge } from "./fhir.js";

const CODE_SYSTEMS = {
  "http://snomed.info/sct": "SNOMED",
  "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
  "http://nucc.org/provider-taxonomy": "NUCC",
  "http://loinc.org": "LOINC",
};

export function mountEvaluate(inputPane, resultPane) {
  const run = h("button", { type: "button", class: "btn btn-primary", id: "evaluate-run" }, "Evaluate");
  const source = sourceInput({
    name: "evaluate",
    actions: [run],
    filter: (path) => path.startsWith("referrals/"),
  });
  replace(inputPane, source.element);
  run.addEventListener("click", () => evaluate());

  async function evaluate() {
    const text = source.text();
    if (!text.trim()) {
      replace(resultPane, notice("warn", "Nothing to evaluate: pick a referral Bundle, paste or drop one."));
      return;
    }
    run.disabled = true;
    replace(resultPane, h("p", { class: "placeholder" }, "Evaluating…"));
    const result = await api.post("/fhir/ServiceRequest/$evaluate-eligibility", text);
    run.disabled = false;
    if (!result.ok || result.body?.resourceType !== "Parameters") {
      replace(
        resultPane,
        notice("bad", h("strong", {}, "The referral could not be evaluated. "), api.problem(result)),
        result.status === 400 || result.status === 422
          ? h("p", { class: "muted" }, "Use the Validate view to see every issue with its line.")
          : null,
      );
      return;
    }
    show(result.body);
  }

  function show(parameters) {
    const param = (name) => (parameters.parameter || []).filter((p) => p.name === name);
    const decision = param("decision")[0]?.valueCode;
    const task = param("task")[0]?.resource;
    const carePlan = param("carePlan")[0]?.resource;
    const careTeam = param("careTeam")[0]?.resource;
    const goals = param("goal").map((p) => p.resource).filter(Boolean);
    const det = task ? determination(task) : { criteria: [], missing: {} };
    const [kind, label, explanation] = decisionInfo(decision);
    replace(
      resultPane,
      h(
        "div",
        { class: `decision decision-${kind}`, id: "evaluate-decision", dataset: { decision: decision || "" } },
        h("div", { class: "decision-label" }, label),
        h(
          "div",
          { class: "decision-text" },
          h("p", {}, explanation),
          task
            ? h(
                "p",
                { class: "muted" },
                "The Task would be ",
                statusBadge(task.status),
                ` · ${conceptText(task.businessStatus)}`,
                task.statusReason?.text ? ` · ${task.statusReason.text}` : "",
              )
            : null,
        ),
      ),
      criteriaTable(det, "Criteria"),
      h("h2", {}, "Plan of care that acceptance creates"),
      carePlan ? planPreview(carePlan, goals) : h("p", { class: "muted" }, "None: only an eligible referral gets a CarePlan."),
      careTeam ? teamPreview(careTeam) : null,
    );
  }

  return { refreshFixtures: source.refreshFixtures };
}

function codes(concept) {
  return (concept?.coding || [])
    .filter((c) => CODE_SYSTEMS[c.system])
    .map((c) => h("span", { class: "chip", title: c.display || "" }, `${CODE_SYSTEMS[c.system]} ${c.code}`));
}

/** Activities grouped by the discipline that performs them. */
function planPreview(plan, goals) {
  const byDiscipline = new Map();
  for (const activity of plan.activity || []) {
    const detail = activity.detail || {};
    const performer = (detail.performer || [])[0];
    const discipline = (performer?.display || performer?.reference || "Unassigned").replace(/ \(Home Based Palliative Care program\)$/, "");
    if (!byDiscipline.has(discipline)) byDiscipline.set(discipline, []);
    byDiscipline.get(discipline).push(detail);
  }
  return h(
    "section",
    { class: "card", id: "evaluate-careplan", "aria-label": "CarePlan preview" },
    h("h3", {}, plan.title || "CarePlan", " ", badge("info", plan.status)),
    h(
      "div",
      { class: "disciplines" },
      [...byDiscipline.entries()].map(([discipline, details]) =>
        h(
          "div",
          { class: "discipline" },
          h("h4", {}, discipline),
          h(
            "ul",
            { class: "activities" },
            details.map((d) =>
              h(
                "li",
                { class: "activity", dataset: { activity: codeOf(d.code) } },
                h("div", { class: "activity-name" }, conceptText(d.code), " ", codes(d.code)),
                d.reasonCode?.length ? h("div", { class: "muted" }, "For ", d.reasonCode.map(conceptText).join(", ")) : null,
                d.description ? h("p", { class: "activity-desc" }, d.description) : null,
              ),
            ),
          ),
        ),
      ),
    ),
    goals.length
      ? h("p", { class: "goals" }, h("strong", {}, "Goals: "), goals.map((g) => conceptText(g.description)).join(" · "))
      : null,
  );
}

function teamPreview(team) {
  return h(
    "section",
    { class: "card", id: "evaluate-careteam", "aria-label": "CareTeam preview" },
    h("h3", {}, team.name || "CareTeam", " ", badge("info", team.status)),
    h(
      "table",
      { class: "plain" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Codes"), h("th", { scope: "col" }, "Member"))),
      h(
        "tbody",
        {},
        (team.participant || []).map((p) => {
          const role = (p.role || [])[0];
          return h(
            "tr",
            { dataset: { role: codeOf(role) } },
            h("td", {}, conceptText(role)),
            h("td", {}, codes(role)),
            h("td", {}, p.member?.display || h("code", {}, p.member?.reference || "")),
          );
        }),
      ),
    ),
  );
}
