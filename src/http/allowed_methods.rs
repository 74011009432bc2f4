//! Resources that say what they serve: each route is registered with its method, and any other
//! method gets `405 Method Not Allowed` with an `Allow` header listing those methods (RFC 9110
//! §15.5.6 requires it) and an OperationOutcome.

use crate::http::ApiError;
use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, Resource, ResponseError, Route};
use fhir_engine::outcome::IssueType;

/// `resource` answering each `(method, route)`, and 405 with `Allow` for every other method.
pub fn serve(resource: Resource, routes: impl IntoIterator<Item = (Method, Route)>) -> Resource {
    let mut methods: Vec<String> = Vec::new();
    let mut resource = resource;
    for (method, route) in routes {
        methods.push(method.as_str().to_string());
        resource = resource.route(route.method(method));
    }
    resource.default_service(not_allowed(methods.join(", ")))
}

/// A GET-only resource.
pub fn get(resource: Resource, route: Route) -> Resource {
    serve(resource, [(Method::GET, route)])
}

/// A POST-only resource.
pub fn post(resource: Resource, route: Route) -> Resource {
    serve(resource, [(Method::POST, route)])
}

fn not_allowed(allow: String) -> Route {
    web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move {
            let mut response = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                IssueType::NotSupported,
                format!(
                    "{} is not supported on this URL (it serves {allow})",
                    req.method()
                ),
            )
            .error_response();
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(ALLOW, value);
            }
            response
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App, HttpResponse};

    #[tokio::test]
    async fn other_methods_get_405_with_allow() {
        let app = test::init_service(App::new().service(serve(
            web::resource("/x"),
            [
                (Method::GET, web::to(HttpResponse::Ok)),
                (Method::PUT, web::to(HttpResponse::Ok)),
            ],
        )))
        .await;
        let ok = test::call_service(&app, test::TestRequest::get().uri("/x").to_request()).await;
        assert_eq!(ok.status(), 200);
        let refused =
            test::call_service(&app, test::TestRequest::delete().uri("/x").to_request()).await;
        assert_eq!(refused.status(), 405);
        assert_eq!(refused.headers().get(ALLOW).unwrap(), "GET, PUT");
        let body: serde_json::Value = test::read_body_json(refused).await;
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert_eq!(body["issue"][0]["code"], "not-supported");
    }
}
