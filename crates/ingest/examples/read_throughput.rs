//! Reads a CSV file (or glob) with a given number of threads and prints the
//! throughput and a fingerprint of the output, to compare sequential and
//! parallel parsing.
//!
//! ```text
//! cargo run --release -p mlrig-ingest --example read_throughput -- big.csv 1
//! cargo run --release -p mlrig-ingest --example read_throughput -- big.csv 0
//! cargo run --release -p mlrig-ingest --example read_throughput -- big.csv 2 nohash
//! ```

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_ingest::{CsvReader, FileSet, ReadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(pattern) = args.next() else {
        return Err("usage: read_throughput <file or glob> [threads (default 1, 0 = all)]".into());
    };
    let threads: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(1);
    // Fingerprinting costs time on the consuming thread; `nohash` leaves it out.
    let fingerprint = args.next().as_deref() != Some("nohash");
    let files = FileSet::new([pattern])?;
    let start = Instant::now();
    let mut reader = CsvReader::open_files(&files, ReadOptions::default().with_threads(threads))?;
    let mut hasher = DefaultHasher::new();
    let mut rows = 0usize;
    for batch in reader.by_ref() {
        let batch: RecordBatch = batch?;
        rows += batch.num_rows();
        if fingerprint {
            for column in batch.columns() {
                hash_values(column.as_ref(), &mut hasher);
            }
        }
    }
    let report = reader.finish()?;
    let elapsed = start.elapsed().as_secs_f64();
    let s = &report.summary;
    println!(
        "threads={threads} rows_read={} accepted={} quarantined={} batches={} rows={rows} \
         elapsed={elapsed:.3}s rows_per_s={:.0} fingerprint={:016x}",
        s.rows_read,
        s.rows_accepted,
        s.rows_quarantined,
        s.batches,
        s.rows_read as f64 / elapsed,
        hasher.finish()
    );
    Ok(())
}

/// Hashes the logical values of a column (not its buffers, which may be
/// laid out differently for equal arrays).
fn hash_values(column: &dyn Array, hasher: &mut DefaultHasher) {
    use mlrig_core::arrow_array::cast::AsArray;
    use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
    use mlrig_core::arrow_schema::DataType;
    for i in 0..column.len() {
        if column.is_null(i) {
            0u8.hash(hasher);
            continue;
        }
        match column.data_type() {
            DataType::Int64 => column.as_primitive::<Int64Type>().value(i).hash(hasher),
            DataType::Float64 => column
                .as_primitive::<Float64Type>()
                .value(i)
                .to_bits()
                .hash(hasher),
            DataType::Boolean => column.as_boolean().value(i).hash(hasher),
            _ => column.as_string::<i32>().value(i).hash(hasher),
        }
    }
}
