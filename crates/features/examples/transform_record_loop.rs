//! Transforms the first record of the shipped Adult sample many times with
//! the inferred pipeline (the `features/transform_record` benchmark's
//! workload), for load-independent instruction counts of the serving path:
//!
//! ```text
//! cargo build --release -p mlrig-features --example transform_record_loop
//! valgrind --tool=callgrind target/release/examples/transform_record_loop 100000
//! ```
//!
//! Instructions per record = (total − total of a run with `0`) / 100,000.
//! The first argument is the number of transforms (default 100,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use mlrig_core::{Fit, ParamGuard, Transform};
use mlrig_features::{FeaturePipelineParams, FeatureSpec};

const ADULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_sample.csv"
);

/// The sample as one batch: integer columns `Int64`, the others `Utf8`,
/// `?` missing (as `mlrig-ingest` reads it by default).
fn adult_batch() -> RecordBatch {
    let mut reader = csv::Reader::from_path(ADULT).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<Option<String>>> = reader
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .map(|v| (v != "?").then(|| v.to_string()))
                .collect()
        })
        .collect();
    let columns = header.iter().enumerate().map(|(i, name)| {
        let values: Vec<Option<&str>> = rows.iter().map(|r| r[i].as_deref()).collect();
        let array: ArrayRef = if values.iter().flatten().all(|v| v.parse::<i64>().is_ok()) {
            Arc::new(Int64Array::from(
                values
                    .iter()
                    .map(|v| v.map(|v| v.parse::<i64>().unwrap()))
                    .collect::<Vec<_>>(),
            ))
        } else {
            Arc::new(StringArray::from(values))
        };
        (name.clone(), array)
    });
    RecordBatch::try_from_iter(columns).unwrap()
}

fn main() {
    let times: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |n| n.parse().expect("a number of transforms"));
    let batch = adult_batch();
    let spec = FeatureSpec::infer(&batch.schema(), "income").unwrap();
    let pipeline = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(std::slice::from_ref(&batch))
        .unwrap();
    let record = serde_json::json!({
        "age": 25, "workclass": "Private", "fnlwgt": 226802, "education": "11th",
        "educational-num": 7, "marital-status": "Never-married",
        "occupation": "Machine-op-inspct", "relationship": "Own-child", "race": "Black",
        "gender": "Male", "capital-gain": 0, "capital-loss": 0, "hours-per-week": 40,
        "native-country": "United-States"
    });
    let expected = pipeline.transform(&batch.slice(0, 1)).unwrap();
    assert_eq!(pipeline.transform_record(&record).unwrap(), expected);
    let start = std::time::Instant::now();
    for _ in 0..times {
        black_box(pipeline.transform_record(black_box(&record)).unwrap());
    }
    if times > 0 {
        eprintln!(
            "{times} transforms, {:.3} µs each ({} outputs)",
            start.elapsed().as_secs_f64() * 1e6 / times as f64,
            expected.ncols()
        );
    }
}
