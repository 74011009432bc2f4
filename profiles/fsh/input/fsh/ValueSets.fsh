ValueSet: HBPCcareplanactivities
Id: hbpc-care-plan-activity
Title: "HBPC care plan activities"
Description: "What an HBPC CarePlan activity is: the program's services and symptom management."
* insert HBPCMetadata
* include codes from system hbpc-services

ValueSet: HBPCcareteamroles
Id: hbpc-careteam-role
Title: "HBPC care team roles"
Description: "Care team member functions (BRIEF §3.3): SNOMED CT occupations and NUCC taxonomy codes."
* insert HBPCMetadata
* $SCT#224535009 "Registered nurse"
* $SCT#106328005 "Social worker"
* $SCT#768730001 "Home health aide"
* $SCT#36682004 "Physiotherapist"
* $SCT#80546007 "Occupational therapist"
* $SCT#159026005 "Speech and language therapist"
* $SCT#116154003 "Patient"
* $SCT#133932002 "Caregiver"
* $SCT#453231000124104 "Primary care provider"
* include codes from system $NUCC

ValueSet: HBPCreferralTaskparametertypes
Id: hbpc-task-parameter-type
Title: "HBPC referral Task parameter types"
Description: "Types of Task.input and Task.output on the referral Task."
* insert HBPCMetadata
* include codes from system hbpc-task-parameter

ValueSet: HBPCdeliverystatesValueSet
Id: hbpc-delivery-state
Title: "HBPC delivery states"
Description: "The states of a referral's delivery upstream, as shown on the referral Task."
* insert HBPCMetadata
// the CodeSystem has the same name
* ^name = "HBPCdeliverystates"
* include codes from system hbpc-delivery-state

ValueSet: HBPCreferraltypes
Id: hbpc-referral-type
Title: "HBPC referral types"
Description: "What an HBPC referral ServiceRequest asks for (BRIEF §3.1)."
* insert HBPCMetadata
* $SCT#306237005 "Referral to palliative care service"
* $SCT#306288008 "Referral to palliative care physician"
* $SCT#713281006 "Consultation for palliative care"
* $SCT#103735009 "Palliative care"

ValueSet: HBPCadvancedillnessdiagnoses
Id: hbpc-advanced-illness
Title: "HBPC advanced illness diagnoses"
Description: "Serious, progressive illnesses that home-based palliative care serves (profiles/README.md, Clinical sources): malignant neoplasms, heart failure, COPD and chronic respiratory failure, CKD stage 5 and ESRD, cirrhosis and liver failure, motor neuron disease, Parkinson disease, multiple sclerosis, Huntington disease, dementias, HIV disease, frailty. ICD-10-CM categories and blocks with everything below them, and SNOMED CT concepts."
* insert HBPCMetadata
// Serious illnesses that home-based palliative programs serve (profiles/README.md, Clinical sources).
// ICD-10-CM categories and blocks (FY2026 tabular list): every code below them is included, billable
// or not (eligibility is a clinical question, not a claim: G20 and G35 are still Parkinson disease and MS).
// ICD-10-CM places a code below its category by its characters (C34.90 is-a C34); SNOMED CT needs the
// concept hierarchy, which the gateway does not hold, so a SNOMED CT code is placed locally only when it
// is a filter value or an enumerated concept (src/domain/eligibility/terminology.rs).
* include codes from system $ICD10CM where concept is-a #C00-C96 // Malignant neoplasms (primary and secondary, solid and lymphoid/hematopoietic)
* include codes from system $ICD10CM where concept is-a #I50 // Heart failure
* include codes from system $ICD10CM where concept is-a #I11.0 // Hypertensive heart disease with heart failure
* include codes from system $ICD10CM where concept is-a #I13.0 // Hypertensive heart and chronic kidney disease with heart failure and stage 1-4 CKD
* include codes from system $ICD10CM where concept is-a #I13.2 // Hypertensive heart and chronic kidney disease with heart failure and with stage 5 CKD or ESRD
* include codes from system $ICD10CM where concept is-a #I09.81 // Rheumatic heart failure
* include codes from system $ICD10CM where concept is-a #J43 // Emphysema
* include codes from system $ICD10CM where concept is-a #J44 // Other chronic obstructive pulmonary disease
* include codes from system $ICD10CM where concept is-a #J96.1 // Chronic respiratory failure
* include codes from system $ICD10CM where concept is-a #J96.2 // Acute and chronic respiratory failure
* include codes from system $ICD10CM where concept is-a #J84.1 // Other interstitial pulmonary diseases with fibrosis
* include codes from system $ICD10CM where concept is-a #N18.5 // Chronic kidney disease, stage 5
* include codes from system $ICD10CM where concept is-a #N18.6 // End stage renal disease
* include codes from system $ICD10CM where concept is-a #I12.0 // Hypertensive chronic kidney disease with stage 5 CKD or ESRD
* include codes from system $ICD10CM where concept is-a #I13.11 // Hypertensive heart and chronic kidney disease without heart failure, with stage 5 CKD or ESRD
* include codes from system $ICD10CM where concept is-a #K70.3 // Alcoholic cirrhosis of liver
* include codes from system $ICD10CM where concept is-a #K70.4 // Alcoholic hepatic failure
* include codes from system $ICD10CM where concept is-a #K72.1 // Chronic hepatic failure
* include codes from system $ICD10CM where concept is-a #K72.9 // Hepatic failure, unspecified
* include codes from system $ICD10CM where concept is-a #K74.3 // Primary biliary cirrhosis
* include codes from system $ICD10CM where concept is-a #K74.4 // Secondary biliary cirrhosis
* include codes from system $ICD10CM where concept is-a #K74.5 // Biliary cirrhosis, unspecified
* include codes from system $ICD10CM where concept is-a #K74.6 // Other and unspecified cirrhosis of liver
* include codes from system $ICD10CM where concept is-a #G12.2 // Motor neuron disease (incl. G12.21 amyotrophic lateral sclerosis)
* include codes from system $ICD10CM where concept is-a #G20 // Parkinson's disease
* include codes from system $ICD10CM where concept is-a #G35 // Multiple sclerosis
* include codes from system $ICD10CM where concept is-a #G10 // Huntington's disease
* include codes from system $ICD10CM where concept is-a #F01 // Vascular dementia
* include codes from system $ICD10CM where concept is-a #F02 // Dementia in other diseases classified elsewhere
* include codes from system $ICD10CM where concept is-a #F03 // Unspecified dementia
* include codes from system $ICD10CM where concept is-a #G30 // Alzheimer's disease
* include codes from system $ICD10CM where concept is-a #G31.0 // Frontotemporal dementia
* include codes from system $ICD10CM where concept is-a #G31.83 // Neurocognitive disorder with Lewy bodies
* include codes from system $ICD10CM where concept is-a #B20 // Human immunodeficiency virus [HIV] disease
* include codes from system $ICD10CM where concept is-a #R54 // Age-related physical debility (frailty)
* include codes from system $ICD10CM where concept is-a #R62.7 // Adult failure to thrive
* include codes from system $ICD10CM where concept is-a #R64 // Cachexia
* include codes from system $SCT where concept is-a #363346000 // Malignant neoplastic disease
* include codes from system $SCT where concept is-a #128462008 // Secondary malignant neoplastic disease
* include codes from system $SCT where concept is-a #84114007 // Heart failure
* include codes from system $SCT where concept is-a #13645005 // Chronic obstructive lung disease
* include codes from system $SCT where concept is-a #433146000 // Chronic kidney disease stage 5
* include codes from system $SCT where concept is-a #46177005 // End-stage renal disease
* include codes from system $SCT where concept is-a #19943007 // Cirrhosis of liver
* include codes from system $SCT where concept is-a #59927004 // Hepatic failure
* include codes from system $SCT where concept is-a #37340000 // Motor neuron disease
* include codes from system $SCT where concept is-a #86044005 // Amyotrophic lateral sclerosis
* include codes from system $SCT where concept is-a #49049000 // Parkinson's disease
* include codes from system $SCT where concept is-a #24700007 // Multiple sclerosis
* include codes from system $SCT where concept is-a #52448006 // Dementia
* include codes from system $SCT where concept is-a #26929004 // Alzheimer's disease
* include codes from system $SCT where concept is-a #86406008 // Human immunodeficiency virus infection
* include codes from system $SCT where concept is-a #248279007 // Frailty
// Common descendants of the SNOMED CT roots above, enumerated so that they are placed without a
// terminology server; any other SNOMED CT code is "unknown" to the criterion, never "not met".
* $SCT#363358000 "Malignant tumor of lung"
* $SCT#254637007 "Non-small cell lung cancer"
* $SCT#254632001 "Small cell carcinoma of lung"
* $SCT#363418001 "Malignant tumor of pancreas"
* $SCT#363406005 "Malignant tumor of colon"
* $SCT#254837009 "Malignant neoplasm of breast"
* $SCT#399068003 "Malignant tumor of prostate"
* $SCT#93870000 "Malignant neoplasm of liver"
* $SCT#42343007 "Congestive heart failure"
* $SCT#85232009 "Left heart failure"
* $SCT#87433001 "Pulmonary emphysema"
// Malignant neoplasms of skin other than melanoma (basal and squamous cell carcinoma) are not serious illness.
* exclude codes from system $ICD10CM where concept is-a #C44 // Other and unspecified malignant neoplasm of skin

ValueSet: HBPCsymptoms
Id: hbpc-symptom
Title: "HBPC symptoms"
Description: "Symptoms needing management at home: pain, dyspnea, nausea and vomiting, fatigue, anorexia, delirium and recurrent infection (program text; ESAS-r). ICD-10-CM categories with everything below them, and SNOMED CT."
* insert HBPCMetadata
// Symptoms that need managing at home (the program's "such as pain, shortness of breath, frequent
// infections", and the other ESAS-r symptoms that palliative teams treat).
* include codes from system $ICD10CM where concept is-a #R52 // Pain, unspecified
* include codes from system $ICD10CM where concept is-a #G89 // Pain, not elsewhere classified (incl. G89.3 neoplasm related pain)
* include codes from system $ICD10CM where concept is-a #R10 // Abdominal and pelvic pain
* include codes from system $ICD10CM where concept is-a #R06.0 // Dyspnea (R06.00, R06.01 orthopnea, R06.02 shortness of breath, R06.03, R06.09)
* include codes from system $ICD10CM where concept is-a #R11 // Nausea and vomiting
* include codes from system $ICD10CM where concept is-a #R53.8 // Other malaise and fatigue
* include codes from system $ICD10CM where concept is-a #R63.0 // Anorexia
* include codes from system $ICD10CM where concept is-a #R41.0 // Disorientation, unspecified (delirium)
* include codes from system $ICD10CM where concept is-a #Z87.01 // Personal history of pneumonia (recurrent)
* include codes from system $ICD10CM where concept is-a #N39.0 // Urinary tract infection, site not specified
* include codes from system $ICD10CM where concept is-a #J18 // Pneumonia, unspecified organism
* include codes from system $ICD10CM where concept is-a #D84 // Other immunodeficiencies
* $SCT#267036007 "Dyspnea"
* $SCT#22253000 "Pain"
* $SCT#82423001 "Chronic pain"
* $SCT#422587007 "Nausea"
* $SCT#84229001 "Fatigue"
* $SCT#79890006 "Loss of appetite"
* $SCT#2776000 "Delirium"

ValueSet: HBPCsymptomobservationcodes
Id: hbpc-symptom-observation-code
Title: "HBPC symptom observation codes"
Description: "Symptom scores recorded as Observations."
* insert HBPCMetadata
* $LOINC#72514-3 "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
* $SCT#267036007 "Dyspnea"
* $SCT#22253000 "Pain"
* $SCT#82423001 "Chronic pain"
* $SCT#422587007 "Nausea"
* $SCT#84229001 "Fatigue"
* $SCT#79890006 "Loss of appetite"
* $SCT#2776000 "Delirium"

ValueSet: HBPChomesafetyassessmentcodes
Id: hbpc-home-safety-code
Title: "HBPC home safety assessment codes"
Description: "The local home safety code (extensible: a text-only code is accepted with a warning-free pass)."
* insert HBPCMetadata
* include codes from system hbpc-observation-codes

ValueSet: HBPCreferralBundletypes
Id: hbpc-referral-bundle-type
Title: "HBPC referral Bundle types"
Description: "A referral arrives as a transaction (REST) or as a message (BSeR push)."
* insert HBPCMetadata
* $bundle-type#transaction "Transaction"
* $bundle-type#message "Message"

ValueSet: HBPCreferralTaskbusinessstatus
Id: hbpc-task-business-status
Title: "HBPC referral Task business status"
Description: "BSeR TaskBusinessStatusCS codes (BRIEF §1)."
* insert HBPCMetadata
* $bser-task-business-status#2.0 "Service Request Created"
* $bser-task-business-status#3.0 "Service Request Accepted"
* $bser-task-business-status#4.0 "Service Request Declined"
* $bser-task-business-status#5.1.1 "Service Request Event Scheduled"
* $bser-task-business-status#5.1.2 "Service Request Unattended"
* $bser-task-business-status#5.1.3 "Service Request Event Cancelled"
* $bser-task-business-status#5.1.4 "Service Request Event Completed"
* $bser-task-business-status#5.2 "Service Request Cancellation Requested"
* $bser-task-business-status#6.0 "Service Request Fulfillment Cancelled"
* $bser-task-business-status#7.0 "Service Request Fulfillment Completed"

ValueSet: HBPCnarrativestatusUSCore
Id: hbpc-narrative-status
Title: "HBPC narrative status (US Core)"
Description: "US Core narrative status: generated or additional."
* insert HBPCMetadata
* $narrative-status#generated "Generated"
* $narrative-status#additional "Additional"
