// The input of the Validate and Evaluate views (paste, drop a file, open a file, or pick one of
// the server's fixtures) and a line-numbered view of JSON with lines marked.

import { h, replace, field, uid, notice } from "./dom.js";
import * as api from "./api.js";

/**
 * An input widget. `options`: {name, actions: [buttons], filter(path) → bool (fixtures
 * offered first), extra: [elements placed under the fixture picker]}. Returns
 * {element, text(), setText(text, origin), origin(), refreshFixtures()}.
 */
export function sourceInput(options) {
  let origin = "";
  const select = h("select", { id: uid(`${options.name}-fixture`), class: "fixture-select" });
  const fileInput = h("input", {
    type: "file",
    id: uid(`${options.name}-file`),
    class: "visually-hidden",
    accept: ".json,application/json,application/fhir+json",
  });
  const textarea = h("textarea", {
    id: uid(`${options.name}-text`),
    class: "source-text",
    spellcheck: "false",
    autocomplete: "off",
    wrap: "off",
    placeholder: "{\n  \"resourceType\": \"Bundle\",\n  …\n}",
  });
  const originEl = h("p", { class: "source-origin", role: "status" });
  const fixtureError = h("div", { class: "fixture-error" });

  const codeSlot = h("div", { class: "code-slot", hidden: true });
  const edit = h("button", { type: "button", class: "btn btn-secondary", hidden: true }, "Edit the JSON");
  const showEditor = () => {
    codeSlot.hidden = true;
    replace(codeSlot);
    edit.hidden = true;
    textarea.hidden = false;
    textareaLabel.hidden = false;
  };
  /** Shows a read-only view (e.g. the JSON with lines marked) in place of the text area. */
  const showCode = (element) => {
    replace(codeSlot, element);
    codeSlot.hidden = false;
    textarea.hidden = true;
    textareaLabel.hidden = true;
    edit.hidden = false;
  };
  edit.addEventListener("click", () => {
    showEditor();
    textarea.focus();
  });
  const textareaLabel = h("label", { for: textarea.id, class: "source-label" }, "JSON (paste, or drop a file here)");

  const setText = (text, from) => {
    showEditor();
    textarea.value = text;
    origin = from || "";
    originEl.textContent = origin ? `Loaded: ${origin}` : "";
    textarea.dispatchEvent(new Event("input"));
  };

  select.addEventListener("change", async () => {
    const path = select.value;
    if (!path) return;
    try {
      setText(await api.fixture(path), `fixtures/${path}`);
    } catch (error) {
      replace(fixtureError, notice("bad", error.message));
    }
  });

  const readFile = (file) => {
    if (!file) return;
    file.text().then((text) => setText(text, file.name));
  };
  fileInput.addEventListener("change", () => readFile(fileInput.files[0]));
  textarea.addEventListener("dragover", (event) => {
    event.preventDefault();
    textarea.classList.add("is-drop-target");
  });
  textarea.addEventListener("dragleave", () => textarea.classList.remove("is-drop-target"));
  textarea.addEventListener("drop", (event) => {
    event.preventDefault();
    textarea.classList.remove("is-drop-target");
    readFile(event.dataTransfer.files[0]);
  });
  textarea.addEventListener("input", (event) => {
    if (event.isTrusted) {
      origin = "";
      originEl.textContent = "";
    }
  });

  const refreshFixtures = async () => {
    replace(fixtureError);
    replace(select, h("option", { value: "" }, "Loading fixtures…"));
    let groups;
    try {
      groups = await api.fixtures();
    } catch (error) {
      replace(select, h("option", { value: "" }, "Fixtures unavailable"));
      replace(fixtureError, notice("warn", `The fixture list needs a token: ${error.message}`));
      return;
    }
    const preferred = options.filter || (() => true);
    const order = (g) => (g.fixtures.some(preferred) ? 0 : 1);
    const sorted = [...groups].sort((a, b) => order(a) - order(b));
    replace(
      select,
      h("option", { value: "" }, "Choose a fixture…"),
      sorted.map((g) =>
        h(
          "optgroup",
          { label: g.folder ? `${g.folder}/` : "fixtures/" },
          g.fixtures.map((path) => h("option", { value: path }, path.slice(g.folder ? g.folder.length + 1 : 0))),
        ),
      ),
    );
  };

  const element = h(
    "div",
    { class: "source" },
    h(
      "div",
      { class: "source-controls" },
      field("Fixture", select),
      h(
        "div",
        { class: "field field-file" },
        h("span", { class: "field-label", "aria-hidden": "true" }, "File"),
        h("label", { for: fileInput.id, class: "btn btn-secondary file-button" }, "Open a file…"),
        fileInput,
      ),
    ),
    fixtureError,
    options.extra || null,
    textareaLabel,
    textarea,
    codeSlot,
    originEl,
    h("div", { class: "actions" }, options.actions || [], edit),
  );
  return { element, text: () => textarea.value, setText, origin: () => origin, refreshFixtures, textarea, showCode };
}

/**
 * A read-only, line-numbered view of `text`. `marks`: Map line → {kind: "error"|"warning"|
 * "information", column, titles: [text]}. Returns {element, reveal(line)}.
 */
export function codeView(text, marks, label) {
  const lines = text.split("\n");
  const rows = lines.map((line, i) => {
    const n = i + 1;
    const mark = marks.get(n);
    const attrs = { class: "code-line", dataset: { line: String(n) }, id: `code-line-${n}` };
    if (!mark) {
      return h("div", attrs, h("span", { class: "ln", "aria-hidden": "true" }, String(n)), h("span", { class: "tx" }, line || " "));
    }
    attrs.class += ` is-${mark.kind}`;
    attrs.title = mark.titles.join("\n");
    attrs.tabindex = "-1";
    attrs["aria-label"] = `Line ${n}: ${mark.titles.join("; ")}`;
    const col = Math.max(0, Math.min(line.length, (mark.column || 1) - 1));
    return h(
      "div",
      attrs,
      h("span", { class: "ln", "aria-hidden": "true" }, String(n)),
      h("span", { class: "tx" }, line.slice(0, col), h("span", { class: "at" }, line.slice(col) || " ")),
    );
  });
  const body = h("div", { class: "code-body" }, rows);
  const element = h("div", { class: "code", role: "region", "aria-label": label, tabindex: "0" }, body);
  const reveal = (n) => {
    const row = body.querySelector(`[data-line="${n}"]`);
    if (!row) return;
    body.querySelectorAll(".is-current").forEach((r) => r.classList.remove("is-current"));
    row.classList.add("is-current");
    const box = element.getBoundingClientRect();
    if (box.top < 60 || box.bottom > window.innerHeight) element.scrollIntoView({ block: "nearest" });
    const top = row.offsetTop - element.clientHeight / 3;
    element.scrollTop = Math.max(0, top);
    row.focus({ preventScroll: true });
  };
  return { element, reveal };
}
