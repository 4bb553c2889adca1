//! Sliced statistics on the shipped UCI Adult sample, checked against values
//! computed independently from the raw CSV cells.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::read_batches;
use mlrig_validate::*;

#[test]
fn adult_sliced_by_gender_matches_an_independent_computation() {
    let (table, schema, batches) = read_batches("adult_sample.csv", 300);
    let sliced =
        compute_sliced_statistics(&batches, &schema, &StatisticsParams::default(), "gender")
            .unwrap();
    assert_eq!(
        sliced.slice_keys(),
        ["All Examples", "gender_Female", "gender_Male"]
    );
    let whole = compute_statistics(&batches, &schema, &StatisticsParams::default()).unwrap();
    assert_eq!(
        sliced.slice(DEFAULT_SLICE_KEY).unwrap().features(),
        whole.features()
    );

    let genders = table.column("gender");
    let ages = table.column("age");
    for gender in ["Female", "Male"] {
        let slice = sliced.slice(&format!("gender_{gender}")).unwrap();
        let members: Vec<i64> = genders
            .iter()
            .zip(&ages)
            .filter(|(g, _)| g.as_deref() == Some(gender))
            .filter_map(|(_, a)| a.as_ref().map(|a| a.parse().unwrap()))
            .collect();
        let rows = genders
            .iter()
            .filter(|g| g.as_deref() == Some(gender))
            .count();
        assert_eq!(slice.num_examples(), rows as u64);
        let age = slice.feature("age").unwrap().numeric().unwrap();
        let sum: i64 = members.iter().sum();
        assert_eq!(age.mean, sum as f64 / members.len() as f64);
        assert_eq!(age.min, *members.iter().min().unwrap() as f64);
        let g = slice.feature("gender").unwrap().string().unwrap();
        assert_eq!(g.unique, 1);
        assert_eq!(g.top_values[0].value, gender);
    }

    // The file form is a DatasetFeatureStatisticsList TFDV/Facets can read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sliced.json");
    sliced.save_file(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"name\": \"gender_Female\""));
    assert_eq!(SlicedStatistics::load_file(&path).unwrap(), sliced);
}
