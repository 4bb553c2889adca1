//! [`ServeError`]: everything that can go wrong while serving, and the HTTP
//! answer each failure becomes.

use std::time::Duration;

use axum::http::StatusCode;
use axum::http::header::{ALLOW, HeaderValue, RETRY_AFTER};
use axum::response::{IntoResponse, Response};

use crate::inference::with_json_content_type;

/// The text a client sees for a server-side failure; the details go to the log.
const INTERNAL_ERROR_MESSAGE: &str =
    "internal error while serving the request; the server log has the details";

/// Everything that can go wrong in `mlrig-serve`.
///
/// Request failures carry structured fields and map to an HTTP status with
/// [`ServeError::status_code`]; as an axum response the body is always TF
/// Serving's error shape `{"error": "<message>"}`. Server-side failures (a
/// servable's own error, a panicking model, an I/O error) answer 500 with a
/// generic message and are logged with `tracing` at `error` level, so internal
/// details never reach a client.
///
/// ```
/// use mlrig_serve::ServeError;
/// use axum::http::StatusCode;
/// let e = ServeError::ModelNotFound { name: "iris".into(), available: vec!["adult".into()] };
/// assert_eq!(e.status_code(), StatusCode::NOT_FOUND);
/// assert_eq!(e.to_string(), "Servable not found for request: Latest(iris); available models: adult");
///
/// let e = ServeError::from(mlrig_core::Error::MissingField { instance: Some(2), field: "age".into() });
/// assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No model with this name is loaded.
    #[error(
        "Servable not found for request: Latest({name}); available models: {}",
        list_or_none(available)
    )]
    ModelNotFound {
        /// The requested model name.
        name: String,
        /// The names of the loaded models.
        available: Vec<String>,
    },
    /// The model is loaded but not in the requested version.
    #[error(
        "Servable not found for request: Specific({name}, {version}); available versions of {name}: {}",
        list_or_none(available)
    )]
    VersionNotFound {
        /// The requested model name.
        name: String,
        /// The requested version.
        version: u64,
        /// The loaded versions of the model, ascending.
        available: Vec<u64>,
    },
    /// A loaded model version has no live monitoring report: the server
    /// was started without monitoring, or the version is served
    /// unmonitored (its bundle has no training statistics).
    #[error("no monitoring report for model `{name}` version {version}: {reason}")]
    NotMonitored {
        /// The model name.
        name: String,
        /// The version that was asked for (resolved from a label or latest).
        version: u64,
        /// Why there is none.
        reason: &'static str,
    },
    /// The server has no model at all (MLflow's `/ping` answers 404 then).
    #[error("no model is loaded; start the server with at least one model")]
    NoModelLoaded,
    /// The model has no label of this name (TF Serving's message).
    #[error(
        "Unrecognized servable version label: {label}; labels of {name}: {}",
        list_or_none(available)
    )]
    LabelNotFound {
        /// The requested model name.
        name: String,
        /// The requested label.
        label: String,
        /// The model's labels.
        available: Vec<String>,
    },
    /// A version label cannot be set: it cannot be addressed in a URL path.
    #[error("cannot set label {label:?} of model `{name}`: {reason}")]
    InvalidLabel {
        /// The model name.
        name: String,
        /// The rejected label.
        label: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A servable cannot be registered (its name or version cannot be addressed over HTTP).
    #[error("cannot register model `{name}` version {version}: {reason}")]
    InvalidModel {
        /// The servable's name.
        name: String,
        /// The servable's version.
        version: u64,
        /// Why it was rejected.
        reason: String,
    },
    /// The request is malformed: not JSON, wrong shape, empty, unsupported option.
    #[error("{reason}")]
    BadRequest {
        /// What is wrong with the request, naming the offending key or value.
        reason: String,
    },
    /// No endpoint answers this path.
    #[error("no endpoint at `{path}`; {hint}")]
    EndpointNotFound {
        /// The request path.
        path: String,
        /// The endpoints that exist.
        hint: &'static str,
    },
    /// The endpoint exists but not for this HTTP method.
    #[error("method {method} is not allowed on `{path}`; use {allowed}")]
    MethodNotAllowed {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// The method the endpoint accepts.
        allowed: &'static str,
    },
    /// The request body's `Content-Type` is not one the endpoint reads.
    #[error("this endpoint reads the content types {supported}; got {found:?}")]
    UnsupportedMediaType {
        /// The request's `Content-Type` (empty when it had none).
        found: String,
        /// The content types the endpoint reads.
        supported: &'static str,
    },
    /// The request body is larger than the configured limit.
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes (`ServerConfig::max_body_bytes`).
        limit: usize,
    },
    /// The response would be larger than the configured limit.
    #[error(
        "the response would be {size} bytes, over the server's limit of {limit} bytes; send fewer instances per request"
    )]
    ResponseTooLarge {
        /// The response's size, in bytes.
        size: usize,
        /// The limit, in bytes (`ServerConfig::max_response_bytes`).
        limit: usize,
    },
    /// The server is at its concurrency or connection limit: the request
    /// was shed (503 with `Retry-After`).
    #[error("the server is overloaded ({reason}); retry after {}", humanize(*retry_after))]
    Overloaded {
        /// Which limit was reached.
        reason: String,
        /// When the client should retry (the `Retry-After` header, whole seconds).
        retry_after: Duration,
    },
    /// The request did not complete within the configured time.
    #[error("request did not complete within {}", humanize(*after))]
    Timeout {
        /// The limit (`ServerConfig::request_timeout`).
        after: Duration,
    },
    /// An error from `mlrig-core`: a caller's bad record or field (400, see
    /// [`mlrig_core::Error::is_invalid_input`]) or a failure of the model (500).
    #[error(transparent)]
    Core(#[from] mlrig_core::Error),
    /// The server failed in a way that is not the caller's fault.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
    /// A prediction table (hybrid inference) cannot be loaded or does not
    /// fit its model: `origin` names the file.
    #[error("prediction table {origin}: {reason}")]
    PredictionTable {
        /// Where the table comes from (its file).
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A model config file ([`crate::ModelConfig`]) cannot be read, parsed or checked.
    #[error("model config {}: {reason}", path.display())]
    InvalidConfig {
        /// The file (or `(JSON)` / `(TOML)` for text parsed from memory).
        path: std::path::PathBuf,
        /// What is wrong, with line and column for a syntax error.
        reason: String,
    },
    /// Accepting or serving connections failed.
    #[error("{context}: {source}")]
    Io {
        /// What the server was doing.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn list_or_none<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_value(after: Duration) -> HeaderValue {
    let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

fn humanize(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl ServeError {
    /// The HTTP status this error answers with.
    ///
    /// ```
    /// use mlrig_serve::ServeError;
    /// use axum::http::StatusCode;
    /// assert_eq!(ServeError::PayloadTooLarge { limit: 10 }.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
    /// assert_eq!(ServeError::Internal { reason: "x".into() }.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    /// ```
    pub fn status_code(&self) -> StatusCode {
        match self {
            ServeError::ModelNotFound { .. }
            | ServeError::VersionNotFound { .. }
            | ServeError::NoModelLoaded
            | ServeError::NotMonitored { .. }
            | ServeError::EndpointNotFound { .. } => StatusCode::NOT_FOUND,
            ServeError::BadRequest { .. }
            | ServeError::LabelNotFound { .. }
            | ServeError::InvalidLabel { .. } => StatusCode::BAD_REQUEST,
            ServeError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ServeError::PayloadTooLarge { .. } | ServeError::ResponseTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ServeError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServeError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ServeError::Core(e) if e.is_invalid_input() => StatusCode::BAD_REQUEST,
            ServeError::Core(_)
            | ServeError::InvalidModel { .. }
            | ServeError::InvalidConfig { .. }
            | ServeError::Internal { .. }
            | ServeError::PredictionTable { .. }
            | ServeError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// `true` when the caller's request is at fault (an unknown model,
    /// version or endpoint, a malformed or oversized body, a bad record),
    /// `false` for a failure of the server or the model. A
    /// [`ServeError::Core`] keeps [`mlrig_core::Error::is_invalid_input`]'s
    /// answer. Exactly the errors that answer with a 4xx status.
    ///
    /// ```
    /// use mlrig_serve::ServeError;
    /// let e = ServeError::from(mlrig_core::Error::MissingField { instance: None, field: "age".into() });
    /// assert!(e.is_invalid_input());
    /// let e = ServeError::from(mlrig_core::Error::io("model.json", std::io::Error::other("disk")));
    /// assert!(!e.is_invalid_input());
    /// assert!(std::error::Error::source(&e).is_some());
    /// assert!(!ServeError::Internal { reason: "x".into() }.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            ServeError::ModelNotFound { .. }
            | ServeError::VersionNotFound { .. }
            | ServeError::BadRequest { .. }
            | ServeError::LabelNotFound { .. }
            | ServeError::InvalidLabel { .. }
            | ServeError::NoModelLoaded
            | ServeError::NotMonitored { .. }
            | ServeError::EndpointNotFound { .. }
            | ServeError::MethodNotAllowed { .. }
            | ServeError::PayloadTooLarge { .. }
            | ServeError::ResponseTooLarge { .. }
            | ServeError::UnsupportedMediaType { .. } => true,
            ServeError::Core(e) => e.is_invalid_input(),
            ServeError::Timeout { .. }
            | ServeError::Overloaded { .. }
            | ServeError::InvalidModel { .. }
            | ServeError::InvalidConfig { .. }
            | ServeError::Internal { .. }
            | ServeError::PredictionTable { .. }
            | ServeError::Io { .. } => false,
        }
    }

    /// Shorthand for [`ServeError::BadRequest`].
    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        ServeError::BadRequest {
            reason: reason.into(),
        }
    }
}

impl ServeError {
    /// Logs the error and returns the message a client may see: the error
    /// itself, or a generic text for a server-side failure.
    fn client_message(&self) -> String {
        let status = self.status_code();
        if status.is_server_error()
            && !matches!(
                self,
                ServeError::Timeout { .. } | ServeError::Overloaded { .. }
            )
        {
            tracing::error!(error = %self, "request failed");
            INTERNAL_ERROR_MESSAGE.to_string()
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request rejected");
            self.to_string()
        }
    }

    /// The error as a response with this JSON `body` (each protocol shapes
    /// its own error document around [`ServeError::client_message`]).
    pub(crate) fn response_with(self, body: impl FnOnce(String) -> serde_json::Value) -> Response {
        let status = self.status_code();
        let body = body(self.client_message()).to_string();
        let mut response = with_json_content_type((status, body).into_response());
        match self {
            ServeError::MethodNotAllowed { allowed, .. } => {
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allowed));
            }
            ServeError::Overloaded { retry_after, .. } => {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, retry_after_value(retry_after));
            }
            _ => {}
        }
        response
    }
}

/// TF Serving's and the Open Inference Protocol's error document, `{"error": "..."}`.
impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        self.response_with(|message| serde_json::json!({ "error": message }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_available() {
        let e = ServeError::VersionNotFound {
            name: "iris".into(),
            version: 7,
            available: vec![1, 2],
        };
        assert_eq!(
            e.to_string(),
            "Servable not found for request: Specific(iris, 7); available versions of iris: 1, 2"
        );
        let e = ServeError::ModelNotFound {
            name: "iris".into(),
            available: vec![],
        };
        assert!(e.to_string().ends_with("available models: none"));
        assert_eq!(
            ServeError::Timeout {
                after: Duration::from_millis(1500)
            }
            .to_string(),
            "request did not complete within 1500 ms"
        );
    }

    #[test]
    fn invalid_input_is_exactly_a_client_error() {
        let errors = [
            ServeError::ModelNotFound {
                name: "m".into(),
                available: vec![],
            },
            ServeError::VersionNotFound {
                name: "m".into(),
                version: 2,
                available: vec![1],
            },
            ServeError::InvalidModel {
                name: "m".into(),
                version: 0,
                reason: "zero".into(),
            },
            ServeError::bad_request("not JSON"),
            ServeError::EndpointNotFound {
                path: "/x".into(),
                hint: "/v1",
            },
            ServeError::MethodNotAllowed {
                method: "GET".into(),
                path: "/x".into(),
                allowed: "POST",
            },
            ServeError::PayloadTooLarge { limit: 1 },
            ServeError::ResponseTooLarge { size: 2, limit: 1 },
            ServeError::Overloaded {
                reason: "busy".into(),
                retry_after: Duration::from_secs(1),
            },
            ServeError::UnsupportedMediaType {
                found: "text/xml".into(),
                supported: "application/json",
            },
            ServeError::NoModelLoaded,
            ServeError::InvalidLabel {
                name: "m".into(),
                label: "a/b".into(),
                reason: "slash".into(),
            },
            ServeError::LabelNotFound {
                name: "m".into(),
                label: "stable".into(),
                available: vec![],
            },
            ServeError::Timeout {
                after: Duration::from_secs(1),
            },
            ServeError::from(mlrig_core::Error::UnknownField {
                instance: None,
                field: "x".into(),
                expected: "a".into(),
            }),
            ServeError::from(mlrig_core::Error::IncompatibleMerge { reason: "r".into() }),
            ServeError::Internal { reason: "r".into() },
            ServeError::Io {
                context: "bind".into(),
                source: std::io::Error::other("busy"),
            },
        ];
        for e in errors {
            assert_eq!(
                e.is_invalid_input(),
                e.status_code().is_client_error(),
                "{e}"
            );
        }
    }

    #[test]
    fn server_errors_hide_details_from_clients() {
        let response = ServeError::Internal {
            reason: "secret path /etc/model".into(),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let core = ServeError::from(mlrig_core::Error::InvalidParameter {
            name: "k".into(),
            reason: "bad".into(),
        });
        assert_eq!(core.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let allowed = ServeError::MethodNotAllowed {
            method: "GET".into(),
            path: "/v1/models/m:predict".into(),
            allowed: "POST",
        }
        .into_response();
        assert_eq!(allowed.headers()[ALLOW], "POST");
        let shed = ServeError::Overloaded {
            reason: "4 predictions are running".into(),
            retry_after: Duration::from_millis(1500),
        }
        .into_response();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()[RETRY_AFTER], "2");
    }
}
