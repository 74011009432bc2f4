#!/usr/bin/env python3
"""Drives the workbench (GET /workbench) in headless Chromium through selenium, against a real
hbpc-gateway started by tests/api/workbench.rs, and saves screenshots.

It plays two people. The EHR posts referrals over plain HTTP (urllib), as an EHR would. The
people at the page (an interface engineer, an intake coordinator) only click and type:
every call they cause goes from the page through the gateway's REST API.

Expects (set up by the Rust test): auth off (loopback); delivery to a fake upstream EHR that
was down while exactly one referral (fixtures/referrals/eligible-heart-failure.json) was posted,
so that its delivery is dead, and that is up again now.

Exit status: 0 all checks passed, 1 a check failed (the message says which; a screenshot
`failure.png` shows the page), 2 the browser cannot be started.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        TimeoutException,
        WebDriverException,
    )
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as error:  # the Rust test checks this first; be clear anyway
    print(f"selenium is not installed: {error}", file=sys.stderr)
    sys.exit(2)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "fixtures")
HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


class Workbench:
    def __init__(self, args):
        self.base = args.base.rstrip("/")
        self.shots = args.screenshots
        self.timeout = args.timeout
        os.makedirs(self.shots, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        for flag in HEADLESS_FLAGS:
            options.add_argument(flag)
        self.profile = tempfile.mkdtemp(prefix="workbench-chromium-")
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service(args.chromedriver), options=options)
        self.d.set_window_size(1280, 900)
        self.console = []

    # ---------- helpers ----------

    def step(self, text):
        print(f"-- {text}", flush=True)

    def ok(self, text):
        print(f"   ok: {text}", flush=True)

    def shot(self, name):
        path = os.path.join(self.shots, f"{name}.png")
        self.d.save_screenshot(path)
        print(f"   screenshot: {path}", flush=True)

    def wait(self, condition, what, timeout=None):
        def attempt(_):
            try:
                return condition()
            except (Failed, StaleElementReferenceException, NoSuchElementException):
                return False  # not there yet, or re-rendered under our feet: look again

        try:
            return WebDriverWait(self.d, timeout or self.timeout, poll_frequency=0.2).until(attempt)
        except TimeoutException as error:
            raise Failed(f"timed out waiting for {what}") from error

    def css(self, selector, root=None):
        return (root or self.d).find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector, root=None):
        found = self.css(selector, root)
        check(found, f"no element matches {selector}")
        return found[0]

    def click(self, element):
        """Scrolls the element to the middle of the window first (the top bar is sticky)."""
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def api(self, method, path, body=None, content_type="application/fhir+json"):
        """The EHR's side, and read-only cross-checks: plain HTTP, not the page."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/fhir+json, application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def fixture_bytes(self, name):
        with open(os.path.join(FIXTURES, name), "rb") as f:
            return f.read()

    def expected(self, name):
        with open(os.path.join(FIXTURES, "referrals", name.replace(".json", ".expected.json"))) as f:
            return json.load(f)

    def tab(self, name):
        self.click(self.one(f"#tab-{name}"))
        self.wait(lambda: self.one(f"#view-{name}").get_attribute("data-ready") == "true", f"the {name} view to load")

    def pick_fixture(self, view, path):
        self.wait(lambda: len(self.css(f"#{view}-input select option")) > 3, f"the fixture list in {view}")
        Select(self.one(f"#{view}-input select")).select_by_value(path)
        self.wait(
            lambda: self.one(f"#{view}-input .source-origin").text.endswith(path),
            f"fixture {path} to load in {view}",
        )

    def task_for(self, referral_id):
        status, bundle = self.api("GET", f"/fhir/Task?focus=ServiceRequest/{referral_id}")
        check(status == 200 and bundle.get("entry"), f"no Task for ServiceRequest/{referral_id}: {status}")
        return bundle["entry"][0]["resource"]

    def refresh_queue(self):
        before = self.one(".queue").get_attribute("data-generation")
        self.click(self.one("#referrals-refresh"))
        self.wait(lambda: self.one(".queue").get_attribute("data-generation") != before, "the queue to reload")

    def select_referral(self, task_id):
        self.refresh_queue()
        selector = f'.queue-item[data-task-id="{task_id}"]'
        self.wait(lambda: self.css(selector), f"referral Task/{task_id} in the queue")
        self.click(self.one(selector))
        self.wait(
            lambda: self.css(f'#referral-detail[data-task-id="{task_id}"]'),
            f"the detail of Task/{task_id}",
        )

    def detail_status(self):
        found = self.css("#referral-detail")
        return found[0].get_attribute("data-status") if found else None

    def changed_meanwhile(self, seen):
        """A notice, not among `seen`, that the referral changed since it was loaded."""
        return any(n.id not in seen and "changed since it was loaded" in n.text for n in self.css(".notice-warn"))

    def criteria_in(self, container):
        return {
            row.get_attribute("data-criterion"): row.get_attribute("data-result")
            for row in self.css(f"{container} table.criteria tr.criterion")
        }

    # ---------- the checks ----------

    def load_each_view(self):
        self.step("load the page and each view (keyboard: arrow keys between tabs)")
        self.d.get(f"{self.base}/workbench")
        self.wait(lambda: "Authorization off" in self.one("#auth-state").text, "the auth state")
        check("Workbench" in self.d.title, f"title: {self.d.title}")
        self.wait(lambda: self.one("#view-validate").get_attribute("data-ready") == "true", "the Validate view")
        check(len(self.css("#validate-input select option")) > 10, "the fixtures are listed from the server")
        first = self.one("#tab-validate")
        first.send_keys(Keys.ARROW_RIGHT)
        self.wait(lambda: self.d.switch_to.active_element.get_attribute("id") == "tab-evaluate", "focus on the Evaluate tab")
        check(self.one("#tab-evaluate").get_attribute("aria-selected") == "true", "Evaluate selected by the arrow key")
        check(not self.one("#view-evaluate").get_attribute("hidden"), "the Evaluate view shows")
        check(self.one("#view-validate").get_attribute("hidden") is not None, "the Validate view hides")
        self.wait(lambda: self.one("#view-evaluate").get_attribute("data-ready") == "true", "the Evaluate view")
        self.d.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
        self.wait(lambda: self.one("#view-referrals").get_attribute("data-ready") == "true", "the Referrals view")
        check(self.css(".queue-item"), "the queue lists the referral posted before the test")
        self.d.switch_to.active_element.send_keys(Keys.END)
        self.wait(lambda: self.one("#view-server").get_attribute("data-ready") == "true", "the Server view")
        check(self.css('#server-types tr[data-type="ServiceRequest"]'), "the Server view lists ServiceRequest")
        ops = " ".join(c.text for c in self.css('#server-types tr[data-type="ServiceRequest"] .chip-op'))
        check("$evaluate-eligibility" in ops and "$validate" in ops, f"ServiceRequest operations: {ops}")
        check(len(self.css("#server-types tbody tr[data-type]")) >= 17, "every resource type is listed")
        toggle = self.one('#server-types tr[data-type="Task"] button[aria-expanded]')
        self.click(toggle)
        self.wait(lambda: toggle.get_attribute("aria-expanded") == "true", "Task's search parameters to open")
        params = self.one('#server-types tr[data-type="Task"] + tr.search-row').text
        check("status" in params and "_profile" in params, "Task's search parameters are listed")
        self.shot("04-server")
        self.one("#tab-server").send_keys(Keys.HOME)
        self.wait(lambda: self.one("#tab-validate").get_attribute("aria-selected") == "true", "Home back to Validate")
        self.ok("four views load; arrow keys, Home and End move between the tabs")

    def validate_broken_fixture(self):
        name = "invalid/transaction-invalid-entry.json"
        self.step(f"validate {name} and find the highlighted line")
        text = self.fixture_bytes(name).decode()
        expected_line = next(i + 1 for i, line in enumerate(text.split("\n")) if '"birthdate"' in line)
        self.tab("validate")
        self.pick_fixture("validate", name)
        self.click(self.one("#validate-run"))
        self.wait(lambda: self.css("#validate-result .issue"), "the issues")
        errors = [i for i in self.css("#validate-result .issue") if i.get_attribute("data-severity") == "error"]
        check(len(errors) == 1, f"one error issue, found {len(errors)}")
        error = errors[0]
        check(error.get_attribute("data-expression") == "Bundle.entry[3].resource.birthdate", "the error's FHIRPath expression")
        check("structure" in error.text and "birthdate" in error.text, f"the error's code and text: {error.text}")
        group = error.find_element(By.XPATH, "ancestor::section[contains(@class,'issue-group')]")
        check("Entry 3" in group.text and "Patient" in group.text, "the error is grouped under entry 3, the Patient")
        button = self.one(".issue-loc", error)
        check(button.get_attribute("data-line") == str(expected_line), f"the issue points at line {expected_line}")
        line = self.one(f'.code-line[data-line="{expected_line}"]')
        check("is-error" in line.get_attribute("class"), f"line {expected_line} is highlighted as an error")
        check('"birthdate"' in line.text, f"the highlighted line is the offending one: {line.text}")
        check(len(self.css(".code-line.is-error")) == 1, "exactly one line is highlighted as an error")
        self.click(button)
        self.wait(lambda: "is-current" in line.get_attribute("class"), "the line to become current")
        visible = self.d.execute_script(
            "const l = arguments[0], c = l.closest('.code');"
            "const a = l.getBoundingClientRect(), b = c.getBoundingClientRect();"
            "return a.top >= b.top && a.bottom <= b.bottom && a.top >= 0 && a.bottom <= window.innerHeight;",
            line,
        )
        check(visible, "clicking the issue scrolls its line into view")
        check(self.d.switch_to.active_element == line, "the line has the focus")
        self.shot("01-validate")
        self.ok(f"error at Bundle.entry[3].resource.birthdate, line {expected_line} highlighted and scrolled to")

    def evaluate(self, name, decision):
        self.step(f"evaluate {name}")
        expected = self.expected(name)
        step = expected["steps"][0] if "steps" in expected else expected
        self.tab("evaluate")
        self.pick_fixture("evaluate", f"referrals/{name}")
        self.click(self.one("#evaluate-run"))
        self.wait(
            lambda: self.css(f'#evaluate-decision[data-decision="{decision}"]'),
            f"decision {decision}",
        )
        got = self.criteria_in("#evaluate-result")
        check(got == step["criteria"], f"the checklist {got} is not the expected {step['criteria']}")
        for row in self.css("#evaluate-result table.criteria tr.criterion"):
            check(self.one(".reason", row).text.strip(), f"criterion {row.get_attribute('data-criterion')} has a reason")
        activities = sorted(a.get_attribute("data-activity") for a in self.css("#evaluate-careplan .activity"))
        plan = step.get("carePlan")
        check(activities == sorted(plan["activities"] if plan else []), f"CarePlan activities {activities}")
        self.ok(f"{decision}: {sum(1 for r in got.values() if r == 'met')} met, checklist as expected, activities {activities}")

    def evaluate_views(self):
        self.evaluate("eligible-cancer.json", "eligible")
        roles = {r.get_attribute("data-role") for r in self.css("#evaluate-careteam tbody tr")}
        check({"224535009", "106328005", "116154003"} <= roles, f"CareTeam roles: {roles}")
        self.shot("02-evaluate-eligible")
        self.evaluate("fails-service-area.json", "ineligible")
        row = self.one('#evaluate-result tr.criterion[data-criterion="service-area"]')
        check(row.get_attribute("data-result") == "not-met", "service-area is not met")
        check(not self.css("#evaluate-careplan"), "no plan for an ineligible referral")
        self.shot("03-evaluate-ineligible")

    def accept_after_evidence(self):
        self.step("an on-hold referral: its evidence arrives and it is accepted")
        status, _ = self.api("POST", "/fhir", self.fixture_bytes("referrals/missing-homebound.json"))
        check(status == 200, f"posting missing-homebound.json: {status}")
        task = self.task_for("fx-missing-referral")
        check(task["status"] == "on-hold", f"the Task is {task['status']}")
        self.tab("referrals")
        self.select_referral(task["id"])
        items = [i.get_attribute("data-status") for i in self.css(".queue-item")]
        check(items[0] == "on-hold", f"on-hold first: {items}")
        check(items == sorted(items, key=lambda s: 0 if s == "on-hold" else 1), f"every on-hold before the others: {items}")
        check(self.criteria_in("#referral-detail").get("homebound-certified") == "unknown", "homebound-certified is unknown")
        row = self.one('#referral-detail tr.criterion[data-criterion="homebound-certified"]')
        check("Would decide it: the homebound certification" in row.text, f"what would decide it: {row.text}")
        self.shot("05-referral-on-hold")
        # a taller window for the picture in the docs: the queue, the actions and the checklist
        self.d.set_window_size(1280, 1400)
        self.d.execute_script("window.scrollTo(0, 0)")
        self.shot("00-workbench")
        self.d.set_window_size(1280, 900)

        # the certification arrives from the EHR (fixtures/referrals/missing-homebound-followup.json)
        status, _ = self.api("POST", "/fhir/Observation", self.fixture_bytes("referrals/missing-homebound-followup.json"))
        check(status == 201, f"posting the follow-up: {status}")
        self.refresh_queue()
        self.wait(lambda: self.detail_status() == "accepted", "the referral to be accepted after its evidence")
        check(set(self.criteria_in("#referral-detail").values()) == {"met"}, "every criterion met")
        self.wait_delivered()
        self.shot("06-referral-accepted-after-evidence")
        self.ok("on-hold → accepted when the certification arrived; delivered upstream")

    def wait_delivered(self):
        def delivered():
            state = self.css("#delivery-state")
            if state and state[0].get_attribute("data-state") == "delivered" and self.css("#delivery-locations li"):
                return True
            time.sleep(0.3)
            self.refresh_queue()
            return False

        self.wait(delivered, "the delivery to show delivered, with its upstream locations")

    def review_referral(self):
        """missing-homebound.json as another referral and patient: fx-review-* ids."""
        bundle = json.loads(self.fixture_bytes("referrals/missing-homebound.json").decode().replace("fx-missing-", "fx-review-"))
        for entry in bundle["entry"]:
            r = entry["resource"]
            if r["resourceType"] == "Patient":
                r["name"] = [{"use": "official", "family": "Okafor", "given": ["Grace", "Adaeze"]}]
                for i in r.get("identifier", []):
                    i["value"] = "MRN-REVIEW-01"
            if r["resourceType"] == "ServiceRequest":
                for i in r.get("identifier", []):
                    i["value"] = "REF-REVIEW-0001"
        return bundle

    def coordinator_accepts(self):
        self.step("a coordinator reviews evidence the rules cannot read, and accepts the referral")
        status, _ = self.api("POST", "/fhir", json.dumps(self.review_referral()).encode())
        check(status == 200, f"posting the review referral: {status}")
        # the physician's office sends a completed form, not a coded certification
        form = {
            "resourceType": "QuestionnaireResponse",
            "basedOn": [{"reference": "ServiceRequest/fx-review-referral"}],
            "status": "completed",
            "subject": {"reference": "Patient/fx-review-patient"},
            "authored": "2026-11-27",
            "author": {"reference": "PractitionerRole/fx-review-physician-role"},
            "item": [
                {
                    "linkId": "homebound",
                    "text": "Is the patient homebound (leaving home takes a considerable and taxing effort)?",
                    "answer": [{"valueBoolean": True}],
                },
                {
                    "linkId": "note",
                    "text": "Certifying physician's note",
                    "answer": [{"valueString": "Seen at home; needs a wheelchair and another person's help to leave home."}],
                },
            ],
        }
        status, _ = self.api("POST", "/fhir/QuestionnaireResponse", form)
        check(status == 201, f"posting the form: {status}")
        task = self.task_for("fx-review-referral")
        check(task["status"] == "on-hold", f"the review referral is {task['status']}")
        self.select_referral(task["id"])
        self.wait_delivered()  # the re-evaluation's delivery settles, changing the Task once more
        check(self.detail_status() == "on-hold", "the detail shows on-hold")
        form_items = [e for e in self.css(".evidence") if e.get_attribute("data-ref").startswith("QuestionnaireResponse/")]
        check(form_items, "the form is among the evidence on file")
        self.click(self.one("button", form_items[0]))
        self.wait(lambda: "wheelchair" in form_items[0].text, "the form's answers")

        self.click(self.one("#action-accept"))
        reason = "Homebound status certified on the physician's form of 27 Nov (QuestionnaireResponse); reviewed by intake."
        self.click(self.one("#action-confirm"))  # without a reason: refused in the page
        self.wait(lambda: self.css(".form-error .notice"), "the page to ask for a reason")
        self.one("#action-reason").send_keys(reason)
        self.shot("07-referral-accept-form")
        self.click(self.one("#action-confirm"))
        # The Task may still change under the coordinator (a delivery upstream settles and
        # records it): the PUT's If-Match then fails, and the page reloads the referral and
        # asks to try again, which a coordinator would do.
        seen = set()
        for attempt in range(3):
            self.wait(
                lambda: self.detail_status() == "accepted" or self.changed_meanwhile(seen),
                "the referral to show accepted",
            )
            if self.detail_status() == "accepted":
                break
            seen.update(n.id for n in self.css(".notice-warn"))
            print(f"   the referral changed meanwhile (412); accepting again ({attempt + 1})", flush=True)
            self.click(self.one("#action-accept"))
            self.one("#action-reason").send_keys(reason)
            self.click(self.one("#action-confirm"))
        self.wait(lambda: self.detail_status() == "accepted", "the referral to show accepted")
        check(reason in self.one("#status-reason").text, "the reason shows on the referral")

        stored = self.task_for("fx-review-referral")
        check(stored["status"] == "accepted", f"stored Task status {stored['status']}")
        check(stored.get("statusReason", {}).get("text") == reason, "the reason is the Task's statusReason")
        check(stored["businessStatus"]["coding"][0]["code"] == "3.0", "businessStatus 3.0 (accepted)")
        status, audit = self.api("GET", "/fhir/AuditEvent?subtype=update&_count=100")
        check(status == 200, f"reading the audit trail: {status}")
        updates = [
            e["resource"]
            for e in audit.get("entry", [])
            if any(
                (x.get("what", {}).get("reference") or "").startswith(f"Task/{stored['id']}")
                for x in e["resource"].get("entity", [])
            )
        ]
        check(updates, "the page's update of the Task is in the audit trail")
        self.wait_delivered()
        self.shot("08-referral-accepted-by-coordinator")
        self.ok("accepted through PUT /fhir/Task with If-Match; reason, business status and AuditEvent recorded")

    def requeue_dead_delivery(self):
        self.step("re-queue the dead delivery")
        status, listing = self.api("GET", "/admin/deliveries?state=dead")
        check(status == 200 and listing["total"] == 1, f"one dead delivery before the test: {listing}")
        dead = listing["deliveries"][0]
        task_id = dead["task"].split("/", 1)[1]
        self.select_referral(task_id)
        self.wait(lambda: self.one("#delivery-state").get_attribute("data-state") == "dead", "the delivery state dead")
        self.wait(lambda: self.css(f'tr[data-delivery-id="{dead["id"]}"] .requeue'), "the Re-queue button")
        self.shot("09-referral-dead-delivery")
        self.click(self.one(f'tr[data-delivery-id="{dead["id"]}"] .requeue'))
        self.wait(
            lambda: self.css("#referral-detail .notice-ok") and "Delivered after the re-queue" in self.one("#referral-detail .notice-ok").text,
            "the re-queued delivery to be delivered",
            timeout=self.timeout * 2,
        )
        self.wait_delivered()
        status, after = self.api("GET", f"/admin/deliveries?task=Task/{task_id}")
        check(any(d["id"] == dead["id"] and d["status"] == "delivered" for d in after["deliveries"]), f"delivered: {after}")
        self.shot("10-referral-requeued")
        self.ok(f"delivery {dead['id']} dead → re-queued → delivered, with upstream locations")

    def privacy(self):
        self.step("no PHI in URLs, nothing in browser storage, no console errors")
        urls = self.d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        urls.append(self.d.current_url)
        phi = ["Okafor", "Grace", "MRN", "REF-", "Cole", "1941-05-09", "Oakland"]  # none can occur in a hex id
        leaked = [u for u in urls if any(p.lower() in u.lower() for p in phi)]
        check(not leaked, f"URLs carrying patient data: {leaked}")
        check("#" not in self.d.current_url, f"no fragment state: {self.d.current_url}")
        stored = self.d.execute_script(
            "return [localStorage.length, sessionStorage.length, document.cookie, indexedDB ? 0 : 0]"
        )
        check(stored[:3] == [0, 0, ""], f"browser storage used: {stored}")
        severe = [l for l in self.d.get_log("browser") if l.get("level") == "SEVERE"]
        check(not severe, f"console errors (CSP violations show here): {severe}")
        self.ok(f"{len(urls)} URLs requested, none with patient data; storage empty; console clean")

    def token_flow(self, token):
        """Auth on: the page asks for a token, uses it, and forgets it on reload."""
        self.step("auth on: the page asks for a bearer token and keeps it in memory only")
        self.d.get(f"{self.base}/workbench")
        self.wait(lambda: self.one("#auth-state").text == "Token needed", "the page to ask for a token")
        self.wait(lambda: "bearer token" in self.one("#banner").text, "the banner asking for a token")
        check(not self.css('#validate-input select option[value="invalid/malformed-json.json"]'), "no fixtures without a token")
        self.shot("11-auth-token-needed")
        self.one("#auth-token").send_keys(token)
        self.click(self.one("#auth-use"))
        self.wait(lambda: self.one("#auth-state").text.startswith("Token in use"), "the token to be used")
        check(self.one("#auth-token").get_attribute("value") == "", "the token field is cleared")
        self.pick_fixture("validate", "invalid/hbpc-servicerequest-intent-plan.json")
        self.click(self.one("#validate-run"))
        self.wait(
            lambda: any(i.get_attribute("data-expression") == "ServiceRequest.intent" for i in self.css("#validate-result .issue")),
            "the intent issue, validated with the token",
        )
        stored = self.d.execute_script("return [localStorage.length, sessionStorage.length, document.cookie]")
        check(stored == [0, 0, ""], f"browser storage used: {stored}")
        self.d.refresh()
        self.wait(lambda: self.one("#auth-state").text == "Token needed", "a reload to forget the token")
        self.ok("token asked for, used for the fixtures and $validate, gone after a reload")

    def run_token(self, token):
        try:
            self.token_flow(token)
        except (Failed, WebDriverException) as error:
            try:
                self.shot("failure-auth")
            except WebDriverException:
                pass
            print(f"FAILED: {error}", file=sys.stderr, flush=True)
            return 1
        finally:
            self.d.quit()
        return 0

    def run(self):
        started = time.time()
        try:
            self.load_each_view()
            self.validate_broken_fixture()
            self.evaluate_views()
            self.accept_after_evidence()
            self.coordinator_accepts()
            self.requeue_dead_delivery()
            self.privacy()
        except (Failed, WebDriverException) as error:
            try:
                self.shot("failure")
            except WebDriverException:
                pass
            print(f"FAILED: {error}", file=sys.stderr, flush=True)
            return 1
        finally:
            self.d.quit()
        print(f"workbench browser test passed in {time.time() - started:.1f} s", flush=True)
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the gateway, e.g. http://127.0.0.1:8080")
    parser.add_argument("--screenshots", default=os.path.join(REPO, "target", "workbench-screenshots"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per wait")
    parser.add_argument("--auth-token", help="auth is on: check only the token flow, with this access token")
    args = parser.parse_args()
    try:
        workbench = Workbench(args)
    except WebDriverException as error:
        print(f"cannot start chromium through chromedriver: {error}", file=sys.stderr)
        return 2
    if args.auth_token:
        return workbench.run_token(args.auth_token)
    return workbench.run()


if __name__ == "__main__":
    sys.exit(main())
