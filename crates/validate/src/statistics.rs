//! [`DatasetStatistics`]: per-feature statistics of one dataset, in the
//! tensorflow-metadata `DatasetFeatureStatisticsList` proto3 JSON mapping.
//!
//! The Rust types mirror the protos in `statistics.proto` (field for field,
//! for the fields mlrig fills), so a `statistics.json` written here opens in
//! TFDV / Facets, and one written by TFDV reads here (fields mlrig does not
//! act on are kept in `unmodelled` and written back; see [`TfmdFile`] for
//! the text and binary forms). On the wire:
//!
//! ```json
//! {"datasets":[{"numExamples":"3","features":[
//!   {"path":{"step":["age"]},"type":"INT","numStats":{"commonStats":{"numNonMissing":"3",…},"mean":…}},
//!   {"path":{"step":["city"]},"type":"STRING","stringStats":{"commonStats":{…},"unique":"2","topValues":[…],"avgLength":…}}]}]}
//! ```
//!
//! mlrig extensions travel in the proto's own extension point, `customStats`:
//! [`DISTINCT_CAPPED`] marks a `unique` that is a HyperLogLog estimate, and
//! [`VALUE_SKETCH`] carries a numeric feature's full quantile sketch (the
//! input of the drift tests). NaN counts go where TFDV puts them, in
//! `numStats.histograms[].numNan`.

use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::proto_json::{self, double, float, int64, is_zero};
use crate::tfmd::{TfmdFile, TfmdFormat};

mod wire;

pub(crate) use wire::{deserialize_dataset_list, serialize_dataset_list};

/// Name of the custom statistic (value `1`) saying that a string feature had
/// more distinct values than the accumulator keeps exactly, so `unique` is a
/// HyperLogLog estimate (≈ 0.8 % standard error) and `topValues` come from a
/// deterministic sample of the values.
pub const DISTINCT_CAPPED: &str = "mlrig.distinct_capped";

/// Name of the custom statistic holding a numeric feature's quantile sketch
/// as a tfmd `Histogram`: one bucket per non-empty log bucket (relative width
/// `2α`, see [`QUANTILE_RELATIVE_ACCURACY`](crate::QUANTILE_RELATIVE_ACCURACY)),
/// with exact counts. The drift tests (KS, PSI, Wasserstein) read it.
pub const VALUE_SKETCH: &str = "mlrig.value_sketch";

/// Statistics of one dataset: the number of examples and one
/// [`FeatureStatistics`] per column.
///
/// Serializes as a tfmd `DatasetFeatureStatisticsList` holding exactly this
/// one dataset (reading a list of several datasets is an error).
///
/// ```
/// use mlrig_validate::DatasetStatistics;
/// let json = r#"{"datasets":[{"numExamples":"2","features":[
///     {"path":{"step":["x"]},"type":"FLOAT","numStats":{"mean":1.5},
///      "validationDerivedSource":{"deriverName":"d"}}]}]}"#;
/// let stats = DatasetStatistics::from_tfmd_json(json)?;
/// assert_eq!(stats.num_examples(), 2);
/// let x = stats.feature("x").unwrap();
/// assert_eq!(x.numeric().map(|n| n.mean), Some(1.5));
/// // A tfmd field mlrig does not act on is kept and written back.
/// assert_eq!(x.unmodelled["validationDerivedSource"]["deriverName"], "d");
/// // A field tfmd does not have is an error.
/// assert!(DatasetStatistics::from_tfmd_json(&json.replace("mean", "maen")).is_err());
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct DatasetStatistics {
    /// The dataset name (`name`; empty when unnamed).
    pub name: String,
    /// Number of examples (rows).
    pub num_examples: u64,
    /// Sum of the example weights, when statistics are weighted
    /// ([`StatisticsParams::with_weight_feature`](crate::StatisticsParams::with_weight_feature)).
    pub weighted_num_examples: f64,
    /// One entry per feature, in column order.
    pub features: Vec<FeatureStatistics>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    pub unmodelled: crate::UnmodelledFields,
}

impl DatasetStatistics {
    /// Number of examples (rows) in the dataset.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::DatasetStatistics::default().num_examples(), 0);
    /// ```
    pub fn num_examples(&self) -> u64 {
        self.num_examples
    }

    /// The statistics of feature `name`, if the dataset has it.
    ///
    /// ```
    /// assert!(mlrig_validate::DatasetStatistics::default().feature("age").is_none());
    /// ```
    pub fn feature(&self, name: &str) -> Option<&FeatureStatistics> {
        self.features.iter().find(|f| f.name == name)
    }

    /// All feature statistics, in column order.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::DatasetStatistics::default().features().len(), 0);
    /// ```
    pub fn features(&self) -> &[FeatureStatistics] {
        &self.features
    }

    /// Pretty tfmd JSON (`DatasetFeatureStatisticsList`), with a trailing newline.
    ///
    /// ```
    /// let text = mlrig_validate::DatasetStatistics::default().to_tfmd_json()?;
    /// assert!(text.starts_with("{\n  \"datasets\""));
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn to_tfmd_json(&self) -> Result<String, ValidateError> {
        proto_json::to_pretty_json(self, "statistics")
    }

    /// Parses tfmd JSON (`DatasetFeatureStatisticsList` with one dataset).
    ///
    /// ```
    /// use mlrig_validate::DatasetStatistics;
    /// let s = DatasetStatistics::from_tfmd_json(r#"{"datasets":[{"numExamples":5}]}"#)?;
    /// assert_eq!(s.num_examples(), 5);
    /// assert!(DatasetStatistics::from_tfmd_json(r#"{"datasets":[]}"#).is_err());
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn from_tfmd_json(text: &str) -> Result<Self, ValidateError> {
        Self::from_bytes(text.as_bytes(), TfmdFormat::Json)
    }
}

impl TfmdFile for DatasetStatistics {
    const MESSAGE: &'static str = "tensorflow.metadata.v0.DatasetFeatureStatisticsList";
    const WHAT: &'static str = "statistics";
}

impl mlrig_core::Artifact for DatasetStatistics {
    const KIND: &'static str = "mlrig.validate.statistics";
    // Version 2: values computed with the `libm` crate (deterministic math, issue 8) may differ in the last bit from version 1 files.
    const FORMAT_VERSION: u32 = 2;
}

/// The `type` of a feature in statistics (tfmd `FeatureNameStatistics.Type`).
///
/// ```
/// use mlrig_validate::StatisticsType;
/// assert_eq!(serde_json::to_string(&StatisticsType::String).unwrap(), "\"STRING\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum StatisticsType {
    /// Integers (and booleans, as 0/1).
    #[default]
    Int,
    /// Floating-point numbers.
    Float,
    /// UTF-8 strings.
    String,
    /// Opaque bytes (also used for Arrow types mlrig does not summarise).
    Bytes,
    /// Nested structures.
    Struct,
}

/// Statistics of one feature (tfmd `FeatureNameStatistics`).
///
/// ```
/// use mlrig_validate::{FeatureStatistics, StatisticsType, ValueStatistics};
/// let f = FeatureStatistics::new("age", StatisticsType::Int, ValueStatistics::None);
/// assert_eq!(f.name, "age");
/// assert!(f.numeric().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FeatureStatistics {
    /// The feature name (`path.step` joined with `.`, or the legacy `name`).
    pub name: String,
    /// The feature type.
    pub feature_type: StatisticsType,
    /// The value statistics (the proto's `stats` oneof).
    pub stats: ValueStatistics,
    /// Custom statistics (tfmd `customStats`), including mlrig's extensions.
    pub custom_stats: Vec<CustomStatistic>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    pub unmodelled: crate::UnmodelledFields,
}

impl FeatureStatistics {
    /// Statistics of feature `name` with no custom statistics.
    ///
    /// ```
    /// # use mlrig_validate::{FeatureStatistics, StatisticsType, ValueStatistics};
    /// let f = FeatureStatistics::new("x", StatisticsType::Float, ValueStatistics::None);
    /// assert!(f.custom_stats.is_empty());
    /// ```
    pub fn new(
        name: impl Into<String>,
        feature_type: StatisticsType,
        stats: ValueStatistics,
    ) -> Self {
        Self {
            name: name.into(),
            feature_type,
            stats,
            custom_stats: Vec::new(),
            unmodelled: crate::UnmodelledFields::new(),
        }
    }

    /// The common statistics (present/missing counts), whatever the value kind.
    ///
    /// ```
    /// # use mlrig_validate::{FeatureStatistics, StatisticsType, ValueStatistics};
    /// let f = FeatureStatistics::new("x", StatisticsType::Float, ValueStatistics::None);
    /// assert!(f.common().is_none());
    /// ```
    pub fn common(&self) -> Option<&CommonStatistics> {
        match &self.stats {
            ValueStatistics::Numeric(n) => Some(&n.common_stats),
            ValueStatistics::String(s) => Some(&s.common_stats),
            ValueStatistics::Bytes(b) => Some(&b.common_stats),
            ValueStatistics::None => None,
        }
    }

    /// The numeric statistics, for `INT`/`FLOAT` features.
    ///
    /// ```
    /// # use mlrig_validate::{FeatureStatistics, NumericStatistics, StatisticsType, ValueStatistics};
    /// let f = FeatureStatistics::new("x", StatisticsType::Float,
    ///     ValueStatistics::Numeric(NumericStatistics::default()));
    /// assert!(f.numeric().is_some());
    /// ```
    pub fn numeric(&self) -> Option<&NumericStatistics> {
        match &self.stats {
            ValueStatistics::Numeric(n) => Some(n),
            _ => None,
        }
    }

    /// The string statistics, for `STRING` features and booleans.
    ///
    /// ```
    /// # use mlrig_validate::{FeatureStatistics, StatisticsType, ValueStatistics};
    /// let f = FeatureStatistics::new("x", StatisticsType::String, ValueStatistics::None);
    /// assert!(f.string().is_none());
    /// ```
    pub fn string(&self) -> Option<&StringStatistics> {
        match &self.stats {
            ValueStatistics::String(s) => Some(s),
            _ => None,
        }
    }

    /// `true` when the feature had more distinct values than were kept
    /// ([`DISTINCT_CAPPED`]), so `unique` is a HyperLogLog estimate.
    ///
    /// ```
    /// # use mlrig_validate::{FeatureStatistics, StatisticsType, ValueStatistics};
    /// let f = FeatureStatistics::new("x", StatisticsType::String, ValueStatistics::None);
    /// assert!(!f.distinct_capped());
    /// ```
    pub fn distinct_capped(&self) -> bool {
        self.custom_stat(DISTINCT_CAPPED)
            .and_then(|c| c.num)
            .is_some_and(|v| v != 0.0)
    }

    /// The custom statistic called `name`.
    ///
    /// ```
    /// # use mlrig_validate::{FeatureStatistics, StatisticsType, ValueStatistics};
    /// let f = FeatureStatistics::new("x", StatisticsType::String, ValueStatistics::None);
    /// assert!(f.custom_stat("anything").is_none());
    /// ```
    pub fn custom_stat(&self, name: &str) -> Option<&CustomStatistic> {
        self.custom_stats.iter().find(|c| c.name == name)
    }

    /// The numeric feature's quantile sketch ([`VALUE_SKETCH`]), if the
    /// statistics carry one.
    ///
    /// ```
    /// # use mlrig_validate::{FeatureStatistics, StatisticsType, ValueStatistics};
    /// let f = FeatureStatistics::new("x", StatisticsType::Float, ValueStatistics::None);
    /// assert!(f.value_sketch().is_none());
    /// ```
    pub fn value_sketch(&self) -> Option<&Histogram> {
        self.custom_stat(VALUE_SKETCH)
            .and_then(|c| c.histogram.as_ref())
    }
}

/// The value statistics of a feature (the proto's `stats` oneof).
///
/// ```
/// use mlrig_validate::ValueStatistics;
/// assert_eq!(ValueStatistics::default(), ValueStatistics::None);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum ValueStatistics {
    /// `numStats`.
    Numeric(NumericStatistics),
    /// `stringStats`.
    String(StringStatistics),
    /// `bytesStats`.
    Bytes(BytesStatistics),
    /// None of the kinds mlrig models.
    #[default]
    None,
}

/// Presence and valency counts shared by every feature kind (tfmd `CommonStatistics`).
///
/// mlrig columns are scalar: a present value is one value, so
/// `minNumValues = maxNumValues = 1` and `totNumValues = numNonMissing`
/// whenever the feature is present at all.
///
/// ```
/// let c = mlrig_validate::CommonStatistics::default();
/// assert_eq!(c.num_non_missing + c.num_missing, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CommonStatistics {
    /// Examples with a value.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub num_non_missing: u64,
    /// Examples without a value (null).
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub num_missing: u64,
    /// Fewest values in an example where present.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub min_num_values: u64,
    /// Most values in an example.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub max_num_values: u64,
    /// Average number of values per present example.
    #[serde(with = "float", skip_serializing_if = "is_zero_f32")]
    pub avg_num_values: f32,
    /// Total number of values.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub tot_num_values: u64,
    /// Quantiles histogram of the number of values per present example
    /// (every bucket `[1, 1]` for scalar columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_values_histogram: Option<Histogram>,
    /// Weighted presence counts, when statistics are weighted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_common_stats: Option<WeightedCommonStatistics>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Weighted presence counts (tfmd `WeightedCommonStatistics`): sums of the
/// example weights instead of example counts.
///
/// ```
/// let w = mlrig_validate::WeightedCommonStatistics::default();
/// assert_eq!(w.num_non_missing, 0.0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WeightedCommonStatistics {
    /// Total weight of the examples with a value.
    #[serde(with = "double")]
    pub num_non_missing: f64,
    /// Total weight of the examples without a value.
    #[serde(with = "double")]
    pub num_missing: f64,
    /// Weighted average number of values per present example (1 for scalars).
    #[serde(with = "double")]
    pub avg_num_values: f64,
    /// Weighted total number of values.
    #[serde(with = "double")]
    pub tot_num_values: f64,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Weighted statistics of a numeric feature (tfmd `WeightedNumericStatistics`).
///
/// ```
/// let w = mlrig_validate::WeightedNumericStatistics::default();
/// assert!(w.histograms.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WeightedNumericStatistics {
    /// Weighted mean.
    #[serde(with = "double")]
    pub mean: f64,
    /// Weighted population standard deviation.
    #[serde(with = "double")]
    pub std_dev: f64,
    /// Weighted median (sketch estimate, relative error ≤ α).
    #[serde(with = "double")]
    pub median: f64,
    /// Weighted `STANDARD` and `QUANTILES` histograms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub histograms: Vec<Histogram>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Weighted statistics of a string feature (tfmd `WeightedStringStatistics`).
///
/// ```
/// let w = mlrig_validate::WeightedStringStatistics::default();
/// assert!(w.top_values.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WeightedStringStatistics {
    /// Values with the largest total weight, heaviest first (ties by value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_values: Vec<FreqAndValue>,
    /// Every kept value by weighted rank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_histogram: Option<RankHistogram>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Statistics of a numeric feature (tfmd `NumericStatistics`).
///
/// NaN values are counted in `histograms[].num_nan` (see
/// [`num_nan`](Self::num_nan)) and excluded from every other field.
/// `mean`, `std_dev`, `min`, `median` and `max` are 0 (the proto default)
/// when no non-NaN value was seen.
///
/// `mean`, `std_dev`, `min` and `max` are exact (see
/// [`StatisticsAccumulator`](crate::StatisticsAccumulator)); `median` and the
/// histograms come from an exactly mergeable log-bucket sketch with relative
/// value error [`QUANTILE_RELATIVE_ACCURACY`](crate::QUANTILE_RELATIVE_ACCURACY):
/// `histograms[0]` is the `STANDARD` histogram (10 equal-width buckets from
/// `min` to `max`; a value within `α·|x|` of a boundary may be counted in the
/// neighbouring bucket) and `histograms[1]` the `QUANTILES` histogram (10
/// buckets bounded by the 0, 0.1, …, 1 quantiles, `n/10` values each, as
/// TFDV writes it). For `INT` features a sketch bucket that can hold only
/// one integer (every |x| < 200) stands for that integer exactly, so small
/// integers get exact medians, quantiles and histograms.
///
/// ```
/// let n = mlrig_validate::NumericStatistics::default();
/// assert_eq!(n.num_nan(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct NumericStatistics {
    /// Presence counts.
    pub common_stats: CommonStatistics,
    /// Mean of the non-NaN values.
    #[serde(with = "double")]
    pub mean: f64,
    /// Population standard deviation of the non-NaN values.
    #[serde(with = "double")]
    pub std_dev: f64,
    /// Number of values equal to zero.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub num_zeros: u64,
    /// Smallest non-NaN value.
    #[serde(with = "double")]
    pub min: f64,
    /// Median of the non-NaN values (sketch estimate, relative error ≤ α).
    #[serde(with = "double")]
    pub median: f64,
    /// Largest non-NaN value.
    #[serde(with = "double")]
    pub max: f64,
    /// The `STANDARD` and `QUANTILES` histograms (or a single bucketless one
    /// carrying `numNan` when every value was NaN).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub histograms: Vec<Histogram>,
    /// Weighted statistics, when statistics are weighted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_numeric_stats: Option<WeightedNumericStatistics>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

impl NumericStatistics {
    /// Number of NaN values (the largest `numNan` over the histograms).
    ///
    /// ```
    /// use mlrig_validate::{Histogram, NumericStatistics};
    /// let mut n = NumericStatistics::default();
    /// n.histograms.push(Histogram { num_nan: 3, ..Histogram::default() });
    /// assert_eq!(n.num_nan(), 3);
    /// ```
    pub fn num_nan(&self) -> u64 {
        self.histograms.iter().map(|h| h.num_nan).max().unwrap_or(0)
    }

    /// The histogram of type `kind`, if present.
    ///
    /// ```
    /// use mlrig_validate::{HistogramType, NumericStatistics};
    /// assert!(NumericStatistics::default().histogram(HistogramType::Standard).is_none());
    /// ```
    pub fn histogram(&self, kind: HistogramType) -> Option<&Histogram> {
        self.histograms
            .iter()
            .find(|h| h.histogram_type == kind && !h.buckets.is_empty())
    }
}

/// A histogram of numeric values (tfmd `Histogram`).
///
/// ```
/// let h = mlrig_validate::Histogram::default();
/// assert!(h.buckets.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Histogram {
    /// Number of NaN values.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub num_nan: u64,
    /// Number of undefined values.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub num_undefined: u64,
    /// Buckets from lowest to highest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<HistogramBucket>,
    /// `STANDARD` (equal width) or `QUANTILES` (equal count).
    #[serde(rename = "type", skip_serializing_if = "HistogramType::is_standard")]
    pub histogram_type: HistogramType,
    /// Optional label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// One bucket of a [`Histogram`].
///
/// ```
/// let b = mlrig_validate::HistogramBucket { unmodelled: Default::default(), low_value: 0.0, high_value: 1.0, sample_count: 2.0 };
/// assert_eq!(b.sample_count, 2.0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistogramBucket {
    /// Inclusive lower bound.
    #[serde(with = "double")]
    pub low_value: f64,
    /// Exclusive upper bound.
    #[serde(with = "double")]
    pub high_value: f64,
    /// Number of values in the bucket.
    #[serde(with = "double")]
    pub sample_count: f64,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// The kind of a [`Histogram`].
///
/// ```
/// assert!(mlrig_validate::HistogramType::default().is_standard());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum HistogramType {
    /// Equal-width buckets.
    #[default]
    Standard,
    /// Equal-count buckets.
    Quantiles,
}

impl HistogramType {
    /// `true` for [`HistogramType::Standard`] (the proto default).
    ///
    /// ```
    /// assert!(!mlrig_validate::HistogramType::Quantiles.is_standard());
    /// ```
    pub fn is_standard(&self) -> bool {
        *self == HistogramType::Standard
    }
}

/// Statistics of a string (categorical) feature (tfmd `StringStatistics`).
///
/// ```
/// let s = mlrig_validate::StringStatistics::default();
/// assert_eq!(s.unique, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct StringStatistics {
    /// Presence counts.
    pub common_stats: CommonStatistics,
    /// Number of distinct values (exact, or a HyperLogLog estimate with
    /// ≈ 0.8 % standard error when [`FeatureStatistics::distinct_capped`]).
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub unique: u64,
    /// Most frequent values, most frequent first (ties by value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_values: Vec<FreqAndValue>,
    /// Average length of the values in UTF-8 bytes.
    #[serde(with = "float", skip_serializing_if = "is_zero_f32")]
    pub avg_length: f32,
    /// Every kept value by rank (one bucket per value), used for domain inference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_histogram: Option<RankHistogram>,
    /// Number of values that are not valid UTF-8 (tfmd ≥ 1.6). Always 0 for
    /// statistics computed by mlrig: Arrow `Utf8` arrays are valid UTF-8 by
    /// construction, and the ingest layer quarantines rows that are not.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub invalid_utf8_count: u64,
    /// Weighted statistics, when statistics are weighted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_string_stats: Option<WeightedStringStatistics>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// A value and its frequency (tfmd `StringStatistics.FreqAndValue`).
///
/// ```
/// let v = mlrig_validate::FreqAndValue { unmodelled: Default::default(), value: "a".into(), frequency: 3.0 };
/// assert_eq!(v.frequency, 3.0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FreqAndValue {
    /// The value.
    pub value: String,
    /// How many times it occurs.
    #[serde(with = "double")]
    pub frequency: f64,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Values by rank (tfmd `RankHistogram`).
///
/// ```
/// let r = mlrig_validate::RankHistogram::default();
/// assert!(r.buckets.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RankHistogram {
    /// Buckets from the most frequent value down.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<RankBucket>,
    /// Optional label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// One bucket of a [`RankHistogram`].
///
/// ```
/// let b = mlrig_validate::RankBucket { unmodelled: Default::default(), low_rank: 0, high_rank: 0, label: "a".into(), sample_count: 1.0 };
/// assert_eq!(b.label, "a");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RankBucket {
    /// First rank in the bucket (0-based, inclusive).
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub low_rank: u64,
    /// Last rank in the bucket (inclusive, as TFDV writes it).
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub high_rank: u64,
    /// The value(s) in the bucket.
    pub label: String,
    /// Number of occurrences.
    #[serde(with = "double")]
    pub sample_count: f64,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Statistics of an opaque bytes feature (tfmd `BytesStatistics`).
///
/// ```
/// let b = mlrig_validate::BytesStatistics::default();
/// assert_eq!(b.unique, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BytesStatistics {
    /// Presence counts.
    pub common_stats: CommonStatistics,
    /// Number of distinct values.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub unique: u64,
    /// Average size in bytes.
    #[serde(with = "float", skip_serializing_if = "is_zero_f32")]
    pub avg_num_bytes: f32,
    /// Smallest size in bytes.
    #[serde(with = "float", skip_serializing_if = "is_zero_f32")]
    pub min_num_bytes: f32,
    /// Largest size in bytes.
    #[serde(with = "float", skip_serializing_if = "is_zero_f32")]
    pub max_num_bytes: f32,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// A named custom statistic (tfmd `CustomStatistic`; the `num`, `str` and
/// `histogram` kinds of its `val` oneof).
///
/// ```
/// let c = mlrig_validate::CustomStatistic { name: "n".into(), num: Some(1.0), ..Default::default() };
/// assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"name":"n","num":1.0}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomStatistic {
    /// The statistic's name.
    pub name: String,
    /// A numeric value.
    #[serde(
        with = "crate::proto_json::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub num: Option<f64>,
    /// A text value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub str: Option<String>,
    /// A histogram value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

fn is_zero_f32(value: &f32) -> bool {
    *value == 0.0 && value.is_sign_positive()
}
