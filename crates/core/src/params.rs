//! Parameters → checked parameters → fitted value, as distinct types.
//!
//! A user builds `XParams::default().with_…(..)`, calls [`ParamGuard::check`]
//! to get `XValidParams` (every value validated once), and calls
//! [`Fit::fit`] on those to get the fitted `X`. A fitted value never has
//! "not fitted yet" state.

/// Validation of a parameter set (linfa's `ParamGuard`).
///
/// ```
/// use mlrig_core::{Error, Fit, ParamGuard};
///
/// #[derive(Default)]
/// struct MeanParams { shift: f64 }
/// struct MeanValidParams { shift: f64 }
/// struct Mean(f64);
///
/// impl ParamGuard for MeanParams {
///     type Checked = MeanValidParams;
///     type Error = Error;
///     fn check(self) -> Result<MeanValidParams, Error> {
///         if !self.shift.is_finite() {
///             return Err(Error::InvalidParameter { name: "shift".into(), reason: "must be finite".into() });
///         }
///         Ok(MeanValidParams { shift: self.shift })
///     }
/// }
///
/// impl Fit<[f64]> for MeanValidParams {
///     type Fitted = Mean;
///     type Error = Error;
///     fn fit(&self, data: &[f64]) -> Result<Mean, Error> {
///         Ok(Mean(data.iter().sum::<f64>() / data.len() as f64 + self.shift))
///     }
/// }
///
/// let m = MeanParams::default().check().unwrap().fit(&[1.0, 3.0]).unwrap();
/// assert_eq!(m.0, 2.0);
/// assert!(MeanParams { shift: f64::NAN }.check().is_err());
/// ```
pub trait ParamGuard {
    /// The validated parameters.
    type Checked;
    /// The error for invalid parameters.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Validates every parameter.
    fn check(self) -> Result<Self::Checked, Self::Error>;
}

/// Fitting checked parameters to data of type `D`.
///
/// ```
/// // see `ParamGuard` for a complete example
/// use mlrig_core::Fit;
/// ```
pub trait Fit<D: ?Sized> {
    /// The fitted value.
    type Fitted;
    /// The error fitting reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Fits to `data`.
    fn fit(&self, data: &D) -> Result<Self::Fitted, Self::Error>;
}
