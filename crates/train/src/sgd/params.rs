//! The parameters [`SgdClassifierParams`](crate::SgdClassifierParams) and
//! [`SgdRegressorParams`](crate::SgdRegressorParams) share: one macro
//! writes their fields, defaults, builders, accessors and checks.
//!
//! A macro rather than a `#[serde(flatten)]`ed struct of the shared fields:
//! flatten cannot be combined with `deny_unknown_fields`, would list the
//! keys in a different order and would drop the field list from the
//! "unknown field" error, so the JSON and its errors would change.

/// Defines `$params` with the fields in `first`, the shared fields,
/// those in `last`, `sparse_intercept_decay` and the ignored `$schema`, in
/// that (JSON) order; its `Default`, the shared `with_*` builders, a private
/// `check_shared` and `settings`, the shared accessors of `$valid` (a
/// struct `{ params: $params }`) and the conversions between the two.
macro_rules! sgd_params {
    (
        $(#[$attr:meta])*
        pub struct $params:ident checked as $valid:ident {
            first { $( $first:ident: $first_ty:ty = $first_default:expr ),* $(,)? }
            shared { learning_rate: $rate:expr, power_t: $power_t:literal $(,)? }
            last { $( $last:ident: $last_ty:ty = $last_default:expr ),* $(,)? }
        }
        $(#[$default_attr:meta])*
        impl Default;
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        #[serde(default, deny_unknown_fields)]
        pub struct $params {
            $( $first: $first_ty, )*
            alpha: f64,
            learning_rate: $crate::LearningRate,
            eta0: f64,
            power_t: f64,
            fit_intercept: bool,
            max_iter: usize,
            tolerance: Option<f64>,
            n_iter_no_change: usize,
            shuffle: bool,
            seed: u64,
            $( $last: $last_ty, )*
            sparse_intercept_decay: f64,
            /// The JSON Schema of a hand-written parameter file, for editors;
            /// accepted and ignored.
            #[serde(
                rename = "$schema",
                skip_serializing,
                deserialize_with = "mlrig_core::ignore_schema_reference"
            )]
            #[cfg_attr(feature = "schemars", schemars(with = "String"))]
            schema_reference: (),
        }

        impl Default for $params {
            $(#[$default_attr])*
            fn default() -> Self {
                Self {
                    $( $first: $first_default, )*
                    alpha: 1e-4,
                    learning_rate: $rate,
                    eta0: 0.01,
                    power_t: $power_t,
                    fit_intercept: true,
                    max_iter: 1000,
                    tolerance: Some(1e-3),
                    n_iter_no_change: 5,
                    shuffle: true,
                    seed: 0,
                    $( $last: $last_default, )*
                    sparse_intercept_decay: 0.01,
                    schema_reference: (),
                }
            }
        }

        impl $params {
            /// Strength of the L2 penalty `alpha/2 · ‖w‖²` (0 = none); finite,
            /// ≥ 0, and > 0 for the `optimal` learning rate. Default `1e-4`.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::{LearningRate, ", stringify!($params), "};")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert!(p.clone().with_alpha(-1.0).check().is_err());
            /// assert!(p.clone().with_alpha(f64::NAN).check().is_err());
            /// let optimal = p.clone().with_learning_rate(LearningRate::Optimal);
            /// assert!(optimal.with_alpha(0.0).check().is_err());
            /// let constant = p.with_learning_rate(LearningRate::Constant);
            /// assert_eq!(constant.with_alpha(0.0).check()?.alpha(), 0.0);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_alpha(mut self, alpha: f64) -> Self {
                self.alpha = alpha;
                self
            }

            #[doc = concat!("The learning-rate schedule; default [`", stringify!($rate), "`].")]
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::{LearningRate, ", stringify!($params), "};")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// let p = p.with_learning_rate(LearningRate::Adaptive).check()?;
            /// assert_eq!(p.learning_rate(), LearningRate::Adaptive);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_learning_rate(mut self, learning_rate: $crate::LearningRate) -> Self {
                self.learning_rate = learning_rate;
                self
            }

            /// The initial step of `constant`, `invscaling` and `adaptive` (> 0,
            /// finite; unused by `optimal`). Default 0.01.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::{LearningRate, ", stringify!($params), "};")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// let p = p.with_learning_rate(LearningRate::Constant);
            /// assert!(p.clone().with_eta0(0.0).check().is_err());
            /// assert_eq!(p.with_eta0(0.1).check()?.eta0(), 0.1);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_eta0(mut self, eta0: f64) -> Self {
                self.eta0 = eta0;
                self
            }

            #[doc = concat!("The exponent of `invscaling` (finite); default ", stringify!($power_t), ".")]
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert!(p.clone().with_power_t(f64::NAN).check().is_err());
            /// assert_eq!(p.with_power_t(0.75).check()?.power_t(), 0.75);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_power_t(mut self, power_t: f64) -> Self {
                self.power_t = power_t;
                self
            }

            /// Whether to learn intercepts (default `true`); without, they stay 0.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert!(!p.with_fit_intercept(false).check()?.fit_intercept());
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_fit_intercept(mut self, fit_intercept: bool) -> Self {
                self.fit_intercept = fit_intercept;
                self
            }

            /// The most epochs of a full fit (≥ 1); default 1000. `partial_fit`
            /// always runs one.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert!(p.clone().with_max_iter(0).check().is_err());
            /// assert_eq!(p.with_max_iter(20).check()?.max_iter(), 20);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_max_iter(mut self, max_iter: usize) -> Self {
                self.max_iter = max_iter;
                self
            }

            /// The stopping tolerance on the mean objective (`None`: always run
            /// `max_iter` epochs); finite. Default `Some(1e-3)`.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert_eq!(p.clone().with_tolerance(None).check()?.tolerance(), None);
            /// assert!(p.with_tolerance(Some(f64::INFINITY)).check().is_err());
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_tolerance(mut self, tolerance: Option<f64>) -> Self {
                self.tolerance = tolerance;
                self
            }

            /// How many epochs in a row without improvement stop training (or
            /// divide the `adaptive` rate by 5); ≥ 1, default 5.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert!(p.clone().with_n_iter_no_change(0).check().is_err());
            /// assert_eq!(p.with_n_iter_no_change(2).check()?.n_iter_no_change(), 2);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_n_iter_no_change(mut self, n_iter_no_change: usize) -> Self {
                self.n_iter_no_change = n_iter_no_change;
                self
            }

            /// Whether each epoch visits the rows in a seeded permutation (default
            /// `true`) instead of row order; see [Shuffling](Self#shuffling).
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert!(!p.with_shuffle(false).check()?.shuffle());
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_shuffle(mut self, shuffle: bool) -> Self {
                self.shuffle = shuffle;
                self
            }

            /// The seed of the shuffling permutations; default 0.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert_eq!(p.with_seed(42).check()?.seed(), 42);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_seed(mut self, seed: u64) -> Self {
                self.seed = seed;
                self
            }

            /// The factor on intercept updates for CSR features (finite, > 0);
            /// default 0.01, scikit-learn's `SPARSE_INTERCEPT_DECAY`. Set 1 for the
            /// same model from dense and CSR storage of the same data.
            ///
            /// ```
            /// # use mlrig_core::ParamGuard;
            #[doc = concat!("use mlrig_train::", stringify!($params), ";")]
            #[doc = concat!("let p = ", stringify!($params), "::default();")]
            /// assert_eq!(p.clone().check()?.sparse_intercept_decay(), 0.01);
            /// assert!(p.clone().with_sparse_intercept_decay(0.0).check().is_err());
            /// assert_eq!(p.with_sparse_intercept_decay(1.0).check()?.sparse_intercept_decay(), 1.0);
            /// # Ok::<(), mlrig_train::TrainError>(())
            /// ```
            pub fn with_sparse_intercept_decay(mut self, decay: f64) -> Self {
                self.sparse_intercept_decay = decay;
                self
            }

            /// Checks the shared parameters: the schedule's, the stopping
            /// rule's and the sparse intercept decay.
            fn check_shared(&self) -> $crate::Result<()> {
                $crate::sgd::learning_rate::check_schedule(
                    self.learning_rate,
                    self.alpha,
                    self.eta0,
                    self.power_t,
                )?;
                $crate::sgd::epochs::check_stopping(
                    self.max_iter,
                    self.tolerance,
                    self.n_iter_no_change,
                )?;
                $crate::sgd::epochs::check_sparse_intercept_decay(self.sparse_intercept_decay)
            }

            /// The settings of one training call with `loss` on `features`.
            fn settings(
                &self,
                loss: $crate::sgd::loss::LossFunction,
                features: &mlrig_core::Features,
                max_epochs: usize,
            ) -> $crate::sgd::epochs::Settings {
                $crate::sgd::epochs::Settings {
                    loss,
                    alpha: self.alpha,
                    learning_rate: self.learning_rate,
                    eta0: self.eta0,
                    power_t: self.power_t,
                    fit_intercept: self.fit_intercept,
                    intercept_decay: match features.matrix() {
                        mlrig_core::FeatureMatrix::Dense(_) => 1.0,
                        mlrig_core::FeatureMatrix::Sparse(_) => self.sparse_intercept_decay,
                    },
                    max_epochs,
                    tolerance: self.tolerance,
                    n_iter_no_change: self.n_iter_no_change,
                    shuffle_seed: self.shuffle.then_some(self.seed),
                }
            }
        }

        impl $valid {
            /// The L2 penalty strength.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn alpha(&self) -> f64 {
                self.params.alpha
            }

            /// The learning-rate schedule.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn learning_rate(&self) -> $crate::LearningRate {
                self.params.learning_rate
            }

            /// The initial step size.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn eta0(&self) -> f64 {
                self.params.eta0
            }

            /// The `invscaling` exponent.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn power_t(&self) -> f64 {
                self.params.power_t
            }

            /// Whether intercepts are learned.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn fit_intercept(&self) -> bool {
                self.params.fit_intercept
            }

            /// The most epochs of a full fit.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn max_iter(&self) -> usize {
                self.params.max_iter
            }

            /// The stopping tolerance.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn tolerance(&self) -> Option<f64> {
                self.params.tolerance
            }

            /// Epochs without improvement before stopping.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn n_iter_no_change(&self) -> usize {
                self.params.n_iter_no_change
            }

            /// Whether epochs are shuffled.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn shuffle(&self) -> bool {
                self.params.shuffle
            }

            /// The shuffling seed.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn seed(&self) -> u64 {
                self.params.seed
            }

            /// The intercept-update factor for CSR features.
            ///
            #[doc = concat!("See [`", stringify!($valid), "`] for an example.")]
            pub fn sparse_intercept_decay(&self) -> f64 {
                self.params.sparse_intercept_decay
            }
        }

        impl TryFrom<$params> for $valid {
            type Error = $crate::TrainError;

            fn try_from(params: $params) -> $crate::Result<Self> {
                mlrig_core::ParamGuard::check(params)
            }
        }

        impl From<$valid> for $params {
            fn from(valid: $valid) -> Self {
                valid.params
            }
        }
    };
}

pub(super) use sgd_params;
