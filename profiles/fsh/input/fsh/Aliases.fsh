// Code systems and canonicals the guide names, written once.
Alias: $SCT = http://snomed.info/sct
Alias: $LOINC = http://loinc.org
Alias: $ICD10CM = http://hl7.org/fhir/sid/icd-10-cm
Alias: $NUCC = http://nucc.org/provider-taxonomy
Alias: $v2-0203 = http://terminology.hl7.org/CodeSystem/v2-0203
Alias: $consentscope = http://terminology.hl7.org/CodeSystem/consentscope
Alias: $task-code = http://hl7.org/fhir/CodeSystem/task-code
Alias: $bundle-type = http://hl7.org/fhir/bundle-type
Alias: $narrative-status = http://hl7.org/fhir/narrative-status
Alias: $us-core-careplan-category = http://hl7.org/fhir/us/core/CodeSystem/careplan-category
Alias: $bser-task-business-status = http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS
