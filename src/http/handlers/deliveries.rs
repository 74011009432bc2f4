//! The delivery outbox's admin endpoints (issue #5):
//! `GET /admin/deliveries?state=dead&task={id}&limit=N` and
//! `POST /admin/deliveries/{id}/$retry`. Answers are plain JSON; errors are OperationOutcomes.

use crate::app::delivery::admin::record_json;
use crate::http::{ApiError, AppState};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    task: Option<String>,
    limit: Option<usize>,
}

/// `GET /admin/deliveries`
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let records = state
        .deliveries
        .list(query.state.as_deref(), query.task.as_deref(), query.limit)
        .await?;
    let items: Vec<_> = records.iter().map(record_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "total": items.len(), "deliveries": items })))
}

/// `POST /admin/deliveries/{id}/$retry`
pub async fn retry(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = state.deliveries.retry(&path).await?;
    Ok(HttpResponse::Ok().json(record_json(&record)))
}
