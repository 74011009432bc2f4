Profile: HBPCCarePlan
Parent: CarePlan
Id: hbpc-careplan
Title: "HBPC CarePlan"
Description: "The palliative plan of care the service emits (US Core CarePlan 6.1.0 rules kept)."
* insert HBPCMetadata
* text 1..1
* text.status from hbpc-narrative-status (required)
// 1..1 as in US Core 6.1.0
* category 1..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains AssessPlan 1..1
* category[AssessPlan] = $us-core-careplan-category#assess-plan
* subject only Reference(Patient)
* activity.detail.code from hbpc-care-plan-activity (required)
