Profile: HBPCCoverage
Parent: Coverage
Id: hbpc-coverage
Title: "HBPC Coverage"
Description: "Plan membership (US Core Coverage rules kept: member id `MB`, relationship 1..1, one payor)."
* insert HBPCMetadata
* identifier 1..*
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "type"
* identifier ^slicing.rules = #open
* identifier contains memberId 1..1
* identifier[memberId].type 1..1
* identifier[memberId].type = $v2-0203#MB
* identifier[memberId].value 1..1
* beneficiary only Reference(Patient)
* relationship 1..1
* period 1..1
* payor 1..1
* payor only Reference(Organization)
