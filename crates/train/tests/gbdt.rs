//! Gradient-boosted trees: the same bytes for any thread count, batch ==
//! row by row, serde round trip, warm start, and no panic on odd inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mlrig_core::ndarray::{Array2, Axis};
use mlrig_core::{Artifact, Features, Fit, ParamGuard, Predict, Predictions};
use mlrig_train::{
    ClassTarget, Dataset, EarlyStopping, GbdtLoss, GradientBoosting, GradientBoostingParams, Model,
    RegressionTarget,
};
use proptest::prelude::*;

/// 600 rows: `x0` numeric with missing values, `x1` a 40-level category
/// code, `x2` noise; the class depends on all of them.
fn synthetic(classes: usize) -> (Features, ClassTarget) {
    synthetic_rows(600, classes)
}

fn synthetic_rows(n: usize, classes: usize) -> (Features, ClassTarget) {
    let x = Array2::from_shape_fn((n, 3), |(i, j)| {
        let u = ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0;
        match j {
            0 if i % 13 == 0 => f64::NAN,
            0 => u * 10.0,
            1 => ((i * 31) % 40) as f64,
            _ => u,
        }
    });
    let labels: Vec<String> = x
        .rows()
        .into_iter()
        .map(|r| {
            let score = if r[0].is_nan() { 7.0 } else { r[0] } + (r[1] % 7.0) * 0.8 + r[2];
            format!("c{}", (score as usize / 4) % classes)
        })
        .collect();
    let features = Features::dense(vec!["x0".into(), "x1".into(), "x2".into()], x).unwrap();
    (features, ClassTarget::from_labels("y", labels))
}

fn params() -> GradientBoostingParams {
    GradientBoostingParams::default()
        .with_rounds(15)
        .with_max_leaves(8)
        .with_min_samples_leaf(5)
        .with_categorical(vec!["x1".into()])
}

fn fit_with_threads(threads: usize, params: &GradientBoostingParams, classes: usize) -> String {
    fit_rows_with_threads(600, threads, params, classes)
}

fn fit_rows_with_threads(
    rows: usize,
    threads: usize,
    params: &GradientBoostingParams,
    classes: usize,
) -> String {
    let (x, y) = synthetic_rows(rows, classes);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let model = pool.install(|| {
        params
            .clone()
            .check()
            .unwrap()
            .fit(&Dataset::new(&x, &y).unwrap())
    });
    serde_json::to_string(&model.unwrap()).unwrap()
}

#[test]
fn models_have_the_same_bytes_for_one_and_two_threads() {
    let subsampled = params()
        .with_subsample(0.7, 0.67)
        .with_early_stopping(EarlyStopping::default())
        .with_seed(11);
    for (p, classes) in [(params(), 2), (params(), 3), (subsampled, 3)] {
        let one = fit_with_threads(1, &p, classes);
        let two = fit_with_threads(2, &p, classes);
        assert!(one == two, "threads changed the model ({classes} classes)");
    }
}

/// 70,000 rows take the parallel paths (partitions and gradient gathers
/// in blocks, leaf values added by row blocks, sampled bin bounds).
#[test]
fn models_have_the_same_bytes_on_large_data_for_one_two_and_three_threads() {
    let mut p = params().with_rounds(4).with_max_leaves(6);
    p.bin_sample_rows = 0;
    assert!(p.clone().check().is_err(), "an empty bin sample is refused");
    p.bin_sample_rows = 9_000;
    let one = fit_rows_with_threads(70_000, 1, &p, 2);
    assert!(one == fit_rows_with_threads(70_000, 2, &p, 2));
    assert!(one == fit_rows_with_threads(70_000, 3, &p, 2));
}

/// An infallible part.
fn ok(part: Features) -> Result<Features, mlrig_train::TrainError> {
    Ok(part)
}

/// Rows `range` of a synthetic matrix, as their own `Features`.
fn rows_of(x: &Features, range: std::ops::Range<usize>) -> Features {
    let dense = x.to_dense();
    let part = Array2::from_shape_fn((range.len(), dense.ncols()), |(i, j)| {
        dense[[range.start + i, j]]
    });
    Features::dense(x.names().to_vec(), part).unwrap()
}

#[test]
fn parts_fit_the_model_the_stacked_matrix_fits() {
    let (x, y) = synthetic_rows(3_000, 3);
    let mut p = params()
        .with_subsample(0.8, 1.0)
        .with_early_stopping(EarlyStopping::default());
    p.bin_sample_rows = 700;
    let checked = p.check().unwrap();
    let whole = checked.fit(&Dataset::new(&x, &y).unwrap()).unwrap();
    for cuts in [
        vec![0, 3_000],
        vec![0, 1, 1_000, 2_999, 3_000],
        vec![0, 1_500, 1_500, 3_000],
    ] {
        let parts = || cuts.windows(2).map(|w| ok(rows_of(&x, w[0]..w[1])));
        let streamed = checked.fit_parts(parts, &y, None).unwrap();
        assert!(streamed == whole, "cuts {cuts:?} changed the model");
    }
}

#[test]
fn parts_that_disagree_are_errors_naming_the_problem() {
    let (x, y) = synthetic_rows(200, 2);
    let checked = params().check().unwrap();
    let renamed = Features::dense(
        vec!["x0".into(), "x1".into(), "other".into()],
        rows_of(&x, 100..200).to_dense(),
    )
    .unwrap();
    let e = checked
        .fit_parts(|| [ok(rows_of(&x, 0..100)), ok(renamed.clone())], &y, None)
        .unwrap_err();
    assert!(
        e.to_string().contains("row 100") && e.to_string().contains("other"),
        "{e}"
    );
    let e = checked
        .fit_parts(|| [ok(rows_of(&x, 0..150))], &y, None)
        .unwrap_err();
    assert!(
        e.to_string().contains("200") && e.to_string().contains("150"),
        "{e}"
    );
    let mut broken = rows_of(&x, 100..200).to_dense();
    broken[[7, 2]] = f64::INFINITY;
    let broken = Features::dense(x.names().to_vec(), broken).unwrap();
    let e = checked
        .fit_parts(|| [ok(rows_of(&x, 0..100)), ok(broken.clone())], &y, None)
        .unwrap_err();
    assert!(
        e.to_string().contains("107"),
        "the global row is named: {e}"
    );
    let e = checked
        .fit_parts(|| [ok(rows_of(&x, 0..200))], &y, Some(&[1.0; 3]))
        .unwrap_err();
    assert!(e.to_string().contains("weights"), "{e}");
    let mut weights = vec![1.0; 200];
    weights[9] = -1.0;
    let e = checked
        .fit_parts(|| [ok(rows_of(&x, 0..200))], &y, Some(&weights))
        .unwrap_err();
    assert!(
        e.to_string().contains("weights") && e.to_string().contains('9'),
        "{e}"
    );
}

#[test]
fn native_categories_missing_values_and_a_thousand_levels_train_and_predict() {
    let n = 20_000;
    // A 1,000-level category (20 rows each) whose code decides the class,
    // and a numeric column missing in every fifth row.
    let x = Array2::from_shape_fn((n, 2), |(i, j)| match j {
        0 => ((i * 37) % 1000) as f64,
        _ if i % 5 == 0 => f64::NAN,
        _ => (i % 17) as f64,
    });
    let labels: Vec<&str> = (0..n)
        .map(|i| {
            if ((i * 37) % 1000) % 10 < 3 {
                "odd"
            } else {
                "even"
            }
        })
        .collect();
    let x = Features::dense(vec!["city".into(), "v".into()], x).unwrap();
    let y = ClassTarget::from_labels("y", labels);
    let model = GradientBoostingParams::default()
        .with_rounds(50)
        .with_categorical(vec!["city".into()])
        .check()
        .unwrap()
        .fit(&Dataset::new(&x, &y).unwrap())
        .unwrap();
    let Predictions::Classification { probabilities, .. } = model.predict(&x).unwrap() else {
        panic!("a classifier")
    };
    let correct = (0..n)
        .filter(|&i| (probabilities[[i, 1]] > 0.5) == (((i * 37) % 1000) % 10 < 3))
        .count();
    assert!(correct as f64 / n as f64 > 0.9, "{correct} of {n}");
    assert!(
        model
            .trees()
            .iter()
            .flat_map(|t| &t.nodes)
            .any(|node| matches!(node.condition, mlrig_train::Condition::OneOf(_)))
    );
    let importance = model.importances();
    assert!(importance[0].gain > importance[1].gain);
}

#[test]
fn a_row_alone_predicts_what_it_predicts_in_the_batch_and_survives_save_and_load() {
    let (x, y) = synthetic(3);
    let model = params()
        .check()
        .unwrap()
        .fit(&Dataset::new(&x, &y).unwrap())
        .unwrap();
    let batch = model.predict(&x).unwrap();
    for row in [0, 13, 599] {
        let one = x.to_dense().select(Axis(0), &[row]);
        let one = Features::dense(x.names().to_vec(), one).unwrap();
        let Predictions::Classification { probabilities, .. } = model.predict(&one).unwrap() else {
            panic!()
        };
        let Predictions::Classification {
            probabilities: all, ..
        } = &batch
        else {
            panic!()
        };
        assert_eq!(probabilities.row(0), all.row(row));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    let model = Model::from(model);
    model.save(&path, &[]).unwrap();
    let loaded = Model::load(&path).unwrap().value;
    assert_eq!(loaded, model);
    assert_eq!(loaded.predict(&x).unwrap(), batch);
    // The sparse layout of the same matrix predicts the same.
    assert_eq!(model.predict(&x.to_sparse_features()).unwrap(), batch);
}

#[test]
fn warm_start_adds_rounds_and_lowers_the_training_error() {
    let x = Array2::from_shape_fn((300, 2), |(i, j)| ((i * (j + 3)) % 101) as f64);
    let y: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| r[0] * r[0] / 50.0 - r[1])
        .collect();
    let x = Features::dense(vec!["a".into(), "b".into()], x).unwrap();
    let target = RegressionTarget::new("y", y.clone()).unwrap();
    let data = Dataset::new(&x, &target).unwrap();
    let mut model = GradientBoostingParams::default()
        .with_rounds(10)
        .check()
        .unwrap()
        .fit(&data)
        .unwrap();
    let error = |m: &GradientBoosting| {
        let Predictions::Regression { values } = m.predict(&x).unwrap() else {
            panic!()
        };
        values
            .iter()
            .zip(&y)
            .map(|(p, t)| (p - t) * (p - t))
            .sum::<f64>()
    };
    let before = error(&model);
    model.fit_more(&data).unwrap();
    assert_eq!(model.rounds(), 20);
    assert!(
        error(&model) < before * 0.7,
        "{} vs {before}",
        error(&model)
    );
}

#[test]
fn early_stopping_keeps_the_best_round_and_poisson_needs_counts() {
    let (x, y) = synthetic(2);
    let model = params()
        .with_rounds(500)
        .with_early_stopping(EarlyStopping {
            patience: 5,
            validation_fraction: 0.2,
        })
        .check()
        .unwrap()
        .fit(&Dataset::new(&x, &y).unwrap())
        .unwrap();
    assert!(
        model.stopped_early() && model.rounds() < 495,
        "{}",
        model.rounds()
    );

    let values = RegressionTarget::new("y", vec![1.0, -2.0, 3.0]).unwrap();
    let small = Features::dense(vec!["x".into()], Array2::zeros((3, 1))).unwrap();
    let e = GradientBoostingParams::default()
        .with_loss(GbdtLoss::Poisson)
        .check()
        .unwrap()
        .fit(&Dataset::new(&small, &values).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("row 1"), "{e}");
    let e = params()
        .with_categorical(vec!["nope".into()])
        .check()
        .unwrap()
        .fit(&Dataset::new(&x, &y).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("x0, x1, x2"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Arbitrary small inputs (NaN, constant columns, odd codes, one class
    /// row) never panic: they fit or fail with an error.
    #[test]
    fn arbitrary_inputs_fit_or_fail_cleanly(
        cells in proptest::collection::vec(prop_oneof![Just(f64::NAN), -5.0f64..5.0, (0u8..4).prop_map(f64::from)], 2..90),
        labels in proptest::collection::vec(0usize..3, 1..30),
        leaves in 2usize..6,
        categorical in any::<bool>(),
        bin_sample_rows in 1usize..60,
    ) {
        let rows = cells.len() / 2;
        prop_assume!(rows >= 1);
        let x = Array2::from_shape_fn((rows, 2), |(i, j)| cells[i * 2 + j]);
        let x = Features::dense(vec!["a".into(), "b".into()], x).unwrap();
        let y = ClassTarget::from_labels("y", (0..rows).map(|i| format!("{}", labels[i % labels.len()])));
        let mut p = GradientBoostingParams::default()
            .with_rounds(3)
            .with_max_leaves(leaves)
            .with_min_samples_leaf(1)
            .with_categorical(if categorical { vec!["b".into()] } else { vec![] });
        p.bin_sample_rows = bin_sample_rows;
        if let Ok(model) = p.check().unwrap().fit(&Dataset::new(&x, &y).unwrap()) {
            let predictions = model.predict(&x).unwrap();
            prop_assert_eq!(predictions.len(), rows);
        }
    }
}

#[test]
fn a_damaged_tree_is_an_error_not_a_hang_or_a_panic() {
    let (x, y) = synthetic(2);
    let model = params()
        .check()
        .unwrap()
        .fit(&Dataset::new(&x, &y).unwrap())
        .unwrap();
    let mut json: serde_json::Value = serde_json::to_value(&model).unwrap();
    let first_tree = &mut json["trees"][0];
    assert!(first_tree["nodes"].as_array().unwrap().len() > 1);
    // A child pointing back at the root would loop forever.
    first_tree["nodes"][1]["left"] = serde_json::json!({"node": 0});
    let damaged: GradientBoosting = serde_json::from_value(json.clone()).unwrap();
    let e = damaged.predict(&x).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    json["trees"][0]["nodes"][1]["feature"] = serde_json::json!(99);
    let damaged: GradientBoosting = serde_json::from_value(json).unwrap();
    assert!(damaged.predict(&x).is_err());
}
