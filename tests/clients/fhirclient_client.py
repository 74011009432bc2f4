"""The gateway through fhirclient (PyPI fhirclient, SMART on FHIR's Python client, pinned in
.ci/run): every interaction the client compatibility suite covers, with responses parsed by
its strict R4 models. Run by tests/api/clients.rs: python3 fhirclient_client.py BASE_URL.
Interactions the client has no method for go through its own server session."""
import json
import sys

from fhirclient import client
from fhirclient.models.bundle import Bundle
from fhirclient.models.careplan import CarePlan
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.observation import Observation
from fhirclient.models.operationoutcome import OperationOutcome
from fhirclient.models.patient import Patient

BASE = sys.argv[1]
MRN = "urn:hbpc:test:fhirclient"
FHIR_JSON = "application/fhir+json"
smart = client.FHIRClient(settings={"app_id": "hbpc-client-suite", "api_base": BASE})
server = smart.server
session = server.session


def check(what, ok, detail=""):
    if not ok:
        sys.exit(f"fhirclient: {what} FAILED {detail}")
    print(f"fhirclient: {what} ok")


def call(method, path, body=None, content_type=FHIR_JSON, headers=None):
    all_headers = {"Accept": FHIR_JSON, "Content-Type": content_type, **(headers or {})}
    data = None if body is None else json.dumps(body)
    res = session.request(method, server.base_uri + path, data=data, headers=all_headers)
    return res.status_code, (res.json() if res.content else None)


# metadata
cs = CapabilityStatement.read_from("metadata", server)
check("metadata", cs.fhirVersion == "4.0.1" and cs.rest[0].mode == "server")

# CRUD
patient = Patient({"name": [{"family": "Smart", "given": ["Bo"]}],
                   "identifier": [{"system": MRN, "value": "p-1"}]})
created = patient.create(server)
pid = created["id"]
read = Patient.read(pid, server)
check("create and read", read.name[0].family == "Smart" and read.meta.versionId == "1")
read.gender = "male"
read.update(server)
check("update", Patient.read(pid, server).gender == "male")
scratch = Patient(Patient({"name": [{"family": "Gone"}]}).create(server))
scratch.delete(server)
status, _ = call("GET", f"Patient/{scratch.id}")
check("delete", status == 410, str(status))

# conditional create and update
status, body = call("POST", "Patient", {"resourceType": "Patient",
                                        "identifier": [{"system": MRN, "value": "p-1"}]},
                    headers={"If-None-Exist": f"identifier={MRN}|p-1"})
check("conditional create", status == 200 and body["id"] == pid, f"{status} {body}")
status, first = call("PUT", f"Patient?identifier={MRN}|p-2",
                     {"resourceType": "Patient", "identifier": [{"system": MRN, "value": "p-2"}]})
status2, second = call("PUT", f"Patient?identifier={MRN}|p-2",
                       {"resourceType": "Patient", "active": True,
                        "identifier": [{"system": MRN, "value": "p-2"}]})
check("conditional update", status == 201 and status2 == 200 and first["id"] == second["id"]
      and Patient(second).active is True, f"{status} {status2}")

# PATCH
status, body = call("PATCH", f"Patient/{pid}",
                    [{"op": "add", "path": "/birthDate", "value": "1950-01-02"}],
                    content_type="application/json-patch+json", headers={"If-Match": 'W/"2"'})
check("JSON Patch", status == 200 and Patient(body).birthDate.isostring == "1950-01-02",
      f"{status} {body}")
status, body = call("PATCH", f"Patient/{pid}", {
    "resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.gender"},
        {"name": "value", "valueCode": "female"}]}]})
check("FHIRPath Patch", status == 200 and Patient(body).gender == "female", f"{status} {body}")

# search paging by following `next` (perform_resources_iter follows the links)
for i in range(5):
    Observation({"status": "final", "code": {"text": f"dyspnoea {i}"},
                 "subject": {"reference": f"Patient/{pid}"}}).create(server)
search = Observation.where(struct={"subject": f"Patient/{pid}", "_count": "2"})
pages = list(search.perform_iter(server))
found = [o.id for o in search.perform_resources_iter(server)]
check("paging", len(pages) == 3 and len(set(found)) == 5, f"{len(pages)} pages, {found}")

# _include and _revinclude
plan_json = CarePlan({"status": "active", "intent": "plan",
                      "subject": {"reference": f"Patient/{pid}"}}).create(server)
bundle = Bundle.read_from(f"CarePlan?_id={plan_json['id']}&_include=CarePlan:subject", server)
types = sorted(e.resource.resource_type for e in bundle.entry)
check("_include", types == ["CarePlan", "Patient"], str(types))
revinc = Patient.where(struct={"_id": pid}).include("subject", CarePlan, reverse=True)
bundle = next(revinc.perform_iter(server))
types = sorted(e.resource.resource_type for e in bundle.entry)
check("_revinclude", types == ["CarePlan", "Patient"], str(types))

# transaction and batch
tx = Bundle({"type": "transaction", "entry": [
    {"fullUrl": "urn:uuid:5b0b1c52-3c67-4b8a-9d54-000000000002",
     "resource": {"resourceType": "Patient", "name": [{"family": "Tx"}]},
     "request": {"method": "POST", "url": "Patient"}},
    {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "pain"},
                  "subject": {"reference": "urn:uuid:5b0b1c52-3c67-4b8a-9d54-000000000002"}},
     "request": {"method": "POST", "url": "Observation"}}]})
resp = Bundle(server.post_json("", tx.as_json()).json())
check("transaction", resp.type == "transaction-response"
      and all(e.response.status.startswith("201") for e in resp.entry))
batch = Bundle({"type": "batch", "entry": [
    {"resource": {"resourceType": "Patient", "name": [{"family": "B"}]},
     "request": {"method": "POST", "url": "Patient"}},
    {"resource": {"resourceType": "Patient", "gender": "robot"},
     "request": {"method": "POST", "url": "Patient"}}]})
resp = Bundle(server.post_json("", batch.as_json()).json())
statuses = [e.response.status for e in resp.entry]
check("batch", resp.type == "batch-response" and statuses[0].startswith("201")
      and statuses[1].startswith("4"), str(statuses))

# history
history = Bundle.read_from(f"Patient/{pid}/_history", server)
versions = [e.resource.meta.versionId for e in history.entry]
check("history", history.type == "history" and versions == ["4", "3", "2", "1"], str(versions))

# compartment search
comp = Bundle.read_from(f"Patient/{pid}/Observation?_count=100", server)
check("compartment search", len(comp.entry) == 5
      and all(e.resource.subject.reference == f"Patient/{pid}" for e in comp.entry))

# $validate
outcome = OperationOutcome(server.post_json(
    "Patient/$validate", {"resourceType": "Patient", "gender": "robot"}).json())
check("$validate", any(i.severity == "error" for i in outcome.issue))
print("fhirclient: all checks passed")
