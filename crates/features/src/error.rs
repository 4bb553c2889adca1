//! [`FeaturesError`]: everything that can go wrong declaring, fitting,
//! loading or applying a feature pipeline.

/// The error type of `mlrig-features`.
///
/// Variants carry the column (and row, where there is one) and what was
/// expected versus found. [`FeaturesError::is_invalid_input`] tells apart a
/// caller's bad data from a broken spec or artifact, so a server can answer
/// 400 rather than 500.
///
/// ```
/// use mlrig_features::FeaturesError;
/// let e = FeaturesError::WrongColumnType {
///     column: "age".into(),
///     expected: "Int64 or Float64".into(),
///     found: "Utf8".into(),
/// };
/// assert_eq!(e.to_string(), "column `age`: expected Int64 or Float64, found Utf8");
/// assert!(e.is_invalid_input());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeaturesError {
    /// A feature spec document could not be parsed (bad JSON, a misspelt
    /// field, an unknown transform name).
    #[error("feature spec: {source}")]
    SpecJson {
        /// The serde_json error; its message names the field, line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A TOML feature spec could not be parsed.
    #[cfg(feature = "toml")]
    #[error("feature spec: {}", mlrig_core::toml_error_message(source))]
    SpecToml {
        /// The toml error; its message names the key, line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A spec file could not be read, or its extension is not a known format.
    #[error("feature spec {}: {reason}", path.display())]
    SpecFile {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A column entry of the spec is inconsistent.
    #[error("feature spec, column `{column}`: {reason}")]
    InvalidSpec {
        /// The column the entry is for.
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two spec entries name the same column.
    #[error("feature spec: column `{column}` is listed more than once")]
    DuplicateColumn {
        /// The repeated column name.
        column: String,
    },
    /// The spec has no column that produces features.
    #[error(
        "feature spec: no column produces features (the list is empty or every column is dropped)"
    )]
    EmptySpec,
    /// A column the spec or the fitted pipeline needs is not in the input.
    #[error("column `{column}` is not in the input; it has: {available}")]
    MissingColumn {
        /// The column looked for.
        column: String,
        /// The columns the input has, comma separated.
        available: String,
    },
    /// A column has an Arrow type its transform cannot read.
    #[error("column `{column}`: expected {expected}, found {found}")]
    WrongColumnType {
        /// The column.
        column: String,
        /// The accepted Arrow type(s), e.g. `Int64 or Float64`.
        expected: String,
        /// The Arrow type found.
        found: String,
    },
    /// A numeric input value is ±∞ (NaN is read as missing instead).
    #[error(
        "column `{column}`, row {row}: value {value} is not finite (±inf is rejected; NaN is read as missing)"
    )]
    NonFiniteValue {
        /// The column.
        column: String,
        /// The row index within the batch (within all batches for
        /// `transform_batches`).
        row: usize,
        /// The value found.
        value: f64,
    },
    /// A value outside the domain of its transform (`log` of a value ≤ 0,
    /// `log1p` of a value ≤ −1). `row` is `None` when found in the training
    /// statistics at fit.
    #[error(
        "column `{column}`{}: value {value} is outside the domain of {transform} (expected {expected})",
        row_suffix(.row)
    )]
    OutOfDomain {
        /// The column.
        column: String,
        /// The row index within the batch (within all batches for
        /// `transform_batches`), if known.
        row: Option<usize>,
        /// The value found.
        value: f64,
        /// The transform, e.g. `log`.
        transform: String,
        /// The accepted values, e.g. `a value > 0`.
        expected: String,
    },
    /// A statistic needs at least one non-missing training value.
    #[error(
        "column `{column}` has no non-missing value in the training data, so its {statistic} is undefined"
    )]
    NoTrainingValues {
        /// The column.
        column: String,
        /// The statistic that could not be computed, e.g. `mean`.
        statistic: String,
    },
    /// A statistic of the training data overflows `f64`.
    #[error(
        "column `{column}`: the {statistic} of the training data is not a finite f64 (values too large)"
    )]
    NonFiniteStatistic {
        /// The column.
        column: String,
        /// The statistic, e.g. `standard deviation`.
        statistic: String,
    },
    /// A `one_hot` or `ordinal` column has more distinct training values
    /// than are counted exactly, so its category list cannot be fitted in
    /// bounded memory.
    #[error(
        "column `{column}`: more than {limit} distinct training values, too many for `{encoding}` (which keeps every category); use `{{\"vocabulary\": {{\"top_k\": K}}}}` to keep the K most frequent, or `hash`"
    )]
    TooManyCategories {
        /// The column.
        column: String,
        /// The encoding, `one_hot` or `ordinal`.
        encoding: String,
        /// The number of distinct values counted exactly.
        limit: usize,
    },
    /// `fit` was given no record batch.
    #[error("no training data: fitting needs at least one record batch")]
    NoTrainingData,
    /// A pipeline would have more output columns than
    /// [`MAX_OUTPUT_COLUMNS`](crate::MAX_OUTPUT_COLUMNS) (hash, cross and
    /// out-of-vocabulary buckets, one-hot categories and the rest, summed).
    ///
    /// ```
    /// let e = mlrig_features::FeaturesError::TooManyOutputs { outputs: 2_000_000, max: 1 << 20 };
    /// assert!(e.to_string().contains("2000000 output columns"));
    /// ```
    #[error(
        "the pipeline would have {outputs} output columns, more than the {max} allowed; \
         use fewer hash or cross buckets, or cap the vocabularies (top_k)"
    )]
    TooManyOutputs {
        /// Output columns the pipeline would have.
        outputs: usize,
        /// The limit.
        max: usize,
    },
    /// A fitted pipeline read from a file breaks an invariant of the format.
    #[error("invalid fitted feature pipeline: {reason}")]
    InvalidArtifact {
        /// The broken invariant.
        reason: String,
    },
    /// An error from `mlrig-core` (JSON records, artifacts, I/O, shapes).
    #[error(transparent)]
    Core(#[from] mlrig_core::Error),
}

impl FeaturesError {
    /// The same error with its row (if any) moved by `offset`: for a batch
    /// that starts `offset` rows into a stream of batches, so the error names
    /// the row of the stream.
    ///
    /// ```
    /// use mlrig_features::FeaturesError;
    /// let e = FeaturesError::NonFiniteValue { column: "x".into(), row: 2, value: f64::INFINITY };
    /// assert!(matches!(e.with_row_offset(10), FeaturesError::NonFiniteValue { row: 12, .. }));
    /// ```
    pub fn with_row_offset(mut self, offset: usize) -> Self {
        match &mut self {
            FeaturesError::NonFiniteValue { row, .. }
            | FeaturesError::OutOfDomain { row: Some(row), .. } => *row += offset,
            _ => {}
        }
        self
    }

    /// `true` when the caller's data is at fault (a missing or mistyped
    /// column, an infinite value, a bad JSON record) rather than the spec,
    /// the artifact or the system.
    ///
    /// ```
    /// use mlrig_features::FeaturesError;
    /// assert!(!FeaturesError::EmptySpec.is_invalid_input());
    /// let e = FeaturesError::MissingColumn { column: "age".into(), available: "sex".into() };
    /// assert!(e.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            FeaturesError::MissingColumn { .. }
            | FeaturesError::WrongColumnType { .. }
            | FeaturesError::NonFiniteValue { .. }
            | FeaturesError::OutOfDomain { .. } => true,
            FeaturesError::Core(e) => e.is_invalid_input(),
            _ => false,
        }
    }
}

/// Converts to the core error so a `Servable` (which reports
/// `mlrig_core::Error`) keeps the distinction of
/// [`FeaturesError::is_invalid_input`]: a missing column becomes
/// `MissingField`, a mistyped column or an infinite value `InvalidField`,
/// anything else `InvalidParameter` naming this crate.
///
/// ```
/// use mlrig_features::FeaturesError;
/// let e = FeaturesError::MissingColumn { column: "age".into(), available: String::new() };
/// let core: mlrig_core::Error = e.into();
/// assert!(core.is_invalid_input());
/// assert_eq!(core.to_string(), "missing required field `age`");
/// ```
impl From<FeaturesError> for mlrig_core::Error {
    fn from(error: FeaturesError) -> Self {
        match error {
            FeaturesError::Core(e) => e,
            FeaturesError::MissingColumn { column, .. } => mlrig_core::Error::MissingField {
                instance: None,
                field: column,
            },
            FeaturesError::WrongColumnType {
                column,
                expected,
                found,
            } => mlrig_core::Error::InvalidField {
                instance: None,
                field: column,
                expected: format!("a column of type {expected}"),
                found: format!("type {found}"),
            },
            FeaturesError::NonFiniteValue { column, row, value } => {
                mlrig_core::Error::InvalidField {
                    instance: Some(row),
                    field: column,
                    expected: "a finite number or null".into(),
                    found: format!("{value}"),
                }
            }
            FeaturesError::OutOfDomain {
                column,
                row,
                value,
                expected,
                ..
            } => mlrig_core::Error::InvalidField {
                instance: row,
                field: column,
                expected,
                found: format!("{value}"),
            },
            other => mlrig_core::Error::InvalidParameter {
                name: "mlrig-features".into(),
                reason: other.to_string(),
            },
        }
    }
}

fn row_suffix(row: &Option<usize>) -> String {
    row.map(|r| format!(", row {r}")).unwrap_or_default()
}
