//! The workbench's static files, embedded in the binary: no build step, no files to deploy.

use std::sync::LazyLock;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("assets/", $name)),
        }
    };
}

/// The page (`index.html`) and every file it loads.
pub static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("workbench.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("fhir.js", JS),
    asset!("source.js", JS),
    asset!("validate.js", JS),
    asset!("evaluate.js", JS),
    asset!("referrals.js", JS),
    asset!("server.js", JS),
];

/// Strong ETags, `"` + the first 128 bits of the file's SHA-256 + `"`, computed once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = ring::digest::digest(&ring::digest::SHA256, a.body);
            let hex: String = digest.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("\"{hex}\"")
        })
        .collect()
});

/// The asset of this name, with its ETag.
pub fn find(name: &str) -> Option<(&'static Asset, &'static str)> {
    let i = ASSETS.iter().position(|a| a.name == name)?;
    Some((&ASSETS[i], ETAGS[i].as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_with_a_distinct_etag() {
        let mut tags = Vec::new();
        for a in ASSETS {
            let (found, etag) = find(a.name).expect("found");
            assert_eq!(found.name, a.name);
            assert!(!found.body.is_empty(), "{}", a.name);
            assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
            tags.push(etag);
        }
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
        assert!(find("missing.js").is_none());
    }

    /// The page loads only what is embedded, and nothing inline (the CSP forbids it).
    #[test]
    fn the_page_references_only_embedded_assets_and_nothing_inline() {
        let html = std::str::from_utf8(find("index.html").expect("page").0.body).expect("utf-8");
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let url = part.split('"').next().unwrap_or_default();
                if url.starts_with("data:") || url.starts_with('#') {
                    continue;
                }
                let name = url.strip_prefix("/workbench/").unwrap_or(url);
                assert!(find(name).is_some(), "{url} is not embedded");
            }
        }
        assert!(!html.contains("<style"), "inline style");
        assert!(!html.contains(" style=\""), "inline style attribute");
        assert!(!html.contains(" onclick="), "inline handler");
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let js = std::str::from_utf8(a.body).expect("utf-8");
            for import in js.split("from \"./").skip(1) {
                let name = import.split('"').next().unwrap_or_default();
                assert!(find(name).is_some(), "{} imports {name}", a.name);
            }
            for forbidden in [
                "localStorage",
                "sessionStorage",
                "document.cookie",
                "eval(",
                "innerHTML",
                "location.hash",
                "pushState",
            ] {
                assert!(!js.contains(forbidden), "{} uses {forbidden}", a.name);
            }
        }
    }
}
