Profile: HBPCHomeboundCertificationObservation
Parent: Observation
Id: hbpc-homebound-observation
Title: "HBPC Homebound Certification Observation"
Description: "A physician's certification that the patient is homebound (SNOMED 160689007 Housebound; BRIEF §3.2)."
* insert HBPCMetadata
* code = $SCT#160689007
* subject 1..1
* subject only Reference(Patient)
* effective[x] 1..1
* effective[x] only dateTime or Period
// the certifying physician
* performer 1..*
* performer only Reference(Practitioner or PractitionerRole)
* value[x] only boolean
