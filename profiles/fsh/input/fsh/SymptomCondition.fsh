Profile: HBPCSymptomCondition
Parent: Condition
Id: hbpc-symptom-condition
Title: "HBPC Symptom (Condition)"
Description: "A symptom needing management at home: pain, dyspnea, recurrent infection."
* insert HBPCMetadata
* clinicalStatus 1..1
* category 1..*
* code 1..1
* code from hbpc-symptom (required)
* subject only Reference(Patient)
