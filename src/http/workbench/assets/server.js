// Server: the CapabilityStatement, readable: resource types with their interactions, search
// parameters, includes and operations; system-level interactions and operations; security.

import { h, replace, badge, field, uid } from "./dom.js";

const SHORT = (url) => (url || "").replace(/^https?:\/\/[^/]+\/fhir\/(StructureDefinition|OperationDefinition)\//, "");

export function renderServer(container, capability) {
  const rest = capability.rest?.[0] || {};
  const resources = rest.resource || [];
  const security = rest.security;
  const filter = h("input", { type: "search", id: uid("server-filter"), placeholder: "type name or search parameter", autocomplete: "off" });
  const table = h("div", { class: "types" });

  const renderTypes = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = resources.filter(
      (r) => !q || r.type.toLowerCase().includes(q) || (r.searchParam || []).some((p) => p.name.toLowerCase().includes(q)),
    );
    replace(
      table,
      h(
        "table",
        { class: "plain capability", id: "server-types" },
        h("caption", {}, `Resource types (${shown.length} of ${resources.length})`),
        h(
          "thead",
          {},
          h("tr", {}, ["Type", "Profiles", "Interactions", "Operations", "Search"].map((c) => h("th", { scope: "col" }, c))),
        ),
        h(
          "tbody",
          {},
          shown.flatMap((r) => {
            const params = r.searchParam || [];
            const detail = h("tr", { class: "search-row", hidden: true }, h("td", { colspan: "5" }, searchDetails(r)));
            const toggle = params.length
              ? h("button", { type: "button", class: "btn btn-link", "aria-expanded": "false" }, `${params.length} parameters`)
              : h("span", { class: "muted" }, "—");
            if (params.length) {
              toggle.addEventListener("click", () => {
                const open = toggle.getAttribute("aria-expanded") !== "true";
                toggle.setAttribute("aria-expanded", String(open));
                detail.hidden = !open;
              });
            }
            return [
              h(
                "tr",
                { dataset: { type: r.type } },
                h("th", { scope: "row" }, r.type),
                h(
                  "td",
                  { class: "profiles" },
                  (r.supportedProfile || []).length
                    ? (r.supportedProfile || []).map((p) => h("div", {}, h("code", { title: p }, SHORT(p))))
                    : h("span", { class: "muted" }, "R4 base"),
                ),
                h("td", {}, (r.interaction || []).map((i) => h("span", { class: "chip" }, i.code))),
                h("td", {}, (r.operation || []).map((o) => h("span", { class: "chip chip-op", title: o.definition }, `$${o.name}`))),
                h("td", {}, toggle),
              ),
              detail,
            ];
          }),
        ),
      ),
    );
  };
  filter.addEventListener("input", renderTypes);
  renderTypes();

  replace(
    container,
    h(
      "div",
      { class: "server-cards" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, capability.software?.name || "Server", " ", h("span", { class: "muted" }, capability.software?.version || "")),
        h(
          "dl",
          { class: "facts" },
          fact("Implementation", capability.implementation?.description),
          fact("FHIR version", capability.fhirVersion),
          fact("Formats", (capability.format || []).join(", ")),
          fact("Statement date", capability.date),
          fact(
            "Security",
            security
              ? h("span", {}, badge("info", "SMART Backend Services"), " ", security.description || "")
              : h("span", {}, badge("warn", "Authorization off"), " anyone who reaches this address can read and write (loopback only)"),
          ),
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "System level"),
        h(
          "dl",
          { class: "facts" },
          fact("Interactions", (rest.interaction || []).map((i) => h("span", { class: "chip" }, i.code))),
          fact("Operations", (rest.operation || []).map((o) => h("span", { class: "chip chip-op", title: o.definition }, `$${o.name}`))),
        ),
        rest.documentation ? h("p", { class: "doc" }, rest.documentation) : null,
      ),
    ),
    h("div", { class: "toolbar" }, field("Filter", filter)),
    table,
  );
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value || "")];
}

function searchDetails(resource) {
  const params = resource.searchParam || [];
  return h(
    "div",
    { class: "search-details" },
    h(
      "table",
      { class: "plain compact", "aria-label": `${resource.type} search parameters` },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Expression; modifiers"))),
      h(
        "tbody",
        {},
        params.map((p) => h("tr", {}, h("td", {}, h("code", {}, p.name)), h("td", {}, p.type), h("td", { class: "doc" }, p.documentation || ""))),
      ),
    ),
    (resource.searchInclude || []).length
      ? h("p", {}, h("strong", {}, "_include: "), resource.searchInclude.map((i) => h("code", { class: "chip" }, i)))
      : null,
    (resource.searchRevInclude || []).length
      ? h("p", {}, h("strong", {}, "_revinclude: "), resource.searchRevInclude.map((i) => h("code", { class: "chip" }, i)))
      : null,
  );
}
