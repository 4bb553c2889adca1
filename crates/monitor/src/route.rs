//! [`Route`]: what a request path addresses, read from the path alone.
//!
//! The metrics layer cannot see the server's types, so it recognises the
//! serving protocols' path grammars itself:
//!
//! | protocol | paths | endpoints |
//! |---|---|---|
//! | `tf_serving` | `/v1/models/{m}[/versions/{v}\|/labels/{l}][:predict\|:classify\|:regress\|/metadata]` | `predict`, `classify`, `regress`, `metadata`, `status` |
//! | `open_inference` | `/v2`, `/v2/health/{live\|ready}`, `/v2/models/{m}[/versions/{v}][/infer\|/ready]` | `server_metadata`, `live`, `ready`, `infer`, `metadata` |
//! | `mlflow` | `/invocations`, `/ping`, `/health`, `/version` | `invocations`, `ping`, `health`, `version` |
//! | `metrics` | `/metrics` | `metrics` |
//! | `other` | anything else | `other` |
//!
//! Protocol and endpoint come from these fixed sets. The model name and
//! version are the raw (percent-decoded) path text; [`crate::ServingMetrics`]
//! keeps them as label values only for registered models.

use std::borrow::Cow;

/// The serving protocol of a request, and the endpoint within it.
///
/// ```
/// use mlrig_monitor::Route;
/// let route = Route::from_path("/v1/models/iris/versions/2:predict");
/// assert_eq!((route.protocol, route.endpoint), ("tf_serving", "predict"));
/// assert_eq!(route.model.as_deref(), Some("iris"));
/// assert_eq!(route.version, Some("2"));
/// assert_eq!(Route::from_path("/favicon.ico").endpoint, "other");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route<'a> {
    /// `tf_serving`, `open_inference`, `mlflow`, `metrics` or `other`.
    pub protocol: &'static str,
    /// The endpoint within the protocol (see the module table), or `other`.
    pub endpoint: &'static str,
    /// The model name in the path, percent-decoded, if the path names one.
    pub model: Option<Cow<'a, str>>,
    /// The version segment in the path (`/versions/{v}`), unparsed, if any.
    pub version: Option<&'a str>,
}

impl<'a> Route<'a> {
    /// Reads the route of a request path (without query string). Never fails:
    /// unrecognised paths are protocol and endpoint `other`.
    pub fn from_path(path: &'a str) -> Self {
        let route = |protocol, endpoint| Route {
            protocol,
            endpoint,
            model: None,
            version: None,
        };
        if let Some(rest) = path.strip_prefix("/v1/models/") {
            return tf_serving(rest);
        }
        if let Some(rest) = path.strip_prefix("/v2/models/") {
            return open_inference(rest);
        }
        match path.trim_end_matches('/') {
            "/v2" => route("open_inference", "server_metadata"),
            "/v2/health/live" => route("open_inference", "live"),
            "/v2/health/ready" => route("open_inference", "ready"),
            "/invocations" => route("mlflow", "invocations"),
            "/ping" => route("mlflow", "ping"),
            "/health" => route("mlflow", "health"),
            "/version" => route("mlflow", "version"),
            "/metrics" => route("metrics", "metrics"),
            _ if path.starts_with("/v1/") => route("tf_serving", "other"),
            _ if path.starts_with("/v2/") => route("open_inference", "other"),
            _ => route("other", "other"),
        }
    }
}

fn tf_serving(rest: &str) -> Route<'_> {
    let last_segment_start = rest.rfind('/').map_or(0, |i| i + 1);
    let (resource, verb) = match rest[last_segment_start..].rfind(':') {
        Some(i) => (
            &rest[..last_segment_start + i],
            Some(&rest[last_segment_start + i + 1..]),
        ),
        None => (rest, None),
    };
    let segments: Vec<&str> = resource.split('/').collect();
    let (version, metadata, shape_known) = match segments.as_slice() {
        [_] => (None, false, true),
        [_, "metadata"] => (None, true, true),
        [_, "versions", v] => (Some(*v), false, true),
        [_, "versions", v, "metadata"] => (Some(*v), true, true),
        [_, "labels", _] => (None, false, true),
        [_, "labels", _, "metadata"] => (None, true, true),
        _ => (None, false, false),
    };
    // Verbs are case-insensitive, as in TF Serving (`:PREDICT`).
    let verb = verb.map(str::to_ascii_lowercase);
    let endpoint = match (shape_known, metadata, verb.as_deref()) {
        (true, false, None) => "status",
        (true, true, None) => "metadata",
        (true, false, Some("predict")) => "predict",
        (true, false, Some("classify")) => "classify",
        (true, false, Some("regress")) => "regress",
        _ => "other",
    };
    Route {
        protocol: "tf_serving",
        endpoint,
        model: model_name(segments.first().copied()),
        version,
    }
}

fn open_inference(rest: &str) -> Route<'_> {
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let (version, endpoint) = match segments.as_slice() {
        [_] => (None, "metadata"),
        [_, "infer"] => (None, "infer"),
        [_, "ready"] => (None, "ready"),
        [_, "versions", v] => (Some(*v), "metadata"),
        [_, "versions", v, "infer"] => (Some(*v), "infer"),
        [_, "versions", v, "ready"] => (Some(*v), "ready"),
        _ => (None, "other"),
    };
    Route {
        protocol: "open_inference",
        endpoint,
        model: model_name(segments.first().copied()),
        version,
    }
}

fn model_name(segment: Option<&str>) -> Option<Cow<'_, str>> {
    segment.filter(|s| !s.is_empty()).map(percent_decode)
}

/// Decodes `%XX` escapes (as the server's path extractor does); invalid
/// escapes and non-UTF-8 results are kept as written.
fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    match String::from_utf8(decoded) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> (&'static str, &'static str, Option<String>, Option<&str>) {
        let r = Route::from_path(path);
        (
            r.protocol,
            r.endpoint,
            r.model.map(|m| m.into_owned()),
            r.version,
        )
    }

    #[test]
    fn recognises_every_protocol() {
        let m = |s: &str| Some(s.to_string());
        assert_eq!(
            parts("/v1/models/iris:predict"),
            ("tf_serving", "predict", m("iris"), None)
        );
        assert_eq!(
            parts("/v1/models/iris/versions/3:classify"),
            ("tf_serving", "classify", m("iris"), Some("3"))
        );
        assert_eq!(
            parts("/v1/models/iris/labels/stable:regress"),
            ("tf_serving", "regress", m("iris"), None)
        );
        assert_eq!(
            parts("/v1/models/iris/versions/3/metadata"),
            ("tf_serving", "metadata", m("iris"), Some("3"))
        );
        assert_eq!(
            parts("/v1/models/iris"),
            ("tf_serving", "status", m("iris"), None)
        );
        assert_eq!(
            parts("/v1/models/iris/versions/3:PREDICT"),
            ("tf_serving", "predict", m("iris"), Some("3"))
        );
        assert_eq!(
            parts("/v1/models/iris:explain"),
            ("tf_serving", "other", m("iris"), None)
        );
        assert_eq!(
            parts("/v1/models/my%20model:predict"),
            ("tf_serving", "predict", m("my model"), None)
        );
        assert_eq!(
            parts("/v2/models/iris/versions/1/infer"),
            ("open_inference", "infer", m("iris"), Some("1"))
        );
        assert_eq!(
            parts("/v2/models/iris/ready"),
            ("open_inference", "ready", m("iris"), None)
        );
        assert_eq!(
            parts("/v2/health/live"),
            ("open_inference", "live", None, None)
        );
        assert_eq!(parts("/invocations"), ("mlflow", "invocations", None, None));
        assert_eq!(parts("/metrics"), ("metrics", "metrics", None, None));
        assert_eq!(parts("/v1/other"), ("tf_serving", "other", None, None));
        assert_eq!(parts("/"), ("other", "other", None, None));
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%ff"), "%ff");
    }
}
