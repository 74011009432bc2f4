Profile: HBPCReferralTask
Parent: Task
Id: hbpc-referral-task
Title: "HBPC Referral Task"
Description: "The referral's workflow state (BSeR ReferralTask style)."
* insert HBPCMetadata
* businessStatus from hbpc-task-business-status (extensible)
* intent = #order (exactly)
* code 1..1
* code = $task-code#fulfill
* focus 1..1
* focus only Reference(hbpc-referral-servicerequest)
* for 1..1
* for only Reference(Patient)
* authoredOn 1..1
* requester 1..1
* owner 1..1
* input.type from hbpc-task-parameter-type (extensible)
* output.type from hbpc-task-parameter-type (extensible)
// the delivery state upstream, with delivery-location and delivery-http-status outputs beside
// it (docs/delivery.md)
* output ^slicing.discriminator.type = #pattern
* output ^slicing.discriminator.path = "type"
* output ^slicing.rules = #open
* output contains delivery 0..1
* output[delivery].type = hbpc-task-parameter#delivery
* output[delivery].value[x] only CodeableConcept
* output[delivery].value[x] from hbpc-delivery-state (required)
