//! Writes mlrig-validate's outputs for the sample files into a directory, for
//! `tests/fixtures/tfdv/check_mlrig_outputs.py` to parse with
//! tensorflow-metadata (and TFDV):
//!
//! ```text
//! cargo run -p mlrig-validate --example write_outputs_for_tfdv -- target/mlrig_outputs
//! ../venv-tfdv/bin/python crates/validate/tests/fixtures/tfdv/check_mlrig_outputs.py target/mlrig_outputs
//! ```
//!
//! Files: `<name>.stats.json` (plain, weighted and sliced statistics),
//! `<name>.schema.json` + `<name>.schema.pbtxt` (inferred schemas, one with
//! every modelled schema field set), `<name>.anomalies.json` (validation and
//! drift anomalies).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use mlrig_validate::*;

fn write_schema(dir: &Path, name: &str, schema: &Schema) -> Result<(), ValidateError> {
    schema.save(&dir.join(format!("{name}.schema.json")))?;
    schema.save(&dir.join(format!("{name}.schema.pbtxt")))
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// The inferred adult schema with every field mlrig models set somewhere.
fn fully_annotated(mut schema: Schema) -> Schema {
    schema.default_environment = vec!["TRAINING".into(), "SERVING".into()];
    if let Some(income) = schema.feature_mut("income") {
        income.not_in_environment.push("SERVING".into());
        income.lifecycle_stage = Some(LifecycleStage::Production);
        income.skew_comparator = Some(FeatureComparator::infinity_norm(0.01));
        income.distribution_constraints = Some(DistributionConstraints {
            unmodelled: Default::default(),
            min_domain_mass: Some(0.99),
        });
    }
    if let Some(age) = schema.feature_mut("age") {
        let mut drift = FeatureComparator::jensen_shannon_divergence(0.1);
        if let Some(j) = drift.jensen_shannon_divergence.as_mut() {
            j.source = Some(HistogramSelection {
                unmodelled: Default::default(),
                selection_type: Some(HistogramSelectionType::Quantiles),
            });
        }
        drift.normalized_abs_difference = Some(NormalizedAbsoluteDifference {
            unmodelled: Default::default(),
            threshold: Some(0.2),
        });
        age.drift_comparator = Some(drift);
        age.in_environment.push("EVALUATION".into());
    }
    if let Some(hours) = schema.feature_mut("hours-per-week") {
        hours.shape = None;
        hours.value_count = Some(ValueCount {
            unmodelled: Default::default(),
            min: Some(1),
            max: Some(1),
        });
        hours.int_domain = Some(IntDomain {
            unmodelled: Default::default(),
            name: Some("hours".into()),
            min: Some(1),
            max: Some(99),
            is_categorical: false,
        });
    }
    if let Some(gender) = schema.feature_mut("gender") {
        gender.deprecated = true;
    }
    let mut flag = Feature::new("is_member", FeatureType::Int);
    flag.bool_domain = Some(BoolDomain {
        unmodelled: Default::default(),
        name: Some("flag".into()),
        true_value: Some("yes".into()),
        false_value: Some("no".into()),
    });
    flag.lifecycle_stage = Some(LifecycleStage::Planned);
    schema.features.push(flag);
    let mut ratio = Feature::new("ratio \"quoted\" é", FeatureType::Float);
    ratio.domain = Some("unit".into());
    schema.features.push(ratio);
    schema.float_domain.push(FloatDomain {
        unmodelled: Default::default(),
        name: Some("unit".into()),
        min: Some(0.0),
        max: Some(1.0),
        disallow_nan: true,
        disallow_inf: true,
        is_categorical: false,
    });
    schema.int_domain.push(IntDomain {
        unmodelled: Default::default(),
        name: Some("small".into()),
        min: Some(-5),
        max: Some(5),
        is_categorical: true,
    });
    schema
}

fn main() -> Result<(), ValidateError> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/mlrig_outputs".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let params = StatisticsParams::default();
    let ranges = SchemaInferenceParams::default().with_infer_numeric_ranges(true);

    let (_, adult_schema, adult) = common::read_batches("adult_sample.csv", 500);
    let stats = compute_statistics(&adult, &adult_schema, &params)?;
    stats.save_file(&dir.join("adult_sample.stats.json"))?;
    let weighted = compute_statistics(
        &adult,
        &adult_schema,
        &params.clone().with_weight_feature("fnlwgt"),
    )?;
    weighted.save_file(&dir.join("adult_sample_weighted.stats.json"))?;
    let sliced = compute_sliced_statistics(&adult, &adult_schema, &params, "gender")?;
    write(
        &dir,
        "adult_sample_sliced.stats.json",
        &sliced.to_tfmd_json()?,
    );

    let schema = infer_schema(&stats, &ranges);
    write_schema(&dir, "adult_sample", &schema)?;
    write_schema(
        &dir,
        "adult_sample_annotated",
        &fully_annotated(schema.clone()),
    )?;

    let (_, shifted_schema, shifted) = common::read_batches("adult_shifted.csv", 100);
    let anomalies = validate_batches(
        &schema,
        &shifted_schema,
        &shifted,
        &ValidationOptions::default(),
    )?;
    write(
        &dir,
        "adult_shifted.anomalies.json",
        &anomalies.to_tfmd_json()?,
    );
    let shifted_stats = compute_statistics(&shifted, &shifted_schema, &params)?;
    shifted_stats.save_file(&dir.join("adult_shifted.stats.json"))?;
    let mut drift_schema = schema.clone();
    for feature in &mut drift_schema.features {
        feature.drift_comparator = Some(match feature.feature_type {
            FeatureType::Bytes => FeatureComparator::infinity_norm(0.01),
            _ => FeatureComparator::jensen_shannon_divergence(0.01),
        });
    }
    let drift = compare(&stats, &shifted_stats, &drift_schema)?;
    write(&dir, "adult_drift.anomalies.json", &drift.to_tfmd_json()?);

    let (_, california_schema, california) = common::read_batches("california_sample.csv", 500);
    let stats = compute_statistics(&california, &california_schema, &params)?;
    stats.save_file(&dir.join("california_sample.stats.json"))?;
    write_schema(&dir, "california_sample", &infer_schema(&stats, &ranges))?;

    println!("wrote mlrig outputs to {}", dir.display());
    Ok(())
}
