//! The checks of one schema feature against its column: presence, value
//! counts, the column's type and the feature's domain (string values, int and
//! float ranges, NaN and infinities), accumulated batch by batch and turned
//! into [`Anomaly`]s by [`FeatureCheck::finish`].

use std::collections::{BTreeMap, HashSet};

use mlrig_core::arrow_array::{Array, ArrayRef};
use mlrig_core::arrow_schema::{DataType, SchemaRef};

use crate::ValidateError;
use crate::anomalies::{Anomalies, Anomaly, AnomalyKind};
use crate::column_values::{ColumnKind, ColumnValues, column_values};
use crate::schema::{Feature, FeaturePresence, FeatureType, Schema};

/// A count of affected rows with the first few row indices.
#[derive(Debug, Clone, Default)]
pub(super) struct Finding {
    pub(super) count: u64,
    pub(super) rows: Vec<u64>,
}

impl Finding {
    pub(super) fn record(&mut self, row: u64, max_rows: usize) {
        self.count += 1;
        if self.rows.len() < max_rows {
            self.rows.push(row);
        }
    }
}

#[derive(Debug)]
enum ValueRule {
    /// No value constraint (or a type TFDV does not check).
    Unchecked,
    /// The column type does not fit; value checks are skipped.
    TypeMismatch {
        found: DataType,
    },
    Strings {
        domain: HashSet<String>,
        domain_name: String,
        min_domain_mass: f64,
        unexpected: Finding,
        values: BTreeMap<String, u64>,
        more_values: bool,
    },
    Ints(RangeCheck<i64>),
    Floats {
        range: RangeCheck<f64>,
        disallow_nan: bool,
        disallow_inf: bool,
        nan: Finding,
        inf: Finding,
    },
}

/// A number type a [`RangeCheck`] can bound.
trait RangeValue: Copy + PartialOrd + std::fmt::Display {
    fn lesser(self, other: Self) -> Self;
    fn greater(self, other: Self) -> Self;
}

impl RangeValue for i64 {
    fn lesser(self, other: Self) -> Self {
        self.min(other)
    }
    fn greater(self, other: Self) -> Self {
        self.max(other)
    }
}

impl RangeValue for f64 {
    fn lesser(self, other: Self) -> Self {
        self.min(other)
    }
    fn greater(self, other: Self) -> Self {
        self.max(other)
    }
}

/// Values below `min` / above `max` of an int or float domain, with the extremes seen.
#[derive(Debug)]
struct RangeCheck<T> {
    min: Option<T>,
    max: Option<T>,
    small: Finding,
    smallest: Option<T>,
    big: Finding,
    biggest: Option<T>,
}

impl<T: RangeValue> RangeCheck<T> {
    fn new(min: Option<T>, max: Option<T>) -> Self {
        Self {
            min,
            max,
            small: Finding::default(),
            smallest: None,
            big: Finding::default(),
            biggest: None,
        }
    }

    fn check(&mut self, row: u64, x: T, max_rows: usize) {
        if self.min.is_some_and(|m| x < m) {
            self.small.record(row, max_rows);
            self.smallest = Some(self.smallest.map_or(x, |s| s.lesser(x)));
        }
        if self.max.is_some_and(|m| x > m) {
            self.big.record(row, max_rows);
            self.biggest = Some(self.biggest.map_or(x, |b| b.greater(x)));
        }
    }

    /// Pushes the `small_kind` / `big_kind` anomalies of feature `name`, if any.
    fn finish(
        self,
        name: &str,
        small_kind: AnomalyKind,
        big_kind: AnomalyKind,
        out: &mut Anomalies,
    ) {
        let sides = [
            (self.min, self.smallest, self.small, small_kind, "at least"),
            (self.max, self.biggest, self.big, big_kind, "at most"),
        ];
        for (bound, extreme, finding, kind, limit) in sides {
            if let (Some(bound), Some(extreme)) = (bound, extreme) {
                out.push(Anomaly::new(
                    name,
                    kind,
                    format!("{limit} {bound}"),
                    format!("{extreme}"),
                    finding.count,
                    finding.rows,
                ));
            }
        }
    }
}

/// What a feature's `valueCount` / `valueCounts` says about a column holding
/// one value per present example.
#[derive(Debug)]
enum ValueCountRule {
    /// Every present example has too few (`min > 1`) or too many (`max < 1`) values.
    Bounds(ValueCountBounds),
    /// `valueCounts` lists `levels` nesting levels; a column has one.
    Nestedness { levels: usize, present: Finding },
}

/// The `valueCount` bounds of a column holding one value per present example.
#[derive(Debug)]
struct ValueCountBounds {
    min: Option<i64>,
    max: Option<i64>,
    low: Finding,
    high: Finding,
}

impl ValueCountRule {
    /// The rule of `feature`, or `None` when no column can break it (bounds
    /// that admit one value: the inferred `valueCount {min: 1, max: 1}`).
    fn of(feature: &Feature) -> Option<Self> {
        let bounds = |v: &crate::schema::ValueCount| {
            let flags = v.min.is_some_and(|m| m > 1) || v.max.is_some_and(|m| m < 1);
            flags.then(|| {
                ValueCountRule::Bounds(ValueCountBounds {
                    min: v.min,
                    max: v.max,
                    low: Finding::default(),
                    high: Finding::default(),
                })
            })
        };
        if let Some(v) = &feature.value_count {
            return bounds(v);
        }
        match feature
            .value_counts
            .as_ref()
            .map(|l| l.value_count.as_slice())
        {
            None | Some([]) => None,
            Some([v]) => bounds(v),
            Some(levels) => Some(ValueCountRule::Nestedness {
                levels: levels.len(),
                present: Finding::default(),
            }),
        }
    }

    /// Records present row `row` (of one value).
    fn record(&mut self, row: u64, max_rows: usize, value_rows: usize) {
        match self {
            ValueCountRule::Bounds(bounds) => {
                if bounds.min.is_some_and(|m| m > 1) {
                    bounds.low.record(row, value_rows);
                }
                if bounds.max.is_some_and(|m| m < 1) {
                    bounds.high.record(row, value_rows);
                }
            }
            ValueCountRule::Nestedness { present, .. } => present.record(row, max_rows),
        }
    }

    fn finish(self, name: &str, out: &mut Anomalies) {
        match self {
            ValueCountRule::Bounds(bounds) => {
                let sides = [
                    (
                        bounds.min,
                        bounds.low,
                        AnomalyKind::FeatureTypeLowNumberValues,
                        "at least",
                        "fewer",
                    ),
                    (
                        bounds.max,
                        bounds.high,
                        AnomalyKind::FeatureTypeHighNumberValues,
                        "at most",
                        "more",
                    ),
                ];
                for (bound, finding, kind, limit, than) in sides {
                    let Some(bound) = bound.filter(|_| finding.count > 0) else {
                        continue;
                    };
                    let found = if finding.count == 1 {
                        "1 value in 1 example".to_string()
                    } else {
                        format!("1 value in each of {} examples", finding.count)
                    };
                    out.push(
                        Anomaly::new(
                            name,
                            kind,
                            format!("{limit} {bound} values per example"),
                            found,
                            finding.count,
                            finding.rows,
                        )
                        .with_description(format!(
                            "Some examples have {than} values than expected."
                        )),
                    );
                }
            }
            ValueCountRule::Nestedness { levels, present } if present.count > 0 => {
                out.push(
                    Anomaly::new(
                        name,
                        AnomalyKind::ValueNestednessMismatch,
                        format!("values nested {levels} levels deep (`value_counts` has {levels} entries)"),
                        "1 level (one value per example)",
                        present.count,
                        present.rows,
                    )
                    .with_description(
                        "The values have a different nest level than expected. \
                         Value counts will not be checked.",
                    ),
                );
            }
            ValueCountRule::Nestedness { .. } => {}
        }
    }
}

/// The checks of one schema feature, and what they found so far.
#[derive(Debug)]
pub(super) struct FeatureCheck {
    name: String,
    feature_type: FeatureType,
    /// The feature's column in the batches (`None`: the column is missing).
    pub(super) column: Option<usize>,
    presence: Option<FeaturePresence>,
    value_count: Option<ValueCountRule>,
    rule: ValueRule,
    present: u64,
    missing_rows: Vec<u64>,
    present_rows: Vec<u64>,
}

fn type_fits(feature_type: FeatureType, kind: ColumnKind) -> bool {
    match feature_type {
        FeatureType::TypeUnknown | FeatureType::Struct => true,
        FeatureType::Int => matches!(kind, ColumnKind::Int | ColumnKind::Bool),
        FeatureType::Float => kind == ColumnKind::Float,
        // BYTES is opaque: strings, and Arrow types mlrig does not interpret.
        FeatureType::Bytes => matches!(kind, ColumnKind::Str | ColumnKind::Other),
    }
}

fn describe_type(feature_type: FeatureType) -> &'static str {
    match feature_type {
        FeatureType::TypeUnknown => "any type",
        FeatureType::Int => "INT (an integer or boolean column)",
        FeatureType::Float => "FLOAT (a floating-point column)",
        FeatureType::Bytes => "BYTES (a string or opaque column)",
        FeatureType::Struct => "STRUCT",
    }
}

fn value_rule(
    schema: &Schema,
    feature: &Feature,
    kind: ColumnKind,
) -> Result<ValueRule, ValidateError> {
    let rule = match (feature.feature_type, kind) {
        (FeatureType::Bytes, ColumnKind::Str) => match schema.string_domain_of(feature)? {
            Some(domain) => ValueRule::Strings {
                domain: domain.value.iter().cloned().collect(),
                domain_name: domain.name.clone().unwrap_or_else(|| feature.name.clone()),
                min_domain_mass: feature
                    .distribution_constraints
                    .as_ref()
                    .and_then(|d| d.min_domain_mass)
                    .unwrap_or(1.0),
                unexpected: Finding::default(),
                values: BTreeMap::new(),
                more_values: false,
            },
            None => ValueRule::Unchecked,
        },
        (FeatureType::Int, _) => match schema.int_domain_of(feature) {
            Some(d) if d.min.is_some() || d.max.is_some() => {
                ValueRule::Ints(RangeCheck::new(d.min, d.max))
            }
            _ => ValueRule::Unchecked,
        },
        (FeatureType::Float, _) => match schema.float_domain_of(feature) {
            Some(d) => ValueRule::Floats {
                range: RangeCheck::new(d.min, d.max),
                disallow_nan: d.disallow_nan,
                disallow_inf: d.disallow_inf,
                nan: Finding::default(),
                inf: Finding::default(),
            },
            None => ValueRule::Unchecked,
        },
        _ => ValueRule::Unchecked,
    };
    Ok(rule)
}

impl FeatureCheck {
    /// The checks of `feature`, whose column in `batch_schema` is `column`.
    pub(super) fn new(
        schema: &Schema,
        feature: &Feature,
        batch_schema: &SchemaRef,
        column: Option<usize>,
    ) -> Result<Self, ValidateError> {
        let rule = match column {
            None => ValueRule::Unchecked,
            Some(i) => {
                let data_type = batch_schema.field(i).data_type();
                let kind = ColumnKind::of(data_type);
                if type_fits(feature.feature_type, kind) {
                    value_rule(schema, feature, kind)?
                } else {
                    ValueRule::TypeMismatch {
                        found: data_type.clone(),
                    }
                }
            }
        };
        Ok(FeatureCheck {
            name: feature.name.clone(),
            feature_type: feature.feature_type,
            column,
            presence: feature.presence.clone(),
            value_count: ValueCountRule::of(feature),
            rule,
            present: 0,
            missing_rows: Vec::new(),
            present_rows: Vec::new(),
        })
    }

    /// Checks one column of a batch whose first row is row `offset`;
    /// column-level findings keep `max_rows` rows, value findings
    /// `value_rows`.
    pub(super) fn update(
        &mut self,
        array: &ArrayRef,
        offset: u64,
        max_rows: usize,
        value_rows: usize,
        max_values: usize,
    ) {
        let len = array.len();
        let nulls = array.logical_null_count();
        self.present += (len - nulls) as u64;
        if nulls > 0 && self.missing_rows.len() < max_rows {
            let logical = array.logical_nulls();
            let missing = (0..len)
                .filter(|i| logical.as_ref().is_some_and(|n| n.is_null(*i)))
                .take(max_rows - self.missing_rows.len());
            self.missing_rows.extend(missing.map(|i| offset + i as u64));
        }
        if let Some(rule) = self.value_count.as_mut() {
            let logical = array.logical_nulls();
            for i in 0..len {
                if logical.as_ref().is_none_or(|n| n.is_valid(i)) {
                    rule.record(offset + i as u64, max_rows, value_rows);
                }
            }
        }
        if matches!(self.rule, ValueRule::TypeMismatch { .. }) && self.present_rows.len() < max_rows
        {
            let present = (0..len)
                .filter(|i| array.is_valid(*i))
                .take(max_rows - self.present_rows.len());
            self.present_rows.extend(present.map(|i| offset + i as u64));
        }
        let row = |i: usize| offset + i as u64;
        match (&mut self.rule, column_values(array)) {
            (
                ValueRule::Strings {
                    domain,
                    unexpected,
                    values: seen,
                    more_values,
                    ..
                },
                ColumnValues::Str(values),
            ) => {
                for (i, v) in values.iter().enumerate() {
                    let Some(v) = v else { continue };
                    if domain.contains(v) {
                        continue;
                    }
                    unexpected.record(row(i), value_rows);
                    if let Some(c) = seen.get_mut(v) {
                        *c += 1;
                    } else if seen.len() < max_values {
                        seen.insert(v.to_string(), 1);
                    } else {
                        *more_values = true;
                    }
                }
            }
            (ValueRule::Ints(range), values) => match values {
                ColumnValues::Int(values) => {
                    for (i, x) in values.iter().enumerate() {
                        if let Some(x) = x {
                            range.check(row(i), x, value_rows);
                        }
                    }
                }
                ColumnValues::Bool(values) => {
                    for (i, x) in values.iter().enumerate() {
                        if let Some(x) = x {
                            range.check(row(i), i64::from(x), value_rows);
                        }
                    }
                }
                _ => {}
            },
            (
                ValueRule::Floats {
                    range,
                    disallow_nan,
                    disallow_inf,
                    nan,
                    inf,
                },
                ColumnValues::Float(values),
            ) => {
                for (i, x) in values.iter().enumerate() {
                    let Some(x) = x else { continue };
                    if x.is_nan() {
                        if *disallow_nan {
                            nan.record(row(i), value_rows);
                        }
                        continue;
                    }
                    if x.is_infinite() && *disallow_inf {
                        inf.record(row(i), value_rows);
                    }
                    range.check(row(i), x, value_rows);
                }
            }
            _ => {}
        }
    }

    pub(super) fn finish(self, n: u64, max_rows: u64, out: &mut Anomalies) {
        let name = self.name;
        let required = self.presence.as_ref().is_some_and(|p| {
            p.min_count.is_some_and(|c| c > 0) || p.min_fraction.is_some_and(|f| f > 0.0)
        });
        if self.column.is_none() {
            if required {
                out.push(Anomaly::new(
                    name.clone(),
                    AnomalyKind::SchemaMissingColumn,
                    format!(
                        "a column `{name}` of type {}",
                        describe_type(self.feature_type)
                    ),
                    "no such column in the data",
                    n,
                    (0..n.min(max_rows)).collect(),
                ));
            }
            return;
        }
        let present = self.present;
        match self.rule {
            ValueRule::Unchecked => {}
            ValueRule::TypeMismatch { found } => out.push(Anomaly::new(
                name.clone(),
                AnomalyKind::UnexpectedDataType,
                describe_type(self.feature_type),
                format!("a {found} column"),
                present,
                self.present_rows,
            )),
            ValueRule::Strings {
                domain,
                domain_name,
                min_domain_mass,
                unexpected,
                values,
                more_values,
            } => {
                let fraction = fraction(unexpected.count, present);
                if unexpected.count > 0 && 1.0 - fraction < min_domain_mass {
                    let mut listed: Vec<String> =
                        values.iter().map(|(v, c)| format!("{v:?} ({c})")).collect();
                    if more_values {
                        listed.push("…".into());
                    }
                    let mass = if min_domain_mass < 1.0 {
                        format!(" for at least {} of values", percent(min_domain_mass))
                    } else {
                        String::new()
                    };
                    out.push(Anomaly::new(
                        name.clone(),
                        AnomalyKind::EnumTypeUnexpectedStringValues,
                        format!(
                            "values from domain `{domain_name}` ({} values){mass}",
                            domain.len()
                        ),
                        format!(
                            "{} of values outside it: {}",
                            percent(fraction),
                            listed.join(", ")
                        ),
                        unexpected.count,
                        unexpected.rows,
                    ));
                }
            }
            ValueRule::Ints(range) => range.finish(
                &name,
                AnomalyKind::IntTypeSmallInt,
                AnomalyKind::IntTypeBigInt,
                out,
            ),
            ValueRule::Floats {
                range, nan, inf, ..
            } => {
                range.finish(
                    &name,
                    AnomalyKind::FloatTypeSmallFloat,
                    AnomalyKind::FloatTypeBigFloat,
                    out,
                );
                let special = [
                    (nan, AnomalyKind::FloatTypeHasNan, "NaN"),
                    (inf, AnomalyKind::FloatTypeHasInf, "infinite"),
                ];
                for (finding, kind, values) in special {
                    if finding.count > 0 {
                        out.push(Anomaly::new(
                            name.clone(),
                            kind,
                            format!("no {values} values"),
                            format!("{} {values} values", finding.count),
                            finding.count,
                            finding.rows,
                        ));
                    }
                }
            }
        }
        if let Some(rule) = self.value_count {
            rule.finish(&name, out);
        }
        let Some(presence) = self.presence else {
            return;
        };
        let missing = n - present;
        let present_fraction = fraction(present, n);
        if let Some(min_fraction) = presence.min_fraction
            && present_fraction < min_fraction
        {
            out.push(Anomaly::new(
                name.clone(),
                AnomalyKind::FeatureTypeLowFractionPresent,
                format!("present in at least {} of examples", percent(min_fraction)),
                format!(
                    "present in {} ({present} of {n})",
                    percent(present_fraction)
                ),
                missing,
                self.missing_rows.clone(),
            ));
        }
        if let Some(min_count) = presence.min_count
            && (present as i128) < i128::from(min_count)
        {
            out.push(Anomaly::new(
                name,
                AnomalyKind::FeatureTypeLowNumberPresent,
                format!("present in at least {min_count} examples"),
                format!("present in {present} of {n}"),
                missing,
                self.missing_rows,
            ));
        }
    }
}

fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}
