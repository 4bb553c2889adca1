//! The fit-time analyzers: [`Accumulator`]s over training batches whose
//! merge is exact, so fitting on any split of the data (threads, machines)
//! gives the same bits as one pass.
//!
//! Fitting takes two passes. [`SummaryAnalyzer`] counts missing values,
//! sums values with [`ExactSum`], tracks min/max and counts values
//! (categories, or numeric values for most-frequent imputation) in
//! [`ValueCounts`] (exact up to a capacity of distinct values, a bounded
//! Misra–Gries summary beyond, so memory never grows with the rows), and feeds a [`QuantileSketch`] where a median or quantiles
//! are needed. [`SpreadAnalyzer`] then sums squared deviations from the
//! mean found by the first pass, which keeps the variance accurate when the
//! mean is large relative to the spread (a one-pass `Σx² − (Σx)²/n` loses
//! every digit there).

use std::collections::BTreeMap;

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::{Accumulator, ExactSum, OrderedF64};
use serde::{Deserialize, Serialize};

use crate::FeaturesError;
use crate::category_index::FastMap;
use crate::input_column::{CategoricalColumn, Category, CategoryValue, ColumnType, NumericColumn};
use crate::sketch::QuantileSketch;
use crate::value_counts::ValueCounts;

/// Value counts, serialized as a list of `[value, count]` pairs (JSON object
/// keys can only be strings).
pub(crate) mod count_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<K: Serialize, S: Serializer>(
        counts: &BTreeMap<K, u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(counts.iter())
    }

    pub(crate) fn deserialize<'de, K, D>(deserializer: D) -> Result<BTreeMap<K, u64>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        D: Deserializer<'de>,
    {
        let pairs = Vec::<(K, u64)>::deserialize(deserializer)?;
        let mut counts = BTreeMap::new();
        for (key, count) in pairs {
            *counts.entry(key).or_insert(0) += count;
        }
        Ok(counts)
    }
}

/// The most frequent key; ties go to the smallest key.
pub(crate) fn most_frequent<K: Ord>(counts: &BTreeMap<K, u64>) -> Option<&K> {
    let mut best: Option<(&K, u64)> = None;
    for (key, count) in counts {
        if best.is_none_or(|(_, c)| *count > c) {
            best = Some((key, *count));
        }
    }
    best.map(|(key, _)| key)
}

/// First-pass summary of a numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumericSummary {
    pub(crate) name: String,
    /// Whether `counts` is kept (most-frequent imputation needs it).
    pub(crate) count_values: bool,
    /// Non-missing values seen.
    pub(crate) observed: u64,
    /// Nulls and NaNs seen.
    pub(crate) missing: u64,
    pub(crate) sum: ExactSum,
    pub(crate) min: Option<OrderedF64>,
    pub(crate) max: Option<OrderedF64>,
    pub(crate) counts: ValueCounts<OrderedF64>,
    /// The quantile sketch, when the column needs quantiles.
    pub(crate) sketch: Option<QuantileSketch>,
}

/// First-pass summary of a categorical column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CategoricalSummary {
    pub(crate) name: String,
    pub(crate) column_type: ColumnType,
    /// Whether `counts` is kept (vocabularies and most-frequent imputation).
    pub(crate) count_values: bool,
    /// Nulls seen.
    pub(crate) missing: u64,
    pub(crate) counts: ValueCounts<Category>,
}

/// First-pass summary of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum ColumnSummary {
    Numeric(Box<NumericSummary>),
    Categorical(CategoricalSummary),
}

impl ColumnSummary {
    /// An empty numeric summary; `sketch` keeps a quantile sketch; value
    /// counts are exact up to `capacity` distinct values.
    pub(crate) fn numeric(name: &str, count_values: bool, sketch: bool, capacity: usize) -> Self {
        ColumnSummary::Numeric(Box::new(NumericSummary {
            name: name.to_string(),
            count_values,
            observed: 0,
            missing: 0,
            sum: ExactSum::default(),
            min: None,
            max: None,
            counts: ValueCounts::with_capacity(capacity),
            sketch: sketch.then(QuantileSketch::default),
        }))
    }

    /// An empty categorical summary of a column of type `column_type`;
    /// `count_values` keeps the value counts, exact up to the default
    /// capacity of distinct values.
    pub(crate) fn categorical(name: &str, column_type: ColumnType, count_values: bool) -> Self {
        Self::categorical_with_capacity(name, column_type, count_values, ValueCounts::default())
    }

    /// As [`categorical`](Self::categorical), counting into `counts` (empty,
    /// with the capacity the encoding needs).
    pub(crate) fn categorical_with_capacity(
        name: &str,
        column_type: ColumnType,
        count_values: bool,
        counts: ValueCounts<Category>,
    ) -> Self {
        ColumnSummary::Categorical(CategoricalSummary {
            name: name.to_string(),
            column_type,
            count_values,
            missing: 0,
            counts,
        })
    }

    fn update(&mut self, batch: &RecordBatch) -> Result<(), FeaturesError> {
        match self {
            ColumnSummary::Numeric(s) => {
                let column = NumericColumn::read(batch, &s.name)?;
                column.try_for_each(&s.name, |_, value| {
                    match value {
                        None => s.missing += 1,
                        Some(v) => {
                            let key = OrderedF64::new(v);
                            s.observed += 1;
                            s.sum.add(v);
                            s.min = Some(s.min.map_or(key, |m| m.min(key)));
                            s.max = Some(s.max.map_or(key, |m| m.max(key)));
                            if s.count_values {
                                s.counts.add(key, 1);
                            }
                            if let Some(sketch) = &mut s.sketch {
                                sketch.add(v);
                            }
                        }
                    }
                    Ok(())
                })
            }
            ColumnSummary::Categorical(s) => {
                let column = CategoricalColumn::read(batch, &s.name, s.column_type)?;
                if !s.count_values {
                    let mut missing = 0;
                    column.try_for_each(|_, value| {
                        missing += u64::from(value.is_none());
                        Ok(())
                    })?;
                    s.missing += missing;
                    return Ok(());
                }
                // Count borrowed values first: one allocation per distinct value.
                let mut local: FastMap<CategoryValue<'_>, u64> = FastMap::default();
                let mut missing = 0;
                column.try_for_each(|_, value| {
                    match value {
                        None => missing += 1,
                        Some(v) => *local.entry(v).or_insert(0) += 1,
                    }
                    Ok(())
                })?;
                s.missing += missing;
                for (value, count) in local {
                    s.counts.add(value.to_owned(), count);
                }
                Ok(())
            }
        }
    }

    fn merge(&mut self, other: ColumnSummary) -> Result<(), FeaturesError> {
        match (self, other) {
            (ColumnSummary::Numeric(a), ColumnSummary::Numeric(b))
                if a.name == b.name
                    && a.count_values == b.count_values
                    && a.sketch.is_some() == b.sketch.is_some() =>
            {
                if let (Some(mine), Some(theirs)) = (&mut a.sketch, &b.sketch) {
                    mine.merge(theirs);
                }
                a.observed += b.observed;
                a.missing += b.missing;
                a.sum.merge(&b.sum);
                a.min = match (a.min, b.min) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                };
                a.max = match (a.max, b.max) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    (x, y) => x.or(y),
                };
                a.counts.merge(b.counts);
                Ok(())
            }
            (ColumnSummary::Categorical(a), ColumnSummary::Categorical(b))
                if a.name == b.name
                    && a.column_type == b.column_type
                    && a.count_values == b.count_values =>
            {
                a.missing += b.missing;
                a.counts.merge(b.counts);
                Ok(())
            }
            (a, b) => Err(incompatible(format!(
                "column summaries differ: {} vs {}",
                a.describe(),
                b.describe()
            ))),
        }
    }

    fn describe(&self) -> String {
        match self {
            ColumnSummary::Numeric(s) => format!("numeric `{}`", s.name),
            ColumnSummary::Categorical(s) => {
                format!("categorical `{}` ({:?})", s.name, s.column_type)
            }
        }
    }
}

fn incompatible(reason: String) -> FeaturesError {
    FeaturesError::Core(mlrig_core::Error::IncompatibleMerge { reason })
}

/// Merges `theirs` into `mine` column by column with `merge`; the two must
/// have the same number of columns.
fn merge_columns<T>(
    mine: &mut [T],
    theirs: Vec<T>,
    mut merge: impl FnMut(&mut T, T) -> Result<(), FeaturesError>,
) -> Result<(), FeaturesError> {
    if mine.len() != theirs.len() {
        return Err(incompatible(format!(
            "{} columns vs {} columns",
            mine.len(),
            theirs.len()
        )));
    }
    for (mine, theirs) in mine.iter_mut().zip(theirs) {
        merge(mine, theirs)?;
    }
    Ok(())
}

/// First pass: per-column summaries, plus the number of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SummaryAnalyzer {
    pub(crate) rows: u64,
    pub(crate) columns: Vec<ColumnSummary>,
}

impl SummaryAnalyzer {
    /// An analyzer for these (empty) column summaries.
    pub(crate) fn new(columns: Vec<ColumnSummary>) -> Self {
        Self { rows: 0, columns }
    }
}

impl Accumulator for SummaryAnalyzer {
    type Output = SummaryAnalyzer;
    type Error = FeaturesError;

    fn update(&mut self, batch: &RecordBatch) -> Result<(), FeaturesError> {
        for column in &mut self.columns {
            column.update(batch)?;
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn merge(&mut self, other: Self) -> Result<(), FeaturesError> {
        merge_columns(&mut self.columns, other.columns, ColumnSummary::merge)?;
        self.rows += other.rows;
        Ok(())
    }

    fn finish(self) -> SummaryAnalyzer {
        self
    }
}

/// Second-pass state of one standard-scaled column: the exact sum of
/// `(x − centre)²` over its non-missing values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SpreadColumn {
    pub(crate) name: String,
    pub(crate) centre: f64,
    pub(crate) squares: ExactSum,
}

/// Second pass: squared deviations from each column's first-pass mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SpreadAnalyzer {
    pub(crate) columns: Vec<SpreadColumn>,
}

impl SpreadAnalyzer {
    /// An analyzer for `(column, centre)` pairs.
    pub(crate) fn new(columns: impl IntoIterator<Item = (String, f64)>) -> Self {
        Self {
            columns: columns
                .into_iter()
                .map(|(name, centre)| SpreadColumn {
                    name,
                    centre,
                    squares: ExactSum::default(),
                })
                .collect(),
        }
    }
}

impl Accumulator for SpreadAnalyzer {
    type Output = Vec<SpreadColumn>;
    type Error = FeaturesError;

    fn update(&mut self, batch: &RecordBatch) -> Result<(), FeaturesError> {
        for column in &mut self.columns {
            let values = NumericColumn::read(batch, &column.name)?;
            values.try_for_each(&column.name, |_, value| {
                if let Some(v) = value {
                    let deviation = v - column.centre;
                    column.squares.add_product(deviation, deviation);
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn merge(&mut self, other: Self) -> Result<(), FeaturesError> {
        merge_columns(&mut self.columns, other.columns, |mine, theirs| {
            if mine.name != theirs.name || mine.centre.to_bits() != theirs.centre.to_bits() {
                return Err(incompatible(format!(
                    "spread of `{}` around {} vs `{}` around {}",
                    mine.name, mine.centre, theirs.name, theirs.centre
                )));
            }
            mine.squares.merge(&theirs.squares);
            Ok(())
        })
    }

    fn finish(self) -> Vec<SpreadColumn> {
        self.columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{ArrayRef, BooleanArray, Float64Array, StringArray};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn batch(x: &[Option<f64>], s: &[Option<&str>]) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(x.to_vec())) as ArrayRef),
            ("s", Arc::new(StringArray::from(s.to_vec())) as ArrayRef),
        ])
        .unwrap()
    }

    fn analyzer() -> SummaryAnalyzer {
        SummaryAnalyzer::new(vec![
            ColumnSummary::numeric("x", true, true, 1000),
            ColumnSummary::categorical("s", ColumnType::Utf8, true),
            ColumnSummary::categorical("s", ColumnType::Utf8, false),
        ])
    }

    #[test]
    fn most_frequent_breaks_ties_by_smallest() {
        let counts = BTreeMap::from([("b", 2), ("a", 2), ("c", 1)]);
        assert_eq!(most_frequent(&counts), Some(&"a"));
        let counts = BTreeMap::from([(OrderedF64::new(3.0), 1), (OrderedF64::new(-1.0), 1)]);
        assert_eq!(most_frequent(&counts), Some(&OrderedF64::new(-1.0)));
        assert_eq!(most_frequent::<u8>(&BTreeMap::new()), None);
    }

    #[test]
    fn summary_counts_values_and_missing() {
        let mut a = analyzer();
        a.update(&batch(
            &[Some(1.0), None, Some(f64::NAN), Some(-0.0), Some(0.0)],
            &[Some("b"), Some("a"), None, Some("b"), Some("")],
        ))
        .unwrap();
        let ColumnSummary::Numeric(x) = &a.columns[0] else {
            panic!("numeric")
        };
        assert_eq!((x.observed, x.missing), (3, 2));
        assert_eq!(x.sum.value(), 1.0);
        assert_eq!(x.counts.counts().get(&OrderedF64::new(0.0)), Some(&2));
        assert_eq!(x.min.unwrap().get().to_bits(), 0.0f64.to_bits());
        let ColumnSummary::Categorical(s) = &a.columns[1] else {
            panic!("categorical")
        };
        assert_eq!(s.missing, 1);
        assert_eq!(s.counts.counts().get(&Category::Text("b".into())), Some(&2));
        assert_eq!(
            s.counts.counts().get(&Category::Text(String::new())),
            Some(&1)
        );
        let ColumnSummary::Categorical(uncounted) = &a.columns[2] else {
            panic!("categorical")
        };
        assert_eq!(uncounted.missing, 1);
        assert!(uncounted.counts.counts().is_empty());
        let ColumnSummary::Numeric(x) = &a.columns[0] else {
            panic!("numeric")
        };
        assert_eq!(x.sketch.as_ref().map(QuantileSketch::count), Some(3));
    }

    #[test]
    fn merge_of_differently_configured_analyzers_fails() {
        let mut a = analyzer();
        let b = SummaryAnalyzer::new(vec![ColumnSummary::numeric("x", true, true, 1000)]);
        assert!(a.merge(b).is_err());
        let mut a = analyzer();
        let b = SummaryAnalyzer::new(vec![
            ColumnSummary::numeric("x", false, true, 1000),
            ColumnSummary::categorical("s", ColumnType::Utf8, true),
            ColumnSummary::categorical("s", ColumnType::Utf8, false),
        ]);
        let err = a.merge(b).unwrap_err();
        assert!(err.to_string().contains("cannot merge"), "{err}");
        let mut s = SpreadAnalyzer::new([("x".to_string(), 1.0)]);
        assert!(
            s.merge(SpreadAnalyzer::new([("x".to_string(), 2.0)]))
                .is_err()
        );
    }

    #[test]
    fn wrong_type_in_a_later_batch_is_reported() {
        let mut a = SummaryAnalyzer::new(vec![ColumnSummary::categorical(
            "s",
            ColumnType::Utf8,
            false,
        )]);
        let bools = RecordBatch::try_from_iter([(
            "s",
            Arc::new(BooleanArray::from(vec![true])) as ArrayRef,
        )])
        .unwrap();
        let err = a.update(&bools).unwrap_err();
        assert_eq!(err.to_string(), "column `s`: expected Utf8, found Boolean");
    }

    fn value() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            Just(Some(f64::NAN)),
            (-3i32..4).prop_map(|v| Some(f64::from(v) * 0.1)),
            (-1e9..1e9f64).prop_map(Some),
        ]
    }

    fn word() -> impl Strategy<Value = Option<&'static str>> {
        prop_oneof![
            Just(None),
            Just(Some("a")),
            Just(Some("b")),
            Just(Some("é"))
        ]
    }

    proptest! {
        #[test]
        fn split_and_merge_equals_single_pass(
            rows in proptest::collection::vec((value(), word()), 0..40),
            cuts in proptest::collection::vec(0usize..40, 0..4),
        ) {
            let (x, s): (Vec<_>, Vec<_>) = rows.iter().cloned().unzip();
            let whole = batch(&x, &s);
            let mut single = analyzer();
            single.update(&whole).unwrap();

            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(rows.len())).collect();
            cuts.push(0);
            cuts.push(rows.len());
            cuts.sort_unstable();
            let mut parts: Vec<SummaryAnalyzer> = cuts
                .windows(2)
                .map(|w| {
                    let mut a = analyzer();
                    a.update(&whole.slice(w[0], w[1] - w[0])).unwrap();
                    a
                })
                .collect();
            // Merge right to left: a different order than the data.
            let mut merged = parts.pop().unwrap();
            while let Some(part) = parts.pop() {
                merged.merge(part).unwrap();
            }
            prop_assert_eq!(
                serde_json::to_string(&merged.finish()).unwrap(),
                serde_json::to_string(&single.clone().finish()).unwrap()
            );

            let centre = 0.25;
            let mut spread = SpreadAnalyzer::new([("x".to_string(), centre)]);
            spread.update(&whole).unwrap();
            let mut left = SpreadAnalyzer::new([("x".to_string(), centre)]);
            let mid = rows.len() / 2;
            left.update(&whole.slice(0, mid)).unwrap();
            let mut right = SpreadAnalyzer::new([("x".to_string(), centre)]);
            right.update(&whole.slice(mid, rows.len() - mid)).unwrap();
            right.merge(left).unwrap();
            prop_assert_eq!(
                right.finish()[0].squares.value().to_bits(),
                spread.finish()[0].squares.value().to_bits()
            );
        }

        #[test]
        fn summary_serde_round_trip(rows in proptest::collection::vec((value(), word()), 0..20)) {
            let (x, s): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
            let mut a = analyzer();
            a.update(&batch(&x, &s)).unwrap();
            let json = serde_json::to_string(&a).unwrap();
            let back: SummaryAnalyzer = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, a);
        }
    }
}
