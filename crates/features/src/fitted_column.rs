//! The fitted transform of one input column (and of one feature cross), as
//! stored in the artifact, and the single routine that writes its outputs
//! for every row of a batch: the same code for a training batch and for the
//! one-row batch of a serving request.

use serde::{Deserialize, Serialize};

use crate::FeaturesError;
use crate::category_index::CategoryIndex;
use crate::date_parts::{DateTimeParts, parse_date_time};
use crate::hashing::{bucket_and_sign, hash_pair, hash_value};
use crate::input_column::{
    BatchInputs, CategoricalColumn, Category, CategoryValue, ColumnType, NumericColumn,
};
use crate::output_sink::OutputSink;
use crate::spec::{DatePart, MAX_HASH_BUCKETS};

/// The value that fills a missing input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FillValue {
    /// For numeric encodings.
    Number(f64),
    /// For categorical encodings: a value of the column's type.
    Category(Category),
}

/// A fitted encoding with its statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FittedEncoding {
    /// `(x − mean) / scale`.
    StandardScale { mean: f64, scale: f64 },
    /// `x · scale + offset`, then clamped into `feature_range` if `clip`.
    MinMaxScale {
        scale: f64,
        offset: f64,
        feature_range: [f64; 2],
        clip: bool,
    },
    /// `(x − center) / scale`.
    RobustScale { center: f64, scale: f64 },
    /// `x` clamped into `[min, max]`.
    Clip {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// `ln x`, `x > 0`.
    Log,
    /// `ln(1 + x)`, `x > −1`.
    Log1p,
    /// `x`.
    Passthrough,
    /// Bucket `i` holds `boundaries[i − 1] ≤ x < boundaries[i]`.
    Bucketize { boundaries: Vec<f64>, ordinal: bool },
    /// One output per category (sorted), then `oov_buckets` hashed buckets.
    OneHot {
        categories: Vec<Category>,
        #[serde(default, skip_serializing_if = "is_zero")]
        oov_buckets: u32,
    },
    /// One output: the index of the value in `categories` (sorted), or NaN.
    Ordinal { categories: Vec<Category> },
    /// `buckets` outputs; `±1` (or `1`) in the value's bucket.
    Hash { buckets: u32, alternate_sign: bool },
    /// One output per calendar part.
    DateParts { parts: Vec<DatePart> },
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// The fitted transform of one input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FittedColumn {
    pub(crate) name: String,
    pub(crate) input_type: ColumnType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) impute_with: Option<FillValue>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) missing_indicator: bool,
    pub(crate) encode: FittedEncoding,
}

fn out_of_domain(
    column: &str,
    row: usize,
    value: f64,
    transform: &str,
    expected: &str,
) -> FeaturesError {
    FeaturesError::OutOfDomain {
        column: column.to_string(),
        row: Some(row),
        value,
        transform: transform.to_string(),
        expected: expected.to_string(),
    }
}

impl FittedEncoding {
    /// Number of outputs (without the missing indicator).
    fn width(&self) -> usize {
        match self {
            FittedEncoding::Bucketize {
                boundaries,
                ordinal: false,
            } => boundaries.len() + 1,
            FittedEncoding::OneHot {
                categories,
                oov_buckets,
            } => categories.len() + *oov_buckets as usize,
            FittedEncoding::Hash { buckets, .. } => *buckets as usize,
            FittedEncoding::DateParts { parts } => parts.len(),
            _ => 1,
        }
    }

    /// Encodes a present numeric value: `emit(output, value)`.
    fn encode_number(
        &self,
        column: &str,
        row: usize,
        x: f64,
        emit: &mut impl FnMut(usize, f64),
    ) -> Result<(), FeaturesError> {
        let y = match self {
            FittedEncoding::StandardScale { mean, scale } => (x - mean) / scale,
            FittedEncoding::MinMaxScale {
                scale,
                offset,
                feature_range: [low, high],
                clip,
            } => {
                let y = x * scale + offset;
                if *clip { y.clamp(*low, *high) } else { y }
            }
            FittedEncoding::RobustScale { center, scale } => (x - center) / scale,
            FittedEncoding::Clip { min, max } => {
                let y = min.map_or(x, |m| x.max(m));
                max.map_or(y, |m| y.min(m))
            }
            FittedEncoding::Log if x <= 0.0 => {
                return Err(out_of_domain(column, row, x, "log", "a value > 0"));
            }
            FittedEncoding::Log => libm::log(x),
            FittedEncoding::Log1p if x <= -1.0 => {
                return Err(out_of_domain(column, row, x, "log1p", "a value > -1"));
            }
            FittedEncoding::Log1p => libm::log1p(x),
            FittedEncoding::Bucketize {
                boundaries,
                ordinal,
            } => {
                let bucket = boundaries.partition_point(|b| *b <= x);
                if *ordinal {
                    bucket as f64
                } else {
                    emit(bucket, 1.0);
                    return Ok(());
                }
            }
            _ => x,
        };
        emit(0, y);
        Ok(())
    }

    /// Encodes a missing numeric value: NaN for single-output encodings,
    /// nothing (zeros) for one-hot buckets.
    fn encode_missing_number(&self, emit: &mut impl FnMut(usize, f64)) {
        if !matches!(self, FittedEncoding::Bucketize { ordinal: false, .. }) {
            emit(0, f64::NAN);
        }
    }

    /// Encodes a missing (and not imputed) categorical value: NaN for an
    /// ordinal code, nothing (zeros) for one-hot and hashed outputs.
    fn encode_missing_category(&self, emit: &mut impl FnMut(usize, f64)) {
        if matches!(self, FittedEncoding::Ordinal { .. }) {
            emit(0, f64::NAN);
        }
    }

    /// Encodes a present categorical value; `index` is the index of a
    /// one-hot or ordinal encoding's categories (looked up by binary search
    /// without).
    fn encode_category(
        &self,
        value: CategoryValue<'_>,
        index: Option<&CategoryIndex>,
        emit: &mut impl FnMut(usize, f64),
    ) {
        match self {
            FittedEncoding::OneHot {
                categories,
                oov_buckets,
            } => match category_position(categories, index, value) {
                Some(position) => emit(position, 1.0),
                None if *oov_buckets > 0 => {
                    let (bucket, _) = bucket_and_sign(hash_value(value), *oov_buckets);
                    emit(categories.len() + bucket, 1.0);
                }
                None => {}
            },
            FittedEncoding::Ordinal { categories } => {
                let code = category_position(categories, index, value);
                emit(0, code.map_or(f64::NAN, |position| position as f64));
            }
            FittedEncoding::Hash {
                buckets,
                alternate_sign,
            } => {
                let (bucket, sign) = bucket_and_sign(hash_value(value), *buckets);
                emit(bucket, if *alternate_sign { sign } else { 1.0 });
            }
            _ => {}
        }
    }

    /// Encodes a date (`None`: missing or unparsable → NaN per part).
    fn encode_date(&self, parts: Option<DateTimeParts>, emit: &mut impl FnMut(usize, f64)) {
        if let FittedEncoding::DateParts { parts: wanted } = self {
            for (index, part) in wanted.iter().enumerate() {
                let value = parts.map_or(f64::NAN, |p| match part {
                    DatePart::Year => f64::from(p.year),
                    DatePart::Month => f64::from(p.month),
                    DatePart::Day => f64::from(p.day),
                    DatePart::Weekday => f64::from(p.weekday),
                    DatePart::Hour => f64::from(p.hour),
                });
                emit(index, value);
            }
        }
    }

    fn reads(&self) -> Reads {
        match self {
            FittedEncoding::OneHot { .. }
            | FittedEncoding::Ordinal { .. }
            | FittedEncoding::Hash { .. } => Reads::Categorical,
            FittedEncoding::DateParts { .. } => Reads::Date,
            _ => Reads::Numeric,
        }
    }
}

/// The position of `value` in the sorted `categories`: from `index` when
/// the pipeline built one, else by binary search.
#[inline]
fn category_position(
    categories: &[Category],
    index: Option<&CategoryIndex>,
    value: CategoryValue<'_>,
) -> Option<usize> {
    match index {
        Some(index) => index.get(value),
        None => categories.binary_search_by(|c| c.cmp_value(value)).ok(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    Numeric,
    Categorical,
    Date,
}

fn check_finite(name: &str, what: &str, value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("column `{name}`: {what} {value} is not finite"))
    }
}

fn check_increasing(name: &str, values: &[f64]) -> Result<(), String> {
    if values.iter().any(|v| !v.is_finite()) || values.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "column `{name}`: boundaries or range are not finite and strictly increasing"
        ));
    }
    Ok(())
}

/// Categories must be of the column's type, sorted and unique: the
/// binary-search lookup and the ordinal codes rely on it.
fn check_categories(
    name: &str,
    categories: &[Category],
    input_type: ColumnType,
) -> Result<(), String> {
    if let Some(c) = categories.iter().find(|c| c.column_type() != input_type) {
        return Err(format!(
            "column `{name}`: category {c} is not a {input_type:?} value"
        ));
    }
    if categories.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "column `{name}`: categories are not sorted and unique"
        ));
    }
    Ok(())
}

impl FittedColumn {
    /// Number of outputs, the missing indicator included.
    pub(crate) fn width(&self) -> usize {
        self.encode.width() + usize::from(self.missing_indicator)
    }

    /// The readable output names.
    pub(crate) fn output_names(&self) -> Vec<String> {
        let name = &self.name;
        let mut names: Vec<String> = match &self.encode {
            FittedEncoding::Bucketize { ordinal: true, .. } => vec![format!("{name}_bucket")],
            FittedEncoding::Bucketize { boundaries, .. } => (0..=boundaries.len())
                .map(|i| format!("{name}_bucket[{i}]"))
                .collect(),
            FittedEncoding::OneHot {
                categories,
                oov_buckets,
            } => categories
                .iter()
                .map(|c| format!("{name}={c}"))
                .chain((0..*oov_buckets).map(|i| format!("{name}=__oov_{i}__")))
                .collect(),
            FittedEncoding::Hash { buckets, .. } => {
                (0..*buckets).map(|i| format!("{name}_hash[{i}]")).collect()
            }
            FittedEncoding::DateParts { parts } => parts
                .iter()
                .map(|p| format!("{name}_{}", p.suffix()))
                .collect(),
            _ => vec![name.clone()],
        };
        if self.missing_indicator {
            names.push(format!("{name}_missing"));
        }
        names
    }

    /// The expected number of non-zero outputs per row, for
    /// [`OutputLayout::Auto`](crate::OutputLayout::Auto):
    /// `missing_fraction` is the training fraction of missing values.
    pub(crate) fn expected_nonzeros(&self, missing_fraction: f64) -> f64 {
        let encoded = match &self.encode {
            FittedEncoding::DateParts { parts } => parts.len() as f64,
            other => other.width().min(1) as f64,
        };
        encoded
            + if self.missing_indicator {
                missing_fraction
            } else {
                0.0
            }
    }

    /// The index of a one-hot or ordinal encoding's categories (`None` for
    /// other encodings).
    pub(crate) fn category_index(&self) -> Option<CategoryIndex> {
        match &self.encode {
            FittedEncoding::OneHot { categories, .. } | FittedEncoding::Ordinal { categories } => {
                Some(CategoryIndex::new(categories))
            }
            _ => None,
        }
    }

    /// The numeric fill value, if any.
    fn number_fill(&self) -> Option<f64> {
        match self.impute_with {
            Some(FillValue::Number(v)) => Some(v),
            _ => None,
        }
    }

    /// Checks the invariants `write` relies on (for deserialized values).
    pub(crate) fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty() {
            return Err("a column has an empty name".into());
        }
        let input_type = self.input_type;
        let reads = self.encode.reads();
        let type_ok = match reads {
            Reads::Numeric => input_type.is_numeric(),
            Reads::Categorical => input_type.is_categorical(),
            Reads::Date => input_type == ColumnType::Utf8,
        };
        if !type_ok {
            return Err(format!(
                "column `{name}`: the encoding cannot read {input_type:?} input"
            ));
        }
        match (&self.impute_with, reads) {
            (None, _) => {}
            (Some(FillValue::Number(v)), Reads::Numeric) => {
                check_finite(name, "impute_with", *v)?;
                let mut probe = |_: usize, _: f64| {};
                self.encode
                    .encode_number(name, 0, *v, &mut probe)
                    .map_err(|e| format!("impute_with: {e}"))?;
            }
            (Some(FillValue::Category(c)), Reads::Categorical) if c.column_type() == input_type => {
            }
            (Some(_), _) => {
                return Err(format!(
                    "column `{name}`: impute_with does not fit the encoding and input type"
                ));
            }
        }
        match &self.encode {
            FittedEncoding::StandardScale {
                mean: center,
                scale,
            }
            | FittedEncoding::RobustScale { center, scale } => {
                check_finite(name, "center", *center)?;
                check_finite(name, "scale", *scale)?;
                if *scale <= 0.0 {
                    return Err(format!("column `{name}`: scale {scale} must be > 0"));
                }
            }
            FittedEncoding::MinMaxScale {
                scale,
                offset,
                feature_range,
                ..
            } => {
                check_finite(name, "scale", *scale)?;
                check_finite(name, "offset", *offset)?;
                check_increasing(name, feature_range)?;
            }
            FittedEncoding::Clip { min, max } => {
                let bounds: Vec<f64> = min.iter().chain(max.iter()).copied().collect();
                if bounds.is_empty() || bounds.iter().any(|b| !b.is_finite()) {
                    return Err(format!("column `{name}`: clip needs finite bounds"));
                }
                if let (Some(low), Some(high)) = (min, max)
                    && low > high
                {
                    return Err(format!("column `{name}`: clip min > max"));
                }
            }
            FittedEncoding::Bucketize { boundaries, .. } => check_increasing(name, boundaries)?,
            FittedEncoding::OneHot {
                categories,
                oov_buckets,
            } => {
                check_categories(name, categories, input_type)?;
                if *oov_buckets > MAX_HASH_BUCKETS {
                    return Err(format!("column `{name}`: too many oov_buckets"));
                }
            }
            FittedEncoding::Ordinal { categories } => {
                check_categories(name, categories, input_type)?;
            }
            FittedEncoding::Hash { buckets, .. } => {
                if !(1..=MAX_HASH_BUCKETS).contains(buckets) {
                    return Err(format!("column `{name}`: hash buckets out of range"));
                }
            }
            FittedEncoding::DateParts { parts } => {
                let mut sorted = parts.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if parts.is_empty() || sorted.len() != parts.len() {
                    return Err(format!("column `{name}`: date parts are empty or repeated"));
                }
            }
            FittedEncoding::Log | FittedEncoding::Log1p | FittedEncoding::Passthrough => {}
        }
        Ok(())
    }

    /// Adds this column's outputs for every row of `batch` to `sink`,
    /// starting at output column `offset`.
    pub(crate) fn write(
        &self,
        inputs: &BatchInputs<'_>,
        input: usize,
        index: Option<&CategoryIndex>,
        sink: &mut OutputSink,
        offset: usize,
    ) -> Result<(), FeaturesError> {
        let name = &self.name;
        let array = inputs.get(input, name)?;
        let indicator = self.missing_indicator.then(|| offset + self.encode.width());
        match self.encode.reads() {
            Reads::Numeric => {
                let fill = self.number_fill();
                NumericColumn::from_array(array, name)?.try_for_each(name, |row, raw| {
                    let mut emit =
                        |column: usize, value: f64| sink.add(row, offset + column, value);
                    match raw.or(fill) {
                        Some(x) => self.encode.encode_number(name, row, x, &mut emit)?,
                        None => self.encode.encode_missing_number(&mut emit),
                    }
                    if let (Some(at), None) = (indicator, raw) {
                        sink.add(row, at, 1.0);
                    }
                    Ok(())
                })
            }
            Reads::Categorical => {
                let fill = match &self.impute_with {
                    Some(FillValue::Category(c)) => Some(c.as_value()),
                    _ => None,
                };
                CategoricalColumn::from_array(array, name, self.input_type)?.try_for_each(
                    |row, raw| {
                        let mut emit =
                            |column: usize, value: f64| sink.add(row, offset + column, value);
                        match raw.or(fill) {
                            Some(value) => self.encode.encode_category(value, index, &mut emit),
                            None => self.encode.encode_missing_category(&mut emit),
                        }
                        if let (Some(at), None) = (indicator, raw) {
                            sink.add(row, at, 1.0);
                        }
                        Ok(())
                    },
                )
            }
            Reads::Date => CategoricalColumn::from_array(array, name, ColumnType::Utf8)?
                .try_for_each(|row, raw| {
                    let parts = match raw {
                        Some(CategoryValue::Text(text)) => parse_date_time(text),
                        _ => None,
                    };
                    let mut emit =
                        |column: usize, value: f64| sink.add(row, offset + column, value);
                    self.encode.encode_date(parts, &mut emit);
                    if let (Some(at), None) = (indicator, parts) {
                        sink.add(row, at, 1.0);
                    }
                    Ok(())
                }),
        }
    }
}

/// A fitted feature cross.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FittedCross {
    pub(crate) columns: [String; 2],
    pub(crate) input_types: [ColumnType; 2],
    pub(crate) buckets: u32,
}

impl FittedCross {
    pub(crate) fn prefix(&self) -> String {
        format!("{}_x_{}", self.columns[0], self.columns[1])
    }

    pub(crate) fn output_names(&self) -> Vec<String> {
        let prefix = self.prefix();
        (0..self.buckets)
            .map(|i| format!("{prefix}[{i}]"))
            .collect()
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let [a, b] = &self.columns;
        if a.is_empty() || b.is_empty() || a == b {
            return Err("a cross needs two distinct, non-empty column names".into());
        }
        if !self.input_types.iter().all(|t| t.is_categorical()) {
            return Err(format!(
                "cross `{}`: inputs must be categorical",
                self.prefix()
            ));
        }
        if !(1..=MAX_HASH_BUCKETS).contains(&self.buckets) {
            return Err(format!("cross `{}`: buckets out of range", self.prefix()));
        }
        Ok(())
    }

    /// Adds a 1 in bucket `FNV-1a(a, b) mod buckets` for every row where
    /// both values are present.
    pub(crate) fn write(
        &self,
        inputs: &BatchInputs<'_>,
        input: [usize; 2],
        sink: &mut OutputSink,
        offset: usize,
    ) -> Result<(), FeaturesError> {
        let [a, b] = &self.columns;
        let first =
            CategoricalColumn::from_array(inputs.get(input[0], a)?, a, self.input_types[0])?;
        let second =
            CategoricalColumn::from_array(inputs.get(input[1], b)?, b, self.input_types[1])?;
        let mut values = Vec::with_capacity(inputs.rows());
        first.try_for_each(|_, value| {
            values.push(value);
            Ok(())
        })?;
        second.try_for_each(|row, b| {
            if let (Some(Some(a)), Some(b)) = (values.get(row), b) {
                let (bucket, _) = bucket_and_sign(hash_pair(*a, b), self.buckets);
                sink.add(row, offset + bucket, 1.0);
            }
            Ok(())
        })
    }
}
