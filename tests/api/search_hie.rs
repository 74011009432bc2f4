//! Chains, _include/_revinclude and the HIE scenario: a patient known only by MRN, their
//! active CarePlan with its CareTeam, the team's members and the plan's Provenance, in one
//! request.

use crate::search_support::*;
use crate::support::*;
use serde_json::json;

const MRN: &str = "http://hospital.example/mrn";

async fn care_record(server: &TestServer) {
    for r in [
        json!({"resourceType": "Patient", "id": "pat", "identifier": [{"system": MRN, "value": "MRN-1"}],
               "name": [{"family": "Delgado", "given": ["Rosa"]}]}),
        json!({"resourceType": "Patient", "id": "other", "identifier": [{"system": MRN, "value": "MRN-2"}]}),
        json!({"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Okafor"}]}),
        json!({"resourceType": "Organization", "id": "org", "name": "HBPC Team North"}),
        json!({"resourceType": "CareTeam", "id": "ct", "status": "active", "subject": {"reference": "Patient/pat"},
               "category": [{"coding": [{"system": "http://loinc.org", "code": "LA27976-2"}]}],
               "participant": [{"member": {"reference": "Practitioner/doc"}},
                               {"member": {"reference": "Organization/org"}}]}),
        json!({"resourceType": "CarePlan", "id": "cp-active", "status": "active", "intent": "plan",
               "subject": {"reference": "Patient/pat"}, "careTeam": [{"reference": "CareTeam/ct"}],
               "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "code": "assess-plan"}]}],
               "period": {"start": "2026-01-15", "end": "2026-06-30"}}),
        json!({"resourceType": "CarePlan", "id": "cp-old", "status": "completed", "intent": "plan",
               "subject": {"reference": "Patient/pat"}, "period": {"start": "2025-02-01", "end": "2025-03-01"}}),
        json!({"resourceType": "CarePlan", "id": "cp-other", "status": "active", "intent": "plan",
               "subject": {"reference": "Patient/other"}}),
        json!({"resourceType": "Provenance", "id": "prov", "target": [{"reference": "CarePlan/cp-active"}],
               "recorded": "2026-01-15T10:00:00Z", "agent": [{"who": {"reference": "Practitioner/doc"}}]}),
        json!({"resourceType": "ServiceRequest", "id": "sr", "status": "active", "intent": "order",
               "subject": {"reference": "Patient/pat"}, "requester": {"reference": "Practitioner/doc"},
               "authoredOn": "2026-01-10"}),
        json!({"resourceType": "Task", "id": "task", "status": "requested", "intent": "order",
               "focus": {"reference": "ServiceRequest/sr"}, "for": {"reference": "Patient/pat"},
               "owner": {"reference": "Organization/org"},
               "businessStatus": {"coding": [{"system": "http://hbpc.example.org/status", "code": "intake-review"}]}}),
    ] {
        put(server, r).await;
    }
}

#[tokio::test]
async fn hie_finds_the_active_care_plan_by_mrn_in_one_request() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        care_record(&server).await;
        let b = search(&server, &format!("Patient?identifier={MRN}|MRN-1")).await;
        assert_eq!(ids(&b, "match"), vec!["Patient/pat"]);

        let query = format!(
            "CarePlan?patient.identifier={MRN}|MRN-1&status=active&_include=CarePlan:care-team\
             &_include:iterate=CareTeam:participant&_revinclude=Provenance:target"
        );
        let b = search(&server, &query).await;
        assert_eq!(ids(&b, "match"), vec!["CarePlan/cp-active"]);
        assert_eq!(
            ids(&b, "include"),
            strs(&[
                "CareTeam/ct",
                "Organization/org",
                "Practitioner/doc",
                "Provenance/prov"
            ])
        );
        // links keep every recognised parameter
        let self_link = link(&b, "self").unwrap();
        assert!(
            self_link.contains("_revinclude=Provenance%3Atarget"),
            "{self_link}"
        );
        for entry in b["entry"].as_array().unwrap() {
            let r = &entry["resource"];
            let full = entry["fullUrl"].as_str().unwrap();
            assert!(
                full.ends_with(&format!(
                    "/fhir/{}/{}",
                    r["resourceType"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                )),
                "{full}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn references_chains_and_includes() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        care_record(&server).await;
        let expect = |query: String, want: &'static [&'static str]| {
            let server = &server;
            async move {
                let b = search(server, &query).await;
                assert_eq!(ids(&b, "match"), strs(want), "{query}");
            }
        };
        // reference: id, Type/id, an absolute URL of ours, the :Type modifier
        let base = server.base.clone();
        expect(
            "CarePlan?patient=pat".into(),
            &["CarePlan/cp-active", "CarePlan/cp-old"],
        )
        .await;
        expect(
            "CarePlan?subject=Patient/pat&status=completed".into(),
            &["CarePlan/cp-old"],
        )
        .await;
        expect(
            format!("CarePlan?patient={base}/Patient/other"),
            &["CarePlan/cp-other"],
        )
        .await;
        expect(
            "CarePlan?subject:Patient=other".into(),
            &["CarePlan/cp-other"],
        )
        .await;
        expect(
            "CarePlan?care-team=CareTeam/ct".into(),
            &["CarePlan/cp-active"],
        )
        .await;
        expect(
            "CarePlan?care-team:missing=true".into(),
            &["CarePlan/cp-old", "CarePlan/cp-other"],
        )
        .await;
        // chains across two types, and two levels deep
        expect(
            format!("CarePlan?patient.identifier={MRN}|MRN-2"),
            &["CarePlan/cp-other"],
        )
        .await;
        expect(
            "CarePlan?subject:Patient.name=delgado&status=active".into(),
            &["CarePlan/cp-active"],
        )
        .await;
        expect(
            "CarePlan?care-team.participant=Practitioner/doc".into(),
            &["CarePlan/cp-active"],
        )
        .await;
        expect(
            format!("Provenance?target:CarePlan.patient.identifier={MRN}|MRN-1"),
            &["Provenance/prov"],
        )
        .await;
        // the US Core combinations on the other types
        expect(
            "CareTeam?patient=pat&status=active".into(),
            &["CareTeam/ct"],
        )
        .await;
        expect(
            "CareTeam?category=http://loinc.org|LA27976-2".into(),
            &["CareTeam/ct"],
        )
        .await;
        expect(
            "ServiceRequest?patient=pat&status=active&authored=2026-01".into(),
            &["ServiceRequest/sr"],
        )
        .await;
        expect(
            "ServiceRequest?requester=Practitioner/doc".into(),
            &["ServiceRequest/sr"],
        )
        .await;
        expect(
            "Task?focus=ServiceRequest/sr&status=requested&owner=Organization/org".into(),
            &["Task/task"],
        )
        .await;
        expect(
            "Task?business-status=intake-review&patient=pat".into(),
            &["Task/task"],
        )
        .await;
        expect(
            "CarePlan?category=assess-plan".into(),
            &["CarePlan/cp-active"],
        )
        .await;
        // date on a Period: eq wants the period inside the value's range
        expect("CarePlan?date=2026".into(), &["CarePlan/cp-active"]).await;
        expect("CarePlan?date=2026-01".into(), &[]).await;
        expect("CarePlan?date=ge2026-03".into(), &["CarePlan/cp-active"]).await;
        expect("CarePlan?date=lt2026".into(), &["CarePlan/cp-old"]).await;

        // _include Task:focus, and the reverse from the ServiceRequest
        let b = search(&server, "Task?_id=task&_include=Task:focus").await;
        assert_eq!(ids(&b, "include"), vec!["ServiceRequest/sr"]);
        let b = search(&server, "ServiceRequest?_id=sr&_revinclude=Task:focus").await;
        assert_eq!(ids(&b, "include"), vec!["Task/task"]);
        let b = search(&server, "CareTeam?_id=ct&_include=CareTeam:participant").await;
        assert_eq!(
            ids(&b, "include"),
            strs(&["Organization/org", "Practitioner/doc"])
        );
        // a deleted target is not included
        let res = client()
            .delete(server.url("Practitioner/doc"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let b = search(
            &server,
            "CareTeam?_id=ct&_include=CareTeam:participant:Organization",
        )
        .await;
        assert_eq!(ids(&b, "include"), vec!["Organization/org"]);
        let b = search(&server, "CareTeam?_id=ct&_include=CareTeam:participant").await;
        assert_eq!(ids(&b, "include"), vec!["Organization/org"]);
        // _sort by date, both ways; resources without a date last
        let b = search(&server, "CarePlan?_sort=date").await;
        assert_eq!(page_ids(&b), vec!["cp-old", "cp-active", "cp-other"]);
        let b = search(&server, "CarePlan?_sort=-date").await;
        assert_eq!(page_ids(&b), vec!["cp-active", "cp-old", "cp-other"]);
        // a bad include is a 400
        let (status, body) = get_url(&server.url("CarePlan?_include=CarePlan:status")).await;
        assert_eq!(status, 400, "{body}");
    })
    .await;
}
