// Referrals: the queue of referral Tasks (on-hold first), one referral's criteria, decision and
// delivery, and the coordinator's actions, all through the REST API (and so the audit trail):
// GET /fhir/Task?…, PUT /fhir/Task/{id} with If-Match, GET /admin/deliveries?task=…,
// POST /admin/deliveries/{id}/$retry.

import { h, replace, badge, notice, field, uid, arrowNavigation, when } from "./dom.js";
import * as api from "./api.js";
import {
  REFERRAL_TASK_PROFILE,
  BSER_STATUS,
  criteriaTable,
  determination,
  deliveryState,
  deliveryBadge,
  evidenceOnFile,
  humanName,
  statusBadge,
  conceptText,
} from "./fhir.js";

const FILTERS = [
  ["open", "Open (on-hold, received, accepted, in progress)", "on-hold,received,requested,accepted,in-progress"],
  ["on-hold", "On hold", "on-hold"],
  ["received", "Received", "received,requested"],
  ["accepted", "Accepted", "accepted"],
  ["in-progress", "In progress", "in-progress"],
  ["rejected", "Rejected", "rejected"],
  ["cancelled", "Cancelled", "cancelled"],
  ["completed", "Completed", "completed"],
  ["all", "All", ""],
];

const QUEUE_ORDER = { "on-hold": 0, received: 1, requested: 1, accepted: 2, "in-progress": 3 };

/** What a coordinator may do from each status (the FHIR task state machine, docs/eligibility.md). */
const ACTIONS = {
  accept: {
    label: "Accept",
    done: "Accepted",
    to: "accepted",
    from: ["on-hold", "received", "requested"],
    business: ["3.0", "Service Request Accepted"],
    style: "btn-success",
  },
  reject: {
    label: "Reject",
    done: "Rejected",
    to: "rejected",
    from: ["on-hold", "received", "requested"],
    business: ["4.0", "Service Request Declined"],
    style: "btn-danger",
  },
  cancel: {
    label: "Cancel",
    done: "Cancelled",
    to: "cancelled",
    from: ["on-hold", "received", "requested", "accepted", "in-progress"],
    business: ["6.0", "Service Request Fulfillment Cancelled"],
    style: "btn-secondary",
  },
};

const MAX_QUEUE = 200;

export function mountReferrals(toolbar, queuePane, detailPane) {
  let items = [];
  let selected = null;
  let more = false;
  let generation = 0;

  const filter = h(
    "select",
    { id: "referrals-filter" },
    FILTERS.map(([value, label]) => h("option", { value }, label)),
  );
  const refresh = h("button", { type: "button", class: "btn btn-secondary", id: "referrals-refresh" }, "Refresh");
  const count = h("span", { class: "muted", id: "referrals-count", role: "status" });
  replace(toolbar, field("Status", filter), refresh, count);
  filter.addEventListener("change", () => loadQueue());
  refresh.addEventListener("click", () => loadQueue());

  const list = h("ul", { class: "queue", "aria-label": "Referral queue" });
  arrowNavigation(list, ".queue-item");
  replace(queuePane, list);

  /** Loads the queue; the selected referral is shown again (with `message` above it). */
  async function loadQueue(message) {
    const statuses = FILTERS.find(([value]) => value === filter.value)?.[2] || "";
    const params = new URLSearchParams({ _profile: REFERRAL_TASK_PROFILE, _sort: "-_lastUpdated", _count: String(MAX_QUEUE) });
    params.append("_include", "Task:patient");
    params.append("_include", "Task:focus");
    if (statuses) params.set("status", statuses);
    refresh.disabled = true;
    count.textContent = "Loading…";
    const result = await api.get(`/fhir/Task?${params}`);
    refresh.disabled = false;
    if (!result.ok || result.body?.resourceType !== "Bundle") {
      count.textContent = "";
      replace(list, h("li", {}, notice("bad", api.problem(result))));
      return;
    }
    const included = new Map();
    const tasks = [];
    for (const entry of result.body.entry || []) {
      const r = entry.resource;
      if (!r) continue;
      if (entry.search?.mode === "include") included.set(`${r.resourceType}/${r.id}`, r);
      else if (r.resourceType === "Task") tasks.push(r);
    }
    more = (result.body.link || []).some((l) => l.relation === "next");
    items = tasks
      .map((task) => ({
        task,
        patient: included.get(task.for?.reference) || null,
        referral: included.get(task.focus?.reference) || null,
      }))
      .sort((a, b) => {
        const oa = QUEUE_ORDER[a.task.status] ?? 9;
        const ob = QUEUE_ORDER[b.task.status] ?? 9;
        if (oa !== ob) return oa - ob;
        return (b.task.meta?.lastUpdated || "").localeCompare(a.task.meta?.lastUpdated || "");
      });
    count.textContent = `${items.length} referral${items.length === 1 ? "" : "s"}${more ? ` (the ${MAX_QUEUE} most recent)` : ""}`;
    renderQueue();
    const still = selected && items.find((i) => i.task.id === selected);
    if (still) showDetail(still, message);
    else if (selected) {
      selected = null;
      replace(
        detailPane,
        message || null,
        h("p", { class: message ? "muted" : "placeholder" }, message ? "The referral is not in this filter any more; choose “All” to see it." : "Select a referral."),
      );
    }
    generation += 1;
    list.dataset.generation = String(generation); // tells a watcher (or a test) a load finished
  }

  function renderQueue() {
    if (!items.length) {
      replace(list, h("li", { class: "muted empty" }, "No referral in this state."));
      return;
    }
    replace(
      list,
      items.map((item) => {
        const { task, patient, referral } = item;
        const det = determination(task);
        const counts = { met: 0, "not-met": 0, unknown: 0 };
        det.criteria.forEach((c) => (counts[c.result] = (counts[c.result] || 0) + 1));
        const summary = det.criteria.length
          ? [counts["not-met"] ? `${counts["not-met"]} not met` : null, counts.unknown ? `${counts.unknown} unknown` : null]
              .filter(Boolean)
              .join(" · ") || "all criteria met"
          : "no determination";
        const delivery = deliveryState(task);
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: `queue-item${task.id === selected ? " is-selected" : ""}`,
              "aria-current": task.id === selected ? "true" : null,
              dataset: { taskId: task.id, status: task.status },
              onclick: () => {
                selected = task.id;
                list.querySelectorAll(".queue-item").forEach((b) => {
                  b.classList.toggle("is-selected", b.dataset.taskId === task.id);
                  if (b.dataset.taskId === task.id) b.setAttribute("aria-current", "true");
                  else b.removeAttribute("aria-current");
                });
                showDetail(item);
              },
            },
            h(
              "span",
              { class: "qi-top" },
              h("span", { class: "qi-name" }, humanName(patient) || task.for?.reference || "Unknown patient"),
              statusBadge(task.status),
            ),
            h(
              "span",
              { class: "qi-bottom" },
              h("span", { class: "qi-ref" }, placerId(referral) || task.focus?.reference || ""),
              h("span", { class: "qi-date" }, when(referral?.authoredOn || task.authoredOn)),
              h("span", { class: "qi-summary" }, summary),
              delivery.state ? deliveryBadge(delivery.state) : null,
            ),
          ),
        );
      }),
    );
  }

  async function reloadOne(taskId, message) {
    selected = taskId;
    await loadQueue(message);
  }

  async function showDetail(item, message) {
    const { task, patient, referral } = item;
    const det = determination(task);
    const delivery = deliveryState(task);
    const deliveriesEl = h("div", { class: "delivery-records", id: "delivery-records" }, h("p", { class: "muted" }, "Loading delivery records…"));
    const actionsEl = h("div", { class: "actions-area", id: "referral-actions" });
    const evidence = evidenceOnFile(task);

    replace(
      detailPane,
      h(
        "article",
        { class: "referral", id: "referral-detail", dataset: { taskId: task.id, status: task.status, version: task.meta?.versionId || "" } },
        message || null,
        h(
          "header",
          { class: "referral-head" },
          h("h2", {}, humanName(patient) || "Unknown patient"),
          h(
            "p",
            { class: "muted" },
            [
              patient?.birthDate ? `Born ${when(patient.birthDate)}` : null,
              mrn(patient) ? `MRN ${mrn(patient)}` : null,
              placerId(referral) ? `Referral ${placerId(referral)}` : null,
              referral?.authoredOn ? `referred ${when(referral.authoredOn)}` : null,
            ]
              .filter(Boolean)
              .join(" · "),
          ),
          h(
            "div",
            { class: "status-line" },
            statusBadge(task.status),
            h("span", {}, conceptText(task.businessStatus)),
            delivery.state ? h("span", { class: "delivery-summary" }, "To the EHR: ", deliveryBadge(delivery.state)) : null,
            h("span", { class: "muted" }, `Task version ${task.meta?.versionId || "?"}, updated ${when(task.meta?.lastUpdated)}`),
          ),
          task.statusReason?.text ? h("p", { class: "status-reason", id: "status-reason" }, h("strong", {}, "Reason: "), task.statusReason.text) : null,
        ),
        h("section", { "aria-labelledby": "actions-title" }, h("h3", { id: "actions-title" }, "Coordinator actions"), actionsEl),
        h(
          "section",
          { "aria-labelledby": "decision-title" },
          h("h3", { id: "decision-title" }, "Decision"),
          det.criteria.length ? criteriaTable(det, "Criteria") : h("p", { class: "muted" }, "No determination on this Task."),
        ),
        h(
          "section",
          { "aria-labelledby": "delivery-title", class: "delivery" },
          h("h3", { id: "delivery-title" }, "Delivery to the referring EHR"),
          h(
            "div",
            { class: "delivery-state", id: "delivery-state", dataset: { state: delivery.state || "none" } },
            deliveryBadge(delivery.state),
            delivery.httpStatus ? h("span", { class: "muted" }, `last answer ${delivery.httpStatus}`) : null,
          ),
          delivery.locations.length
            ? h(
                "ul",
                { class: "refs locations", id: "delivery-locations", "aria-label": "Upstream locations" },
                delivery.locations.map((l) =>
                  h("li", {}, h("span", { class: "ours" }, l.display || l.type || ""), h("span", { class: "arrow", "aria-hidden": "true" }, " → "), h("code", {}, l.reference || "")),
                ),
              )
            : null,
          deliveriesEl,
        ),
        h(
          "section",
          { "aria-labelledby": "evidence-title" },
          h("h3", { id: "evidence-title" }, `Evidence on file (${evidence.length})`),
          h("ul", { class: "evidence-list" }, evidence.map((ref) => evidenceItem(ref))),
        ),
      ),
    );
    renderActions(actionsEl, task);
    loadDeliveries(deliveriesEl, task);
  }

  function renderActions(container, task) {
    const available = Object.entries(ACTIONS);
    const buttons = available.map(([key, action]) => {
      const allowed = action.from.includes(task.status);
      return h(
        "button",
        {
          type: "button",
          class: `btn ${action.style}`,
          id: `action-${key}`,
          disabled: !allowed,
          title: allowed ? null : `Not from ${task.status}`,
          onclick: () => openForm(container, task, key),
        },
        action.label,
      );
    });
    replace(
      container,
      h("div", { class: "actions" }, buttons),
      h("p", { class: "hint" }, "Each action updates the referral Task (PUT with If-Match) with your reason; the gateway checks the transition and tells the EHR."),
    );
  }

  function openForm(container, task, key) {
    const action = ACTIONS[key];
    const reason = h("textarea", { id: "action-reason", rows: "3", required: true, placeholder: "Why (kept on the Task as its status reason)" });
    const confirm = h("button", { type: "submit", class: `btn ${action.style}`, id: "action-confirm" }, `${action.label} the referral`);
    const back = h("button", { type: "button", class: "btn btn-secondary", id: "action-back" }, "Back");
    const error = h("div", { class: "form-error" });
    const form = h(
      "form",
      { class: "action-form", "aria-label": `${action.label} the referral`, novalidate: true },
      field(`Reason to ${action.label.toLowerCase()}`, reason),
      error,
      h("div", { class: "actions" }, confirm, back),
    );
    back.addEventListener("click", () => renderActions(container, task));
    reason.addEventListener("input", () => replace(error));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = reason.value.trim();
      if (!text) {
        replace(error, notice("warn", "Give a reason: it is kept on the Task."));
        reason.focus();
        return;
      }
      confirm.disabled = true;
      const result = await transition(task, action, text);
      confirm.disabled = false;
      if (result.ok) {
        await reloadOne(task.id, notice("ok", `${action.done}: the referral is now ${action.to}.`));
      } else if (result.status === 412) {
        await reloadOne(
          task.id,
          notice("warn", "This referral changed since it was loaded (new evidence, or a delivery settled). It has been reloaded: check it and try again."),
        );
      } else {
        replace(error, notice("bad", api.problem(result)));
      }
    });
    replace(container, form);
    reason.focus();
  }

  async function transition(task, action, reason) {
    const body = structuredClone(task);
    body.status = action.to;
    body.statusReason = { text: reason };
    body.businessStatus = {
      coding: [{ system: BSER_STATUS, code: action.business[0], display: action.business[1] }],
      text: action.business[1],
    };
    body.lastModified = new Date().toISOString();
    return api.put(`/fhir/Task/${encodeURIComponent(task.id)}`, body, {
      headers: { "If-Match": `W/"${task.meta?.versionId || ""}"`, Prefer: "return=minimal" },
    });
  }

  async function loadDeliveries(container, task) {
    const result = await api.get(`/admin/deliveries?task=${encodeURIComponent(`Task/${task.id}`)}`);
    if (!result.ok || !result.body) {
      replace(
        container,
        h("p", { class: "muted" }, result.status === 403 ? "Delivery records need the system/$deliveries scope." : api.problem(result)),
      );
      return;
    }
    const all = (result.body.deliveries || []).filter((d) => d.status !== "superseded");
    // newest first; the few latest tell the story
    all.sort((a, b) => (b.created || "").localeCompare(a.created || ""));
    const records = all.slice(0, 5);
    if (!records.length) {
      replace(container, h("p", { class: "muted" }, "No delivery recorded (no upstream EHR is configured for this referral)."));
      return;
    }
    replace(
      container,
      h(
        "table",
        { class: "plain deliveries" },
        h("caption", {}, "Outbox records", all.length > records.length ? h("span", { class: "caption-counts" }, ` (the ${records.length} newest of ${all.length})`) : null),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Status", "Upstream", "Attempts", "Last answer", "When", ""].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          {},
          records.map((d) =>
            h(
              "tr",
              { dataset: { deliveryId: d.id, status: d.status } },
              h("td", {}, deliveryBadge(d.status)),
              h("td", {}, d.destination || ""),
              h("td", { class: "num" }, String(d.attempts ?? "")),
              h("td", { class: "last-error" }, d.lastError || (d.lastStatus ? `HTTP ${d.lastStatus}` : "")),
              h("td", {}, d.delivered ? `delivered ${when(d.delivered)}` : d.nextAttempt ? `next ${when(d.nextAttempt)}` : when(d.created)),
              h(
                "td",
                {},
                d.status === "dead"
                  ? h(
                      "button",
                      {
                        type: "button",
                        class: "btn btn-primary btn-small requeue",
                        id: `requeue-${d.id}`,
                        onclick: (event) => requeue(event.currentTarget, container, task, d),
                      },
                      "Re-queue",
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function requeue(button, container, task, record) {
    button.disabled = true;
    const result = await api.post(`/admin/deliveries/${encodeURIComponent(record.id)}/$retry`, undefined);
    if (!result.ok) {
      button.disabled = false;
      container.prepend(notice("bad", api.problem(result)));
      return;
    }
    container.prepend(notice("info", "Re-queued: the gateway is sending it again…"));
    // Follow it until it settles (delivered or dead again), then show the Task's new state.
    for (let i = 0; i < 60; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const check = await api.get(`/admin/deliveries?task=${encodeURIComponent(`Task/${task.id}`)}`);
      const now = (check.body?.deliveries || []).find((d) => d.id === record.id);
      if (!now || now.status === "delivered" || now.status === "dead") {
        const text = now?.status === "delivered" ? "Delivered after the re-queue." : `The delivery is ${now?.status || "gone"}.`;
        await reloadOne(task.id, notice(now?.status === "delivered" ? "ok" : "warn", text));
        return;
      }
    }
    await reloadOne(task.id, notice("warn", "Still being retried; refresh later."));
  }

  return { load: loadQueue };
}

function placerId(referral) {
  const ids = referral?.identifier || [];
  const placer = ids.find((i) => (i.type?.coding || []).some((c) => c.code === "PLAC")) || ids[0];
  return placer?.value || "";
}

function mrn(patient) {
  const ids = patient?.identifier || [];
  return ids.find((i) => (i.type?.coding || []).some((c) => c.code === "MR"))?.value || "";
}

/** An evidence reference, with its resource shown on demand (GET /fhir/{type}/{id}). */
function evidenceItem(ref) {
  const body = h("div", { class: "evidence-body" });
  const button = h("button", { type: "button", class: "btn btn-link", "aria-expanded": "false" }, "Show");
  button.addEventListener("click", async () => {
    if (button.getAttribute("aria-expanded") === "true") {
      button.setAttribute("aria-expanded", "false");
      button.textContent = "Show";
      replace(body);
      return;
    }
    button.setAttribute("aria-expanded", "true");
    button.textContent = "Hide";
    const [type, id] = ref.split("/");
    const result = await api.get(`/fhir/${encodeURIComponent(type)}/${encodeURIComponent(id || "")}`);
    if (!result.ok || !result.body) {
      replace(body, notice("bad", api.problem(result)));
      return;
    }
    const resource = { ...result.body };
    delete resource.meta;
    delete resource.text;
    replace(body, summaryOf(resource), h("pre", { class: "json" }, JSON.stringify(resource, null, 2)));
  });
  return h("li", { class: "evidence", dataset: { ref } }, h("code", {}, ref), " ", button, body);
}

/** A questionnaire's answers, or an observation's value, in one or two lines. */
function summaryOf(resource) {
  if (resource.resourceType === "QuestionnaireResponse") {
    return h(
      "dl",
      { class: "qr" },
      (resource.item || []).flatMap((item) => [
        h("dt", {}, item.text || item.linkId),
        h(
          "dd",
          {},
          (item.answer || [])
            .map((a) => {
              const key = Object.keys(a).find((k) => k.startsWith("value"));
              const v = key ? a[key] : "";
              return typeof v === "boolean" ? (v ? "Yes" : "No") : typeof v === "object" ? conceptText(v) || JSON.stringify(v) : String(v);
            })
            .join(", "),
        ),
      ]),
    );
  }
  if (resource.resourceType === "Observation") {
    const value = resource.valueBoolean !== undefined ? String(resource.valueBoolean) : conceptText(resource.valueCodeableConcept) || resource.valueString || "";
    return h("p", {}, `${conceptText(resource.code)} · ${resource.status}${value ? ` · ${value}` : ""}`, badge("neutral", resource.effectiveDateTime || ""));
  }
  return null;
}
