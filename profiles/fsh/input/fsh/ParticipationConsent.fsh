Profile: HBPCParticipationConsent
Parent: Consent
Id: hbpc-participation-consent
Title: "HBPC Participation Consent"
Description: "The patient's (and optionally caregivers') agreement to the palliative plan of care at home (BSeR PatientConsent rules kept)."
* insert HBPCMetadata
* obeys hbpc-consent-1
* scope = $consentscope#treatment
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains patientConsent 1..1
* category[patientConsent] = $LOINC#59284-0
* patient 1..1
* patient only Reference(Patient)
* dateTime 1..1
// the patient and/or their caregivers
* performer 1..*
* performer only Reference(Patient or RelatedPerson)
* provision 1..1
* provision.type 1..1

Invariant: hbpc-consent-1
Description: "The consent permits: the top-level provision.type is permit (nested provisions may deny parts, e.g. care at home)"
Expression: "provision.type = 'permit'"
Severity: #error
