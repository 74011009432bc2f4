Profile: HBPCSymptomObservation
Parent: Observation
Id: hbpc-symptom-observation
Title: "HBPC Symptom (Observation)"
Description: "A symptom score, e.g. LOINC 72514-3 pain severity 0-10."
* insert HBPCMetadata
* code from hbpc-symptom-observation-code (required)
* subject 1..1
* subject only Reference(Patient)
* effective[x] 1..1
* value[x] 1..1
