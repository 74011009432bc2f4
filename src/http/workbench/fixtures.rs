//! The repository's `fixtures/`, embedded at build time (`build.rs` writes the list). They are
//! invented data, for trying the API from the workbench.

use serde_json::{json, Value};

include!(concat!(env!("OUT_DIR"), "/workbench_fixtures.rs"));

/// The fixture at this path under `fixtures/` (exact match: nothing else is reachable).
pub fn find(path: &str) -> Option<&'static [u8]> {
    FIXTURES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, body)| *body)
}

/// `{"groups": [{"folder": "", "fixtures": ["referral-message.json", …]},
/// {"folder": "invalid", "fixtures": ["invalid/malformed-json.json", …]}, …]}`: top-level files
/// first, then each folder in name order.
pub fn listing() -> Value {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, _) in FIXTURES {
        let folder = name.rsplit_once('/').map_or("", |(folder, _)| folder);
        match groups.iter_mut().find(|(f, _)| *f == folder) {
            Some((_, names)) => names.push(name),
            None => groups.push((folder, vec![name])),
        }
    }
    groups.sort_by_key(|(folder, _)| (!folder.is_empty(), *folder));
    json!({
        "groups": groups
            .into_iter()
            .map(|(folder, names)| json!({"folder": folder, "fixtures": names}))
            .collect::<Vec<_>>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_disk() -> Vec<String> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("fixtures dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if let Some(name) = path
                    .strip_prefix(root)
                    .ok()
                    .and_then(|p| p.to_str())
                    .filter(|n| n.ends_with(".json"))
                {
                    out.push(name.replace('\\', "/"));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out.retain(|n| !n.ends_with(".expected.json") && n != "expected-outcomes.json");
        out.sort();
        out
    }

    #[test]
    fn every_fixture_input_is_embedded_and_listed() {
        let embedded: Vec<String> = FIXTURES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(embedded, on_disk());
        assert!(find("referrals/missing-homebound.json").is_some());
        assert!(find("referrals/missing-homebound.expected.json").is_none());
        assert!(find("../Cargo.toml").is_none());
        let listed: Vec<String> = listing()["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["fixtures"].as_array().cloned().unwrap_or_default())
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        assert_eq!(listed.len(), embedded.len());
        assert_eq!(listing()["groups"][0]["folder"], "");
    }
}
