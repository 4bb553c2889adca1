//! The shipped UCI Adult sample as the feature and model benchmarks use it.

/// Path of `data/samples/adult_sample.csv`.
pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/samples/adult_sample.csv");

/// The target column.
pub const TARGET: &str = "income";

/// The first data row of `adult_sample.csv` as a serving request (no target).
pub fn first_record() -> serde_json::Value {
    serde_json::json!({
        "age": 25, "workclass": "Private", "fnlwgt": 226802, "education": "11th",
        "educational-num": 7, "marital-status": "Never-married",
        "occupation": "Machine-op-inspct", "relationship": "Own-child", "race": "Black",
        "gender": "Male", "capital-gain": 0, "capital-loss": 0, "hours-per-week": 40,
        "native-country": "United-States"
    })
}
