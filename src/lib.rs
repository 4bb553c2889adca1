//! # mlrig
//!
//! Production machine-learning components in Rust — the parts around the
//! model: ingestion, data validation, feature transforms, training and
//! evaluation, serving and monitoring. This facade crate only re-exports the
//! component crates; depend on it with the features you need, or on the
//! component crates directly.
//!
//! ## Data flow
//!
//! ```text
//! CSV ─ingest─▶ Arrow batches ─validate─▶ statistics, schema, anomalies
//!                    │
//!                    └─features─▶ Features ─train─▶ model + metrics ─▶ bundle <name>/<version>/
//! JSON request ─serve─▶ one-row batch ─(same features, same model)─▶ prediction ─monitor─▶ /metrics
//! ```
//!
//! ## Quick start
//!
//! ```
//! use mlrig::core::ExactSum;
//! let mut s = ExactSum::default();
//! s.add(0.5);
//! assert_eq!(s.value(), 0.5);
//! ```
//!
//! The end-to-end example (`cargo run --example end_to_end`) runs every
//! component on the data shipped in `data/samples/`.
//!
//! ## Feature flags
//!
//! | feature | re-exports | default |
//! |---|---|---|
//! | `ingest` | [`mlrig_ingest`] as `mlrig::ingest` | yes |
//! | `validate` | [`mlrig_validate`] as `mlrig::validate` | yes |
//! | `features` | [`mlrig_features`] as `mlrig::features` | yes |
//! | `train` | [`mlrig_train`] as `mlrig::train` | yes |
//! | `serve` | [`mlrig_serve`] as `mlrig::serve` | yes |
//! | `monitor` | [`mlrig_monitor`] as `mlrig::monitor` | yes |
//! | `pipeline` | [`mlrig_pipeline`] as `mlrig::pipeline` (enables all the above) | yes |
//! | `schemars` | `schemars::JsonSchema` for the hand-written files of the enabled components (feature spec, blessing thresholds, server config; see `docs/schemas/`) | no |
//!
//! `mlrig::core` ([`mlrig_core`]) is always available.

pub use mlrig_core as core;
#[cfg(feature = "features")]
pub use mlrig_features as features;
#[cfg(feature = "ingest")]
pub use mlrig_ingest as ingest;
#[cfg(feature = "monitor")]
pub use mlrig_monitor as monitor;
#[cfg(feature = "pipeline")]
pub use mlrig_pipeline as pipeline;
#[cfg(feature = "serve")]
pub use mlrig_serve as serve;
#[cfg(feature = "train")]
pub use mlrig_train as train;
#[cfg(feature = "validate")]
pub use mlrig_validate as validate;

/// The README's code, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
