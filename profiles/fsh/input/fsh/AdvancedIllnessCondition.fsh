Profile: HBPCAdvancedIllnessCondition
Parent: Condition
Id: hbpc-advanced-illness-condition
Title: "HBPC Advanced Illness Condition"
Description: "The progressive advanced diagnosis that qualifies the patient (US Core Condition rules kept)."
* insert HBPCMetadata
* clinicalStatus 1..1
* verificationStatus 1..1
* category 1..*
// ICD-10-CM categories such as G20 and G35 count: eligibility is clinical, not a claim
* code 1..1
* code from hbpc-advanced-illness (required)
* subject only Reference(Patient)
