//! Train and evaluate a model with `mlrig-train` alone:
//!
//! ```text
//! cargo run -p mlrig-train --example train_evaluate
//! ```
//!
//! Fits a ridge regression of the median house value on the shipped
//! California housing sample (every column is numeric), holds out every fifth
//! row with a deterministic split, evaluates on it and applies a blessing gate.
//!
//! `mlrig-train` consumes feature matrices (`Features`); in an application
//! they come from `mlrig-features`. To stay on one crate, this example reads
//! the file with the Arrow project's CSV reader (`arrow-csv`, a
//! dev-dependency) and builds the matrix directly with the `ndarray`
//! re-exported by `mlrig-train`.

use std::error::Error;
use std::fs::File;
use std::sync::Arc;

use arrow_csv::ReaderBuilder;
use arrow_csv::reader::Format;
use mlrig_train::arrow_array::Array;
use mlrig_train::arrow_array::cast::AsArray;
use mlrig_train::arrow_array::types::Float64Type;
use mlrig_train::arrow_schema::{DataType, Field, Schema};
use regex::Regex;

use mlrig_train::ndarray::{Array1, Array2, Axis};
use mlrig_train::{
    BlessingThresholds, Dataset, Evaluation, Features, Fit, LinearRegressionParams, Model,
    ParamGuard, Predict, Predictions, RegressionTarget, SplitRule, evaluate_regressor,
};

const CALIFORNIA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/california_sample.csv"
);
const TARGET: &str = "MedHouseVal";

fn main() -> Result<(), Box<dyn Error>> {
    let NumericTable { names, x, y } = read_numeric_csv(CALIFORNIA, TARGET)?;

    // Row i is an eval row iff i % 5 == 4: the same rows on every run and machine.
    let rule = SplitRule::modulo(5, vec![4])?;
    let (train_rows, eval_rows): (Vec<usize>, Vec<usize>) =
        (0..y.len()).partition(|&i| !rule.is_eval(i as u64, None));
    let take = |rows: &[usize]| -> Result<(Features, RegressionTarget), Box<dyn Error>> {
        let features = Features::dense(names.clone(), x.select(Axis(0), rows))?;
        let target = RegressionTarget::new(TARGET, rows.iter().map(|&i| y[i]).collect())?;
        Ok((features, target))
    };
    let (x_train, y_train) = take(&train_rows)?;
    let (x_eval, y_eval) = take(&eval_rows)?;

    // Params → checked params → fitted model.
    let model = LinearRegressionParams::default()
        .with_l2_penalty(1.0)
        .check()?
        .fit(&Dataset::new(&x_train, &y_train)?)?;
    println!("ridge regression of {TARGET} on {} features:", names.len());
    for (name, coefficient) in names.iter().zip(model.coefficients()) {
        println!("  {name:>10} {coefficient:+.4}");
    }
    println!("  intercept  {:+.4}", model.intercept());
    let model = Model::from(model);

    // Evaluate on the held-out rows; bless only if R² reaches 0.5.
    let Predictions::Regression { values } = model.predict(&x_eval)? else {
        return Err("a regression model predicts values".into());
    };
    let metrics = evaluate_regressor(y_eval.values(), &values.to_vec())?;
    let evaluation = Evaluation::new(
        model.task(),
        metrics,
        train_rows.len() as u64,
        eval_rows.len() as u64,
        BlessingThresholds::default().with_min("r2", 0.5),
    )?;
    println!(
        "trained on {} rows, evaluated on {}:",
        evaluation.train_rows(),
        evaluation.eval_rows()
    );
    for (metric, value) in evaluation.metrics() {
        println!("  {metric} = {value:.4}");
    }
    println!("blessed: {}", evaluation.blessed());
    Ok(())
}

/// A CSV file whose cells are all numbers, split into features and target.
struct NumericTable {
    /// The feature columns' names.
    names: Vec<String>,
    /// One row per record, one column per feature.
    x: Array2<f64>,
    /// The target column.
    y: Vec<f64>,
}

/// Reads a CSV file whose cells are all numbers, with `target` as the target,
/// with the Arrow project's CSV reader (`arrow-csv`): every column is read as
/// `Float64` (a cell that is not a number is an error naming its line), and
/// an empty cell or `?` is missing, which this example refuses.
fn read_numeric_csv(path: &str, target: &str) -> Result<NumericTable, Box<dyn Error>> {
    let open = || File::open(path).map_err(|e| format!("{path}: {e}"));
    let format = Format::default()
        .with_header(true)
        .with_null_regex(Regex::new(r"^\??$")?);
    let (inferred, rows) = format.infer_schema(open()?, None)?;
    let all_float = inferred
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), DataType::Float64, true))
        .collect::<Vec<_>>();
    let batch = ReaderBuilder::new(Arc::new(Schema::new(all_float)))
        .with_format(format)
        .with_batch_size(rows.max(1))
        .build(open()?)?
        .next()
        .ok_or(format!("{path}: no rows"))??;
    let column = |name: &str| -> Result<Vec<f64>, Box<dyn Error>> {
        let values = batch
            .column_by_name(name)
            .ok_or(format!("{path}: no column `{name}`"))?
            .as_primitive::<Float64Type>();
        if values.null_count() > 0 {
            return Err(format!("{path}: column `{name}` has missing values").into());
        }
        Ok(values.values().to_vec())
    };
    let y = column(target)?;
    let names = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| name != target)
        .collect::<Vec<_>>();
    let mut x = Array2::zeros((y.len(), names.len()));
    for (j, name) in names.iter().enumerate() {
        x.column_mut(j).assign(&Array1::from(column(name)?));
    }
    Ok(NumericTable { names, x, y })
}
