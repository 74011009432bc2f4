CodeSystem: HBPCobservationcodes
Id: hbpc-observation-codes
Title: "HBPC observation codes"
Description: "Local codes for HBPC assessments that no standard terminology covers (BRIEF §3.6: no standard home-safety code)."
* insert HBPCMetadata
* ^caseSensitive = true
* #home-safety-assessment "Home safety assessment for in-home services"
* #home-safe "Home is safe for in-home services"
* #home-unsafe "Home is not safe for in-home services"

CodeSystem: HBPCservices
Id: hbpc-services
Title: "HBPC services"
Description: "The HBPC program's types of care (program text: skilled nursing, rehabilitation, social services, home health aides) and per-symptom management. BRIEF §3.3: no verified SNOMED concept exists for skilled nursing or home health aide services."
* insert HBPCMetadata
* ^caseSensitive = true
* #skilled-nursing "Skilled nursing care"
* #social-services "Medical social services"
* #home-health-aide "Home health aide services (short-term, intermittent personal care)"
* #physical-therapy "Physical therapy"
* #occupational-therapy "Occupational therapy"
* #speech-therapy "Speech-language therapy"
* #symptom-management "Symptom management"
* #comfort "Comfort and quality of life"
* #symptom-control "Symptoms controlled to the patient's satisfaction"

CodeSystem: HBPCeligibilitycriteria
Id: hbpc-eligibility-criterion
Title: "HBPC eligibility criteria"
Description: "The program's eligibility list, one code per criterion (docs/eligibility.md)."
* insert HBPCMetadata
* ^caseSensitive = true
* #plan-member "Plan member"
* #advanced-illness "Progressive, advanced medical condition"
* #symptom-management "Needs assistance with symptom management"
* #wants-home-care "Desires to receive this care at home"
* #willing-participants "Patient and caregivers are willing participants"
* #homebound-certified "Homebound, certified by a physician"
* #service-area "Home is in the service area"
* #home-safe "Home is a place where services can be given safely"
* #physician-referral "Referred by a physician"
* #plan-physician-directs "All care directed by a plan physician"

CodeSystem: HBPCeligibilityresults
Id: hbpc-eligibility-result
Title: "HBPC eligibility results"
Description: "The result of one eligibility criterion."
* insert HBPCMetadata
* ^caseSensitive = true
* #met "Met"
* #not-met "Not met"
* #unknown "Unknown (evidence missing)"

CodeSystem: HBPCreferralTaskinputsandoutputs
Id: hbpc-task-parameter
Title: "HBPC referral Task inputs and outputs"
Description: "Types of Task.input and Task.output on the referral Task."
* insert HBPCMetadata
* ^caseSensitive = true
* #evidence "Evidence considered"
* #determination "Eligibility determination"
* #missing-evidence "Missing evidence"
* #care-plan "Generated CarePlan"
* #care-team "Generated CareTeam"
* #delivery "Upstream delivery"
    "The state of the delivery of the referral's Task, CarePlan and CareTeam to the upstream EHR (a code from hbpc-delivery-state)."
* #delivery-location "Upstream location"
    "Where the upstream EHR keeps one delivered resource: a versioned absolute reference; display names our resource and the version sent."
* #delivery-http-status "Last upstream HTTP status class"
    "For a failing or dead delivery, the class (4xx, 5xx) of the upstream's last HTTP status; the response text stays with the operator."

CodeSystem: HBPCdeliverystates
Id: hbpc-delivery-state
Title: "HBPC delivery states"
Description: "The state of a referral's delivery to the upstream EHR, shown on the referral Task (docs/delivery.md)."
* insert HBPCMetadata
* ^caseSensitive = true
* #pending "Pending" "Enqueued, waiting for its first attempt (or re-queued by an operator)."
* #delivered "Delivered" "The upstream accepted the current versions."
* #failed-retrying "Failed, retrying" "At least one attempt failed with a retryable error; it will be retried."
* #dead "Dead letter" "Given up (permanent error, too many attempts or too old) until an operator re-queues it."
