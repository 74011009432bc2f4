Profile: HBPCReferralBundle
Parent: Bundle
Id: hbpc-referral-bundle
Title: "HBPC Referral Bundle"
Description: "A referral sent as a transaction, or as a message whose first entry is the MessageHeader (bdl-12, checked by the engine)."
* insert HBPCMetadata
* type from hbpc-referral-bundle-type (required)
* entry 1..*
* entry.fullUrl 1..1
* entry.resource 1..1
