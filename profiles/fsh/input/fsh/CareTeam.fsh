Profile: HBPCCareTeam
Parent: CareTeam
Id: hbpc-careteam
Title: "HBPC CareTeam"
Description: "The home care team the service emits (US Core CareTeam rules kept)."
* insert HBPCMetadata
* subject 1..1
* subject only Reference(Patient)
* participant 1..*
// SNOMED CT occupations and NUCC taxonomy
* participant.role 1..1
* participant.role from hbpc-careteam-role (extensible)
* participant.member 1..1
* participant.member only Reference(Practitioner or PractitionerRole or RelatedPerson or Patient or Organization or CareTeam)
