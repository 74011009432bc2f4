Profile: HBPCReferralServiceRequest
Parent: ServiceRequest
Id: hbpc-referral-servicerequest
Title: "HBPC Referral ServiceRequest"
Description: "A physician's order referring a patient to Home Based Palliative Care (BSeR ReferralServiceRequest style, US Core ServiceRequest rules kept)."
* insert HBPCMetadata
* identifier 1..*
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "type"
* identifier ^slicing.rules = #open
* identifier contains placer 1..1
* identifier[placer].type 1..1
* identifier[placer].type = $v2-0203#PLAC
* identifier[placer].value 1..1
* intent = #order (exactly)
* code 1..1
* code from hbpc-referral-type (required)
* subject only Reference(Patient)
* authoredOn 1..1
* requester 1..1
* requester only Reference(Practitioner or PractitionerRole)
// the qualifying illness or symptoms (checked when the targets are in the same Bundle)
* reasonReference 1..*
* reasonReference only Reference(hbpc-advanced-illness-condition or hbpc-symptom-condition or hbpc-symptom-observation)
* insurance 1..*
* insurance only Reference(hbpc-coverage)
// evidence sliced by the profile of the resolved target; missing evidence puts the referral
// on hold, it is not a validation error (docs/eligibility.md)
* supportingInfo ^slicing.discriminator.type = #profile
* supportingInfo ^slicing.discriminator.path = "resolve()"
* supportingInfo ^slicing.rules = #open
* supportingInfo contains
    homebound 0..1 and
    homeSafety 0..1 and
    consent 0..1
* supportingInfo[homebound] only Reference(hbpc-homebound-observation)
* supportingInfo[homeSafety] only Reference(hbpc-home-safety-observation)
* supportingInfo[consent] only Reference(hbpc-participation-consent)
