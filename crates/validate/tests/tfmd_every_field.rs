//! Files written by TFDV 1.16 with every field of tensorflow-metadata's
//! `Schema`, `DatasetFeatureStatisticsList` and `Anomalies` set
//! (`fixtures/tfdv/every_field.*`, made by `make_tfdv_fixtures.py
//! --every-field`) load in each format and are written back unchanged: the
//! text mlrig writes is TFDV's text byte for byte (the text format is
//! canonical, so equal text is an equal message), and the binary and JSON
//! forms read back to the same value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::path::PathBuf;

use mlrig_validate::{Anomalies, Schema, SlicedStatistics, TfmdFile, TfmdFormat};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tfdv")
        .join(name)
}

fn check_every_field<T: TfmdFile + PartialEq + Debug>(name: &str) {
    let tfdv_text = std::fs::read_to_string(fixture(&format!("every_field.{name}.pbtxt"))).unwrap();
    for extension in ["pbtxt", "json", "pb"] {
        let path = fixture(&format!("every_field.{name}.{extension}"));
        let loaded = T::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(loaded.to_bytes(TfmdFormat::Text).unwrap()).unwrap();
        if text != tfdv_text {
            let line = text
                .lines()
                .zip(tfdv_text.lines())
                .position(|(a, b)| a != b);
            panic!(
                "{name} read from .{extension} writes other text than TFDV, first at line {:?}:\n{:?}\nvs TFDV\n{:?}",
                line.map(|l| l + 1),
                line.and_then(|l| text.lines().nth(l)),
                line.and_then(|l| tfdv_text.lines().nth(l)),
            );
        }
        for format in [TfmdFormat::Binary, TfmdFormat::Json, TfmdFormat::Text] {
            let bytes = loaded.to_bytes(format).unwrap();
            let back = T::from_bytes(&bytes, format).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(back, loaded, "{name} .{extension} → {format:?}");
        }
    }
}

#[test]
fn a_schema_with_every_field_round_trips_in_every_format() {
    check_every_field::<Schema>("schema");
}

#[test]
fn statistics_with_every_field_round_trip_in_every_format() {
    check_every_field::<SlicedStatistics>("stats");
}

#[test]
fn anomalies_with_every_field_round_trip_in_every_format() {
    check_every_field::<Anomalies>("anomalies");
}
