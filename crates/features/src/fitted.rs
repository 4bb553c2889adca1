//! [`FittedFeaturePipeline`]: the fitted transforms, applied with one code
//! path to training batches and to the one-row batch of a serving request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{Field, Schema, SchemaRef};
use mlrig_core::{Artifact, Features, Transform, record_to_batch};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::FeaturesError;
use crate::MAX_OUTPUT_COLUMNS;
use crate::category_index::CategoryIndex;
use crate::fitted_column::{FittedColumn, FittedCross, FittedEncoding};
use crate::input_column::BatchInputs;
use crate::output_sink::{BLOCK_ROWS, OutputRows, OutputSink};
use crate::spec::OutputLayout;

/// The artifact body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PipelineBody {
    /// Rows of the training data.
    training_rows: u64,
    /// One name per output feature (derived from `columns`, kept for readers).
    output_names: Vec<String>,
    /// The fitted transforms, in output order.
    columns: Vec<FittedColumn>,
    /// The fitted crosses, output after the columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    crosses: Vec<FittedCross>,
    /// The output storage: `dense` or `sparse` (`auto` is resolved at fit).
    #[serde(default)]
    output: OutputLayout,
}

/// A fitted feature pipeline: Arrow record batches in, [`Features`] out.
///
/// Made by fitting [`FeaturePipelineValidParams`](crate::FeaturePipelineValidParams);
/// saved and loaded as an [`Artifact`] (kind `mlrig.features.pipeline`,
/// format version 3). [`transform`](Transform::transform) looks input columns
/// up by name, so batches may have extra columns (the target, dropped
/// columns) in any order. A serving record goes through
/// [`transform_record`](FittedFeaturePipeline::transform_record), which builds
/// a one-row batch with [`input_schema`](FittedFeaturePipeline::input_schema)
/// and runs the very same `transform`.
///
/// The output is dense or CSR as the spec's
/// [`OutputLayout`](crate::OutputLayout) says (`auto` is decided at fit, so
/// every batch, one-row serving batches included, has the same storage).
///
/// ```
/// use mlrig_core::{Fit, ParamGuard, Transform};
/// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
/// use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
/// use std::sync::Arc;
///
/// let batch = RecordBatch::try_from_iter([
///     ("x", Arc::new(Float64Array::from(vec![1.0, 3.0])) as ArrayRef),
///     ("c", Arc::new(StringArray::from(vec!["b", "a"])) as ArrayRef),
/// ])?;
/// let spec = FeatureSpec::new()
///     .with_column(ColumnSpec::standard_scale("x"))
///     .with_column(ColumnSpec::one_hot("c"));
/// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch.clone()])?;
/// assert_eq!(fitted.output_names(), ["x", "c=a", "c=b"]);
///
/// let features = fitted.transform(&batch)?;
/// assert_eq!(features.to_dense().row(0).to_vec(), [-1.0, 0.0, 1.0]);
///
/// let one = fitted.transform_record(&serde_json::json!({"x": 3.0, "c": "z"}))?;
/// assert_eq!(one.to_dense().row(0).to_vec(), [1.0, 0.0, 0.0]); // unknown category: zeros
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FittedFeaturePipeline {
    body: PipelineBody,
    input_schema: SchemaRef,
    /// For each of `body.columns`: its field in `input_schema`, and the
    /// index of its categories when it is one-hot encoded.
    column_inputs: Vec<(usize, Option<CategoryIndex>)>,
    /// For each of `body.crosses`: the fields of its two columns.
    cross_inputs: Vec<[usize; 2]>,
    /// Sparse entries a row usually has (sizes the sparse output buffer).
    entries_per_row: usize,
    /// `body.output_names`, shared with every `Features` made (no copy per call).
    shared_names: Arc<[String]>,
}

impl FittedFeaturePipeline {
    /// Assembles and validates a pipeline.
    pub(crate) fn new(
        columns: Vec<FittedColumn>,
        crosses: Vec<FittedCross>,
        output: OutputLayout,
        training_rows: u64,
    ) -> Result<Self, FeaturesError> {
        let output_names = derived_names(&columns, &crosses)?;
        Self::try_from(PipelineBody {
            training_rows,
            output_names,
            columns,
            crosses,
            output,
        })
    }

    /// The storage of the output: [`OutputLayout::Dense`] or
    /// [`OutputLayout::Sparse`] (never `Auto`, which is resolved at fit).
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard, Transform};
    /// # use mlrig_core::arrow_array::{ArrayRef, StringArray, RecordBatch};
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec, OutputLayout};
    /// # use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([
    ///     ("c", Arc::new(StringArray::from(vec!["a", "b", "c", "d"])) as ArrayRef),
    /// ])?;
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::one_hot("c")).with_output(OutputLayout::Auto);
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch.clone()])?;
    /// // One non-zero in four outputs: density 0.25 < 0.3, so CSR.
    /// assert_eq!(fitted.output_layout(), OutputLayout::Sparse);
    /// assert!(matches!(fitted.transform(&batch)?.matrix(), mlrig_core::FeatureMatrix::Sparse(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn output_layout(&self) -> OutputLayout {
        self.body.output
    }

    /// The fitted columns (crate-internal, for the checks).
    pub(crate) fn columns(&self) -> &[FittedColumn] {
        &self.body.columns
    }

    /// The schema of the columns the pipeline reads (all nullable, in spec
    /// order; no target, no dropped columns): what a server builds one-row
    /// batches with.
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard};
    /// # use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch};
    /// # use mlrig_core::arrow_schema::DataType;
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
    /// # use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([
    ///     ("age", Arc::new(Int64Array::from(vec![30, 40])) as ArrayRef),
    ///     ("y", Arc::new(Int64Array::from(vec![0, 1])) as ArrayRef),
    /// ])?;
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::passthrough("age"));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch])?;
    /// let schema = fitted.input_schema();
    /// assert_eq!(schema.fields().len(), 1);
    /// assert_eq!(schema.field(0).data_type(), &DataType::Int64);
    /// assert!(schema.field(0).is_nullable());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn input_schema(&self) -> SchemaRef {
        Arc::clone(&self.input_schema)
    }

    /// One readable name per output column: the input name for numeric
    /// and `ordinal` encodings, `name=category` for one-hot and vocabularies
    /// (`workclass=Private`, `color=__oov_0__`), `name_bucket[i]` (or
    /// `name_bucket` when ordinal), `name_hash[i]`, `name_year` …,
    /// `name_missing` for indicators, and `a_x_b[i]` for crosses.
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard};
    /// # use mlrig_core::arrow_array::{ArrayRef, BooleanArray, RecordBatch};
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
    /// # use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([
    ///     ("smoker", Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef),
    /// ])?;
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::one_hot("smoker"));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch])?;
    /// assert_eq!(fitted.output_names(), ["smoker=false", "smoker=true"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn output_names(&self) -> &[String] {
        &self.body.output_names
    }

    /// The outputs that hold category codes — those of `ordinal` encodings
    /// — in output order, each as `(output name, number of categories)`.
    ///
    /// An output with `n` categories holds `0.0, 1.0, …, n − 1` (the index
    /// in the sorted training categories) or NaN (missing or unknown); its
    /// name is the input column's. A model that splits on categories
    /// natively (gradient-boosted trees) treats these outputs as categorical
    /// and every other output as a number. Empty when no column is ordinal.
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard, Transform};
    /// # use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
    /// # use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([
    ///     ("age", Arc::new(Float64Array::from(vec![30.0, 40.0, 50.0])) as ArrayRef),
    ///     ("city", Arc::new(StringArray::from(vec![Some("Rome"), Some("Oslo"), None])) as ArrayRef),
    /// ])?;
    /// let spec = FeatureSpec::new()
    ///     .with_column(ColumnSpec::passthrough("age"))
    ///     .with_column(ColumnSpec::ordinal("city"));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch.clone()])?;
    /// assert_eq!(fitted.output_names(), ["age", "city"]);
    /// assert_eq!(fitted.categorical_outputs(), [("city".to_string(), 2)]);
    /// let codes = fitted.transform(&batch)?.to_dense().column(1).to_vec();
    /// assert_eq!(codes[..2], [1.0, 0.0]); // Oslo < Rome
    /// assert!(codes[2].is_nan());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn categorical_outputs(&self) -> Vec<(String, usize)> {
        // An ordinal column's single output is named as the column, and the
        // columns' outputs come in column order.
        self.body
            .columns
            .iter()
            .filter_map(|column| match &column.encode {
                FittedEncoding::Ordinal { categories } => {
                    Some((column.name.clone(), categories.len()))
                }
                _ => None,
            })
            .collect()
    }

    /// Number of rows the pipeline was fitted on.
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard};
    /// # use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
    /// # use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef)])?;
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::passthrough("x"));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch.clone(), batch])?;
    /// assert_eq!(fitted.training_rows(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn training_rows(&self) -> u64 {
        self.body.training_rows
    }

    /// Transforms one JSON record (a serving request): exactly
    /// [`record_to_batch`] with [`input_schema`](Self::input_schema), then
    /// [`transform`](Transform::transform). Field errors (unknown field, wrong
    /// JSON type) come from `record_to_batch` and satisfy
    /// [`FeaturesError::is_invalid_input`]; absent or null fields are missing
    /// values.
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard};
    /// # use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec, Imputation};
    /// # use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef)])?;
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::passthrough("x").with_impute(Imputation::Mean));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch])?;
    /// assert_eq!(fitted.transform_record(&serde_json::json!({}))?.to_dense()[[0, 0]], 1.5);
    /// let err = fitted.transform_record(&serde_json::json!({"x": "big"})).unwrap_err();
    /// assert!(err.is_invalid_input());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transform_record(&self, record: &serde_json::Value) -> Result<Features, FeaturesError> {
        let batch = record_to_batch(record, &self.input_schema)?;
        self.transform(&batch)
    }

    /// Transforms every batch — in parallel (rayon), each with
    /// [`transform`](Transform::transform)'s code — and stacks the rows in
    /// batch order into one [`Features`] of the pipeline's
    /// [`output_layout`](Self::output_layout): the same values, bit for bit,
    /// as transforming the batches one by one. On failure the error of the
    /// first failing batch is returned, with its row counted from the start
    /// of the first batch.
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard, Transform};
    /// # use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec, FeaturesError};
    /// # use std::sync::Arc;
    /// let batch = |v: Vec<f64>| RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as ArrayRef)]);
    /// let batches = [batch(vec![1.0, 2.0])?, batch(vec![3.0])?];
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::standard_scale("x"));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&batches)?;
    /// let all = fitted.transform_batches(&batches)?;
    /// assert_eq!(all.nrows(), 3);
    /// assert_eq!(all.to_dense().row(2), fitted.transform(&batches[1])?.to_dense().row(0));
    ///
    /// let bad = [batch(vec![1.0, 2.0])?, batch(vec![0.0, f64::INFINITY])?];
    /// let err = fitted.transform_batches(&bad).unwrap_err();
    /// assert!(matches!(err, FeaturesError::NonFiniteValue { row: 3, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transform_batches(&self, batches: &[RecordBatch]) -> Result<Features, FeaturesError> {
        let results: Vec<Result<OutputRows, FeaturesError>> = batches
            .par_iter()
            .map(|batch| self.transform_rows(batch))
            .collect();
        let mut parts = Vec::with_capacity(results.len());
        let mut rows_before = 0;
        for (batch, result) in batches.iter().zip(results) {
            parts.push(result.map_err(|e| e.with_row_offset(rows_before))?);
            rows_before += batch.num_rows();
        }
        let sparse = self.body.output == OutputLayout::Sparse;
        OutputRows::stack(parts, self.body.output_names.len(), sparse)
            .into_features(self.shared_names.clone())
    }

    /// The one transform routine: every column, then every cross, writes
    /// its outputs for the rows of `batch`, in blocks of [`BLOCK_ROWS`]
    /// rows (one block for a serving record).
    fn transform_rows(&self, batch: &RecordBatch) -> Result<OutputRows, FeaturesError> {
        let rows = batch.num_rows();
        let sparse = self.body.output == OutputLayout::Sparse;
        let width = self.body.output_names.len();
        let mut sink = OutputSink::new(rows, width, sparse, self.entries_per_row);
        if rows <= BLOCK_ROWS {
            self.write_block(batch, &mut sink, 0)?;
        } else {
            for start in (0..rows).step_by(BLOCK_ROWS) {
                let block = batch.slice(start, BLOCK_ROWS.min(rows - start));
                self.write_block(&block, &mut sink, start)
                    .map_err(|e| e.with_row_offset(start))?;
            }
        }
        Ok(sink.finish())
    }

    /// Writes every output of `block`, the rows of the batch from `start`.
    fn write_block(
        &self,
        block: &RecordBatch,
        sink: &mut OutputSink,
        start: usize,
    ) -> Result<(), FeaturesError> {
        sink.begin_rows(start, block.num_rows());
        let inputs = BatchInputs::resolve(block, &self.input_schema);
        let mut offset = 0;
        for (column, (input, index)) in self.body.columns.iter().zip(&self.column_inputs) {
            column.write(&inputs, *input, index.as_ref(), sink, offset)?;
            offset += column.width();
        }
        for (cross, input) in self.body.crosses.iter().zip(&self.cross_inputs) {
            cross.write(&inputs, *input, sink, offset)?;
            offset += cross.buckets as usize;
        }
        Ok(())
    }
}

impl TryFrom<PipelineBody> for FittedFeaturePipeline {
    type Error = FeaturesError;

    fn try_from(body: PipelineBody) -> Result<Self, FeaturesError> {
        let invalid = |reason: String| FeaturesError::InvalidArtifact { reason };
        let mut names = BTreeSet::new();
        // Input columns in first-use order, each with one type and index.
        let mut inputs: Vec<Field> = Vec::new();
        let mut types = BTreeMap::new();
        let mut add_input =
            |name: &str, input_type: crate::input_column::ColumnType| match types.get(name) {
                None => {
                    types.insert(name.to_string(), (input_type, inputs.len()));
                    inputs.push(Field::new(name, input_type.to_arrow(), true));
                    Ok(inputs.len() - 1)
                }
                Some((previous, _)) if *previous != input_type => Err(invalid(format!(
                    "column `{name}` is read as {previous:?} and as {input_type:?}"
                ))),
                Some((_, index)) => Ok(*index),
            };
        let mut column_inputs = Vec::with_capacity(body.columns.len());
        for column in &body.columns {
            column.validate().map_err(invalid)?;
            if !names.insert(column.name.as_str()) {
                return Err(invalid(format!("column `{}` appears twice", column.name)));
            }
            let input = add_input(&column.name, column.input_type)?;
            column_inputs.push((input, column.category_index()));
        }
        let mut crosses = BTreeSet::new();
        let mut cross_inputs = Vec::with_capacity(body.crosses.len());
        for cross in &body.crosses {
            cross.validate().map_err(invalid)?;
            if !crosses.insert(&cross.columns) {
                return Err(invalid(format!("cross `{}` appears twice", cross.prefix())));
            }
            let [a, b] = &cross.columns;
            let [a_type, b_type] = cross.input_types;
            cross_inputs.push([add_input(a, a_type)?, add_input(b, b_type)?]);
        }
        if body.output == OutputLayout::Auto {
            return Err(invalid("output must be dense or sparse".to_string()));
        }
        let derived = derived_names(&body.columns, &body.crosses)?;
        if derived != body.output_names {
            return Err(invalid(
                "output_names do not match the fitted columns".to_string(),
            ));
        }
        let mut unique = BTreeSet::new();
        if let Some(twice) = derived.iter().find(|n| !unique.insert(n.as_str())) {
            return Err(invalid(format!(
                "output name `{twice}` is produced twice; rename a column"
            )));
        }
        let entries_per_row = body
            .columns
            .iter()
            .map(|c| c.expected_nonzeros(1.0).ceil() as usize)
            .sum::<usize>()
            + body.crosses.len();
        Ok(Self {
            input_schema: Arc::new(Schema::new(inputs)),
            shared_names: body.output_names.clone().into(),
            body,
            column_inputs,
            cross_inputs,
            entries_per_row,
        })
    }
}

/// The output names of columns then crosses; more than
/// [`MAX_OUTPUT_COLUMNS`] is an error before any name is built (a few
/// bytes of spec must not cost gigabytes of names).
fn derived_names(
    columns: &[FittedColumn],
    crosses: &[FittedCross],
) -> Result<Vec<String>, FeaturesError> {
    let outputs = columns
        .iter()
        .map(FittedColumn::width)
        .chain(crosses.iter().map(|c| c.buckets as usize))
        .fold(0usize, usize::saturating_add);
    if outputs > MAX_OUTPUT_COLUMNS {
        return Err(FeaturesError::TooManyOutputs {
            outputs,
            max: MAX_OUTPUT_COLUMNS,
        });
    }
    Ok(columns
        .iter()
        .flat_map(FittedColumn::output_names)
        .chain(crosses.iter().flat_map(FittedCross::output_names))
        .collect())
}

impl Serialize for FittedFeaturePipeline {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.body.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FittedFeaturePipeline {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let body = PipelineBody::deserialize(deserializer)?;
        Self::try_from(body).map_err(serde::de::Error::custom)
    }
}

impl Artifact for FittedFeaturePipeline {
    const KIND: &'static str = "mlrig.features.pipeline";
    // Version 3: values computed with the `libm` crate (deterministic math, issue 8) may differ in the last bit from version 2 files.
    const FORMAT_VERSION: u32 = 3;
}

impl Transform for FittedFeaturePipeline {
    type Output = Features;
    type Error = FeaturesError;

    /// Transforms every row of `batch`: numeric inputs are read as `f64`
    /// (NaN and null are missing; ±∞ is an error naming the column and row),
    /// missing values are imputed when the spec says so, then each column is
    /// encoded into its output columns, then the crosses.
    fn transform(&self, batch: &RecordBatch) -> Result<Features, FeaturesError> {
        self.transform_rows(batch)?
            .into_features(self.shared_names.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnSpec, FeaturePipelineParams, FeatureSpec, Imputation};
    use mlrig_core::arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
    use mlrig_core::{Fit, ParamGuard};

    fn fit(spec: FeatureSpec, batch: &RecordBatch) -> Result<FittedFeaturePipeline, FeaturesError> {
        FeaturePipelineParams::new(spec)
            .check()?
            .fit(std::slice::from_ref(batch))
    }

    fn one(name: &str, array: ArrayRef) -> RecordBatch {
        RecordBatch::try_from_iter([(name, array)]).unwrap()
    }

    /// Float64 `x` = [1, 2] beside Utf8 `s` = ["p", "q"].
    fn x_and_s() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "x",
                Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
            ),
            ("s", Arc::new(StringArray::from(vec!["p", "q"])) as ArrayRef),
        ])
        .unwrap()
    }

    fn column(features: &Features, index: usize) -> Vec<f64> {
        features.to_dense().column(index).to_vec()
    }

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn standard_scale_uses_population_std() {
        let x = [1i64, 2, 3, 4, 10];
        let batch = one("x", Arc::new(Int64Array::from(x.to_vec())));
        let fitted = fit(
            FeatureSpec::new().with_column(ColumnSpec::standard_scale("x")),
            &batch,
        )
        .unwrap();
        // By hand: mean 20 / 5 = 4; squared deviations 9 + 4 + 1 + 0 + 36 = 50; var 50 / 5 = 10.
        let std = 10f64.sqrt();
        let expected: Vec<f64> = x.iter().map(|v| (*v as f64 - 4.0) / std).collect();
        let out = fitted.transform(&batch).unwrap();
        assert_eq!(bits(&column(&out, 0)), bits(&expected));
        assert_eq!(out.names(), ["x"]);
    }

    #[test]
    fn standard_scale_without_impute_skips_and_keeps_missing() {
        let batch = one(
            "x",
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                None,
                Some(f64::NAN),
                Some(3.0),
            ])),
        );
        let fitted = fit(
            FeatureSpec::new().with_column(ColumnSpec::standard_scale("x")),
            &batch,
        )
        .unwrap();
        let out = column(&fitted.transform(&batch).unwrap(), 0);
        // mean 2, std 1 over the two observed values.
        assert_eq!(out[0], -1.0);
        assert!(out[1].is_nan() && out[2].is_nan());
        assert_eq!(out[3], 1.0);
    }

    #[test]
    fn scaler_sees_the_imputed_column() {
        let batch = one(
            "x",
            Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
        );
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::standard_scale("x").with_impute(Imputation::Mean));
        let out = column(&fit(spec, &batch).unwrap().transform(&batch).unwrap(), 0);
        // Imputed column [1, 2, 3]: mean 2, var (1 + 0 + 1) / 3.
        let std = (2.0f64 / 3.0).sqrt();
        assert_eq!(bits(&out), bits(&[-1.0 / std, 0.0, 1.0 / std]));

        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::standard_scale("x").with_impute(Imputation::MostFrequent));
        let out = column(&fit(spec, &batch).unwrap().transform(&batch).unwrap(), 0);
        // Tie between 1 and 3 → 1. Imputed [1, 1, 3]: mean 5/3, var (4/9 + 4/9 + 16/9) / 3 = 8/9.
        let (mean, std) = (5.0f64 / 3.0, (8.0f64 / 9.0).sqrt());
        let expected = [(1.0 - mean) / std, (1.0 - mean) / std, (3.0 - mean) / std];
        for (got, want) in out.iter().zip(expected) {
            assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        }
    }

    #[test]
    fn constant_column_gets_scale_one_and_exact_mean() {
        let batch = one("x", Arc::new(Float64Array::from(vec![0.1; 3])));
        let fitted = fit(
            FeatureSpec::new().with_column(ColumnSpec::standard_scale("x")),
            &batch,
        )
        .unwrap();
        assert_eq!(column(&fitted.transform(&batch).unwrap(), 0), [0.0; 3]);
        let json = serde_json::to_value(&fitted).unwrap();
        assert_eq!(json["columns"][0]["encode"]["standard_scale"]["mean"], 0.1);
        assert_eq!(json["columns"][0]["encode"]["standard_scale"]["scale"], 1.0);
    }

    #[test]
    fn large_offset_keeps_the_spread() {
        let batch = one(
            "x",
            Arc::new(Float64Array::from(vec![1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0])),
        );
        let fitted = fit(
            FeatureSpec::new().with_column(ColumnSpec::standard_scale("x")),
            &batch,
        )
        .unwrap();
        let std = (2.0f64 / 3.0).sqrt();
        assert_eq!(
            bits(&column(&fitted.transform(&batch).unwrap(), 0)),
            bits(&[-1.0 / std, 0.0, 1.0 / std])
        );
    }

    #[test]
    fn most_frequent_ties_go_to_the_smallest_value() {
        let text = one(
            "s",
            Arc::new(StringArray::from(vec![
                Some("b"),
                Some("a"),
                Some("b"),
                Some("a"),
                Some("c"),
                None,
            ])),
        );
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::one_hot("s").with_impute(Imputation::MostFrequent));
        let out = fit(spec, &text).unwrap().transform(&text).unwrap();
        assert_eq!(out.names(), ["s=a", "s=b", "s=c"]);
        assert_eq!(out.to_dense().row(5).to_vec(), [1.0, 0.0, 0.0]);

        let ints = one(
            "n",
            Arc::new(Int64Array::from(vec![
                Some(3),
                Some(1),
                None,
                Some(3),
                Some(1),
            ])),
        );
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("n").with_impute(Imputation::MostFrequent));
        assert_eq!(
            column(&fit(spec, &ints).unwrap().transform(&ints).unwrap(), 0)[2],
            1.0
        );

        let floats = one(
            "f",
            Arc::new(Float64Array::from(vec![
                2.5,
                -1.0,
                f64::NAN,
                2.5,
                -1.0,
                7.0,
            ])),
        );
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("f").with_impute(Imputation::MostFrequent));
        assert_eq!(
            column(&fit(spec, &floats).unwrap().transform(&floats).unwrap(), 0)[2],
            -1.0
        );

        let bools = one(
            "b",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        );
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::one_hot("b").with_impute(Imputation::MostFrequent));
        let out = fit(spec, &bools).unwrap().transform(&bools).unwrap();
        assert_eq!(out.names(), ["b=false", "b=true"]);
        assert_eq!(out.to_dense().row(1).to_vec(), [1.0, 0.0]);
    }

    #[test]
    fn mean_imputation_and_passthrough_cast() {
        let batch = one(
            "n",
            Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(2),
                Some(i64::MAX),
            ])),
        );
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("n").with_impute(Imputation::Mean));
        let out = column(&fit(spec, &batch).unwrap().transform(&batch).unwrap(), 0);
        let mean = (1.0 + 2.0 + i64::MAX as f64) / 3.0;
        assert_eq!(bits(&out), bits(&[1.0, mean, 2.0, i64::MAX as f64]));

        let spec = FeatureSpec::new().with_column(ColumnSpec::passthrough("n"));
        let out = column(&fit(spec, &batch).unwrap().transform(&batch).unwrap(), 0);
        assert!(out[1].is_nan());
    }

    #[test]
    fn one_hot_layout_unknown_and_missing() {
        let train = RecordBatch::try_from_iter([
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(2), Some(-1), None, Some(2)])) as ArrayRef,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec!["red", "blue", "red", "green"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::one_hot("s"))
            .with_column(ColumnSpec::one_hot("n"));
        let fitted = fit(spec, &train).unwrap();
        assert_eq!(
            fitted.output_names(),
            ["s=blue", "s=green", "s=red", "n=-1", "n=2"]
        );
        let test = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec![Some("green"), Some("purple"), None])) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(-1), Some(7), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        let out = fitted.transform(&test).unwrap().to_dense();
        assert_eq!(out.row(0).to_vec(), [0.0, 1.0, 0.0, 1.0, 0.0]);
        assert_eq!(out.row(1).to_vec(), [0.0; 5]);
        assert_eq!(out.row(2).to_vec(), [0.0; 5]);
    }

    #[test]
    fn ordinal_codes_unknown_and_missing() {
        let train = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec![
                    Some("red"),
                    Some("blue"),
                    None,
                    Some("green"),
                ])) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(2), Some(-1), None, Some(2)])) as ArrayRef,
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    None,
                    Some(false),
                    None,
                ])) as ArrayRef,
            ),
        ])
        .unwrap();
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::ordinal("s").with_missing_indicator())
            .with_column(ColumnSpec::ordinal("n"))
            .with_column(ColumnSpec::ordinal("b"));
        let fitted = fit(spec, &train).unwrap();
        assert_eq!(fitted.output_names(), ["s", "s_missing", "n", "b"]);
        assert_eq!(
            fitted.categorical_outputs(),
            [("s".into(), 3), ("n".into(), 2), ("b".into(), 2)]
        );
        let out = fitted.transform(&train).unwrap().to_dense();
        // Sorted categories: blue < green < red; -1 < 2; false < true.
        assert_eq!(out.column(0).to_vec()[..2], [2.0, 0.0]);
        assert!(out[[2, 0]].is_nan());
        assert_eq!(out[[3, 0]], 1.0);
        assert_eq!(out.column(1).to_vec(), [0.0, 0.0, 1.0, 0.0]);
        assert_eq!(bits(&out.column(2).to_vec())[..2], bits(&[1.0, 0.0]));
        assert!(out[[2, 2]].is_nan());
        assert_eq!(out[[0, 3]], 1.0);
        assert!(out[[1, 3]].is_nan());

        let test = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec![Some("purple"), Some("green"), None])) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(7), None, Some(-1)])) as ArrayRef,
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![Some(false), Some(true), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        let out = fitted.transform(&test).unwrap().to_dense();
        assert!(out[[0, 0]].is_nan() && out[[0, 2]].is_nan(), "{out}");
        assert_eq!(out[[0, 1]], 0.0, "an unknown value is not missing");
        assert_eq!(out.row(1).to_vec()[..2], [1.0, 0.0]);
        assert!(out[[1, 2]].is_nan());
        assert_eq!(out[[2, 2]], 0.0);
        assert_eq!(out[[1, 3]], 1.0);

        // Sparse storage keeps NaN codes and drops the zero codes.
        let json = serde_json::to_value(&fitted).unwrap();
        assert_eq!(
            json["columns"][0]["encode"],
            serde_json::json!({"ordinal": {"categories": ["blue", "green", "red"]}})
        );
        let mut sparse_json = json.clone();
        sparse_json["output"] = serde_json::json!("sparse");
        let sparse: FittedFeaturePipeline = serde_json::from_value(sparse_json).unwrap();
        let stored = sparse.transform(&test).unwrap();
        assert!(matches!(
            stored.matrix(),
            mlrig_core::FeatureMatrix::Sparse(_)
        ));
        assert_eq!(
            bits(stored.to_dense().as_slice().unwrap()),
            bits(out.as_slice().unwrap())
        );
    }

    #[test]
    fn ordinal_codes_imputed_values_like_any_other() {
        let batch = one(
            "s",
            Arc::new(StringArray::from(vec![
                Some("b"),
                None,
                Some("a"),
                Some("b"),
            ])),
        );
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::ordinal("s").with_impute(Imputation::MostFrequent));
        let fitted = fit(spec, &batch).unwrap();
        assert_eq!(
            column(&fitted.transform(&batch).unwrap(), 0),
            [1.0, 1.0, 0.0, 1.0]
        );
        assert!(fitted.check(std::slice::from_ref(&batch)).unwrap().is_ok());

        let seen = crate::ConstantValue::Text("a".into());
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::ordinal("s").with_impute(Imputation::Constant(seen)));
        let out = column(&fit(spec, &batch).unwrap().transform(&batch).unwrap(), 0);
        assert_eq!(out, [1.0, 0.0, 0.0, 1.0]);

        // A fill value not seen in training is unknown (as it is all zeros
        // for one_hot); the NaN-after-imputation check does not apply.
        let unseen = crate::ConstantValue::Text("zz".into());
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::ordinal("s").with_impute(Imputation::Constant(unseen)));
        let fitted = fit(spec, &batch).unwrap();
        assert!(column(&fitted.transform(&batch).unwrap(), 0)[1].is_nan());
        assert!(fitted.check(std::slice::from_ref(&batch)).unwrap().is_ok());
    }

    #[test]
    fn categorical_outputs_skip_other_encodings() {
        let fitted = fit(
            FeatureSpec::new()
                .with_column(ColumnSpec::standard_scale("x"))
                .with_column(ColumnSpec::one_hot("s")),
            &x_and_s(),
        )
        .unwrap();
        assert!(fitted.categorical_outputs().is_empty());
        let fitted = fit(
            FeatureSpec::new()
                .with_column(ColumnSpec::one_hot("s").with_missing_indicator())
                .with_column(ColumnSpec::ordinal("s2")),
            &RecordBatch::try_from_iter([
                ("s", Arc::new(StringArray::from(vec!["p", "q"])) as ArrayRef),
                (
                    "s2",
                    Arc::new(StringArray::from(vec!["p", "p"])) as ArrayRef,
                ),
            ])
            .unwrap(),
        )
        .unwrap();
        assert_eq!(fitted.output_names(), ["s=p", "s=q", "s_missing", "s2"]);
        assert_eq!(fitted.categorical_outputs(), [("s2".into(), 1)]);
    }

    #[test]
    fn drop_reads_nothing_but_must_exist_at_fit() {
        let batch = RecordBatch::try_from_iter([
            (
                "x",
                Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
            ),
            (
                "id",
                Arc::new(Float64Array::from(vec![f64::INFINITY, 0.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::drop("id"))
            .with_column(ColumnSpec::passthrough("x"));
        let fitted = fit(spec, &batch).unwrap();
        assert_eq!(fitted.output_names(), ["x"]);
        assert_eq!(fitted.input_schema().fields().len(), 1);
        let without_id = batch.project(&[0]).unwrap();
        assert_eq!(
            fitted.transform(&without_id).unwrap(),
            fitted.transform(&batch).unwrap()
        );

        let typo = FeatureSpec::new()
            .with_column(ColumnSpec::drop("idd"))
            .with_column(ColumnSpec::passthrough("x"));
        let err = fit(typo, &batch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `idd` is not in the input; it has: x, id"
        );
    }

    #[test]
    fn extra_columns_and_any_order() {
        let train = x_and_s();
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::one_hot("s"))
            .with_column(ColumnSpec::standard_scale("x"));
        let fitted = fit(spec, &train).unwrap();
        let shuffled = RecordBatch::try_from_iter([
            (
                "target",
                Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef,
            ),
            ("s", Arc::new(StringArray::from(vec!["p", "q"])) as ArrayRef),
            ("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ])
        .unwrap();
        assert_eq!(
            fitted.transform(&shuffled).unwrap(),
            fitted.transform(&train).unwrap()
        );
        let names: Vec<_> = fitted
            .input_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["s", "x"]);
    }

    #[test]
    fn errors_name_column_and_types() {
        let train = x_and_s();
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::standard_scale("x"))
            .with_column(ColumnSpec::one_hot("s"));
        let fitted = fit(spec, &train).unwrap();

        let err = fitted.transform(&train.project(&[1]).unwrap()).unwrap_err();
        assert_eq!(err.to_string(), "column `x` is not in the input; it has: s");
        assert!(err.is_invalid_input());

        let wrong = RecordBatch::try_from_iter([
            ("x", Arc::new(StringArray::from(vec!["1"])) as ArrayRef),
            ("s", Arc::new(StringArray::from(vec!["p"])) as ArrayRef),
        ])
        .unwrap();
        assert_eq!(
            fitted.transform(&wrong).unwrap_err().to_string(),
            "column `x`: expected Int64 or Float64, found Utf8"
        );
        let wrong = RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
            ("s", Arc::new(BooleanArray::from(vec![true])) as ArrayRef),
        ])
        .unwrap();
        assert_eq!(
            fitted.transform(&wrong).unwrap_err().to_string(),
            "column `s`: expected Utf8, found Boolean"
        );
        let infinite = RecordBatch::try_from_iter([
            (
                "x",
                Arc::new(Float64Array::from(vec![1.0, f64::INFINITY])) as ArrayRef,
            ),
            ("s", Arc::new(StringArray::from(vec!["p", "q"])) as ArrayRef),
        ])
        .unwrap();
        let err = fitted.transform(&infinite).unwrap_err();
        assert!(
            matches!(&err, FeaturesError::NonFiniteValue { column, row: 1, .. } if column == "x")
        );
        let err = fit(
            FeatureSpec::new().with_column(ColumnSpec::passthrough("x")),
            &infinite,
        )
        .unwrap_err();
        assert!(matches!(err, FeaturesError::NonFiniteValue { .. }), "{err}");

        let err = fit(
            FeatureSpec::new().with_column(ColumnSpec::one_hot("x")),
            &train,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `x`: expected Utf8, Boolean or Int64 (for one_hot), found Float64"
        );
        let err = fit(
            FeatureSpec::new().with_column(ColumnSpec::passthrough("s")),
            &train,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `s`: expected Int64 or Float64 (for passthrough), found Utf8"
        );
        let err = FeaturePipelineParams::new(
            FeatureSpec::new().with_column(ColumnSpec::passthrough("x")),
        )
        .check()
        .unwrap()
        .fit(&[])
        .unwrap_err();
        assert!(matches!(err, FeaturesError::NoTrainingData));

        let empty = one(
            "x",
            Arc::new(Float64Array::from(vec![None, Some(f64::NAN)])),
        );
        for spec in [
            ColumnSpec::standard_scale("x"),
            ColumnSpec::passthrough("x").with_impute(Imputation::Mean),
            ColumnSpec::passthrough("x").with_impute(Imputation::MostFrequent),
        ] {
            let err = fit(FeatureSpec::new().with_column(spec), &empty).unwrap_err();
            assert!(
                matches!(err, FeaturesError::NoTrainingValues { .. }),
                "{err}"
            );
            assert!(
                err.to_string()
                    .starts_with("column `x` has no non-missing value"),
                "{err}"
            );
        }
        // One-hot of an all-missing column: no categories, no outputs.
        let nulls = one("s", Arc::new(StringArray::from(vec![None::<&str>])));
        let fitted = fit(
            FeatureSpec::new().with_column(ColumnSpec::one_hot("s")),
            &nulls,
        )
        .unwrap();
        assert_eq!(fitted.transform(&nulls).unwrap().ncols(), 0);

        let huge = one("x", Arc::new(Float64Array::from(vec![f64::MAX, -f64::MAX])));
        let err = fit(
            FeatureSpec::new().with_column(ColumnSpec::standard_scale("x")),
            &huge,
        )
        .unwrap_err();
        assert!(
            matches!(err, FeaturesError::NonFiniteStatistic { .. }),
            "{err}"
        );
    }

    #[test]
    fn core_errors_keep_invalid_input() {
        let batch = one("x", Arc::new(Float64Array::from(vec![1.0, 2.0])));
        let fitted = fit(
            FeatureSpec::new().with_column(ColumnSpec::passthrough("x")),
            &batch,
        )
        .unwrap();
        let err = fitted
            .transform_record(&serde_json::json!({"x": 1, "y": 2}))
            .unwrap_err();
        assert!(err.is_invalid_input());
        assert_eq!(err.to_string(), "unknown field `y`; expected one of: x");
        let core: mlrig_core::Error = err.into();
        assert!(core.is_invalid_input());
    }
}
