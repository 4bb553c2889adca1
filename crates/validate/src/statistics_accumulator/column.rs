//! The state of one column in a [`StatisticsAccumulator`](crate::StatisticsAccumulator):
//! counts, exact moments and min/max, the quantile sketch, exact value counts
//! for strings and booleans, and the column's weighted state; merged exactly
//! and finished into a [`FeatureStatistics`].

mod batch_moments;

use mlrig_core::ExactSum;
use mlrig_core::arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray};
use mlrig_core::arrow_schema::{DataType, Field};
use serde::{Deserialize, Serialize};

use super::StatisticsParams;
use crate::column_values::{ColumnKind, ColumnValues};
use crate::distinct_values::DistinctCounter;
use crate::sketch::{self, NUM_HISTOGRAM_BUCKETS, QuantileSketch, SketchBatch};
use crate::statistics::{
    BytesStatistics, CommonStatistics, CustomStatistic, DISTINCT_CAPPED, FeatureStatistics,
    FreqAndValue, Histogram, HistogramBucket, HistogramType, NumericStatistics, RankBucket,
    RankHistogram, StatisticsType, StringStatistics, VALUE_SKETCH, ValueStatistics,
};
use crate::weighted_statistics::WeightedColumn;
use batch_moments::{FloatSums, IntSums, MAX_VALUES_PER_FLUSH};

/// The state of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ColumnAccumulator {
    pub(super) name: String,
    pub(super) data_type: DataType,
    present: u64,
    missing: u64,
    values: ValueAccumulator,
    /// Weighted state, present exactly when there is a weight feature.
    weighted: Option<WeightedColumn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum ValueAccumulator {
    Int(IntAccumulator),
    Float(FloatAccumulator),
    Bool { falses: u64, trues: u64 },
    Str(StrAccumulator),
    Other,
}

/// Count, zeros and exact sums shared by integer and float columns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Moments {
    count: u64,
    zeros: u64,
    sum: ExactSum,
    sum_squares: ExactSum,
}

impl Moments {
    fn add_float(&mut self, x: f64) {
        self.count += 1;
        if x == 0.0 {
            self.zeros += 1;
        }
        self.sum.add(x);
        self.sum_squares.add_product(x, x);
    }

    fn add_int(&mut self, x: i64) {
        self.count += 1;
        if x == 0 {
            self.zeros += 1;
        }
        const EXACT: i64 = 1 << 53;
        if (-EXACT..=EXACT).contains(&x) {
            let f = x as f64;
            self.sum.add(f);
            self.sum_squares.add_product(f, f);
        } else {
            // x = hi + lo with both halves exact in f64; x² = hi² + 2·hi·lo + lo².
            let hi = (x >> 26) << 26;
            let (hi, lo) = (hi as f64, (x - hi) as f64);
            self.sum.add(hi);
            self.sum.add(lo);
            self.sum_squares.add_product(hi, hi);
            self.sum_squares.add_product(2.0 * hi, lo);
            self.sum_squares.add_product(lo, lo);
        }
    }

    fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.zeros += other.zeros;
        self.sum.merge(&other.sum);
        self.sum_squares.merge(&other.sum_squares);
    }

    /// Mean and population standard deviation (see the module docs for precision).
    fn mean_and_std_dev(&self) -> (f64, f64) {
        if self.count == 0 {
            return (0.0, 0.0);
        }
        let n = self.count as f64;
        let s1 = self.sum.value();
        let mean = s1 / n;
        if !mean.is_finite() || !self.sum_squares.value().is_finite() {
            return (mean, f64::NAN);
        }
        // Σ(x − m)² = Σx² − 2m·Σx + n·m², with Σx = s1 + r exactly.
        let mut remainder = self.sum.clone();
        remainder.add(-s1);
        let r = remainder.value();
        let mut deviations = self.sum_squares.clone();
        let minus_two_mean = -2.0 * mean;
        deviations.add_product(minus_two_mean, s1);
        deviations.add_product(minus_two_mean, r);
        let n_mean = n * mean;
        let n_mean_error = n.mul_add(mean, -n_mean);
        deviations.add_product(n_mean, mean);
        deviations.add_product(n_mean_error, mean);
        let variance = (deviations.value() / n).max(0.0);
        (mean, variance.sqrt())
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct IntAccumulator {
    moments: Moments,
    sketch: QuantileSketch,
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct FloatAccumulator {
    moments: Moments,
    sketch: QuantileSketch,
    nan: u64,
    #[serde(with = "crate::proto_json::opt_double")]
    min: Option<f64>,
    #[serde(with = "crate::proto_json::opt_double")]
    max: Option<f64>,
}

/// The present values of a primitive column: the value buffer itself when
/// nothing is null, else a copy of the present values.
fn present_values<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
) -> std::borrow::Cow<'_, [T::Native]> {
    if values.null_count() == 0 {
        std::borrow::Cow::Borrowed(values.values())
    } else {
        std::borrow::Cow::Owned(values.iter().flatten().collect())
    }
}

// The batch loops below make one tight pass per concern (sketch keys,
// extremes, sums): each pass keeps many values in flight in the CPU, where
// one combined loop was bound by the latency of its longest chain.

impl IntAccumulator {
    /// Adds the present values of one batch.
    fn add_values(&mut self, values: &[i64]) {
        let (Some(&min), Some(&max)) = (values.iter().min(), values.iter().max()) else {
            return;
        };
        self.min = Some(self.min.map_or(min, |m| m.min(min)));
        self.max = Some(self.max.map_or(max, |m| m.max(max)));
        let mut sketch = SketchBatch::with_capacity(values.len());
        for x in values {
            sketch.push_int(*x);
        }
        self.sketch.absorb(&mut sketch);
        let mut sums = IntSums::default();
        for chunk in values.chunks(MAX_VALUES_PER_FLUSH) {
            for x in chunk {
                if *x != 0 && sums.add(*x) {
                    self.moments.count += 1;
                } else {
                    self.moments.add_int(*x);
                }
            }
            sums.flush(&mut self.moments);
        }
    }
}

impl FloatAccumulator {
    /// Adds the present values of one batch.
    fn add_values(&mut self, values: &[f64]) {
        let mut sketch = SketchBatch::with_capacity(values.len());
        for x in values {
            sketch.push(*x);
        }
        self.sketch.absorb(&mut sketch);
        // Every non-NaN value is ≥ −∞ and ≤ +∞ in total order.
        let (mut min, mut max, mut nan) = (f64::INFINITY, f64::NEG_INFINITY, 0usize);
        for x in values {
            if x.is_nan() {
                nan += 1;
            } else {
                min = total_min(min, *x);
                max = total_max(max, *x);
            }
        }
        self.nan += nan as u64;
        if nan < values.len() {
            self.min = Some(self.min.map_or(min, |m| total_min(m, min)));
            self.max = Some(self.max.map_or(max, |m| total_max(m, max)));
        }
        let mut sums = FloatSums::new();
        for chunk in values.chunks(MAX_VALUES_PER_FLUSH) {
            for x in chunk {
                if sums.add(*x) {
                    self.moments.count += 1;
                } else if !x.is_nan() {
                    self.moments.add_float(*x);
                }
            }
            sums.flush(&mut self.moments);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StrAccumulator {
    distinct: DistinctCounter,
    total_bytes: u64,
}

/// `x` as `hi + lo` with both halves exactly representable in `f64`
/// (`lo = 0` when `x` itself is).
fn split_exactly(x: i64) -> (f64, f64) {
    const EXACT: i64 = 1 << 53;
    if (-EXACT..=EXACT).contains(&x) {
        (x as f64, 0.0)
    } else {
        let hi = (x >> 26) << 26;
        (hi as f64, (x - hi) as f64)
    }
}

/// The smaller of two non-NaN floats in IEEE total order (−0 < +0), so the
/// result does not depend on which comes first.
fn total_min(a: f64, b: f64) -> f64 {
    if b.total_cmp(&a).is_lt() { b } else { a }
}

fn total_max(a: f64, b: f64) -> f64 {
    if b.total_cmp(&a).is_gt() { b } else { a }
}

fn merge_option<T: Copy>(a: Option<T>, b: Option<T>, pick: impl Fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(pick(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl ColumnAccumulator {
    /// An empty accumulator for `field`.
    pub(super) fn new(field: &Field, params: &StatisticsParams) -> Self {
        let values = match ColumnKind::of(field.data_type()) {
            ColumnKind::Int => ValueAccumulator::Int(IntAccumulator::default()),
            ColumnKind::Float => ValueAccumulator::Float(FloatAccumulator::default()),
            ColumnKind::Bool => ValueAccumulator::Bool {
                falses: 0,
                trues: 0,
            },
            ColumnKind::Str => ValueAccumulator::Str(StrAccumulator {
                distinct: DistinctCounter::new(params.max_distinct_values),
                total_bytes: 0,
            }),
            ColumnKind::Other => ValueAccumulator::Other,
        };
        ColumnAccumulator {
            name: field.name().clone(),
            data_type: field.data_type().clone(),
            present: 0,
            missing: 0,
            values,
            weighted: params
                .weight_feature
                .is_some()
                .then(WeightedColumn::default),
        }
    }

    /// `true` when `other` keeps the same kind of value state (so the two
    /// can be merged).
    pub(super) fn same_kind(&self, other: &Self) -> bool {
        std::mem::discriminant(&self.values) == std::mem::discriminant(&other.values)
    }

    pub(super) fn update(&mut self, array: &dyn Array, values: ColumnValues) {
        let nulls = array.logical_null_count() as u64;
        self.missing += nulls;
        self.present += array.len() as u64 - nulls;
        match (&mut self.values, values) {
            (ValueAccumulator::Int(acc), ColumnValues::Int(values)) => {
                acc.add_values(&present_values(&values));
            }
            (ValueAccumulator::Float(acc), ColumnValues::Float(values)) => {
                acc.add_values(&present_values(&values));
            }
            (ValueAccumulator::Bool { falses, trues }, ColumnValues::Bool(values)) => {
                let t = values.true_count() as u64;
                *trues += t;
                *falses += (values.len() - values.null_count()) as u64 - t;
            }
            (ValueAccumulator::Str(acc), ColumnValues::Str(values)) => {
                let bytes = if values.null_count() == 0 {
                    let offsets = values.value_offsets();
                    offsets
                        .last()
                        .zip(offsets.first())
                        .map_or(0, |(last, first)| {
                            u64::try_from(i64::from(*last) - i64::from(*first)).unwrap_or(0)
                        })
                } else {
                    values.iter().flatten().map(|v| v.len() as u64).sum()
                };
                acc.total_bytes = acc.total_bytes.saturating_add(bytes);
                acc.distinct.add_strings(&values);
            }
            // Checked data types make other pairings impossible; only presence counts.
            _ => {}
        }
    }

    pub(super) fn merge(&mut self, other: ColumnAccumulator) {
        self.present += other.present;
        self.missing += other.missing;
        if let (Some(mine), Some(theirs)) = (&mut self.weighted, &other.weighted) {
            mine.merge(theirs);
        }
        match (&mut self.values, other.values) {
            (ValueAccumulator::Int(a), ValueAccumulator::Int(b)) => {
                a.moments.merge(&b.moments);
                a.sketch.merge(&b.sketch);
                a.min = merge_option(a.min, b.min, i64::min);
                a.max = merge_option(a.max, b.max, i64::max);
            }
            (ValueAccumulator::Float(a), ValueAccumulator::Float(b)) => {
                a.moments.merge(&b.moments);
                a.sketch.merge(&b.sketch);
                a.nan += b.nan;
                a.min = merge_option(a.min, b.min, total_min);
                a.max = merge_option(a.max, b.max, total_max);
            }
            (
                ValueAccumulator::Bool { falses, trues },
                ValueAccumulator::Bool {
                    falses: f,
                    trues: t,
                },
            ) => {
                *falses += f;
                *trues += t;
            }
            (ValueAccumulator::Str(a), ValueAccumulator::Str(b)) => {
                a.total_bytes = a.total_bytes.saturating_add(b.total_bytes);
                a.distinct.merge(b.distinct);
                if let Some(weighted) = &mut self.weighted
                    && a.distinct.overflowed()
                {
                    weighted.retain_categories(|v| a.distinct.contains(v));
                }
            }
            // Merge checks the data types first; nothing else can pair up.
            _ => {}
        }
    }

    fn common(&self) -> CommonStatistics {
        let present = self.present > 0;
        CommonStatistics {
            unmodelled: Default::default(),
            num_non_missing: self.present,
            num_missing: self.missing,
            min_num_values: u64::from(present),
            max_num_values: u64::from(present),
            avg_num_values: if present { 1.0 } else { 0.0 },
            tot_num_values: self.present,
            num_values_histogram: present.then(|| scalar_num_values_histogram(self.present)),
            weighted_common_stats: None,
        }
    }

    /// Feeds the weighted state (rows with their weights); call after
    /// [`update`](Self::update) so the distinct counter is current.
    pub(super) fn update_weighted(
        &mut self,
        array: &dyn Array,
        values: ColumnValues,
        weights: &[f64],
    ) {
        let Some(weighted) = &mut self.weighted else {
            return;
        };
        let rows = weights.iter().copied().enumerate();
        match values {
            ColumnValues::Int(values) => {
                for (row, w) in rows {
                    let x = values.is_valid(row).then(|| values.value(row));
                    weighted.add_presence(x.is_some(), w);
                    if let Some(x) = x {
                        let (hi, lo) = split_exactly(x);
                        weighted.add_number(hi, lo, w);
                    }
                }
            }
            ColumnValues::Float(values) => {
                for (row, w) in rows {
                    let x = values.is_valid(row).then(|| values.value(row));
                    weighted.add_presence(x.is_some(), w);
                    if let Some(x) = x.filter(|x| !x.is_nan()) {
                        weighted.add_number(x, 0.0, w);
                    }
                }
            }
            ColumnValues::Bool(values) => {
                for (row, w) in rows {
                    let x = values.is_valid(row).then(|| values.value(row));
                    weighted.add_presence(x.is_some(), w);
                    if let Some(x) = x {
                        weighted.add_category(if x { "true" } else { "false" }, w);
                    }
                }
            }
            ColumnValues::Str(values) => {
                for (row, w) in rows {
                    let x = values.is_valid(row).then(|| values.value(row));
                    weighted.add_presence(x.is_some(), w);
                    if let Some(x) = x {
                        weighted.add_category(x, w);
                    }
                }
                if let ValueAccumulator::Str(acc) = &self.values
                    && acc.distinct.overflowed()
                {
                    weighted.retain_categories(|v| acc.distinct.contains(v));
                }
            }
            ColumnValues::Other => {
                let nulls = array.logical_nulls();
                for (row, w) in rows {
                    let present = nulls.as_ref().is_none_or(|n| n.is_valid(row));
                    weighted.add_presence(present, w);
                }
            }
        }
    }

    pub(super) fn finish(mut self, params: &StatisticsParams) -> FeatureStatistics {
        let weighted = self.weighted.take();
        let mut feature = self.finish_unweighted(params);
        if let Some(weighted) = weighted {
            let is_int = feature.feature_type == StatisticsType::Int;
            match &mut feature.stats {
                ValueStatistics::Numeric(n) => {
                    n.common_stats.weighted_common_stats = Some(weighted.common());
                    n.weighted_numeric_stats =
                        Some(weighted.numeric(n.min, n.max, n.num_nan(), is_int));
                }
                ValueStatistics::String(s) => {
                    s.common_stats.weighted_common_stats = Some(weighted.common());
                    s.weighted_string_stats = Some(
                        weighted.strings(params.num_top_values, params.num_rank_histogram_buckets),
                    );
                }
                ValueStatistics::Bytes(b) => {
                    b.common_stats.weighted_common_stats = Some(weighted.common());
                }
                ValueStatistics::None => {}
            }
        }
        feature
    }

    fn finish_unweighted(self, params: &StatisticsParams) -> FeatureStatistics {
        let common_stats = self.common();
        match self.values {
            ValueAccumulator::Int(acc) => {
                let (min, max) = (
                    acc.min.map_or(0.0, |v| v as f64),
                    acc.max.map_or(0.0, |v| v as f64),
                );
                numeric_feature(
                    self.name,
                    StatisticsType::Int,
                    common_stats,
                    &acc.moments,
                    &acc.sketch,
                    (min, max),
                    0,
                )
            }
            ValueAccumulator::Float(acc) => numeric_feature(
                self.name,
                StatisticsType::Float,
                common_stats,
                &acc.moments,
                &acc.sketch,
                (acc.min.unwrap_or(0.0), acc.max.unwrap_or(0.0)),
                acc.nan,
            ),
            ValueAccumulator::Bool { falses, trues } => {
                let mut entries = vec![("false", falses), ("true", trues)];
                entries.retain(|(_, c)| *c > 0);
                entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                let total_bytes = 5 * falses + 4 * trues;
                let unique = entries.len() as u64;
                let strings =
                    string_statistics(common_stats, &entries, unique, total_bytes, params);
                FeatureStatistics::new(
                    self.name,
                    StatisticsType::Int,
                    ValueStatistics::String(strings),
                )
            }
            ValueAccumulator::Str(acc) => {
                let entries = acc.distinct.by_frequency();
                let unique = acc.distinct.distinct_count();
                let strings =
                    string_statistics(common_stats, &entries, unique, acc.total_bytes, params);
                let mut feature = FeatureStatistics::new(
                    self.name,
                    StatisticsType::String,
                    ValueStatistics::String(strings),
                );
                if acc.distinct.overflowed() {
                    feature.custom_stats.push(CustomStatistic {
                        name: DISTINCT_CAPPED.into(),
                        num: Some(1.0),
                        ..CustomStatistic::default()
                    });
                }
                feature
            }
            ValueAccumulator::Other => FeatureStatistics::new(
                self.name,
                StatisticsType::Bytes,
                ValueStatistics::Bytes(BytesStatistics {
                    common_stats,
                    ..BytesStatistics::default()
                }),
            ),
        }
    }
}

/// TFDV's `num_values_histogram` for a scalar column: a quantiles histogram
/// whose buckets are all `[1, 1]`, each holding a tenth of the present examples.
fn scalar_num_values_histogram(present: u64) -> Histogram {
    Histogram {
        buckets: (0..NUM_HISTOGRAM_BUCKETS)
            .map(|_| HistogramBucket {
                unmodelled: Default::default(),
                low_value: 1.0,
                high_value: 1.0,
                sample_count: present as f64 / NUM_HISTOGRAM_BUCKETS as f64,
            })
            .collect(),
        histogram_type: HistogramType::Quantiles,
        ..Histogram::default()
    }
}

/// The statistics of an `INT` or `FLOAT` column: exact moments and extremes,
/// sketch-derived median and histograms, and the sketch itself.
fn numeric_feature(
    name: String,
    feature_type: StatisticsType,
    common_stats: CommonStatistics,
    moments: &Moments,
    sketch: &QuantileSketch,
    (min, max): (f64, f64),
    num_nan: u64,
) -> FeatureStatistics {
    let (mean, std_dev) = moments.mean_and_std_dev();
    let summaries = sketch::summaries(
        sketch,
        min,
        max,
        num_nan,
        feature_type == StatisticsType::Int,
    );
    let numeric = NumericStatistics {
        unmodelled: Default::default(),
        common_stats,
        mean,
        std_dev,
        num_zeros: moments.zeros,
        min,
        median: summaries.median,
        max,
        histograms: summaries.histograms,
        weighted_numeric_stats: None,
    };
    let mut feature = FeatureStatistics::new(name, feature_type, ValueStatistics::Numeric(numeric));
    if sketch.count() > 0 {
        feature.custom_stats.push(CustomStatistic {
            name: VALUE_SKETCH.into(),
            histogram: Some(sketch::to_histogram(sketch)),
            ..CustomStatistic::default()
        });
    }
    feature
}

fn string_statistics(
    common_stats: CommonStatistics,
    entries_by_frequency: &[(&str, u64)],
    unique: u64,
    total_bytes: u64,
    params: &StatisticsParams,
) -> StringStatistics {
    let avg_length = if common_stats.num_non_missing > 0 {
        (total_bytes as f64 / common_stats.num_non_missing as f64) as f32
    } else {
        0.0
    };
    let top_values = entries_by_frequency
        .iter()
        .take(params.num_top_values)
        .map(|(value, count)| FreqAndValue {
            unmodelled: Default::default(),
            value: (*value).to_string(),
            frequency: *count as f64,
        })
        .collect();
    let buckets: Vec<RankBucket> = entries_by_frequency
        .iter()
        .take(params.num_rank_histogram_buckets)
        .enumerate()
        .map(|(rank, (value, count))| RankBucket {
            unmodelled: Default::default(),
            low_rank: rank as u64,
            high_rank: rank as u64,
            label: (*value).to_string(),
            sample_count: *count as f64,
        })
        .collect();
    StringStatistics {
        unmodelled: Default::default(),
        common_stats,
        unique,
        top_values,
        avg_length,
        rank_histogram: (!buckets.is_empty()).then(|| RankHistogram {
            unmodelled: Default::default(),
            buckets,
            name: String::new(),
        }),
        invalid_utf8_count: 0,
        weighted_string_stats: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments_of_ints(values: &[i64]) -> Moments {
        let mut m = Moments::default();
        for v in values {
            m.add_int(*v);
        }
        m
    }

    #[test]
    fn std_dev_has_no_cancellation_for_large_means() {
        let mut m = Moments::default();
        for v in [1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0] {
            m.add_float(v);
        }
        let (mean, std) = m.mean_and_std_dev();
        assert_eq!(mean, 1e9 + 10.0);
        assert_eq!(std, 22.5f64.sqrt());
    }

    #[test]
    fn huge_integers_are_summed_exactly() {
        let big = i64::MAX - 1;
        let m = moments_of_ints(&[big, big, -big]);
        let (mean, std) = m.mean_and_std_dev();
        assert_eq!(mean, (big as f64) / 3.0);
        // Exact: deviations of (b, b, −b) around b/3 give population std = b·√8/3.
        let expected = (big as f64) * 8f64.sqrt() / 3.0;
        assert!(
            (std - expected).abs() <= expected * 4.0 * f64::EPSILON,
            "{std} vs {expected}"
        );
        let m = moments_of_ints(&[i64::MIN, i64::MIN]);
        assert_eq!(m.mean_and_std_dev(), (i64::MIN as f64, 0.0));
    }

    #[test]
    fn infinities_give_nan_std_dev() {
        let mut m = Moments::default();
        m.add_float(f64::INFINITY);
        m.add_float(1.0);
        let (mean, std) = m.mean_and_std_dev();
        assert_eq!(mean, f64::INFINITY);
        assert!(std.is_nan());
    }

    #[test]
    fn signed_zero_extremes_are_order_independent() {
        assert_eq!(total_min(0.0, -0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(total_min(-0.0, 0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(total_max(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
    }
}
