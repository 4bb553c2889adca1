//! Parsing of TF Serving REST paths below `/v1/models/`.
//!
//! axum's router cannot match a parameter followed by static text in one
//! segment (`{name}:predict`), so the server routes `/v1/models/{*rest}` and
//! this module reads `rest`:
//!
//! ```text
//! {name}[/versions/{n}|/labels/{l}]                 model status      (GET)
//! {name}[/versions/{n}|/labels/{l}]/metadata        model metadata    (GET)
//! {name}[/versions/{n}|/labels/{l}]/monitoring      live monitoring   (GET, an mlrig extension)
//! {name}[/versions/{n}|/labels/{l}]:predict         predict           (POST)
//! {name}[/versions/{n}|/labels/{l}]:classify        classify          (POST)
//! {name}[/versions/{n}|/labels/{l}]:regress         regress           (POST)
//! ```
//!
//! The verb after `:` is matched case-insensitively (`:PREDICT` works), as
//! TF Serving's URL parser does.

use crate::{ServeError, VersionSelector};

/// What a TF Serving path below `/v1/models/` addresses.
pub(crate) const TF_SERVING_ENDPOINTS: &str = "TF Serving endpoints are \
     GET /v1/models/{name}[/versions/{n}|/labels/{l}][/metadata|/monitoring] and \
     POST /v1/models/{name}[/versions/{n}|/labels/{l}]:predict|:classify|:regress";

/// An inference method of the TF Serving REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Predict,
    Classify,
    Regress,
}

/// The resource a path addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelEndpoint {
    Status,
    Metadata,
    /// The live monitoring report (an mlrig extension).
    Monitoring,
    Infer(Verb),
}

/// A parsed `/v1/models/...` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelPath {
    pub name: String,
    pub version: VersionSelector,
    pub endpoint: ModelEndpoint,
}

/// Parses the part of the path after `/v1/models/`; `full_path` is only used
/// in error messages.
pub(crate) fn parse_model_path(rest: &str, full_path: &str) -> Result<ModelPath, ServeError> {
    let not_found = || ServeError::EndpointNotFound {
        path: full_path.to_string(),
        hint: TF_SERVING_ENDPOINTS,
    };
    let last_segment_start = rest.rfind('/').map_or(0, |i| i + 1);
    let (resource, verb) = match rest[last_segment_start..].rfind(':') {
        Some(i) => {
            let colon = last_segment_start + i;
            let verb = match rest[colon + 1..].to_ascii_lowercase().as_str() {
                "predict" => Verb::Predict,
                "classify" => Verb::Classify,
                "regress" => Verb::Regress,
                _ => {
                    let other = &rest[colon + 1..];
                    return Err(ServeError::bad_request(format!(
                        "unknown method `:{other}` in `{full_path}`; expected :predict, :classify or :regress"
                    )));
                }
            };
            (&rest[..colon], Some(verb))
        }
        None => (rest, None),
    };
    let segments: Vec<&str> = resource.split('/').collect();
    let (name, version, resource) = match segments.as_slice() {
        [name] => (*name, None, None),
        [name, r @ ("metadata" | "monitoring")] => (*name, None, Some(*r)),
        [name, kind @ ("versions" | "labels"), v] => (*name, Some((*kind, *v)), None),
        [
            name,
            kind @ ("versions" | "labels"),
            v,
            r @ ("metadata" | "monitoring"),
        ] => (*name, Some((*kind, *v)), Some(*r)),
        _ => return Err(not_found()),
    };
    if name.is_empty() {
        return Err(not_found());
    }
    let version = match version {
        None => VersionSelector::Latest,
        Some(("versions", v)) => VersionSelector::Specific(parse_version(v, full_path)?),
        Some((_, "")) => return Err(not_found()),
        Some((_, label)) => VersionSelector::Label(label.to_string()),
    };
    let endpoint = match (resource, verb) {
        (None, None) => ModelEndpoint::Status,
        (Some("metadata"), None) => ModelEndpoint::Metadata,
        (Some(_), None) => ModelEndpoint::Monitoring,
        (None, Some(verb)) => ModelEndpoint::Infer(verb),
        (Some(_), Some(_)) => return Err(not_found()),
    };
    Ok(ModelPath {
        name: name.to_string(),
        version,
        endpoint,
    })
}

/// A version path segment: a positive integer (shared by both protocols).
pub(crate) fn parse_version(text: &str, full_path: &str) -> Result<u64, ServeError> {
    match text.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ServeError::bad_request(format!(
            "model version must be a positive integer, found `{text}` in `{full_path}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(rest: &str) -> Result<ModelPath, ServeError> {
        parse_model_path(rest, &format!("/v1/models/{rest}"))
    }

    fn ok(name: &str, version: Option<u64>, endpoint: ModelEndpoint) -> ModelPath {
        ModelPath {
            name: name.into(),
            version: VersionSelector::from(version),
            endpoint,
        }
    }

    #[test]
    fn parses_every_endpoint() {
        use ModelEndpoint::*;
        assert_eq!(parse("iris").unwrap(), ok("iris", None, Status));
        assert_eq!(
            parse("iris/versions/2").unwrap(),
            ok("iris", Some(2), Status)
        );
        assert_eq!(parse("iris/metadata").unwrap(), ok("iris", None, Metadata));
        assert_eq!(
            parse("iris/versions/2/metadata").unwrap(),
            ok("iris", Some(2), Metadata)
        );
        assert_eq!(
            parse("iris:predict").unwrap(),
            ok("iris", None, Infer(Verb::Predict))
        );
        assert_eq!(
            parse("iris/versions/12:classify").unwrap(),
            ok("iris", Some(12), Infer(Verb::Classify))
        );
        assert_eq!(
            parse("iris:regress").unwrap(),
            ok("iris", None, Infer(Verb::Regress))
        );
        assert_eq!(
            parse("iris:PreDict").unwrap(),
            ok("iris", None, Infer(Verb::Predict))
        );
        let label = parse("iris/labels/stable:classify").unwrap();
        assert_eq!(label.version, VersionSelector::Label("stable".into()));
        assert_eq!(label.endpoint, Infer(Verb::Classify));
        let label = parse("iris/labels/canary/metadata").unwrap();
        assert_eq!(label.version, VersionSelector::Label("canary".into()));
        assert_eq!(label.endpoint, Metadata);
        assert_eq!(
            parse("iris/monitoring").unwrap(),
            ok("iris", None, Monitoring)
        );
        assert_eq!(
            parse("iris/versions/3/monitoring").unwrap(),
            ok("iris", Some(3), Monitoring)
        );
        let label = parse("iris/labels/stable/monitoring").unwrap();
        assert_eq!(label.version, VersionSelector::Label("stable".into()));
        assert_eq!(label.endpoint, Monitoring);
    }

    #[test]
    fn rejects_malformed_paths_clearly() {
        let status = |r: &str| parse(r).unwrap_err().status_code().as_u16();
        assert_eq!(status("iris:explain"), 400);
        assert!(
            parse("iris:explain")
                .unwrap_err()
                .to_string()
                .contains("unknown method `:explain`")
        );
        assert_eq!(status("iris/versions/x:predict"), 400);
        assert_eq!(status("iris/versions/0"), 400);
        assert_eq!(status("iris/labels/:predict"), 404);
        assert_eq!(status("iris/metadata:predict"), 404);
        assert_eq!(status("iris/monitoring:predict"), 404);
        assert_eq!(status("iris/monitoring/metadata"), 404);
        assert_eq!(status("iris/other"), 404);
        assert_eq!(status(":predict"), 404);
        assert_eq!(status("/versions/1"), 404);
    }

    proptest! {
        #[test]
        fn arbitrary_paths_never_panic(rest in "[a-z0-9:/ ._-]{0,30}") {
            if let Ok(p) = parse(&rest) {
                prop_assert!(!p.name.is_empty());
                prop_assert!(!p.name.contains('/'));
            }
        }
    }
}
