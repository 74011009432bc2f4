//! The workbench (issue #23): a web page at `GET /workbench` for interface engineers (validate
//! a feed's resources, dry-run the eligibility evaluation) and the program's intake
//! coordinators (work the referral queue), plus a readable view of the CapabilityStatement.
//!
//! The page is static: HTML, CSS and ES modules embedded in the binary (`assets/`), served with
//! a strict Content-Security-Policy. Everything it shows comes from the REST API itself, called
//! from the browser on the same origin, so authorization and the audit trail apply as to any
//! other client. The repository's `fixtures/` are embedded too (see `build.rs`) and listed at
//! `GET /workbench/fixtures`.
//!
//! Access (`http::auth::request_kind`): the page and its assets are public (they hold no data);
//! the fixtures need a valid token when auth is on, like `/fhir`. See docs/workbench.md.

mod assets;
mod fixtures;
mod handlers;

use crate::http::allowed_methods::get;
use actix_web::web;

/// The workbench's path prefix.
pub const PREFIX: &str = "/workbench";

/// Registers the workbench's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get(
        web::resource([PREFIX, "/workbench/"]),
        web::to(handlers::page),
    ))
    // before `{asset}`, which also matches `fixtures`
    .service(get(
        web::resource("/workbench/fixtures"),
        web::to(handlers::fixture_list),
    ))
    .service(get(
        web::resource("/workbench/fixtures/{path:.+}"),
        web::to(handlers::fixture),
    ))
    .service(get(
        web::resource("/workbench/{asset}"),
        web::to(handlers::asset),
    ));
}

/// Whether a (percent-decoded) path is one of the workbench's public ones: the page and its
/// assets, one segment deep, never the fixtures. Everything else under the prefix needs a
/// token when auth is on (deny by default).
pub fn is_public_path(path: &str) -> bool {
    match path.strip_prefix(PREFIX) {
        Some("") | Some("/") => true,
        Some(rest) => rest
            .strip_prefix('/')
            .is_some_and(|name| !name.contains('/') && name != "fixtures"),
        None => false,
    }
}

/// Whether a (percent-decoded) path is under the workbench's prefix.
pub fn is_workbench_path(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_are_the_page_and_its_assets_only() {
        for p in [
            "/workbench",
            "/workbench/",
            "/workbench/app.js",
            "/workbench/x",
        ] {
            assert!(is_workbench_path(p) && is_public_path(p), "{p}");
        }
        for p in [
            "/workbench/fixtures",
            "/workbench/fixtures/",
            "/workbench/fixtures/invalid/malformed-json.json",
            "/workbench/a/b",
            "/workbench/fixtures/../app.js",
        ] {
            assert!(is_workbench_path(p) && !is_public_path(p), "{p}");
        }
        for p in ["/workbenchx", "/fhir/workbench", "/"] {
            assert!(!is_workbench_path(p) && !is_public_path(p), "{p}");
        }
    }
}
