//! Sending one delivery to one upstream with reqwest: a transaction Bundle of conditional
//! updates, or one conditional update per resource. Answers are classified for `retry`.

use super::auth::{AuthError, UpstreamAuth};
use super::payload::{transaction_bundle, Outgoing};
use super::retry::{is_retryable_status, parse_retry_after, Failure};
use crate::config::{DeliveryMode, UpstreamSettings};
use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER,
};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

pub const FHIR_JSON_R4: &str = "application/fhir+json; fhirVersion=4.0";

/// Most of an upstream answer we read; the rest is not needed to judge it.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// Most of an OperationOutcome's text kept on a dead letter.
const MAX_ERROR_CHARS: usize = 2000;

/// What a successful delivery leaves on the record.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub status: u16,
    /// Per resource: our reference, the upstream's status, location and etag.
    pub upstream: Value,
}

pub struct UpstreamClient {
    settings: UpstreamSettings,
    base: String,
    http: reqwest::Client,
    auth: UpstreamAuth,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A transport failure as text (timeouts and connection problems are told apart).
pub fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // The Display of a reqwest error names the URL, which holds no patient data.
    format!("{kind}: {e}")
}

impl UpstreamClient {
    pub fn new(settings: &UpstreamSettings) -> Result<Self, AuthError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            .user_agent(concat!("hbpc-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AuthError::Setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            auth: UpstreamAuth::from_settings(settings)?,
            base: settings.base_url.trim_end_matches('/').to_string(),
            settings: settings.clone(),
            http,
        })
    }

    pub async fn deliver(&self, items: &[Outgoing]) -> Result<Delivered, Failure> {
        if items.is_empty() {
            return Ok(Delivered {
                status: 200,
                upstream: json!([]),
            });
        }
        match self.settings.mode {
            DeliveryMode::Transaction => self.transaction(items).await,
            DeliveryMode::PerResource => self.per_resource(items).await,
        }
    }

    async fn transaction(&self, items: &[Outgoing]) -> Result<Delivered, Failure> {
        let body = transaction_bundle(items).to_string().into_bytes();
        let answer = self
            .request(reqwest::Method::POST, &self.base, body)
            .await?;
        let parsed: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let entries = parsed.get("entry").and_then(Value::as_array);
        let upstream: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let r = entries
                    .and_then(|e| e.get(i))
                    .and_then(|e| e.get("response"))
                    .cloned()
                    .unwrap_or(Value::Null);
                json!({
                    "resource": o.key.reference(),
                    "version": o.version_id,
                    "status": r.get("status"),
                    "location": r.get("location"),
                    "etag": r.get("etag"),
                })
            })
            .collect();
        Ok(Delivered {
            status: answer.status,
            upstream: Value::from(upstream),
        })
    }

    async fn per_resource(&self, items: &[Outgoing]) -> Result<Delivered, Failure> {
        let mut upstream = Vec::with_capacity(items.len());
        let mut last = 200;
        for o in items {
            let url = format!("{}/{}", self.base, o.conditional_url());
            let answer = self
                .request(
                    reqwest::Method::PUT,
                    &url,
                    o.resource.to_string().into_bytes(),
                )
                .await?;
            let header = |name| answer.headers.get(name).and_then(|v| v.to_str().ok());
            upstream.push(json!({
                "resource": o.key.reference(),
                "version": o.version_id,
                "status": answer.status.to_string(),
                "location": header(LOCATION),
                "etag": header(ETAG),
            }));
            last = answer.status;
        }
        Ok(Delivered {
            status: last,
            upstream: Value::from(upstream),
        })
    }

    /// One request; a 401 with a SMART token renews the token and tries once more.
    async fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Vec<u8>,
    ) -> Result<Answer, Failure> {
        let mut renewed = false;
        loop {
            let authorization = self
                .auth
                .authorization(&self.http)
                .await
                .map_err(auth_failure)?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .header(CONTENT_TYPE, FHIR_JSON_R4)
                .header(ACCEPT, "application/fhir+json")
                .body(body.clone());
            if let Some(a) = &authorization {
                request = request.header(AUTHORIZATION, a);
            }
            let answer = match request.send().await {
                Ok(response) => read_answer(response).await?,
                Err(e) => {
                    return Err(Failure::Retryable {
                        status: None,
                        retry_after_ms: None,
                        error: transport_error(&e),
                    })
                }
            };
            if answer.status == 401
                && !renewed
                && self.auth.rejected(authorization.as_deref()).await
            {
                renewed = true;
                continue;
            }
            return classify(answer);
        }
    }
}

fn auth_failure(e: AuthError) -> Failure {
    match e {
        AuthError::Unavailable(error) => Failure::Retryable {
            status: None,
            retry_after_ms: None,
            error,
        },
        other => Failure::Permanent {
            status: None,
            error: other.to_string(),
        },
    }
}

async fn read_answer(mut response: reqwest::Response) -> Result<Answer, Failure> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room <= chunk.len() {
                    break;
                }
            }
            Ok(None) => break,
            // A connection reset mid-answer: we cannot know what the EHR did; the resend is
            // harmless because every entry is a conditional update.
            Err(e) => {
                return Err(Failure::Retryable {
                    status: Some(status),
                    retry_after_ms: None,
                    error: transport_error(&e),
                })
            }
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn classify(answer: Answer) -> Result<Answer, Failure> {
    let status = answer.status;
    if (200..300).contains(&status) {
        return Ok(answer);
    }
    let error = format!("HTTP {status}: {}", outcome_text(&answer.body));
    if is_retryable_status(status) {
        let retry_after_ms = answer
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        Err(Failure::Retryable {
            status: Some(status),
            retry_after_ms,
            error,
        })
    } else {
        Err(Failure::Permanent {
            status: Some(status),
            error,
        })
    }
}

/// The OperationOutcome's issue texts, or a note that the answer had none.
pub fn outcome_text(body: &[u8]) -> String {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let texts: Vec<String> = parsed
        .get("issue")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let code = i.get("code").and_then(Value::as_str).unwrap_or("?");
            let text = i
                .pointer("/details/text")
                .or_else(|| i.get("diagnostics"))
                .and_then(Value::as_str)?;
            Some(format!("[{code}] {text}"))
        })
        .collect();
    let text = if texts.is_empty() {
        "no OperationOutcome in the answer".to_string()
    } else {
        texts.join("; ")
    };
    text.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_text_joins_issues() {
        let oo = br#"{"resourceType":"OperationOutcome","issue":[
            {"severity":"error","code":"invalid","details":{"text":"CarePlan.status is required"}},
            {"severity":"error","code":"processing","diagnostics":"second"}]}"#;
        assert_eq!(
            outcome_text(oo),
            "[invalid] CarePlan.status is required; [processing] second"
        );
        assert_eq!(outcome_text(b"<html>"), "no OperationOutcome in the answer");
    }
}
