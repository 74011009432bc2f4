//! Keyset paging: next/previous/self links stay correct while new resources arrive.

use crate::search_support::*;
use crate::support::*;
use serde_json::json;
use std::collections::HashSet;

async fn patient(server: &TestServer, id: &str) {
    put(
        server,
        json!({"resourceType": "Patient", "id": id, "name": [{"family": "Pager"}]}),
    )
    .await;
}

#[tokio::test]
async fn paging_is_stable_under_concurrent_inserts() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        let originals: Vec<String> = (0..25).map(|i| format!("orig-{i:02}")).collect();
        for id in &originals {
            patient(&server, id).await;
        }
        for sort in ["", "&_sort=_lastUpdated", "&_sort=-_lastUpdated"] {
            let mut url = server.url(&format!("Patient?family=pager&_count=10{sort}"));
            let mut seen: Vec<String> = Vec::new();
            let mut pages = Vec::new();
            let mut round = 0;
            loop {
                let (status, page) = get_url(&url).await;
                assert_eq!(status, 200, "{page}");
                seen.extend(page_ids(&page));
                pages.push(page.clone());
                // new resources arrive between page requests, from another client
                let inserts: Vec<_> = (0..5)
                    .map(|i| {
                        let server = &server;
                        let id = format!("new-{}-{round}-{i}", sort.len());
                        async move { patient(server, &id).await }
                    })
                    .collect();
                futures_util::future::join_all(inserts).await;
                round += 1;
                match link(&page, "next") {
                    Some(next) => url = next,
                    None => break,
                }
                assert!(round < 50, "paging does not end");
            }
            let unique: HashSet<&String> = seen.iter().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "a resource appeared twice: {seen:?}"
            );
            for id in &originals {
                assert!(seen.contains(id), "{id} was skipped ({sort}): {seen:?}");
            }
            // previous from the second page gives the first page back
            let second = &pages[1];
            let previous = link(second, "previous").expect("a previous link");
            let (_, first_again) = get_url(&previous).await;
            assert_eq!(page_ids(&first_again), page_ids(&pages[0]), "{sort}");
            assert!(link(&pages[0], "previous").is_none());
            // self links have no cursor on the first page, and the parameters as given
            let self_link = link(&pages[0], "self").unwrap();
            assert!(
                self_link.contains("family=pager") && self_link.contains("_count=10"),
                "{self_link}"
            );
            assert!(!self_link.contains("_cursor"), "{self_link}");
        }
        // a tampered cursor is a 400, not a 500
        let (status, body) = get_url(&server.url("Patient?_cursor=bm9wZQ")).await;
        assert_eq!(status, 400, "{body}");
    })
    .await;
}

#[tokio::test]
async fn count_default_and_maximum() {
    on_each_backend_and_index_layout(
        &[
            ("HBPC_VALIDATION_DEFAULT_PROFILES", "false"),
            ("HBPC_SEARCH_DEFAULT_COUNT", "3"),
            ("HBPC_SEARCH_MAX_COUNT", "5"),
        ],
        |server| async move {
            for i in 0..7 {
                patient(&server, &format!("c{i}")).await;
            }
            let b = search(&server, "Patient").await;
            assert_eq!(page_ids(&b).len(), 3);
            let b = search(&server, "Patient?_count=100").await;
            assert_eq!(page_ids(&b).len(), 5);
            assert!(link(&b, "next").is_some());
        },
    )
    .await;
}
