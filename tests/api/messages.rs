//! Issue #20, messaging: duplicates already in our store never fail a referral message, error
//! locations index the message's own entries, a resent message (same MessageHeader.id) gets the
//! first response and stores nothing, and a new message for the same referral updates it, with
//! a placer identifier without `system` scoped by the sender.

use crate::support::*;
use serde_json::Value;

#[tokio::test]
async fn stored_duplicates_are_matched_to_the_newest_with_a_warning() {
    on_each_backend(&[], |server| async move {
        let transaction = fixture_json("referral-transaction.json");
        for _ in 0..2 {
            let (status, body) = post_json(&server, "/fhir", &transaction).await;
            assert_eq!(status, 200, "{body}");
        }
        // the transaction's PractitionerRole has no ifNoneExist: now stored twice
        assert_eq!(
            server
                .stored_with_identifier("PractitionerRole", "PR-20931")
                .await,
            2
        );
        let message = fixture_json("referral-message.json");
        let (status, response) = post_json(&server, "/fhir/$process-message", &message).await;
        assert_eq!(status, 200, "{response}");
        let header = &response["entry"][0]["resource"];
        assert_eq!(header["response"]["code"], "ok", "{response}");
        let details = header["response"]["details"]["reference"]
            .as_str()
            .unwrap_or_else(|| panic!("no warning: {header}"));
        let outcome = header["contained"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| format!("#{}", c["id"].as_str().unwrap_or_default()) == details)
            .unwrap_or_else(|| panic!("{details} not contained: {header}"));
        let issue = &outcome["issue"][0];
        assert_eq!(issue["severity"], "warning", "{outcome}");
        assert_eq!(issue["code"], "duplicate", "{outcome}");
        // entry 3 of the message is its PractitionerRole
        assert_eq!(
            message["entry"][3]["resource"]["resourceType"],
            "PractitionerRole"
        );
        assert_eq!(
            issue["expression"][0], "Bundle.entry[3].resource.identifier",
            "{outcome}"
        );
        assert!(
            issue["details"]["text"]
                .as_str()
                .unwrap()
                .contains("most recently updated"),
            "{outcome}"
        );
        assert_eq!(response["entry"][1]["resource"]["status"], "accepted");
        // the match was an update of one of them, not a third
        assert_eq!(
            server
                .stored_with_identifier("PractitionerRole", "PR-20931")
                .await,
            2
        );
    })
    .await;
}

#[tokio::test]
async fn message_errors_name_the_messages_own_entries() {
    let server = TestServer::start().await;
    let mut message = fixture_json("referral-message.json");
    // entry 8 (a Condition) points at an entry the message does not hold
    assert_eq!(message["entry"][8]["resource"]["resourceType"], "Condition");
    message["entry"][8]["resource"]["subject"]["reference"] =
        "urn:uuid:00000000-0000-4000-8000-000000000000".into();
    let (status, outcome) = post_json(&server, "/fhir/$process-message", &message).await;
    assert_eq!(status, 400, "{outcome}");
    let located: Vec<String> = expressions(&outcome);
    assert!(
        located
            .iter()
            .any(|e| e.starts_with("Bundle.entry[8].resource.subject")),
        "{located:?}"
    );
}

fn bser(name: &str) -> Value {
    fixture_json(&format!("bser/{name}"))
}

#[tokio::test]
async fn a_resent_message_is_answered_as_before_and_an_update_changes_the_same_referral() {
    on_each_backend(&[], |server| async move {
        let (status, first) = post_json(
            &server,
            "/fhir/$process-message",
            &bser("referral-message.json"),
        )
        .await;
        assert_eq!(status, 200, "{first}");
        let versions = server.stored_versions().await;

        let (status, resent) = post_json(
            &server,
            "/fhir/$process-message",
            &bser("referral-message-resend.json"),
        )
        .await;
        assert_eq!(status, 200, "{resent}");
        assert_eq!(resent, first, "the first response, as it was");
        assert_eq!(server.stored_versions().await, versions, "nothing stored");

        let (status, updated) = post_json(
            &server,
            "/fhir/$process-message",
            &bser("referral-message-update.json"),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_ne!(updated["id"], first["id"], "a new message, a new response");
        // the placer identifier has no system: one ServiceRequest for it, updated
        let (_, referrals) =
            get_json(&server, "/fhir/ServiceRequest?identifier=EHR-REF-4471902").await;
        let found: Vec<&Value> = referrals["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .collect();
        assert_eq!(found.len(), 1, "{referrals}");
        assert_eq!(found[0]["priority"], "urgent", "{}", found[0]);
        assert_eq!(
            updated["entry"][1]["resource"]["id"], first["entry"][1]["resource"]["id"],
            "the same Task"
        );
        assert_eq!(
            updated["entry"][1]["resource"]["focus"]["reference"],
            format!("ServiceRequest/{}", found[0]["id"].as_str().unwrap())
        );

        // another sender's referral with the same system-less placer value is another referral
        let mut other = bser("referral-message.json");
        other["entry"][0]["resource"]["id"] = "other-sender-0001".into();
        other["entry"][0]["fullUrl"] =
            "https://other-ehr.example.org/fhir/MessageHeader/other-sender-0001".into();
        other["entry"][0]["resource"]["source"]["endpoint"] =
            "https://other-ehr.example.org/fhir".into();
        let (status, theirs) = post_json(&server, "/fhir/$process-message", &other).await;
        assert_eq!(status, 200, "{theirs}");
        assert_ne!(
            theirs["entry"][1]["resource"]["id"], first["entry"][1]["resource"]["id"],
            "another sender's referral has its own Task"
        );
        let (_, referrals) =
            get_json(&server, "/fhir/ServiceRequest?identifier=EHR-REF-4471902").await;
        assert_eq!(
            referrals["entry"].as_array().map_or(0, Vec::len),
            2,
            "{referrals}"
        );
    })
    .await;
}
