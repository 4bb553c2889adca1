//! Invariants of `SgdClassifier` / `SgdRegressor`: no panic on any finite
//! input, dense and CSR storage give the same bits, a save/load between
//! `partial_fit` calls changes nothing, a row predicts the same bits alone
//! or in a batch, and a failed update leaves the model as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mlrig_core::ndarray::{Array2, Axis, array};
use mlrig_core::{Artifact, Features, Fit, ParamGuard, Predict, Predictions};
use mlrig_train::{
    ClassTarget, ClassWeight, Dataset, LearningRate, RegressionTarget, SgdClassifier,
    SgdClassifierLoss, SgdClassifierParams, SgdRegressor, SgdRegressorLoss, SgdRegressorParams,
    TrainError,
};
use proptest::prelude::*;

fn names(p: usize) -> Vec<String> {
    (0..p).map(|j| format!("f{j}")).collect()
}

/// Small matrices of arbitrary finite values, including huge, tiny, zero and repeated ones.
fn matrix() -> impl Strategy<Value = Array2<f64>> {
    (1usize..10, 0usize..5).prop_flat_map(|(n, p)| {
        let value = prop_oneof![
            4 => -5.0..5.0f64,
            3 => Just(0.0),
            1 => Just(1.0),
            1 => proptest::num::f64::NORMAL,
            1 => -1e-200..1e-200f64,
        ];
        proptest::collection::vec(value, n * p)
            .prop_map(move |v| Array2::from_shape_vec((n, p), v).unwrap())
    })
}

fn learning_rate() -> impl Strategy<Value = LearningRate> {
    prop_oneof![
        Just(LearningRate::Constant),
        Just(LearningRate::Optimal),
        Just(LearningRate::InvScaling),
        Just(LearningRate::Adaptive),
    ]
}

fn classifier_params() -> impl Strategy<Value = SgdClassifierParams> {
    (
        prop_oneof![
            Just(SgdClassifierLoss::LogLoss),
            Just(SgdClassifierLoss::Hinge),
            Just(SgdClassifierLoss::ModifiedHuber),
        ],
        learning_rate(),
        prop_oneof![Just(1e-4), Just(0.1)],
        prop_oneof![Just(0.01), Just(1.0)],
        any::<bool>(),
        any::<u64>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(loss, rate, alpha, eta0, shuffle, seed, intercept, balanced)| {
                SgdClassifierParams::default()
                    .with_loss(loss)
                    .with_learning_rate(rate)
                    .with_alpha(alpha)
                    .with_eta0(eta0)
                    .with_shuffle(shuffle)
                    .with_seed(seed)
                    .with_fit_intercept(intercept)
                    .with_max_iter(50)
                    .with_class_weight(if balanced {
                        ClassWeight::Balanced
                    } else {
                        ClassWeight::Uniform
                    })
            },
        )
}

fn regressor_params() -> impl Strategy<Value = SgdRegressorParams> {
    (
        prop_oneof![
            Just(SgdRegressorLoss::SquaredError),
            Just(SgdRegressorLoss::Huber)
        ],
        learning_rate(),
        prop_oneof![Just(1e-4), Just(0.1)],
        prop_oneof![Just(0.01), Just(1.0)],
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(loss, rate, alpha, eta0, shuffle, seed)| {
            SgdRegressorParams::default()
                .with_loss(loss)
                .with_learning_rate(rate)
                .with_alpha(alpha)
                .with_eta0(eta0)
                .with_shuffle(shuffle)
                .with_seed(seed)
                .with_max_iter(50)
        })
}

/// Labels cycling through `k` classes from an offset (every class present when n ≥ k).
fn class_target(n: usize, k: usize, offset: usize) -> ClassTarget {
    const CLASSES: [&str; 3] = ["a", "b", "c"];
    ClassTarget::from_labels("y", (0..n).map(|i| CLASSES[(i + offset) % k]))
}

fn regression_target(n: usize, offset: usize) -> RegressionTarget {
    RegressionTarget::new(
        "y",
        (0..n)
            .map(|i| ((i * 7 + offset) % 5) as f64 - 2.0)
            .collect(),
    )
    .unwrap()
}

/// JSON text: equal texts mean equal bits (serde_json prints the shortest
/// representation that reads back to the same bits, -0.0 included).
fn bits<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

fn prediction_bits(p: &Predictions) -> Vec<u64> {
    match p {
        Predictions::Regression { values } => values.iter().map(|v| v.to_bits()).collect(),
        Predictions::Classification { probabilities, .. } => {
            probabilities.iter().map(|v| v.to_bits()).collect()
        }
        _ => panic!("unknown predictions"),
    }
}

/// Predicting every row alone gives the same bits as the whole batch.
fn rows_predict_alone_as_in_batch(model: &impl Predict<Error = TrainError>, x: &Array2<f64>) {
    let batch = model
        .predict(&Features::dense(names(x.ncols()), x.clone()).unwrap())
        .unwrap();
    let batch = prediction_bits(&batch);
    let per_row = batch.len() / x.nrows();
    for (i, row) in x.axis_iter(Axis(0)).enumerate() {
        let alone = Features::dense(names(x.ncols()), row.insert_axis(Axis(0)).to_owned()).unwrap();
        let alone = prediction_bits(&model.predict(&alone).unwrap());
        assert_eq!(alone, batch[i * per_row..(i + 1) * per_row]);
    }
}

proptest! {
    #[test]
    fn classifier_never_panics_and_predicts_probabilities(
        x in matrix(), params in classifier_params(), k in 2usize..4, offset in 0usize..3,
    ) {
        let features = Features::dense(names(x.ncols()), x.clone()).unwrap();
        let y = class_target(x.nrows(), k, offset);
        let Ok(mut model) = params.fit(&Dataset::new(&features, &y).unwrap()) else {
            return Ok(());
        };
        let Predictions::Classification { probabilities, .. } = model.predict(&features).unwrap() else {
            panic!("classification expected")
        };
        let scores = model.decision_function(&features).unwrap();
        for (row, scores) in probabilities.rows().into_iter().zip(scores.rows()) {
            // Huge features can overflow a score (∞ − ∞ = NaN) after the last step.
            if !scores.iter().all(|s| s.is_finite()) {
                continue;
            }
            prop_assert!(row.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)));
            prop_assert!((row.sum() - 1.0).abs() < 1e-9, "{row}");
        }
        rows_predict_alone_as_in_batch(&model, &x);
        let before = model.clone();
        if model.partial_fit(&Dataset::new(&features, &y).unwrap()).is_err() {
            prop_assert_eq!(bits(&model), bits(&before));
        }
    }

    #[test]
    fn regressor_never_panics(x in matrix(), params in regressor_params(), offset in 0usize..5) {
        let features = Features::dense(names(x.ncols()), x.clone()).unwrap();
        let y = regression_target(x.nrows(), offset);
        let Ok(mut model) = params.fit(&Dataset::new(&features, &y).unwrap()) else {
            return Ok(());
        };
        prop_assert!(model.coefficients().iter().all(|w| w.is_finite()));
        prop_assert!(model.intercept().is_finite());
        rows_predict_alone_as_in_batch(&model, &x);
        let before = model.clone();
        if model.partial_fit(&Dataset::new(&features, &y).unwrap()).is_err() {
            prop_assert_eq!(bits(&model), bits(&before));
        }
    }

    #[test]
    fn dense_and_csr_give_the_same_bits(
        x in matrix(), params in classifier_params(), regression in regressor_params(),
        k in 2usize..4, weights in proptest::collection::vec(0.0..3.0f64, 10),
    ) {
        let dense = Features::dense(names(x.ncols()), x.clone()).unwrap();
        let sparse = dense.to_sparse_features();
        let n = x.nrows();
        let weights = &weights[..n];
        prop_assume!(weights.iter().any(|&w| w > 0.0));
        let y = class_target(n, k, 0);
        let params = params.with_sparse_intercept_decay(1.0);
        let fit = |f: &Features| {
            params.fit(&Dataset::new(f, &y).unwrap().with_sample_weights(weights).unwrap())
        };
        match (fit(&dense), fit(&sparse)) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(bits(&a), bits(&b));
                prop_assert_eq!(prediction_bits(&a.predict(&dense).unwrap()), prediction_bits(&b.predict(&sparse).unwrap()));
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "dense {:?} vs sparse {:?}", a.map(|_| ()), b.map(|_| ())),
        }
        let y = regression_target(n, 1);
        let regression = regression.with_sparse_intercept_decay(1.0);
        let fit = |f: &Features| regression.fit(&Dataset::new(f, &y).unwrap());
        match (fit(&dense), fit(&sparse)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(bits(&a), bits(&b)),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "dense {:?} vs sparse {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }

    #[test]
    fn partial_fit_after_a_save_and_load_is_the_same(
        x in matrix(), params in classifier_params(), regression in regressor_params(),
        k in 2usize..4, split in 0usize..10,
    ) {
        let n = x.nrows();
        let split = split.min(n);
        let batch = |rows: std::ops::Range<usize>| {
            Features::dense(names(x.ncols()), x.slice_axis(Axis(0), rows.into()).to_owned()).unwrap()
        };
        let (first, second) = (batch(0..split), batch(split..n));
        let y = class_target(n, k, 0);
        let (y_first, y_second) = (
            ClassTarget::from_labels("y", y.labels()[..split].iter().map(|&l| y.classes()[l].clone())),
            ClassTarget::from_labels("y", y.labels()[split..].iter().map(|&l| y.classes()[l].clone())),
        );
        let params = params.with_class_weight(ClassWeight::Uniform).check().unwrap();
        let classes: Vec<String> = ["a", "b", "c"][..k].iter().map(|c| c.to_string()).collect();
        let mut model = params.start("y", classes, names(x.ncols())).unwrap();
        if model.partial_fit(&Dataset::new(&first, &y_first).unwrap()).is_ok() {
            let mut loaded: SgdClassifier = serde_json::from_str(&bits(&model)).unwrap();
            prop_assert_eq!(bits(&loaded), bits(&model));
            let a = model.partial_fit(&Dataset::new(&second, &y_second).unwrap());
            let b = loaded.partial_fit(&Dataset::new(&second, &y_second).unwrap());
            prop_assert_eq!(a.is_ok(), b.is_ok());
            prop_assert_eq!(bits(&model), bits(&loaded));
        }

        let y = regression_target(n, 2);
        let (y_first, y_second) = (
            RegressionTarget::new("y", y.values()[..split].to_vec()).unwrap(),
            RegressionTarget::new("y", y.values()[split..].to_vec()).unwrap(),
        );
        let mut model = regression.check().unwrap().start("y", names(x.ncols()));
        if model.partial_fit(&Dataset::new(&first, &y_first).unwrap()).is_ok() {
            let mut loaded: SgdRegressor = serde_json::from_str(&bits(&model)).unwrap();
            let a = model.partial_fit(&Dataset::new(&second, &y_second).unwrap());
            let b = loaded.partial_fit(&Dataset::new(&second, &y_second).unwrap());
            prop_assert_eq!(a.is_ok(), b.is_ok());
            prop_assert_eq!(bits(&model), bits(&loaded));
        }
    }
}

#[test]
fn same_data_params_and_seed_give_the_same_bits() {
    let x = Features::dense(
        names(2),
        array![
            [1.0, 0.0],
            [0.5, 2.0],
            [-1.0, 1.0],
            [0.0, -2.0],
            [2.0, 2.0],
            [-1.5, 0.5]
        ],
    )
    .unwrap();
    let y = class_target(6, 3, 0);
    let params = SgdClassifierParams::default().with_seed(9);
    let fit = || params.fit(&Dataset::new(&x, &y).unwrap()).unwrap();
    assert_eq!(bits(&fit()), bits(&fit()));
    let other_seed = params.clone().with_seed(10);
    assert_ne!(
        bits(&fit()),
        bits(&other_seed.fit(&Dataset::new(&x, &y).unwrap()).unwrap())
    );
}

#[test]
fn divergence_is_a_numerical_error_that_leaves_the_model_unchanged() {
    let x = Features::dense(names(1), array![[1e150], [-1e150], [2e150]]).unwrap();
    let y = RegressionTarget::new("y", vec![1.0, -1.0, 2.0]).unwrap();
    let params = SgdRegressorParams::default()
        .with_learning_rate(LearningRate::Constant)
        .with_eta0(1.0)
        .check()
        .unwrap();
    let e = params.fit(&Dataset::new(&x, &y).unwrap()).unwrap_err();
    assert!(matches!(e, TrainError::Numerical { .. }), "{e}");
    assert!(e.to_string().contains("smaller eta0") && e.to_string().contains("scale the features"));
    assert!(!e.is_invalid_input());

    let mut model = params.start("y", names(1));
    let small = Features::dense(names(1), array![[1.0]]).unwrap();
    let one = RegressionTarget::new("y", vec![1.0]).unwrap();
    model
        .partial_fit(&Dataset::new(&small, &one).unwrap())
        .unwrap();
    let before = bits(&model);
    assert!(model.partial_fit(&Dataset::new(&x, &y).unwrap()).is_err());
    assert_eq!(bits(&model), before);
}

#[test]
fn partial_fit_checks_features_and_classes() {
    let params = SgdClassifierParams::default().check().unwrap();
    let classes = vec!["a".to_string(), "b".into()];
    let mut model = params.start("y", classes, names(2)).unwrap();
    let x = Features::dense(vec!["f1".into(), "f0".into()], array![[1.0, 2.0]]).unwrap();
    let y = ClassTarget::from_labels("y", ["a"]);
    let e = model
        .partial_fit(&Dataset::new(&x, &y).unwrap())
        .unwrap_err();
    assert!(matches!(e, TrainError::ShapeMismatch { .. }), "{e}");

    let x = Features::dense(names(2), array![[1.0, 2.0], [0.0, 1.0]]).unwrap();
    let y = ClassTarget::from_labels("y", ["a", "z"]);
    let e = model
        .partial_fit(&Dataset::new(&x, &y).unwrap())
        .unwrap_err();
    assert!(
        e.to_string().contains("model's classes [a, b], not `z`"),
        "{e}"
    );
    assert_eq!(model.t(), 1);

    let balanced = SgdClassifierParams::default()
        .with_class_weight(ClassWeight::Balanced)
        .check()
        .unwrap();
    assert!(
        balanced
            .start("y", vec!["a".into(), "b".into()], names(2))
            .is_err()
    );
    assert!(
        params
            .start("y", vec!["a".into(), "a".into()], names(2))
            .is_err()
    );
    assert!(params.start("y", vec!["a".into()], names(2)).is_err());

    let single = ClassTarget::from_labels("y", ["a", "a"]);
    let e = params.fit(&Dataset::new(&x, &single).unwrap()).unwrap_err();
    assert!(matches!(e, TrainError::WrongClassCount { .. }), "{e}");

    let empty = Features::dense(names(2), Array2::zeros((0, 2))).unwrap();
    let none = ClassTarget::from_labels("y", Vec::<String>::new());
    model
        .partial_fit(&Dataset::new(&empty, &none).unwrap())
        .unwrap();
    assert_eq!(model.t(), 1);
}

#[test]
fn balanced_weights_are_kept_for_partial_fit() {
    let x = Features::dense(names(1), array![[1.0], [2.0], [3.0], [-1.0]]).unwrap();
    let y = ClassTarget::from_labels("y", ["a", "a", "a", "b"]);
    let params = SgdClassifierParams::default().with_class_weight(ClassWeight::Balanced);
    let mut model = params.fit(&Dataset::new(&x, &y).unwrap()).unwrap();
    assert_eq!(model.class_weights(), [4.0 / 6.0, 2.0]);
    model.partial_fit(&Dataset::new(&x, &y).unwrap()).unwrap();
    assert_eq!(model.class_weights(), [4.0 / 6.0, 2.0]);
}

#[test]
fn models_are_artifacts() {
    let x = Features::dense(names(1), array![[0.0], [1.0], [2.0]]).unwrap();
    let y = ClassTarget::from_labels("y", ["a", "b", "b"]);
    let model = SgdClassifierParams::default()
        .fit(&Dataset::new(&x, &y).unwrap())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    model.save(&path, &[]).unwrap();
    let mut loaded = SgdClassifier::load(&path).unwrap().value;
    assert_eq!(bits(&loaded), bits(&model));
    loaded.partial_fit(&Dataset::new(&x, &y).unwrap()).unwrap();
    assert_eq!(loaded.t(), model.t() + 3);

    let y = RegressionTarget::new("y", vec![0.0, 1.0, 2.0]).unwrap();
    let model = SgdRegressorParams::default()
        .fit(&Dataset::new(&x, &y).unwrap())
        .unwrap();
    model.save(&path, &[]).unwrap();
    assert_eq!(
        bits(&SgdRegressor::load(&path).unwrap().value),
        bits(&model)
    );
}
