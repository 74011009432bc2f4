//! `GET /workbench[/]`, `GET /workbench/{asset}`, `GET /workbench/fixtures[/{path}]`.

use super::{assets, fixtures};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The page's policy: its own scripts, styles and API only; no inline code, no framing, no
/// form posts, no `<base>`. Set here, so the guard's API default (`default-src 'none'`) does
/// not apply to these responses.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// `GET /workbench` and `/workbench/`.
pub async fn page(req: HttpRequest) -> HttpResponse {
    serve_asset(&req, "index.html")
}

/// `GET /workbench/{asset}`.
pub async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    serve_asset(&req, &name)
}

fn serve_asset(req: &HttpRequest, name: &str) -> HttpResponse {
    let Some((asset, etag)) = assets::find(name) else {
        return not_found("no such workbench file");
    };
    let status = if if_none_match(req, etag) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag))
        // revalidate every time (a cheap 304): the files change with the binary
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header(("Cross-Origin-Opener-Policy", "same-origin"))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"));
    if status == StatusCode::NOT_MODIFIED {
        return res.finish();
    }
    res.content_type(asset.content_type).body(asset.body)
}

/// Whether `If-None-Match` names this ETag (weak or strong) or is `*`.
fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// `GET /workbench/fixtures`: the embedded fixtures' names, grouped by folder.
pub async fn fixture_list() -> HttpResponse {
    HttpResponse::Ok().json(fixtures::listing())
}

/// `GET /workbench/fixtures/{path}`: one fixture as stored in the repository (some are
/// deliberately broken, so it is served as is, not parsed).
pub async fn fixture(path: web::Path<String>) -> HttpResponse {
    match fixtures::find(&path) {
        Some(body) => HttpResponse::Ok()
            .content_type("application/json; charset=utf-8")
            .body(body),
        None => not_found("no such fixture; see GET /workbench/fixtures"),
    }
}

fn not_found(text: &'static str) -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body(text)
}
