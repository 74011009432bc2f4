use crate::app::intake::EntryOutcome;
use crate::domain::auth::scope::Interaction;
use crate::http::auth::{bundle_access, own_tasks};
use crate::http::body::fhir_json_body;
use crate::http::bundle_response::bundle_response;
use crate::http::prefer::{return_preference, ReturnPreference};
use crate::http::responses::fhir_json;
use crate::http::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /fhir` with a transaction or batch Bundle.
pub async fn process(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = fhir_json_body(&req, payload, &state).await?;
    let intake = state.intake_for(&req);
    // parsed once, off the HTTP workers; authorization and intake read the same tree
    let bundle = {
        let (intake, body) = (intake.clone(), body.clone());
        state
            .compute
            .run(async move { intake.parse_bundle(&body) })
            .await?
    };
    let targets = bundle_access::authorize_bundle(&req, &bundle, &body)?;
    let base = state.base_url(&req);
    let mut outcome = {
        let base = base.clone();
        state
            .compute
            .run(async move { intake.process_bundle(&body, bundle, &base).await })
            .await?
    };
    // as GET /fhir/{type}: a search entry's _include/_revinclude never leak a type the
    // caller may not search, nor another client's Task
    let caller = crate::http::auth::principal(&req);
    for entry in &mut outcome.entries {
        if let EntryOutcome::Searched(page) = entry {
            page.result.included.retain(|r| {
                caller.scopes.permits(Interaction::Search, &r.resource_type)
                    && own_tasks::may_see(&caller, r)
            });
        }
    }
    bundle_access::record_bundle_outcome(&req, &outcome, &targets);
    // Bundle responses carry resources only when asked: they can be large.
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Minimal);
    let json = bundle_response(&outcome, &base, preference);
    Ok(fhir_json(StatusCode::OK, json))
}
