//! `SgdClassifier` / `SgdRegressor` against scikit-learn 1.9.1's
//! `SGDClassifier` / `SGDRegressor` with `shuffle=False`
//! (`tests/fixtures/make_sklearn_sgd.py` writes the fixture): same data,
//! same parameters, same `fit` / `partial_fit` calls → the same
//! coefficients, intercepts, epochs, `t` and predictions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use mlrig_core::ndarray::Array2;
use mlrig_core::{Features, Fit, ParamGuard, Predict, Predictions};
use mlrig_train::{
    ClassTarget, ClassWeight, Dataset, LearningRate, RegressionTarget, SgdClassifier,
    SgdClassifierLoss, SgdClassifierParams, SgdRegressor, SgdRegressorLoss, SgdRegressorParams,
    Target,
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The largest difference allowed, relative to the largest absolute value
/// of the compared vector (so that a coefficient near 0 is not held to an
/// impossible relative bound). Most cases agree bit for bit; the largest
/// difference is about 1.3e-11 (log loss without intercept).
const TOLERANCE: f64 = 1e-10;

#[derive(Deserialize)]
struct Fixture {
    sklearn_version: String,
    predicted_rows: usize,
    datasets: BTreeMap<String, DataSet>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct DataSet {
    x: Vec<Vec<f64>>,
    y: Vec<Value>,
    sample_weight: Vec<f64>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    estimator: String,
    data: String,
    sparse: bool,
    sample_weight: bool,
    params: Map<String, Value>,
    mode: String,
    batches: Option<Vec<[usize; 2]>>,
    steps: Vec<Step>,
    decision: Option<Vec<Vec<f64>>>,
    prediction: Option<Vec<f64>>,
    proba: Option<Vec<Vec<f64>>>,
}

#[derive(Deserialize)]
struct Step {
    coef: Vec<Vec<f64>>,
    intercept: Vec<f64>,
    n_iter: usize,
    t: f64,
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_sgd.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Rows `range` of a data set as features, dense or CSR.
fn features(data: &DataSet, range: std::ops::Range<usize>, sparse: bool) -> Features {
    let p = data.x[0].len();
    let rows: Vec<f64> = data.x[range.clone()].iter().flatten().copied().collect();
    let x = Array2::from_shape_vec((range.len(), p), rows).unwrap();
    let names: Vec<String> = (0..p).map(|j| format!("x{j}")).collect();
    let dense = Features::dense(names, x).unwrap();
    if sparse {
        dense.to_sparse_features()
    } else {
        dense
    }
}

fn labels(data: &DataSet, range: std::ops::Range<usize>) -> ClassTarget {
    ClassTarget::from_labels("y", data.y[range].iter().map(|v| v.as_str().unwrap()))
}

fn values(data: &DataSet, range: std::ops::Range<usize>) -> RegressionTarget {
    RegressionTarget::new(
        "y",
        data.y[range].iter().map(|v| v.as_f64().unwrap()).collect(),
    )
    .unwrap()
}

fn learning_rate(name: &str) -> LearningRate {
    serde_json::from_value(Value::String(name.into())).unwrap()
}

/// scikit-learn's keyword arguments → our parameters (shuffle off, as in the fixture).
fn classifier_params(params: &Map<String, Value>) -> SgdClassifierParams {
    let mut p = SgdClassifierParams::default().with_shuffle(false);
    for (key, value) in params {
        p = match key.as_str() {
            "loss" => {
                p.with_loss(serde_json::from_value::<SgdClassifierLoss>(value.clone()).unwrap())
            }
            "alpha" => p.with_alpha(value.as_f64().unwrap()),
            "learning_rate" => p.with_learning_rate(learning_rate(value.as_str().unwrap())),
            "eta0" => p.with_eta0(value.as_f64().unwrap()),
            "power_t" => p.with_power_t(value.as_f64().unwrap()),
            "tol" => p.with_tolerance(value.as_f64()),
            "max_iter" => p.with_max_iter(value.as_u64().unwrap() as usize),
            "n_iter_no_change" => p.with_n_iter_no_change(value.as_u64().unwrap() as usize),
            "fit_intercept" => p.with_fit_intercept(value.as_bool().unwrap()),
            "class_weight" => {
                assert_eq!(value, "balanced");
                p.with_class_weight(ClassWeight::Balanced)
            }
            other => panic!("parameter {other} not mapped"),
        };
    }
    p
}

fn regressor_params(params: &Map<String, Value>) -> SgdRegressorParams {
    let mut p = SgdRegressorParams::default().with_shuffle(false);
    for (key, value) in params {
        p = match key.as_str() {
            "loss" => {
                p.with_loss(serde_json::from_value::<SgdRegressorLoss>(value.clone()).unwrap())
            }
            "epsilon" => p.with_epsilon(value.as_f64().unwrap()),
            "alpha" => p.with_alpha(value.as_f64().unwrap()),
            "learning_rate" => p.with_learning_rate(learning_rate(value.as_str().unwrap())),
            "eta0" => p.with_eta0(value.as_f64().unwrap()),
            "power_t" => p.with_power_t(value.as_f64().unwrap()),
            "tol" => p.with_tolerance(value.as_f64()),
            "max_iter" => p.with_max_iter(value.as_u64().unwrap() as usize),
            "fit_intercept" => p.with_fit_intercept(value.as_bool().unwrap()),
            other => panic!("parameter {other} not mapped"),
        };
    }
    p
}

/// What one training call produced, in scikit-learn's shapes.
struct State {
    coef: Vec<Vec<f64>>,
    intercept: Vec<f64>,
    epochs: usize,
    t: u64,
}

impl From<&SgdClassifier> for State {
    fn from(m: &SgdClassifier) -> Self {
        State {
            coef: m.coefficients().to_vec(),
            intercept: m.intercepts().to_vec(),
            epochs: m.epochs(),
            t: m.t(),
        }
    }
}

impl From<&SgdRegressor> for State {
    fn from(m: &SgdRegressor) -> Self {
        State {
            coef: vec![m.coefficients().to_vec()],
            intercept: vec![m.intercept()],
            epochs: m.epochs(),
            t: m.t(),
        }
    }
}

/// The largest difference between `ours` and `theirs`, relative to the
/// largest absolute value of `theirs`.
fn relative_difference(ours: &[f64], theirs: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = ours
        .iter()
        .zip(theirs)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    if scale == 0.0 { diff } else { diff / scale }
}

fn dataset<'a, T: Target>(x: &'a Features, y: &'a T, weights: Option<&'a [f64]>) -> Dataset<'a, T> {
    let d = Dataset::new(x, y).unwrap();
    match weights {
        Some(w) => d.with_sample_weights(w).unwrap(),
        None => d,
    }
}

/// Trains as the case says; returns the state after each call and the
/// predictions for the first rows (decision values or regression values, and
/// probabilities).
fn run(
    case: &Case,
    data: &DataSet,
    rows: usize,
    fixed_epochs: Option<usize>,
) -> (Vec<State>, Vec<f64>, Option<Vec<f64>>) {
    let n = data.y.len();
    let weights = |range: std::ops::Range<usize>| &data.sample_weight[range];
    let batches: Vec<std::ops::Range<usize>> = case
        .batches
        .iter()
        .flatten()
        .map(|[start, end]| *start..*end)
        .collect();
    let fit_first = case.mode != "partial_fit";
    let head = features(data, 0..rows, case.sparse);
    let mut states = Vec::new();
    if case.estimator == "classifier" {
        let mut params = classifier_params(&case.params);
        if let Some(epochs) = fixed_epochs {
            params = params.with_tolerance(None).with_max_iter(epochs);
        }
        let params = params.check().unwrap();
        let mut model = if fit_first {
            let (x, y) = (features(data, 0..n, case.sparse), labels(data, 0..n));
            let m = params
                .fit(&dataset(&x, &y, case.sample_weight.then(|| weights(0..n))))
                .unwrap();
            states.push(State::from(&m));
            m
        } else {
            let all = labels(data, 0..n);
            let names = head.names().to_vec();
            params.start("y", all.classes().to_vec(), names).unwrap()
        };
        for range in batches {
            let (x, y) = (
                features(data, range.clone(), case.sparse),
                labels(data, range.clone()),
            );
            model
                .partial_fit(&dataset(&x, &y, case.sample_weight.then(|| weights(range))))
                .unwrap();
            states.push(State::from(&model));
        }
        let decision = model.decision_function(&head).unwrap();
        let Predictions::Classification { probabilities, .. } = model.predict(&head).unwrap()
        else {
            panic!("classification expected")
        };
        (
            states,
            decision.iter().copied().collect(),
            Some(probabilities.iter().copied().collect()),
        )
    } else {
        let mut params = regressor_params(&case.params);
        if let Some(epochs) = fixed_epochs {
            params = params.with_tolerance(None).with_max_iter(epochs);
        }
        let params = params.check().unwrap();
        let mut model = if fit_first {
            let (x, y) = (features(data, 0..n, case.sparse), values(data, 0..n));
            let m = params
                .fit(&dataset(&x, &y, case.sample_weight.then(|| weights(0..n))))
                .unwrap();
            states.push(State::from(&m));
            m
        } else {
            params.start("y", head.names().to_vec())
        };
        for range in batches {
            let (x, y) = (
                features(data, range.clone(), case.sparse),
                values(data, range.clone()),
            );
            model
                .partial_fit(&dataset(&x, &y, case.sample_weight.then(|| weights(range))))
                .unwrap();
            states.push(State::from(&model));
        }
        let Predictions::Regression { values } = model.predict(&head).unwrap() else {
            panic!("regression expected")
        };
        (states, values.to_vec(), None)
    }
}

/// Cases whose results differ from scikit-learn's beyond [`TOLERANCE`]
/// only because `libm::exp` (FreeBSD's algorithm, < 1 ulp) and glibc's `exp`
/// (which scikit-learn calls) round differently in the last bit now and
/// then: with the default `alpha = 1e-4` the `optimal` schedule starts at
/// steps of 10 and the log loss amplifies those bits. Replacing `libm::exp`
/// by the platform's `exp` makes these cases agree bit for bit as well
/// (checked when the fixture was made); the bound is the measured
/// difference rounded up.
const EXP_SENSITIVE: [(&str, f64); 3] = [
    ("log_loss_binary_optimal_dense", 1e-8),
    ("log_loss_binary_optimal_csr", 1e-5),
    ("log_loss_multiclass_optimal_csr", 1e-3),
];

/// CSR cases where scikit-learn 1.9.1 stops after another epoch than we do:
/// for sparse input its `‖w‖²` in the stopping objective only sums the
/// weights of the last updated row's columns; ours is the full norm, as for
/// dense input. Their coefficients are compared after running both for
/// scikit-learn's number of epochs (the trajectory does not depend on the
/// tolerance).
const SPARSE_STOPPING_DIFFERS: [&str; 1] = ["log_loss_binary_optimal_alpha_1e-3_csr"];

fn flat(rows: &[Vec<f64>]) -> Vec<f64> {
    rows.iter().flatten().copied().collect()
}

#[test]
fn sgd_agrees_with_scikit_learn() {
    let fixture = fixture();
    assert_eq!(fixture.sklearn_version, "1.9.1");
    assert!(fixture.cases.len() >= 40);
    let mut worst = (0.0f64, String::new());
    for case in &fixture.cases {
        let data = &fixture.datasets[&case.data];
        let tolerance = EXP_SENSITIVE
            .iter()
            .find(|(name, _)| *name == case.name)
            .map_or(TOLERANCE, |(_, bound)| *bound);
        let (mut states, mut predicted, mut probabilities) =
            run(case, data, fixture.predicted_rows, None);
        if SPARSE_STOPPING_DIFFERS.contains(&case.name.as_str()) {
            assert!(case.sparse && case.mode == "fit");
            assert_ne!(
                states[0].epochs, case.steps[0].n_iter,
                "{}: now agrees",
                case.name
            );
            (states, predicted, probabilities) = run(
                case,
                data,
                fixture.predicted_rows,
                Some(case.steps[0].n_iter),
            );
        }
        assert_eq!(states.len(), case.steps.len(), "{}", case.name);
        let mut check = |context: &str, ours: &[f64], theirs: &[f64]| {
            let diff = relative_difference(ours, theirs);
            assert!(diff <= tolerance, "{context} differ by {diff:e} (relative)");
            if tolerance == TOLERANCE && diff > worst.0 {
                worst = (diff, context.to_string());
            }
        };
        for (call, (ours, theirs)) in states.iter().zip(&case.steps).enumerate() {
            let context = format!("{} call {call}", case.name);
            assert_eq!(ours.epochs, theirs.n_iter, "{context}: epochs");
            assert_eq!(ours.t as f64, theirs.t, "{context}: t");
            check(
                &format!("{context}: coefficients"),
                &flat(&ours.coef),
                &flat(&theirs.coef),
            );
            check(
                &format!("{context}: intercepts"),
                &ours.intercept,
                &theirs.intercept,
            );
        }
        let expected: Vec<f64> = match (&case.decision, &case.prediction) {
            (Some(decision), _) => flat(decision),
            (None, Some(prediction)) => prediction.clone(),
            (None, None) => panic!("{}: no predictions in the fixture", case.name),
        };
        check(
            &format!("{}: predictions", case.name),
            &predicted,
            &expected,
        );
        if let (Some(ours), Some(theirs)) = (&probabilities, &case.proba) {
            check(
                &format!("{}: probabilities", case.name),
                ours,
                &flat(theirs),
            );
        }
    }
    eprintln!(
        "largest relative difference within TOLERANCE: {:e} ({})",
        worst.0, worst.1
    );
}

#[test]
fn dense_and_csr_differ_only_through_the_intercept_decay() {
    // scikit-learn damps intercept updates from sparse rows (×0.01); with
    // the decay set to 1 the CSR fit is the dense fit, bit for bit.
    let fixture = fixture();
    let data = &fixture.datasets["multiclass"];
    let n = data.y.len();
    let y = labels(data, 0..n);
    let (dense, csr) = (features(data, 0..n, false), features(data, 0..n, true));
    let params = SgdClassifierParams::default()
        .with_loss(SgdClassifierLoss::LogLoss)
        .with_shuffle(true)
        .with_seed(3);
    let fit = |x: &Features, p: SgdClassifierParams| p.fit(&Dataset::new(x, &y).unwrap()).unwrap();
    let same = params.clone().with_sparse_intercept_decay(1.0);
    assert_eq!(fit(&dense, same.clone()), fit(&csr, same));
    assert_ne!(
        fit(&dense, params.clone()).intercepts(),
        fit(&csr, params).intercepts()
    );
}
