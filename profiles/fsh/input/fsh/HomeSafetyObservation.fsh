Profile: HBPCHomeSafetyAssessmentObservation
Parent: Observation
Id: hbpc-home-safety-observation
Title: "HBPC Home Safety Assessment Observation"
Description: "The assessment that the home is a place where care can be given safely. No standard code exists (BRIEF §3.6)."
* insert HBPCMetadata
* code from hbpc-home-safety-code (extensible)
* code.text 1..1
* subject 1..1
* subject only Reference(Patient)
* effective[x] 1..1
* performer 1..*
// the assessment result
* value[x] 1..1
* value[x] only CodeableConcept
