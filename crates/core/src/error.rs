//! The error type of `mlrig-core`.

use std::path::PathBuf;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `mlrig-core`.
///
/// Variants carry structured fields so callers (the CLI, the HTTP server) can
/// turn them into precise messages or status codes: [`Error::is_invalid_input`]
/// tells apart a caller's bad input from a failure of the system.
///
/// ```
/// use mlrig_core::Error;
/// let e = Error::InvalidField {
///     instance: Some(0),
///     field: "age".into(),
///     expected: "a number".into(),
///     found: "string \"forty\"".into(),
/// };
/// assert!(e.is_invalid_input());
/// assert_eq!(e.to_string(), "instance 0, field `age`: expected a number, found string \"forty\"");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document could not be parsed or written.
    #[error("{context}: invalid JSON: {source}")]
    Json {
        /// What was being read or written (usually a file path).
        context: String,
        /// The underlying serde_json error.
        #[source]
        source: serde_json::Error,
    },
    /// An artifact file holds a different kind of artifact than the one asked for.
    #[error("{}: expected a `{expected}` artifact, found `{found}`", path.display())]
    WrongArtifactKind {
        /// The artifact file.
        path: PathBuf,
        /// The kind the caller asked for.
        expected: String,
        /// The kind written in the file.
        found: String,
    },
    /// An artifact or manifest was written in an older format version that
    /// this build cannot migrate (see [`crate::Artifact::migrate`]).
    ///
    /// ```
    /// let e = mlrig_core::Error::UnsupportedFormatVersion {
    ///     path: "m.json".into(), kind: "k".into(), found: 1, supported: 3,
    ///     reason: "no migration from version 1".into(),
    /// };
    /// assert_eq!(e.to_string(), "m.json: `k` format_version 1 is older than this build reads \
    ///     (version 3) and cannot be migrated: no migration from version 1; \
    ///     re-create the file with this version of mlrig");
    /// ```
    #[error(
        "{}: `{kind}` format_version {found} is older than this build reads (version {supported}) \
         and cannot be migrated: {reason}; re-create the file with this version of mlrig",
        path.display()
    )]
    UnsupportedFormatVersion {
        /// The artifact or manifest file.
        path: PathBuf,
        /// The artifact kind.
        kind: String,
        /// The version found in the file.
        found: u32,
        /// The version this build writes and reads.
        supported: u32,
        /// Why the migration failed.
        reason: String,
    },
    /// An artifact or manifest was written by a newer mlrig, in a format
    /// version this build does not know.
    ///
    /// ```
    /// let e = mlrig_core::Error::NewerFormatVersion {
    ///     path: "m.json".into(), kind: "k".into(), found: 4, supported: 3,
    /// };
    /// assert!(e.to_string().contains("upgrade mlrig to a release that reads version 4"));
    /// ```
    #[error(
        "{}: `{kind}` format_version {found} was written by a newer mlrig; this build reads \
         versions up to {supported}: upgrade mlrig to a release that reads version {found}, \
         or re-create the file with this one",
        path.display()
    )]
    NewerFormatVersion {
        /// The artifact or manifest file.
        path: PathBuf,
        /// The artifact kind.
        kind: String,
        /// The version found in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// [`crate::Artifact::migrate`] knows no way from an older format
    /// version to the current one (the default for every version).
    ///
    /// ```
    /// let e = mlrig_core::Error::NoMigration { kind: "k".into(), from: 1, to: 2 };
    /// assert_eq!(e.to_string(), "no migration of `k` from format_version 1 to 2 is known");
    /// ```
    #[error("no migration of `{kind}` from format_version {from} to {to} is known")]
    NoMigration {
        /// The artifact kind.
        kind: String,
        /// The version found in the file.
        from: u32,
        /// The version this build reads.
        to: u32,
    },
    /// A file's content does not hash to the fingerprint recorded for it.
    #[error(
        "{}: content fingerprint mismatch (recorded {expected}, content hashes to {found}); \
         the file was modified or corrupted, re-create it",
        path.display()
    )]
    FingerprintMismatch {
        /// The file whose content changed.
        path: PathBuf,
        /// The fingerprint recorded in the artifact or manifest.
        expected: String,
        /// The fingerprint of the content found.
        found: String,
    },
    /// A model bundle directory is malformed.
    #[error("{}: invalid model bundle: {reason}", path.display())]
    InvalidBundle {
        /// The bundle directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A value in an input record has the wrong type or an invalid value.
    #[error("{}field `{field}`: expected {expected}, found {found}", instance_prefix(*instance))]
    InvalidField {
        /// Index of the record in the request (`None` for a single record).
        instance: Option<usize>,
        /// The field name.
        field: String,
        /// What was expected, e.g. `a number`.
        expected: String,
        /// What was found, e.g. `string "forty"`.
        found: String,
    },
    /// A required field is absent from an input record.
    #[error("{}missing required field `{field}`", instance_prefix(*instance))]
    MissingField {
        /// Index of the record in the request.
        instance: Option<usize>,
        /// The missing field.
        field: String,
    },
    /// An input record has a field the model does not know.
    #[error("{}unknown field `{field}`; expected one of: {expected}", instance_prefix(*instance))]
    UnknownField {
        /// Index of the record in the request.
        instance: Option<usize>,
        /// The unexpected field.
        field: String,
        /// The accepted field names, comma separated.
        expected: String,
    },
    /// Records break a model's [`InputContract`](crate::InputContract)
    /// (see [`ContractCheck::into_result`](crate::ContractCheck::into_result)).
    ///
    /// ```
    /// use mlrig_core::{ContractRules, FieldContract, InputContract, ValueKind};
    /// let contract = InputContract::new(vec![FieldContract::new("age", ValueKind::Integer).with_required(true)]);
    /// let e = contract.check(&[serde_json::json!({})], &|_| ContractRules::default())
    ///     .into_result().unwrap_err();
    /// assert!(matches!(&e, mlrig_core::Error::ContractViolations { total: 1, .. }));
    /// assert!(e.is_invalid_input());
    /// assert_eq!(e.to_string(), "instance 0, missing required field `age`");
    /// ```
    #[error("{}", contract_message(violations, *total))]
    ContractViolations {
        /// The first violations (at most
        /// [`MAX_REPORTED_VIOLATIONS`](crate::MAX_REPORTED_VIOLATIONS)),
        /// structured so that a caller that checked a subset of its rows
        /// can renumber their instances.
        violations: Vec<crate::ContractViolation>,
        /// How many values break the contract in all.
        total: usize,
    },
    /// Two shapes that must agree do not.
    #[error("shape mismatch: expected {expected}, got {got}")]
    ShapeMismatch {
        /// The expected shape.
        expected: String,
        /// The shape found.
        got: String,
    },
    /// A parameter is outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter name.
        name: String,
        /// Why the value is invalid.
        reason: String,
    },
    /// The caller asked for something this model or component cannot give,
    /// e.g. per-prediction contributions from a model that computes none
    /// (the default [`crate::Servable::contributions`]). The caller's
    /// request is at fault ([`is_invalid_input`](Error::is_invalid_input)):
    /// a server answers 400 with this message.
    ///
    /// ```
    /// use mlrig_core::Error;
    /// let e = Error::Unsupported { what: "contributions".into(), reason: "model `m` version 1 has none".into() };
    /// assert!(e.is_invalid_input());
    /// assert_eq!(e.to_string(), "contributions not supported: model `m` version 1 has none");
    /// ```
    #[error("{what} not supported: {reason}")]
    Unsupported {
        /// What was asked for, e.g. `contributions`.
        what: String,
        /// Why this model or component cannot give it.
        reason: String,
    },
    /// Two accumulators with different configurations were merged.
    #[error("cannot merge accumulators: {reason}")]
    IncompatibleMerge {
        /// What differs.
        reason: String,
    },
    /// An error from a component crate, passed through a core trait such as
    /// [`crate::Servable`]; built with [`Error::component`], which keeps the
    /// component error's own [`is_invalid_input`](Error::is_invalid_input)
    /// answer.
    #[error("{component}: {source}")]
    #[non_exhaustive]
    Component {
        /// The component, e.g. `mlrig-features`.
        component: String,
        /// The component's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        /// The component error's `is_invalid_input()`: the caller's input is
        /// at fault (a server answers 400) rather than the system (500).
        invalid_input: bool,
    },
    /// An error reported by Arrow.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

fn instance_prefix(instance: Option<usize>) -> String {
    instance
        .map(|i| format!("instance {i}, "))
        .unwrap_or_default()
}

/// The message of [`Error::ContractViolations`]: the one violation, or
/// how many there are and the listed ones.
fn contract_message(violations: &[crate::ContractViolation], total: usize) -> String {
    let violations: Vec<String> = violations.iter().map(ToString::to_string).collect();
    if total == 1 && violations.len() == 1 {
        return violations.join("");
    }
    let more = total.saturating_sub(violations.len());
    let tail = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    format!(
        "{total} values break the model's input contract: {}{tail}",
        violations.join("; ")
    )
}

impl Error {
    /// `true` when the error is caused by the caller's input (a bad record or
    /// field), so a server answers 400 rather than 500.
    ///
    /// ```
    /// use mlrig_core::Error;
    /// let e = Error::MissingField { instance: None, field: "age".into() };
    /// assert!(e.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Error::InvalidField { .. }
            | Error::MissingField { .. }
            | Error::UnknownField { .. }
            | Error::ShapeMismatch { .. }
            | Error::ContractViolations { .. }
            | Error::Unsupported { .. } => true,
            Error::Component { invalid_input, .. } => *invalid_input,
            _ => false,
        }
    }

    /// An [`Error::Component`]: `source`, an error of `component`, passed
    /// through a core trait, keeping the source error (as
    /// [`std::error::Error::source`]) and its `is_invalid_input()` answer.
    ///
    /// ```
    /// use mlrig_core::Error;
    /// let inner = Error::MissingField { instance: None, field: "age".into() };
    /// let invalid = inner.is_invalid_input();
    /// let e = Error::component("mlrig-train", inner, invalid);
    /// assert!(e.is_invalid_input());
    /// assert_eq!(e.to_string(), "mlrig-train: missing required field `age`");
    /// assert!(std::error::Error::source(&e).is_some());
    /// ```
    pub fn component(
        component: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
        invalid_input: bool,
    ) -> Self {
        Error::Component {
            component: component.into(),
            source: Box::new(source),
            invalid_input,
        }
    }

    /// An [`Error::Io`] for `path`.
    ///
    /// ```
    /// use mlrig_core::Error;
    /// let e = Error::io("data.csv", std::io::Error::from(std::io::ErrorKind::NotFound));
    /// assert!(e.to_string().starts_with("data.csv: "));
    /// ```
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
