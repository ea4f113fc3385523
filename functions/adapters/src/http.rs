//! HTTP glue: API Gateway events (through Lambda) and the local gateway both become
//! an [`ApiRequest`], and an [`ApiResponse`] goes back out. No rules live here.

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use ework_domain::api::contract::MAX_BODY_BYTES;
use ework_domain::api::{error_response, Api, ApiError, ApiRequest, ApiResponse, Endpoint};
use ework_domain::ports::{Clock, ObjectStore};
use std::sync::Arc;

pub(crate) const API_KEY_HEADER: &str = "x-api-key";

/// Seconds a client is asked to wait (`Retry-After`) before retrying a 503: the
/// store is busy or out of resources, or every connection is taken.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The `Retry-After` value a response carries, if any.
pub(crate) fn retry_after(resp: &ApiResponse) -> Option<u32> {
    (resp.status == 503).then_some(RETRY_AFTER_SECS)
}

pub(crate) fn api_key(headers: &HeaderMap) -> Option<String> {
    // A key that is not valid text cannot match any issued key; treat it as garbage, not absent.
    headers.get(API_KEY_HEADER).map(|v| {
        v.to_str()
            .map(str::to_owned)
            .unwrap_or_else(|_| "\u{fffd}".to_owned())
    })
}

pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub(crate) fn json_body(resp: &ApiResponse) -> Vec<u8> {
    serde_json::to_vec(&resp.body)
        .unwrap_or_else(|_| br#"{"code":500,"body":"internal error"}"#.to_vec())
}

/// Converts an API Gateway (REST, proxy integration) request.
pub fn from_lambda(req: &lambda_http::Request) -> ApiRequest {
    use lambda_http::RequestExt;
    let query = req
        .query_string_parameters_ref()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_else(|| parse_query(req.uri().query()));
    ApiRequest {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        query,
        api_key: api_key(req.headers()),
        body: req.body().as_ref().to_vec(),
    }
}

/// Builds the Lambda proxy response.
pub fn to_lambda(resp: &ApiResponse) -> lambda_http::Response<lambda_http::Body> {
    let mut builder = lambda_http::Response::builder()
        .status(resp.status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(allow) = resp.allow {
        builder = builder.header(header::ALLOW, allow);
    }
    if let Some(secs) = retry_after(resp) {
        builder = builder.header(header::RETRY_AFTER, secs);
    }
    builder
        .body(lambda_http::Body::from(json_body(resp)))
        .unwrap_or_else(|_| lambda_http::Response::new(lambda_http::Body::from("internal error")))
}

/// Runs one endpoint as a Lambda function until the runtime stops it.
pub async fn run_lambda<S, C>(api: Api<S, C>, endpoint: Endpoint) -> Result<(), lambda_http::Error>
where
    S: ObjectStore + 'static,
    C: Clock + 'static,
{
    let api = &api;
    lambda_http::run(lambda_http::service_fn(
        move |req: lambda_http::Request| async move {
            let resp = api.handle_endpoint(endpoint, from_lambda(&req)).await;
            Ok::<_, std::convert::Infallible>(to_lambda(&resp))
        },
    ))
    .await
}

fn to_axum(resp: &ApiResponse) -> Response {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json_body(resp),
    )
        .into_response();
    if let Some(allow) = resp.allow {
        out.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(secs) = retry_after(resp) {
        out.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    out
}

/// The handlers as an axum router: every path goes through the same handlers as in
/// AWS. `trainer local` serves through [`crate::gateway`] instead, which also bounds
/// slow and hostile clients.
pub fn local_router<S, C>(api: Arc<Api<S, C>>) -> Router
where
    S: ObjectStore + 'static,
    C: Clock + 'static,
{
    Router::new().fallback(move |req: Request<Body>| {
        let api = Arc::clone(&api);
        async move {
            let (parts, body) = req.into_parts();
            let declared = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if let Some(size) = declared.filter(|s| *s > MAX_BODY_BYTES) {
                return to_axum(&error_response(&ApiError::PayloadTooLarge {
                    size,
                    limit: MAX_BODY_BYTES,
                }));
            }
            let body = match to_bytes(body, MAX_BODY_BYTES + 1).await {
                Ok(bytes) => bytes.to_vec(),
                Err(_) => {
                    let size = MAX_BODY_BYTES + 1;
                    return to_axum(&error_response(&ApiError::PayloadTooLarge {
                        size,
                        limit: MAX_BODY_BYTES,
                    }));
                }
            };
            let req = ApiRequest {
                method: parts.method.as_str().to_owned(),
                path: parts.uri.path().to_owned(),
                query: parse_query(parts.uri.query()),
                api_key: api_key(&parts.headers),
                body,
            };
            to_axum(&api.handle(req).await)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_parameters_are_all_kept() {
        let q = parse_query(Some("testId=a&testId=b&subjectName=os%2Fx"));
        assert_eq!(q.len(), 3);
        assert_eq!(q[2], ("subjectName".into(), "os/x".into()));
    }

    #[test]
    fn a_key_that_is_not_text_is_kept_as_garbage() {
        let mut headers = HeaderMap::new();
        headers.insert(
            API_KEY_HEADER,
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(api_key(&headers).as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn a_503_from_lambda_asks_the_client_to_retry_later() {
        let busy = error_response(&ApiError::Unavailable(
            ework_domain::ports::StoreError::Unavailable("SlowDown".into()),
        ));
        let resp = to_lambda(&busy);
        assert_eq!(resp.status(), 503);
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some(RETRY_AFTER_SECS.to_string().as_str())
        );
        let not_found = to_lambda(&error_response(&ApiError::NotFound("x".into())));
        assert!(not_found.headers().get(header::RETRY_AFTER).is_none());
    }
}
