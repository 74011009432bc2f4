"""The gateway through fhirpy (PyPI fhirpy, pinned in .ci/run): every interaction the client
compatibility suite covers. Run by tests/api/clients.rs: python3 fhirpy_client.py BASE_URL.
Exits non-zero, naming the check, on the first failure."""
import sys

from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

BASE = sys.argv[1]
MRN = "urn:hbpc:test:fhirpy"
client = SyncFHIRClient(BASE, extra_headers={"Content-Type": "application/fhir+json"})


def check(what, ok, detail=""):
    if not ok:
        sys.exit(f"fhirpy: {what} FAILED {detail}")
    print(f"fhirpy: {what} ok")


# metadata
cs = client.execute("metadata", method="get")
check("metadata", cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1")

# CRUD
patient = client.resource("Patient", name=[{"family": "Pyth", "given": ["Ada"]}],
                          identifier=[{"system": MRN, "value": "p-1"}])
patient.save()
check("create", patient.id is not None and patient["meta"]["versionId"] == "1")
read = client.reference("Patient", patient.id).to_resource()
check("read", read["name"][0]["family"] == "Pyth")
read["gender"] = "female"
read.save()
check("update", client.reference("Patient", patient.id).to_resource()["gender"] == "female")
scratch = client.resource("Patient", name=[{"family": "Gone"}])
scratch.save()
scratch.delete()
try:
    client.reference("Patient", scratch.id).to_resource()
    check("delete", False, "the deleted Patient is still read")
except Exception:  # fhirpy raises ResourceNotFound on 410
    check("delete", True)

# conditional create (If-None-Exist) and conditional update (PUT Type?criteria)
body = {"resourceType": "Patient", "identifier": [{"system": MRN, "value": "p-1"}]}
found, status = client._do_request(
    "post", "Patient", data=body,
    extra_headers={"If-None-Exist": f"identifier={MRN}|p-1"}, returning_status=True)
check("conditional create", status == 200 and found["id"] == patient.id, f"{status} {found}")
cond = client.resource("Patient", identifier=[{"system": MRN, "value": "p-2"}], active=True)
created, was_created = client.resources("Patient").search(identifier=f"{MRN}|p-2").update(cond)
check("conditional update (create)", was_created)
cond["active"] = False
updated, was_created = client.resources("Patient").search(identifier=f"{MRN}|p-2").update(cond)
check("conditional update (update)", not was_created and updated.id == created.id
      and updated["active"] is False)

# PATCH: JSON Patch and FHIRPath Patch
patched = client._do_request(
    "patch", f"Patient/{patient.id}",
    data=[{"op": "replace", "path": "/gender", "value": "other"}],
    extra_headers={"Content-Type": "application/json-patch+json"})
check("JSON Patch", patched["gender"] == "other", str(patched))
patched = client._do_request("patch", f"Patient/{patient.id}", data={
    "resourceType": "Parameters",
    "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
        {"name": "name", "valueString": "birthDate"},
        {"name": "value", "valueDate": "1941-05-06"}]}]})
check("FHIRPath Patch", patched["birthDate"] == "1941-05-06", str(patched))

# search paging by following `next` (fhirpy's iterator follows the links)
for i in range(7):
    client.resource("Observation", status="final", code={"text": f"pain {i}"},
                    subject={"reference": f"Patient/{patient.id}"}).save()
pages = client.resources("Observation").search(subject=f"Patient/{patient.id}").limit(2)
all_obs = list(pages)
check("paging", len(all_obs) == 7 and len({o.id for o in all_obs}) == 7, str(len(all_obs)))

# _include and _revinclude
plan = client.resource("CarePlan", status="active", intent="plan",
                       subject={"reference": f"Patient/{patient.id}"})
plan.save()
bundle = (client.resources("CarePlan").search(_id=plan.id)
          .include("CarePlan", "subject").fetch_raw())
types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
check("_include", types == ["CarePlan", "Patient"], str(types))
bundle = (client.resources("Patient").search(_id=patient.id)
          .revinclude("CarePlan", "subject").fetch_raw())
types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
check("_revinclude", types == ["CarePlan", "Patient"], str(types))

# transaction and batch
tx = client.execute("", data={"resourceType": "Bundle", "type": "transaction", "entry": [
    {"fullUrl": "urn:uuid:7a0f1a52-3c67-4b8a-9d54-000000000001",
     "resource": {"resourceType": "Patient", "name": [{"family": "Tx"}]},
     "request": {"method": "POST", "url": "Patient"}},
    {"resource": {"resourceType": "Condition",
                  "subject": {"reference": "urn:uuid:7a0f1a52-3c67-4b8a-9d54-000000000001"},
                  "code": {"text": "COPD"}},
     "request": {"method": "POST", "url": "Condition"}}]})
statuses = [e["response"]["status"] for e in tx["entry"]]
check("transaction", tx["type"] == "transaction-response"
      and all(s.startswith("201") for s in statuses), str(statuses))
batch = client.execute("", data={"resourceType": "Bundle", "type": "batch", "entry": [
    {"resource": {"resourceType": "Patient", "name": [{"family": "Batch"}]},
     "request": {"method": "POST", "url": "Patient"}},
    {"resource": {"resourceType": "Patient", "id": "bad id!"},
     "request": {"method": "PUT", "url": "Patient/bad id!"}}]})
statuses = [e["response"]["status"] for e in batch["entry"]]
check("batch", batch["type"] == "batch-response" and statuses[0].startswith("201")
      and statuses[1].startswith("4"), str(statuses))

# history
history = client.execute(f"Patient/{patient.id}/_history", method="get")
versions = [e["resource"]["meta"]["versionId"] for e in history["entry"]]
check("history", history["type"] == "history" and versions == ["4", "3", "2", "1"], str(versions))

# compartment search
comp = client.execute(f"Patient/{patient.id}/CarePlan", method="get")
ids = [e["resource"]["id"] for e in comp.get("entry", [])]
check("compartment search", ids == [plan.id], str(ids))

# $validate
outcome = client.execute("Patient/$validate", data={"resourceType": "Patient", "gender": "robot"})
check("$validate", outcome["resourceType"] == "OperationOutcome"
      and any(i["severity"] == "error" for i in outcome["issue"]), str(outcome))
try:
    client.resource("Patient", gender="robot").save()
    check("invalid create refused", False)
except OperationOutcome:
    check("invalid create refused", True)
print("fhirpy: all checks passed")
