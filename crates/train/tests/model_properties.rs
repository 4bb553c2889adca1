//! Invariants of the fitted models: fitting never panics, predictions are the
//! same bits in a batch or row by row, dense or sparse, and after a save/load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mlrig_core::ndarray::{Array2, Axis};
use mlrig_core::{Artifact, Features, Fit, Predict, Predictions};
use mlrig_train::{
    ClassTarget, Dataset, LinearRegressionParams, LogisticRegressionParams, Model,
    RegressionTarget, TrainError,
};
use proptest::prelude::*;

fn names(p: usize) -> Vec<String> {
    (0..p).map(|j| format!("f{j}")).collect()
}

/// Small matrices of arbitrary finite values, including huge, tiny, zero and repeated ones.
fn matrix() -> impl Strategy<Value = Array2<f64>> {
    (1usize..12, 0usize..5).prop_flat_map(|(n, p)| {
        let value = prop_oneof![
            3 => -10.0..10.0f64,
            1 => Just(0.0),
            1 => Just(1.0),
            1 => proptest::num::f64::NORMAL,
            1 => -1e-200..1e-200f64,
        ];
        proptest::collection::vec(value, n * p)
            .prop_map(move |v| Array2::from_shape_vec((n, p), v).unwrap())
    })
}

fn fitted_models(x: &Array2<f64>, seed: u64) -> Vec<Model> {
    let features = Features::dense(names(x.ncols()), x.clone()).unwrap();
    let n = x.nrows();
    let y_reg = RegressionTarget::new(
        "y",
        (0..n)
            .map(|i| ((i as u64 * 7 + seed) % 5) as f64 - 2.0)
            .collect(),
    )
    .unwrap();
    let y_cls = ClassTarget::from_labels(
        "c",
        (0..n).map(|i| {
            if (i as u64 + seed).is_multiple_of(3) {
                "p"
            } else {
                "n"
            }
        }),
    );
    let mut models = Vec::new();
    if let Ok(m) = LinearRegressionParams::default().fit(&Dataset::new(&features, &y_reg).unwrap())
    {
        models.push(Model::from(m));
    }
    if let Ok(m) = LinearRegressionParams::default()
        .with_l2_penalty(0.5)
        .fit(&Dataset::new(&features, &y_reg).unwrap())
    {
        models.push(Model::from(m));
    }
    if let Ok(m) = LogisticRegressionParams::default()
        .with_max_iterations(30)
        .fit(&Dataset::new(&features, &y_cls).unwrap())
    {
        models.push(Model::from(m));
    }
    models
}

fn bits(p: &Predictions) -> Vec<u64> {
    match p {
        Predictions::Regression { values } => values.iter().map(|v| v.to_bits()).collect(),
        Predictions::Classification { probabilities, .. } => {
            probabilities.iter().map(|v| v.to_bits()).collect()
        }
        other => panic!("unexpected predictions {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fitting_never_panics_and_errors_are_typed(x in matrix(), seed in 0u64..10, alpha in 0.0..10.0f64, c in 1e-3..1e3f64) {
        let features = Features::dense(names(x.ncols()), x.clone()).unwrap();
        let n = x.nrows();
        let y = RegressionTarget::new("y", (0..n).map(|i| libm::sin(i as f64 * 1.7 + seed as f64)).collect()).unwrap();
        let data = Dataset::new(&features, &y).unwrap();
        match LinearRegressionParams::default().with_l2_penalty(alpha).fit(&data) {
            Ok(m) => {
                prop_assert!(m.coefficients().iter().all(|w| w.is_finite()));
                prop_assert!(m.intercept().is_finite());
            }
            Err(e) => prop_assert!(matches!(e, TrainError::Numerical { .. }), "{}", e),
        }
        let labels = ClassTarget::from_labels("c", (0..n).map(|i| if (i as u64 + seed).is_multiple_of(2) { "a" } else { "b" }));
        let data = Dataset::new(&features, &labels).unwrap();
        match LogisticRegressionParams::default().with_c(c).with_max_iterations(25).fit(&data) {
            Ok(m) => {
                prop_assert!(m.coefficients().iter().flatten().all(|w| w.is_finite()));
                prop_assert!(m.iterations() <= 25);
            }
            Err(e) => prop_assert!(
                matches!(e, TrainError::Numerical { .. } | TrainError::WrongClassCount { .. }),
                "{}", e
            ),
        }
    }

    #[test]
    fn fits_have_the_same_bits_for_any_thread_count_and_storage(x in matrix(), seed in 0u64..10, classes in 2usize..5) {
        let features = Features::dense(names(x.ncols()), x.clone()).unwrap();
        let n = x.nrows();
        let labels = ClassTarget::from_labels("c", (0..n).map(|i| ((i as u64 * 7 + seed) % classes as u64).to_string()));
        let weights: Vec<f64> = (0..n).map(|i| 0.5 + ((i as u64 + seed) % 3) as f64).collect();
        let sparse = features.to_sparse_features();
        let fit = |f: &Features, threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let data = Dataset::new(f, &labels).unwrap().with_sample_weights(&weights).unwrap();
                LogisticRegressionParams::default().with_max_iterations(50).fit(&data)
            })
        };
        match fit(&features, 1) {
            Ok(reference) => {
                for (f, threads) in [(&features, 2), (&features, 3), (&sparse, 1), (&sparse, 2)] {
                    prop_assert_eq!(&fit(f, threads).unwrap(), &reference);
                }
            }
            Err(e) => prop_assert!(matches!(e, TrainError::Numerical { .. } | TrainError::WrongClassCount { .. }), "{}", e),
        }
    }

    #[test]
    fn batch_equals_row_by_row_and_dense_equals_sparse(x in matrix(), seed in 0u64..10) {
        let features = Features::dense(names(x.ncols()), x.clone()).unwrap();
        for model in fitted_models(&x, seed) {
            let batch = model.predict(&features).unwrap();
            prop_assert_eq!(bits(&model.predict(&features.to_sparse_features()).unwrap()), bits(&batch));
            let mut rows = Vec::new();
            for i in 0..x.nrows() {
                let one = x.select(Axis(0), &[i]);
                rows.extend(bits(&model.predict(&Features::dense(names(x.ncols()), one).unwrap()).unwrap()));
            }
            prop_assert_eq!(rows, bits(&batch));
        }
    }

    #[test]
    fn saved_models_predict_the_same_bits(x in matrix(), seed in 0u64..10) {
        let features = Features::dense(names(x.ncols()), x.clone()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for model in fitted_models(&x, seed) {
            let path = dir.path().join("model.json");
            let header = model.save(&path, &[]).unwrap();
            prop_assert_eq!(header.kind, "mlrig.train.model");
            let loaded = Model::load(&path).unwrap().value;
            prop_assert_eq!(&loaded, &model);
            prop_assert_eq!(bits(&loaded.predict(&features).unwrap()), bits(&model.predict(&features).unwrap()));
        }
    }
}

#[test]
fn predicting_with_other_columns_is_a_shape_error() {
    let x = Features::dense(
        names(2),
        mlrig_core::ndarray::array![[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]],
    )
    .unwrap();
    let y = RegressionTarget::new("y", vec![1.0, 2.0, 3.0]).unwrap();
    let model = Model::from(
        LinearRegressionParams::default()
            .fit(&Dataset::new(&x, &y).unwrap())
            .unwrap(),
    );
    let renamed = Features::dense(vec!["f0".into(), "g".into()], x.to_dense()).unwrap();
    let e = model.predict(&renamed).unwrap_err();
    assert!(matches!(e, TrainError::ShapeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("feature column 1 named `f1`"), "{e}");
    assert!(e.is_invalid_input());
    let fewer = Features::dense(names(1), Array2::zeros((1, 1))).unwrap();
    assert!(matches!(
        model.predict(&fewer).unwrap_err(),
        TrainError::ShapeMismatch { .. }
    ));
}

#[test]
fn model_json_is_tagged_by_kind() {
    let x = Features::dense(names(1), mlrig_core::ndarray::array![[0.0], [1.0]]).unwrap();
    let y = ClassTarget::from_labels("income", ["<=50K", ">50K"]);
    let model = Model::from(
        LogisticRegressionParams::default()
            .fit(&Dataset::new(&x, &y).unwrap())
            .unwrap(),
    );
    let json: serde_json::Value = serde_json::to_value(&model).unwrap();
    let body = &json["logistic_regression"];
    assert_eq!(body["classes"], serde_json::json!(["<=50K", ">50K"]));
    assert_eq!(body["feature_names"], serde_json::json!(["f0"]));
    assert_eq!(body["target"], "income");
    assert!(body["converged"].as_bool().unwrap());
}
