//! Read a CSV file with a quarantine for bad rows, with `mlrig-ingest` alone:
//!
//! ```text
//! cargo run -p mlrig-ingest --example read_with_quarantine
//! ```
//!
//! Reads the shipped `data/samples/broken.csv` (a bad number, a short row, a
//! long row, quoted commas and line breaks, missing tokens) with the default
//! options: types are inferred from a sample, missing tokens become nulls,
//! and every row that does not fit goes to the quarantine with its line, so
//! rows read = rows accepted + rows quarantined.

use std::error::Error;

use mlrig_ingest::read_data;

const BROKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/broken.csv");

fn main() -> Result<(), Box<dyn Error>> {
    let (schema, batches, report) = read_data(BROKEN, Default::default())?;

    println!("columns:");
    for field in schema.fields() {
        println!("  {}: {}", field.name(), field.data_type());
    }
    let rows: usize = batches.iter().map(|batch| batch.num_rows()).sum();
    println!("accepted rows in {} batch(es): {rows}", batches.len());

    println!("quarantined rows:");
    for row in &report.quarantined {
        let column = row.column.as_deref().unwrap_or("-");
        println!("  line {}, column {column}: {}", row.line, row.reason);
    }

    let totals = &report.summary;
    println!(
        "rows read {} = accepted {} + quarantined {}",
        totals.rows_read, totals.rows_accepted, totals.rows_quarantined
    );
    if totals.rows_read != totals.rows_accepted + totals.rows_quarantined {
        return Err("the totals do not add up".into());
    }
    Ok(())
}
