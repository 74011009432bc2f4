#!/usr/bin/env python3
"""Generates the HBPC implementation guide in profiles/ from the differentials below.

Each profile is written as a StructureDefinition with its differential and a snapshot built
against the vendored R4 base (crates/fhir/definitions/r4-core/definitions.json, see
vendor_r4_core.py), with the core `short` and `definition` texts from npm hl7.fhir.r4.examples@4.0.1
(fetched into target/test-data when absent).
ValueSets and CodeSystems are written alongside. Python 3 standard library only; rerun after
editing and commit the JSON: the service loads the JSON, not this script.
"""
import copy
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROFILES = os.path.join(ROOT, "profiles")
CANON = "http://hbpc.example.org/fhir"
CORE = "http://hl7.org/fhir/StructureDefinition/"
SCT, LOINC, ICD = "http://snomed.info/sct", "http://loinc.org", "http://hl7.org/fhir/sid/icd-10-cm"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
DATE = "2026-11-28"


def sd_url(name):
    return f"{CANON}/StructureDefinition/{name}"


def vs_url(name):
    return f"{CANON}/ValueSet/{name}"


def cs_url(name):
    return f"{CANON}/CodeSystem/{name}"


def ref(*targets):
    return [{"code": "Reference", "targetProfile": [t if t.startswith("http") else CORE + t for t in targets]}]


def cc(system, code, display=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def required(name):
    return {"strength": "required", "valueSet": vs_url(name)}


def extensible(name):
    return {"strength": "extensible", "valueSet": vs_url(name)}


# ---------------------------------------------------------------- terminology
def concepts(system, codes):
    return {"system": system, "concept": [{"code": c, "display": d} for c, d in codes]}


def is_a(system, entries):
    """An include of `is-a` filters: each code (or ICD-10-CM block `A00-B99`) and everything below it.
    ICD-10-CM places a code below its category by its characters (C34.90 is-a C34); SNOMED CT
    needs the concept hierarchy, which the gateway does not hold, so a SNOMED code is placed
    locally only when it is a filter value or an enumerated concept (see ADVANCED_SCT_PLACED)."""
    return [{"system": system, "filter": [{"property": "concept", "op": "is-a", "value": code}]}
            for code, _ in entries]


# Serious illnesses that home-based palliative programs serve (profiles/README.md, "Clinical sources").
# ICD-10-CM categories and blocks (FY2026 tabular list): every code below them is included, billable
# or not (eligibility is a clinical question, not a claim: G20 and G35 are still Parkinson disease and MS).
ADVANCED_ICD = [
    ("C00-C96", "Malignant neoplasms (primary and secondary, solid and lymphoid/hematopoietic)"),
    ("I50", "Heart failure"), ("I11.0", "Hypertensive heart disease with heart failure"),
    ("I13.0", "Hypertensive heart and chronic kidney disease with heart failure and stage 1-4 CKD"),
    ("I13.2", "Hypertensive heart and chronic kidney disease with heart failure and with stage 5 CKD or ESRD"),
    ("I09.81", "Rheumatic heart failure"),
    ("J43", "Emphysema"), ("J44", "Other chronic obstructive pulmonary disease"),
    ("J96.1", "Chronic respiratory failure"), ("J96.2", "Acute and chronic respiratory failure"),
    ("J84.1", "Other interstitial pulmonary diseases with fibrosis"),
    ("N18.5", "Chronic kidney disease, stage 5"), ("N18.6", "End stage renal disease"),
    ("I12.0", "Hypertensive chronic kidney disease with stage 5 CKD or ESRD"),
    ("I13.11", "Hypertensive heart and chronic kidney disease without heart failure, with stage 5 CKD or ESRD"),
    ("K70.3", "Alcoholic cirrhosis of liver"), ("K70.4", "Alcoholic hepatic failure"),
    ("K72.1", "Chronic hepatic failure"), ("K72.9", "Hepatic failure, unspecified"),
    ("K74.3", "Primary biliary cirrhosis"), ("K74.4", "Secondary biliary cirrhosis"),
    ("K74.5", "Biliary cirrhosis, unspecified"), ("K74.6", "Other and unspecified cirrhosis of liver"),
    ("G12.2", "Motor neuron disease (incl. G12.21 amyotrophic lateral sclerosis)"),
    ("G20", "Parkinson's disease"), ("G35", "Multiple sclerosis"), ("G10", "Huntington's disease"),
    ("F01", "Vascular dementia"), ("F02", "Dementia in other diseases classified elsewhere"),
    ("F03", "Unspecified dementia"), ("G30", "Alzheimer's disease"), ("G31.0", "Frontotemporal dementia"),
    ("G31.83", "Neurocognitive disorder with Lewy bodies"),
    ("B20", "Human immunodeficiency virus [HIV] disease"),
    ("R54", "Age-related physical debility (frailty)"), ("R62.7", "Adult failure to thrive"), ("R64", "Cachexia"),
]
# Malignant neoplasms of skin other than melanoma (basal and squamous cell carcinoma) are not serious illness.
ADVANCED_ICD_EXCLUDED = [("C44", "Other and unspecified malignant neoplasm of skin")]
ADVANCED_SCT = [
    ("363346000", "Malignant neoplastic disease"), ("128462008", "Secondary malignant neoplastic disease"),
    ("84114007", "Heart failure"), ("13645005", "Chronic obstructive lung disease"),
    ("433146000", "Chronic kidney disease stage 5"), ("46177005", "End-stage renal disease"),
    ("19943007", "Cirrhosis of liver"), ("59927004", "Hepatic failure"),
    ("37340000", "Motor neuron disease"), ("86044005", "Amyotrophic lateral sclerosis"),
    ("49049000", "Parkinson's disease"), ("24700007", "Multiple sclerosis"),
    ("52448006", "Dementia"), ("26929004", "Alzheimer's disease"),
    ("86406008", "Human immunodeficiency virus infection"), ("248279007", "Frailty"),
]
# Common descendants of the SNOMED CT roots above, enumerated so that they are placed without a
# terminology server; any other SNOMED CT code is "unknown" to the criterion, never "not met".
ADVANCED_SCT_PLACED = [
    ("363358000", "Malignant tumor of lung"), ("254637007", "Non-small cell lung cancer"),
    ("254632001", "Small cell carcinoma of lung"), ("363418001", "Malignant tumor of pancreas"),
    ("363406005", "Malignant tumor of colon"), ("254837009", "Malignant neoplasm of breast"),
    ("399068003", "Malignant tumor of prostate"), ("93870000", "Malignant neoplasm of liver"),
    ("42343007", "Congestive heart failure"), ("85232009", "Left heart failure"),
    ("87433001", "Pulmonary emphysema"),
]
# Symptoms that need managing at home (the program's "such as pain, shortness of breath, frequent
# infections", and the other ESAS-r symptoms that palliative teams treat).
SYMPTOM_ICD = [
    ("R52", "Pain, unspecified"), ("G89", "Pain, not elsewhere classified (incl. G89.3 neoplasm related pain)"),
    ("R10", "Abdominal and pelvic pain"),
    ("R06.0", "Dyspnea (R06.00, R06.01 orthopnea, R06.02 shortness of breath, R06.03, R06.09)"),
    ("R11", "Nausea and vomiting"), ("R53.8", "Other malaise and fatigue"), ("R63.0", "Anorexia"),
    ("R41.0", "Disorientation, unspecified (delirium)"),
    ("Z87.01", "Personal history of pneumonia (recurrent)"), ("N39.0", "Urinary tract infection, site not specified"),
    ("J18", "Pneumonia, unspecified organism"), ("D84", "Other immunodeficiencies"),
]
SYMPTOM_SCT = [("267036007", "Dyspnea"), ("22253000", "Pain"), ("82423001", "Chronic pain"),
               ("422587007", "Nausea"), ("84229001", "Fatigue"), ("79890006", "Loss of appetite"),
               ("2776000", "Delirium")]
BSER_STATUS = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"

CODE_SYSTEMS = [
    {"id": "hbpc-observation-codes", "title": "HBPC observation codes",
     "description": "Local codes for HBPC assessments that no standard terminology covers (BRIEF §3.6: no standard home-safety code).",
     "concept": [{"code": "home-safety-assessment", "display": "Home safety assessment for in-home services"},
                 {"code": "home-safe", "display": "Home is safe for in-home services"},
                 {"code": "home-unsafe", "display": "Home is not safe for in-home services"}]},
    {"id": "hbpc-services", "title": "HBPC services",
     "description": "The HBPC program's types of care (program text: skilled nursing, rehabilitation, social services, home health aides) and per-symptom management. BRIEF §3.3: no verified SNOMED concept exists for skilled nursing or home health aide services.",
     "concept": [{"code": "skilled-nursing", "display": "Skilled nursing care"},
                 {"code": "social-services", "display": "Medical social services"},
                 {"code": "home-health-aide", "display": "Home health aide services (short-term, intermittent personal care)"},
                 {"code": "physical-therapy", "display": "Physical therapy"},
                 {"code": "occupational-therapy", "display": "Occupational therapy"},
                 {"code": "speech-therapy", "display": "Speech-language therapy"},
                 {"code": "symptom-management", "display": "Symptom management"},
                 {"code": "comfort", "display": "Comfort and quality of life"},
                 {"code": "symptom-control", "display": "Symptoms controlled to the patient's satisfaction"}]},
    {"id": "hbpc-eligibility-criterion", "title": "HBPC eligibility criteria",
     "description": "The program's eligibility list, one code per criterion (docs/eligibility.md).",
     "concept": [{"code": "plan-member", "display": "Plan member"},
                 {"code": "advanced-illness", "display": "Progressive, advanced medical condition"},
                 {"code": "symptom-management", "display": "Needs assistance with symptom management"},
                 {"code": "wants-home-care", "display": "Desires to receive this care at home"},
                 {"code": "willing-participants", "display": "Patient and caregivers are willing participants"},
                 {"code": "homebound-certified", "display": "Homebound, certified by a physician"},
                 {"code": "service-area", "display": "Home is in the service area"},
                 {"code": "home-safe", "display": "Home is a place where services can be given safely"},
                 {"code": "physician-referral", "display": "Referred by a physician"},
                 {"code": "plan-physician-directs", "display": "All care directed by a plan physician"}]},
    {"id": "hbpc-eligibility-result", "title": "HBPC eligibility results",
     "description": "The result of one eligibility criterion.",
     "concept": [{"code": "met", "display": "Met"},
                 {"code": "not-met", "display": "Not met"},
                 {"code": "unknown", "display": "Unknown (evidence missing)"}]},
    {"id": "hbpc-task-parameter", "title": "HBPC referral Task inputs and outputs",
     "description": "Types of Task.input and Task.output on the referral Task.",
     "concept": [{"code": "evidence", "display": "Evidence considered"},
                 {"code": "determination", "display": "Eligibility determination"},
                 {"code": "missing-evidence", "display": "Missing evidence"},
                 {"code": "care-plan", "display": "Generated CarePlan"},
                 {"code": "care-team", "display": "Generated CareTeam"},
                 {"code": "delivery", "display": "Upstream delivery",
                  "definition": "The state of the delivery of the referral's Task, CarePlan and CareTeam to the upstream EHR (a code from hbpc-delivery-state)."},
                 {"code": "delivery-location", "display": "Upstream location",
                  "definition": "Where the upstream EHR keeps one delivered resource: a versioned absolute reference; display names our resource and the version sent."},
                 {"code": "delivery-http-status", "display": "Last upstream HTTP status class",
                  "definition": "For a failing or dead delivery, the class (4xx, 5xx) of the upstream's last HTTP status; the response text stays with the operator."}]},
    {"id": "hbpc-delivery-state", "title": "HBPC delivery states",
     "description": "The state of a referral's delivery to the upstream EHR, shown on the referral Task (docs/delivery.md).",
     "concept": [{"code": "pending", "display": "Pending", "definition": "Enqueued, waiting for its first attempt (or re-queued by an operator)."},
                 {"code": "delivered", "display": "Delivered", "definition": "The upstream accepted the current versions."},
                 {"code": "failed-retrying", "display": "Failed, retrying", "definition": "At least one attempt failed with a retryable error; it will be retried."},
                 {"code": "dead", "display": "Dead letter", "definition": "Given up (permanent error, too many attempts or too old) until an operator re-queues it."}]},
]

VALUE_SETS = [
    {"id": "hbpc-care-plan-activity", "title": "HBPC care plan activities",
     "description": "What an HBPC CarePlan activity is: the program's services and symptom management.",
     "include": [{"system": cs_url("hbpc-services")}]},
    {"id": "hbpc-careteam-role", "title": "HBPC care team roles",
     "description": "Care team member functions (BRIEF §3.3): SNOMED CT occupations and NUCC taxonomy codes.",
     "include": [concepts(SCT, [("224535009", "Registered nurse"), ("106328005", "Social worker"),
                                ("768730001", "Home health aide"), ("36682004", "Physiotherapist"),
                                ("80546007", "Occupational therapist"), ("159026005", "Speech and language therapist"),
                                ("116154003", "Patient"), ("133932002", "Caregiver"),
                                ("453231000124104", "Primary care provider")]),
                 {"system": "http://nucc.org/provider-taxonomy"}]},
    {"id": "hbpc-task-parameter-type", "title": "HBPC referral Task parameter types",
     "description": "Types of Task.input and Task.output on the referral Task.",
     "include": [{"system": cs_url("hbpc-task-parameter")}]},
    {"id": "hbpc-delivery-state", "title": "HBPC delivery states",
     "description": "The states of a referral's delivery upstream, as shown on the referral Task.",
     "include": [{"system": cs_url("hbpc-delivery-state")}]},
    {"id": "hbpc-referral-type", "title": "HBPC referral types",
     "description": "What an HBPC referral ServiceRequest asks for (BRIEF §3.1).",
     "include": [concepts(SCT, [("306237005", "Referral to palliative care service"),
                                ("306288008", "Referral to palliative care physician"),
                                ("713281006", "Consultation for palliative care"),
                                ("103735009", "Palliative care")])]},
    {"id": "hbpc-advanced-illness", "title": "HBPC advanced illness diagnoses",
     "description": "Serious, progressive illnesses that home-based palliative care serves (profiles/README.md, Clinical sources): malignant neoplasms, heart failure, COPD and chronic respiratory failure, CKD stage 5 and ESRD, cirrhosis and liver failure, motor neuron disease, Parkinson disease, multiple sclerosis, Huntington disease, dementias, HIV disease, frailty. ICD-10-CM categories and blocks with everything below them, and SNOMED CT concepts.",
     "include": [*is_a(ICD, ADVANCED_ICD), *is_a(SCT, ADVANCED_SCT), concepts(SCT, ADVANCED_SCT_PLACED)],
     "exclude": is_a(ICD, ADVANCED_ICD_EXCLUDED)},
    {"id": "hbpc-symptom", "title": "HBPC symptoms",
     "description": "Symptoms needing management at home: pain, dyspnea, nausea and vomiting, fatigue, anorexia, delirium and recurrent infection (program text; ESAS-r). ICD-10-CM categories with everything below them, and SNOMED CT.",
     "include": [*is_a(ICD, SYMPTOM_ICD), concepts(SCT, SYMPTOM_SCT)]},
    {"id": "hbpc-symptom-observation-code", "title": "HBPC symptom observation codes",
     "description": "Symptom scores recorded as Observations.",
     "include": [concepts(LOINC, [("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")]),
                 concepts(SCT, SYMPTOM_SCT)]},
    {"id": "hbpc-home-safety-code", "title": "HBPC home safety assessment codes",
     "description": "The local home safety code (extensible: a text-only code is accepted with a warning-free pass).",
     "include": [{"system": cs_url("hbpc-observation-codes")}]},
    {"id": "hbpc-referral-bundle-type", "title": "HBPC referral Bundle types",
     "description": "A referral arrives as a transaction (REST) or as a message (BSeR push).",
     "include": [concepts("http://hl7.org/fhir/bundle-type", [("transaction", "Transaction"), ("message", "Message")])]},
    {"id": "hbpc-task-business-status", "title": "HBPC referral Task business status",
     "description": "BSeR TaskBusinessStatusCS codes (BRIEF §1).",
     "include": [concepts(BSER_STATUS, [("2.0", "Service Request Created"), ("3.0", "Service Request Accepted"),
                                        ("4.0", "Service Request Declined"), ("5.1.1", "Service Request Event Scheduled"),
                                        ("5.1.2", "Service Request Unattended"), ("5.1.3", "Service Request Event Cancelled"),
                                        ("5.1.4", "Service Request Event Completed"), ("5.2", "Service Request Cancellation Requested"),
                                        ("6.0", "Service Request Fulfillment Cancelled"), ("7.0", "Service Request Fulfillment Completed")])]},
    {"id": "hbpc-narrative-status", "title": "HBPC narrative status (US Core)",
     "description": "US Core narrative status: generated or additional.",
     "include": [concepts("http://hl7.org/fhir/narrative-status", [("generated", "Generated"), ("additional", "Additional")])]},
]

PRACTITIONER = ("Practitioner", "PractitionerRole")

# ---------------------------------------------------------------- profiles
# (element id, constraints). Slices are ids with ":sliceName"; children of types are unfolded.
PROFILES_SPEC = [
    {"id": "hbpc-referral-servicerequest", "type": "ServiceRequest", "title": "HBPC Referral ServiceRequest",
     "description": "A physician's order referring a patient to Home Based Palliative Care (BSeR ReferralServiceRequest style, US Core ServiceRequest rules kept).",
     "diff": [
         ("ServiceRequest.identifier", {"min": 1, "slicing": {"discriminator": [{"type": "pattern", "path": "type"}], "rules": "open"}}),
         ("ServiceRequest.identifier:placer", {"sliceName": "placer", "min": 1, "max": "1"}),
         ("ServiceRequest.identifier:placer.type", {"min": 1, "patternCodeableConcept": cc(V2_0203, "PLAC")}),
         ("ServiceRequest.identifier:placer.value", {"min": 1}),
         ("ServiceRequest.intent", {"fixedCode": "order"}),
         ("ServiceRequest.code", {"min": 1, "binding": required("hbpc-referral-type")}),
         ("ServiceRequest.subject", {"type": ref("Patient")}),
         ("ServiceRequest.authoredOn", {"min": 1}),
         ("ServiceRequest.requester", {"min": 1, "type": ref(*PRACTITIONER)}),
         ("ServiceRequest.reasonReference", {"min": 1, "type": ref(sd_url("hbpc-advanced-illness-condition"), sd_url("hbpc-symptom-condition"), sd_url("hbpc-symptom-observation"))}),
         ("ServiceRequest.insurance", {"min": 1, "type": ref(sd_url("hbpc-coverage"))}),
         ("ServiceRequest.supportingInfo", {"slicing": {"discriminator": [{"type": "profile", "path": "resolve()"}], "rules": "open"}}),
         ("ServiceRequest.supportingInfo:homebound", {"sliceName": "homebound", "min": 0, "max": "1", "type": ref(sd_url("hbpc-homebound-observation"))}),
         ("ServiceRequest.supportingInfo:homeSafety", {"sliceName": "homeSafety", "min": 0, "max": "1", "type": ref(sd_url("hbpc-home-safety-observation"))}),
         ("ServiceRequest.supportingInfo:consent", {"sliceName": "consent", "min": 0, "max": "1", "type": ref(sd_url("hbpc-participation-consent"))}),
     ],
     "rules": ["identifier: a placer identifier (type v2-0203#PLAC, with a value) is required",
               "intent is fixed to `order`", "code is required, from ValueSet hbpc-referral-type (required binding)",
               "subject is a Patient; authoredOn is required", "requester (Practitioner or PractitionerRole) is required",
               "reasonReference (1..*) names the qualifying HBPC Advanced Illness or Symptom Condition(s)/Observations (checked when the targets are in the same Bundle)",
               "insurance (1..*) points to an HBPC Coverage",
               "supportingInfo is sliced by the profile of the resolved target: homebound, homeSafety and consent, 0..1 each (missing evidence puts the referral on hold; it is not a validation error)"]},
    {"id": "hbpc-coverage", "type": "Coverage", "title": "HBPC Coverage",
     "description": "Plan membership (US Core Coverage rules kept: member id `MB`, relationship 1..1, one payor).",
     "diff": [
         ("Coverage.identifier", {"min": 1, "slicing": {"discriminator": [{"type": "pattern", "path": "type"}], "rules": "open"}}),
         ("Coverage.identifier:memberId", {"sliceName": "memberId", "min": 1, "max": "1"}),
         ("Coverage.identifier:memberId.type", {"min": 1, "patternCodeableConcept": cc(V2_0203, "MB")}),
         ("Coverage.identifier:memberId.value", {"min": 1}),
         ("Coverage.relationship", {"min": 1}),
         ("Coverage.period", {"min": 1}),
         ("Coverage.payor", {"max": "1", "type": ref("Organization")}),
     ],
     "rules": ["identifier: a member id (type v2-0203#MB, with a value) is required", "beneficiary is a Patient",
               "relationship and period are required", "exactly one payor, an Organization (the plan)"]},
    {"id": "hbpc-advanced-illness-condition", "type": "Condition", "title": "HBPC Advanced Illness Condition",
     "description": "The progressive advanced diagnosis that qualifies the patient (US Core Condition rules kept).",
     "diff": [
         ("Condition.clinicalStatus", {"min": 1}),
         ("Condition.verificationStatus", {"min": 1}),
         ("Condition.category", {"min": 1}),
         ("Condition.code", {"min": 1, "binding": required("hbpc-advanced-illness")}),
         ("Condition.subject", {"type": ref("Patient")}),
     ],
     "rules": ["clinicalStatus, verificationStatus and category are required",
               "code is required, from ValueSet hbpc-advanced-illness (required; ICD-10-CM categories such as G20 and G35 count: eligibility is clinical, not a claim)",
               "subject is a Patient"]},
    {"id": "hbpc-symptom-condition", "type": "Condition", "title": "HBPC Symptom (Condition)",
     "description": "A symptom needing management at home: pain, dyspnea, recurrent infection.",
     "diff": [
         ("Condition.clinicalStatus", {"min": 1}),
         ("Condition.category", {"min": 1}),
         ("Condition.code", {"min": 1, "binding": required("hbpc-symptom")}),
         ("Condition.subject", {"type": ref("Patient")}),
     ],
     "rules": ["clinicalStatus and category are required", "code is required, from ValueSet hbpc-symptom (required)",
               "subject is a Patient"]},
    {"id": "hbpc-symptom-observation", "type": "Observation", "title": "HBPC Symptom (Observation)",
     "description": "A symptom score, e.g. LOINC 72514-3 pain severity 0-10.",
     "diff": [
         ("Observation.code", {"binding": required("hbpc-symptom-observation-code")}),
         ("Observation.subject", {"min": 1, "type": ref("Patient")}),
         ("Observation.effective[x]", {"min": 1}),
         ("Observation.value[x]", {"min": 1}),
     ],
     "rules": ["code from ValueSet hbpc-symptom-observation-code (required)", "subject (a Patient), effective[x] and value[x] are required"]},
    {"id": "hbpc-homebound-observation", "type": "Observation", "title": "HBPC Homebound Certification Observation",
     "description": "A physician's certification that the patient is homebound (SNOMED 160689007 Housebound; BRIEF §3.2).",
     "diff": [
         ("Observation.code", {"patternCodeableConcept": cc(SCT, "160689007")}),
         ("Observation.subject", {"min": 1, "type": ref("Patient")}),
         ("Observation.effective[x]", {"min": 1, "type": [{"code": "dateTime"}, {"code": "Period"}]}),
         ("Observation.performer", {"min": 1, "type": ref(*PRACTITIONER)}),
         ("Observation.value[x]", {"type": [{"code": "boolean"}]}),
     ],
     "rules": ["code carries SNOMED 160689007 (pattern)", "subject is a Patient", "effective[x] (dateTime or Period) is required",
               "performer (1..*) is the certifying Practitioner or PractitionerRole", "value[x], when present, is a boolean"]},
    {"id": "hbpc-home-safety-observation", "type": "Observation", "title": "HBPC Home Safety Assessment Observation",
     "description": "The assessment that the home is a place where care can be given safely. No standard code exists (BRIEF §3.6).",
     "diff": [
         ("Observation.code", {"binding": extensible("hbpc-home-safety-code")}),
         ("Observation.code.text", {"min": 1}),
         ("Observation.subject", {"min": 1, "type": ref("Patient")}),
         ("Observation.effective[x]", {"min": 1}),
         ("Observation.performer", {"min": 1}),
         ("Observation.value[x]", {"min": 1, "type": [{"code": "CodeableConcept"}]}),
     ],
     "rules": ["code.text is required (code extensible to hbpc-home-safety-code)", "subject is a Patient",
               "effective[x] and performer are required", "value[x] is a CodeableConcept (the assessment result), required"]},
    {"id": "hbpc-participation-consent", "type": "Consent", "title": "HBPC Participation Consent",
     "description": "The patient's (and optionally caregivers') agreement to the palliative plan of care at home (BSeR PatientConsent rules kept).",
     "diff": [
         ("Consent.scope", {"patternCodeableConcept": cc("http://terminology.hl7.org/CodeSystem/consentscope", "treatment")}),
         ("Consent.category", {"slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"}}),
         ("Consent.category:patientConsent", {"sliceName": "patientConsent", "min": 1, "max": "1", "patternCodeableConcept": cc(LOINC, "59284-0")}),
         ("Consent.patient", {"min": 1}),
         ("Consent.dateTime", {"min": 1}),
         ("Consent.performer", {"min": 1, "type": ref("Patient", "RelatedPerson")}),
         ("Consent.provision", {"min": 1}),
         ("Consent", {"constraint": [{"key": "hbpc-consent-1", "severity": "error",
                                      "human": "The consent permits: the top-level provision.type is permit (nested provisions may deny parts, e.g. care at home)",
                                      "expression": "provision.type = 'permit'",
                                      "source": sd_url("hbpc-participation-consent")}]}),
         ("Consent.provision.type", {"min": 1}),
     ],
     "rules": ["scope is consentscope#treatment (pattern)", "category includes LOINC 59284-0 Patient Consent (slice patientConsent, 1..1)",
               "patient and dateTime are required", "performer (1..*) is the Patient and/or RelatedPerson caregivers",
               "the top-level provision.type is `permit` (invariant hbpc-consent-1); nested provisions may deny parts of it"]},
    {"id": "hbpc-referral-bundle", "type": "Bundle", "title": "HBPC Referral Bundle",
     "description": "A referral sent as a transaction, or as a message whose first entry is the MessageHeader (bdl-12, checked by the engine).",
     "diff": [
         ("Bundle.type", {"binding": required("hbpc-referral-bundle-type")}),
         ("Bundle.entry", {"min": 1}),
         ("Bundle.entry.fullUrl", {"min": 1}),
         ("Bundle.entry.resource", {"min": 1}),
     ],
     "rules": ["type is transaction or message (required binding)", "at least one entry; every entry has a fullUrl and a resource",
               "a message starts with a MessageHeader (engine rule bdl-12)"]},
    {"id": "hbpc-referral-task", "type": "Task", "title": "HBPC Referral Task",
     "description": "The referral's workflow state (BSeR ReferralTask style).",
     "diff": [
         ("Task.businessStatus", {"binding": extensible("hbpc-task-business-status")}),
         ("Task.intent", {"fixedCode": "order"}),
         ("Task.code", {"min": 1, "patternCodeableConcept": cc("http://hl7.org/fhir/CodeSystem/task-code", "fulfill")}),
         ("Task.focus", {"min": 1, "type": ref(sd_url("hbpc-referral-servicerequest"))}),
         ("Task.for", {"min": 1, "type": ref("Patient")}),
         ("Task.authoredOn", {"min": 1}),
         ("Task.requester", {"min": 1}),
         ("Task.owner", {"min": 1}),
         ("Task.input.type", {"binding": extensible("hbpc-task-parameter-type")}),
         ("Task.output.type", {"binding": extensible("hbpc-task-parameter-type")}),
         ("Task.output", {"slicing": {"discriminator": [{"type": "pattern", "path": "type"}], "rules": "open"}}),
         ("Task.output:delivery", {"sliceName": "delivery", "min": 0, "max": "1"}),
         ("Task.output:delivery.type", {"patternCodeableConcept": cc(cs_url("hbpc-task-parameter"), "delivery")}),
         ("Task.output:delivery.value[x]", {"type": [{"code": "CodeableConcept"}], "binding": required("hbpc-delivery-state")}),
     ],
     "rules": ["intent fixed to `order`; code is task-code#fulfill", "focus is the HBPC referral ServiceRequest; for is a Patient",
               "authoredOn, requester and owner are required", "businessStatus extensible to the BSeR business status codes",
               "output types extensible to hbpc-task-parameter-type; at most one `delivery` output (slice delivery), "
               "its value a CodeableConcept from ValueSet hbpc-delivery-state (required), with `delivery-location` and "
               "`delivery-http-status` outputs beside it (docs/delivery.md)"]},
    {"id": "hbpc-careplan", "type": "CarePlan", "title": "HBPC CarePlan",
     "description": "The palliative plan of care the service emits (US Core CarePlan 6.1.0 rules kept).",
     "diff": [
         ("CarePlan.text", {"min": 1}),
         ("CarePlan.text.status", {"binding": required("hbpc-narrative-status")}),
         ("CarePlan.category", {"min": 1, "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"}}),
         ("CarePlan.category:AssessPlan", {"sliceName": "AssessPlan", "min": 1, "max": "1",
                                           "patternCodeableConcept": cc("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan")}),
         ("CarePlan.subject", {"type": ref("Patient")}),
         ("CarePlan.activity.detail.code", {"binding": required("hbpc-care-plan-activity")}),
     ],
     "rules": ["text is required, text.status generated or additional", "category includes US Core careplan-category#assess-plan (1..1 as in US Core 6.1.0)",
               "subject is a Patient", "activity.detail.code from ValueSet hbpc-care-plan-activity (required)"]},
    {"id": "hbpc-careteam", "type": "CareTeam", "title": "HBPC CareTeam",
     "description": "The home care team the service emits (US Core CareTeam rules kept).",
     "diff": [
         ("CareTeam.subject", {"min": 1, "type": ref("Patient")}),
         ("CareTeam.participant", {"min": 1}),
         ("CareTeam.participant.role", {"min": 1, "max": "1", "binding": extensible("hbpc-careteam-role")}),
         ("CareTeam.participant.member", {"min": 1}),
     ],
     "rules": ["subject is a Patient", "participant 1..*, each with exactly one role (extensible to hbpc-careteam-role: SNOMED CT occupations, NUCC taxonomy) and a member"]},
]


# ---------------------------------------------------------------- snapshot generation
def load_base():
    bundle = json.load(open(os.path.join(ROOT, "crates", "fhir", "definitions", "r4-core", "definitions.json"),
                            encoding="utf-8"))
    base = {e["resource"]["url"]: e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "StructureDefinition"}
    add_documentation(base)
    return base


def add_documentation(base):
    """Copies `short`, `definition` and binding descriptions from the R4 package into the base.

    The vendored base keeps only what validation reads, but a served snapshot element must have
    a definition (sdf-3) and a binding without a value set a description (sdf-10), and readers of the guide want the core text a profile inherits.
    """
    package = r4_package()
    for url, sd in base.items():
        path = os.path.join(package, f"StructureDefinition-{url.rsplit('/', 1)[-1]}.json")
        if not os.path.exists(path):
            continue
        full = json.load(open(path, encoding="utf-8"))
        docs = {e["id"]: e for e in full.get("snapshot", {}).get("element", [])}
        for e in sd.get("snapshot", {}).get("element", []):
            doc = docs.get(e["id"], {})
            for k in ("short", "definition"):
                if k in doc:
                    e[k] = doc[k]
            if "binding" in e and "description" in doc.get("binding", {}):
                e["binding"]["description"] = doc["binding"]["description"]
            if "definition" not in e:
                raise SystemExit(f"{url}: element {e['id']} has no definition in the R4 package")


def r4_package():
    """The unpacked npm hl7.fhir.r4.examples@4.0.1, fetched as vendor_r4_core.py fetches it."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from vendor_r4_core import package_dir
    return package_dir()


def type_snapshot(base, code):
    sd = base.get(CORE + code)
    if sd is None:
        raise SystemExit(f"no base definition for type {code}")
    return sd["snapshot"]["element"]


def subtree_end(elements, index):
    """Index after the element at `index`, its descendants and its slices."""
    eid = elements[index]["id"]
    end = index + 1
    while end < len(elements) and (elements[end]["id"].startswith(eid + ".") or elements[end]["id"].startswith(eid + ":")):
        end += 1
    return end


def find(elements, eid):
    for i, e in enumerate(elements):
        if e["id"] == eid:
            return i
    return None


def unfold(base, elements, eid):
    """Makes element `eid` exist: inserts the children of its nearest ancestor's data type."""
    if find(elements, eid) is not None:
        return
    parent_id = eid.rsplit(".", 1)[0]
    if ":" in eid.rsplit(".", 1)[-1] or parent_id == eid:
        raise SystemExit(f"cannot unfold {eid}")
    unfold(base, elements, parent_id)
    pi = find(elements, parent_id)
    parent = elements[pi]
    types = parent.get("type", [])
    if len(types) != 1:
        raise SystemExit(f"cannot unfold {parent_id}: {len(types)} types")
    children = []
    for child in type_snapshot(base, types[0]["code"])[1:]:
        c = copy.deepcopy(child)
        rest = c["path"].split(".", 1)[1]
        c["id"] = parent["id"] + "." + c["id"].split(".", 1)[1]
        c["path"] = parent["path"] + "." + rest
        children.append(c)
    end = pi + 1
    elements[end:end] = children
    if find(elements, eid) is None:
        raise SystemExit(f"{eid} is not an element of {parent_id}")


def apply(element, diff):
    for k, v in diff.items():
        if k == "constraint":
            element.setdefault("constraint", []).extend(v)
        else:
            element[k] = copy.deepcopy(v)


def snapshot(base, spec):
    elements = copy.deepcopy(type_snapshot(base, spec["type"]))
    for eid, diff in spec["diff"]:
        last = eid.rsplit(".", 1)[-1]
        if ":" in last and find(elements, eid) is None:
            sliced_id = eid.rsplit(":", 1)[0]
            si = find(elements, sliced_id)
            if si is None:
                raise SystemExit(f"{eid}: no sliced element {sliced_id}")
            sliced = elements[si]
            # the slice starts as a copy of the sliced element and its already unfolded children
            end = subtree_end(elements, si)
            copies = []
            for e in elements[si:end]:
                if e["id"] != sliced_id and not e["id"].startswith(sliced_id + "."):
                    continue
                if ":" in e["id"][len(sliced_id):]:
                    continue
                c = copy.deepcopy(e)
                c["id"] = eid + c["id"][len(sliced_id):]
                c.pop("slicing", None)
                copies.append(c)
            copies[0]["sliceName"] = last.split(":", 1)[1]
            elements[end:end] = copies
            _ = sliced
        else:
            unfold(base, elements, eid)
        apply(elements[find(elements, eid)], diff)
    return elements


def differential(spec, snapshot_elements):
    """The differential in snapshot order, as R4 requires (sdf-8a: the root element first)."""
    order = {e["id"]: i for i, e in enumerate(snapshot_elements)}
    out = []
    for eid, diff in sorted(spec["diff"], key=lambda d: order[d[0]]):
        path = ".".join(part.split(":")[0] for part in eid.split("."))
        e = {"id": eid, "path": path}
        e.update(copy.deepcopy(diff))
        out.append(e)
    return out


def structure_definition(base, spec):
    elements = snapshot(base, spec)
    return {
        "resourceType": "StructureDefinition", "id": spec["id"], "url": sd_url(spec["id"]),
        "version": "0.1.0", "name": spec["title"].replace(" ", "").replace("(", "").replace(")", ""),
        "title": spec["title"], "status": "draft", "date": DATE, "publisher": "HBPC program",
        "description": spec["description"], "fhirVersion": "4.0.1", "kind": "resource", "abstract": False,
        "type": spec["type"], "baseDefinition": CORE + spec["type"], "derivation": "constraint",
        "differential": {"element": differential(spec, elements)},
        "snapshot": {"element": elements},
    }


def value_set(spec):
    vs = {"resourceType": "ValueSet", "id": spec["id"], "url": vs_url(spec["id"]), "version": "0.1.0",
          "name": spec["title"].replace(" ", "").replace("(", "").replace(")", ""), "title": spec["title"],
          "status": "draft", "date": DATE, "publisher": "HBPC program", "description": spec["description"],
          "compose": {"include": spec["include"]}}
    if spec.get("exclude"):
        vs["compose"]["exclude"] = spec["exclude"]
    return vs


def code_system(spec):
    return {"resourceType": "CodeSystem", "id": spec["id"], "url": cs_url(spec["id"]), "version": "0.1.0",
            "name": spec["title"].replace(" ", ""), "title": spec["title"], "status": "draft", "date": DATE,
            "publisher": "HBPC program", "description": spec["description"], "caseSensitive": True,
            "content": "complete", "count": len(spec["concept"]), "concept": spec["concept"]}


def write(resource):
    path = os.path.join(PROFILES, f"{resource['resourceType']}-{resource['id']}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(resource, f, indent=2, ensure_ascii=False)
        f.write("\n")


def readme():
    lines = ["# HBPC implementation guide", "",
             f"Canonical base of every artifact: `{CANON}`. Authored in FSH, the FHIR community's "
             "profiling language, in `fsh/` (a SUSHI project: `fsh/sushi-config.yaml`, `fsh/input/fsh/*.fsh`); "
             "the JSON beside it is generated by `scripts/profiles/generate.py`, which adds the snapshots, and "
             "`scripts/profiles/sushi.sh --check` fails when that JSON is not what SUSHI compiles from the FSH "
             "(see Editing). The gateway loads the JSON (`src/domain/guide/`) into the FHIR engine.", "",
             "Base: FHIR R4 4.0.1 core definitions, vendored with the engine in "
             "`crates/fhir/definitions/r4-core/definitions.json` by "
             "`scripts/profiles/vendor_r4_core.py` from npm `hl7.fhir.r4.examples@4.0.1` (stripped of narrative, "
             "mappings and the per-element copies of `ele-1`, which the engine checks natively).", "",
             "US Core 6.1.0 is not available offline, so these profiles derive from the R4 base resources and "
             "restate the US Core rules that matter to HBPC (noted per profile). An operator can load US Core "
             "with `--ig DIR`.", "", "## Profiles", ""]
    for spec in PROFILES_SPEC:
        lines.append(f"### {spec['title']} (`{sd_url(spec['id'])}`)")
        lines.append("")
        lines.append(f"Base: {spec['type']}. {spec['description']}")
        lines.append("")
        lines.extend(f"- {r}" for r in spec["rules"])
        lines.append("")
    lines += ["## ValueSets", ""]
    lines += [f"- `{vs_url(v['id'])}`: {v['title']}. {v['description']}" for v in VALUE_SETS]
    lines += ["", "## CodeSystems", ""]
    lines += [f"- `{cs_url(c['id'])}`: {c['title']}. {c['description']}" for c in CODE_SYSTEMS]
    lines += ["", "## Clinical terminology", "",
              "`hbpc-advanced-illness` names the serious, progressive illnesses that home-based palliative care "
              "programs serve, and `hbpc-symptom` the symptoms they manage. Both are written as ICD-10-CM `is-a` "
              "filters over categories and blocks (`C00-C96`, `I50`, `G20`: the code and everything below it, billable "
              "or not, since eligibility is a clinical question and not a claim) and SNOMED CT concepts.", "",
              "How the gateway places a code (`src/domain/eligibility/terminology.rs`): ICD-10-CM by its characters "
              "(C34.90 is below C34, which is in the block C00-C96), so every ICD-10-CM code is either in or out; "
              "SNOMED CT only when it is a filter value or an enumerated concept, because the concept hierarchy is not "
              "held here. A code that cannot be placed (a SNOMED CT descendant not enumerated, a local code system, "
              "text only) makes `advanced-illness` *unknown*, never *not met*, and the reason names the code.", "",
              "Clinical sources:", "",
              "- Kelley AS, Bollens-Lund E. Identifying the population with serious illness: the \"denominator\" "
              "challenge. J Palliat Med. 2018;21(S2):S7-S16 (the condition groups: cancer, heart failure, COPD, ESRD, "
              "liver disease, neurodegenerative disease, dementia, HIV).",
              "- Kelley AS, Covinsky KE, Gorges RJ, et al. Identifying older adults with serious illness: a critical "
              "step toward improving the value of health care. Health Serv Res. 2017;52(1):113-131.",
              "- National Consensus Project for Quality Palliative Care. Clinical Practice Guidelines for Quality "
              "Palliative Care, 4th edition, 2018 (serious illness; palliative care in the home).",
              "- CMS Local Coverage Determination L34538, Hospice - Determining Terminal Status (disease groups: cancer, "
              "heart, pulmonary, renal, liver disease, ALS, dementia, HIV, adult failure to thrive/debility).",
              "- Watanabe SM, Nekolaichuk C, Beaumont C, et al. A multicenter study comparing two numerical versions of "
              "the Edmonton Symptom Assessment System in palliative care patients. J Pain Symptom Manage. "
              "2011;41(2):456-468 (ESAS-r symptoms: pain, tiredness, nausea, appetite, shortness of breath, and others).",
              "- ICD-10-CM Tabular List of Diseases and Injuries, FY2026 (CDC NCHS): category and block boundaries; "
              "`/work/shared/domain/BRIEF.md` §3.4-3.5 (codes checked against simple-icd-10-cm).",
              "- SNOMED CT International Edition: concept identifiers of the disorders above (the ids in the domain "
              "brief and the US Core examples were checked there; the others are from the fully specified names and "
              "were not checked against a terminology server here).", "",
              "Extending without a rebuild: put a ValueSet in a folder named by `validation.ig_dirs`. Either give it "
              "the same canonical URL (it replaces the built-in one), or a new URL that imports the built-in set "
              "(`compose.include.valueSet`) and adds codes, and name it in `eligibility.advanced_illness_value_set` "
              "(or `symptom_value_set`). Enumerated SNOMED CT concepts in it are placed like the built-in ones.", "",
              "## Defaults", "",
              "A resource without `meta.profile` gets an HBPC profile only in a referral: the HBPC referral "
              "`ServiceRequest` (a `code` or `category` coding in `hbpc-referral-type`) is checked against "
              "`hbpc-referral-servicerequest`, and the resources it references in the same Bundle are checked in their "
              "roles through its `reasonReference`, `insurance` and `supportingInfo` target profiles. Any other "
              "resource (a lab order, a DNR order, a wound-care CarePlan) is checked against R4 and the profiles it "
              "declares. In a referral, what the evidence lacks is a warning and a criterion's verdict, not a refusal "
              "(docs/eligibility.md, Intake policy).", "",
              "## Editing", "",
              "1. Change the FSH in `fsh/input/fsh/` and the same differential in `scripts/profiles/generate.py`.",
              "2. Regenerate the JSON and check it against SUSHI's output (SUSHI, npm `fsh-sushi` pinned in "
              "`scripts/profiles/sushi/`, is installed under `target/sushi` by `--install`, offline: see "
              "`scripts/profiles/sushi.sh`):", "",
              "   ```sh", "   scripts/profiles/generate.py", "   scripts/profiles/sushi.sh --install   # once",
              "   scripts/profiles/sushi.sh --check", "   ```", "",
              "3. Commit the FSH, generate.py and the JSON. `scripts/test.sh` runs the check (CI installs SUSHI "
              "and requires it).", "",
              "The R4 core definitions the engine validates against are vendored by "
              "`scripts/profiles/vendor_r4_core.py [/path/to/hl7.fhir.r4.examples/package]`.", ""]
    with open(os.path.join(PROFILES, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main():
    base = load_base()
    for spec in PROFILES_SPEC:
        write(structure_definition(base, spec))
    for spec in VALUE_SETS:
        write(value_set(spec))
    for spec in CODE_SYSTEMS:
        write(code_system(spec))
    readme()
    print(f"{len(PROFILES_SPEC)} profiles, {len(VALUE_SETS)} ValueSets, {len(CODE_SYSTEMS)} CodeSystems")


if __name__ == "__main__":
    main()
