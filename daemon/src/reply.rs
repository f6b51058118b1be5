//! Response bodies and builders: [`Body`] (a whole buffer, or a stream fed through a channel
//! whose sender notices when the client hangs up), JSON and empty answers, errors as
//! `{"message"}`, the headers dockerd puts on every response, and reading a request's JSON
//! body within [`JSON_BODY_LIMIT`].

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};
use crate::version::MAX_API;

/// The largest JSON request body accepted.
pub const JSON_BODY_LIMIT: usize = 1 << 20;

/// A response body: nothing, one buffer, or chunks from a channel (sent chunked).
pub enum Body {
    /// Empty.
    Empty,
    /// One buffer.
    Full(Option<Bytes>),
    /// Chunks as they are sent; ends when every sender is gone.
    Stream(mpsc::Receiver<Bytes>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_none(),
            Body::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Empty => hyper::body::SizeHint::with_exact(0),
            Body::Full(Some(b)) => hyper::body::SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => hyper::body::SizeHint::with_exact(0),
            Body::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// A response.
pub type Reply = Response<Body>;

/// `status` with a JSON body.
pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Reply {
    match serde_json::to_vec(value) {
        Ok(v) => with_type(status, "application/json", Body::Full(Some(v.into()))),
        Err(e) => error(&ApiError::internal(format!("encode the answer: {e}"))),
    }
}

/// `status` with no body.
pub fn empty(status: StatusCode) -> Reply {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = status;
    r
}

/// `status` with a body of the given content type.
pub fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Reply {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A streamed 200: the sender feeds the body; `content_type` is omitted when `None`.
pub fn stream(content_type: Option<&'static str>) -> (mpsc::Sender<Bytes>, Reply) {
    let (tx, rx) = mpsc::channel(16);
    let mut r = Response::new(Body::Stream(rx));
    if let Some(t) = content_type {
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(t));
    }
    (tx, r)
}

/// The error as dockerd sends it (304 without a body).
pub fn error(e: &ApiError) -> Reply {
    if e.status == StatusCode::NOT_MODIFIED {
        return empty(e.status);
    }
    json(e.status, &serde_json::json!({ "message": e.message }))
}

/// A handler's result as a response.
pub fn from_result(r: ApiResult<Reply>) -> Reply {
    r.unwrap_or_else(|e| error(&e))
}

/// Adds the headers dockerd sends on every response.
pub fn add_common_headers(r: &mut Reply) {
    let h = r.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(MAX_API));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    if let Ok(v) = HeaderValue::from_str(&server_header()) {
        h.insert(header::SERVER, v);
    }
}

/// `berth/<version> (linux)`.
pub fn server_header() -> String {
    format!("berth/{} (linux)", env!("CARGO_PKG_VERSION"))
}

/// Reads the request body, at most `limit` bytes (413 beyond).
pub async fn read_body(req: Request<Incoming>, limit: usize) -> ApiResult<Bytes> {
    let limited = http_body_util::Limited::new(req.into_body(), limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than {limit} bytes"),
            ))
        }
        Err(e) => Err(ApiError::bad_request(format!("read the request body: {e}"))),
    }
}

/// The JSON body as `T` (unknown fields ignored); an empty body is `T::default()`.
pub async fn read_json<T: DeserializeOwned + Default>(req: Request<Incoming>) -> ApiResult<T> {
    let bytes = read_body(req, JSON_BODY_LIMIT).await?;
    parse_json(&bytes)
}

/// Parses a JSON body; empty or whitespace-only is `T::default()`. A `null` member is as if it
/// were absent, as Go's decoder (and so dockerd) takes it: docker-py sends `"Gateway": null`.
pub fn parse_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let invalid = |e: serde_json::Error| ApiError::bad_request(format!("invalid JSON: {e}"));
    let mut v: serde_json::Value = serde_json::from_slice(bytes).map_err(invalid)?;
    drop_null_members(&mut v);
    serde_json::from_value(v).map_err(invalid)
}

/// Removes every `null` member of every object in `v`.
fn drop_null_members(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_null_members);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_null_members),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    struct T {
        #[serde(rename = "A")]
        a: Option<u32>,
    }

    #[test]
    fn json_bodies_ignore_unknown_fields_and_reject_garbage() {
        assert_eq!(parse_json::<T>(b"").unwrap(), T::default());
        assert_eq!(
            parse_json::<T>(br#"{"A":3,"Zzz":[1]}"#).unwrap(),
            T { a: Some(3) }
        );
        assert_eq!(
            parse_json::<T>(br#"{"A":null,"B":[{"C":null}]}"#).unwrap(),
            T::default()
        );
        let e = parse_json::<T>(b"{nope").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.starts_with("invalid JSON"), "{}", e.message);
    }

    #[test]
    fn not_modified_has_no_body() {
        let r = error(&ApiError::not_modified());
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(matches!(r.body(), Body::Empty));
    }
}
