//! `mlrig predict --key` then `mlrig serve --prediction-table --request-log`
//! end to end: known keys are answered from the table (the response header
//! says so), the request log file appears, whole, when the server stops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_status, mlrig, post, start_server};
use serde_json::{Value, json};

const HOUSING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/california_sample.csv"
);

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[cfg(unix)]
#[test]
fn serve_answers_known_keys_from_the_table_and_logs_requests() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_str().unwrap();
    assert_status(
        &mlrig([
            "train",
            HOUSING,
            "--target",
            "MedHouseVal",
            "--name",
            "housing",
            "--out",
            base,
        ]),
        0,
    );
    let model = dir.path().join("housing");
    // The sample with an `id` column (1000 + row).
    let text = std::fs::read_to_string(HOUSING).unwrap();
    let mut lines = text.lines();
    let header_line = lines.next().unwrap();
    let mut keyed = format!("id,{header_line}\n");
    let columns: Vec<&str> = header_line.split(',').collect();
    let mut first = serde_json::Map::new();
    for (i, line) in lines.enumerate() {
        keyed.push_str(&format!("{},{line}\n", 1000 + i));
        if i == 0 {
            for (column, cell) in columns.iter().zip(line.split(',')) {
                if *column != "MedHouseVal" {
                    first.insert(column.to_string(), json!(cell.parse::<f64>().unwrap()));
                }
            }
        }
    }
    let data = dir.path().join("keyed.csv");
    std::fs::write(&data, keyed).unwrap();
    let table = dir.path().join("table.parquet");
    let output = mlrig([
        "predict",
        "--model",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--key",
        "id",
        "--out",
        table.to_str().unwrap(),
    ]);
    assert_status(&output, 0);

    let log_dir = dir.path().join("requests");
    let (mut guard, started, address) = start_server([
        "--model".as_ref(),
        model.as_os_str(),
        "--port".as_ref(),
        "0".as_ref(),
        "--prediction-table".as_ref(),
        std::ffi::OsStr::new(&format!("housing={}:id", table.display())),
        "--request-log".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(started["prediction_tables"][0]["rows"], 2580, "{started}");
    assert_eq!(started["prediction_tables"][0]["key"], "id");

    let mut keyed_row = first.clone();
    keyed_row.insert("id".into(), json!(1000));
    let body = json!({"instances": [keyed_row, first]}).to_string();
    let (status, headers, answer) = post(
        &address,
        "/v1/models/housing:predict",
        "X-Request-Id: run-42\r\n",
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        header(&headers, "mlrig-prediction-source"),
        "mixed; table=1; model=1"
    );
    assert_eq!(header(&headers, "x-request-id"), "run-42");
    // The same row from the table and from the model.
    assert_eq!(answer["predictions"][0], answer["predictions"][1]);

    let kill = Command::new("kill")
        .args(["-TERM", &guard.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let files: Vec<_> = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let entry: Value = serde_json::from_str(
        std::fs::read_to_string(&files[0])
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(entry["request_id"], "run-42");
    assert_eq!(entry["source"], "mixed");
    assert_eq!(entry["outputs"][0]["source"], "table");
    assert_eq!(entry["outputs"][0]["prediction"], answer["predictions"][0]);
}
