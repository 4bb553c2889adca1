//! Serve your own model with `mlrig-serve` alone:
//!
//! ```text
//! cargo run -p mlrig-serve --example serve_custom_model
//! ```
//!
//! Any type that implements [`Servable`] can be served: here a tiny
//! rule-based income classifier. The example starts the TF Serving REST server
//! on 127.0.0.1 with a port chosen by the system, sends itself one
//! `:predict` request over TCP, prints the answer and shuts the server down
//! gracefully (in a real server, pass `shutdown_signal()` to `serve` instead:
//! it resolves on Ctrl-C or SIGTERM).

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use mlrig_serve::arrow_array::{Array, RecordBatch, cast::AsArray, types::Int64Type};
use mlrig_serve::arrow_schema::{DataType, Field, Schema, SchemaRef};
use mlrig_serve::ndarray::Array2;
use mlrig_serve::tokio::net::TcpListener;
use mlrig_serve::{
    CoreError, ModelRegistry, Predictions, Servable, ServableInfo, ServerConfig, Task, router,
    serve,
};

/// Predicts `>50K` more likely with more years of education and longer weeks.
struct IncomeRules {
    classes: Vec<String>,
    info: ServableInfo,
}

impl IncomeRules {
    fn new() -> Self {
        let classes = vec!["<=50K".to_string(), ">50K".to_string()];
        let task = Task::Classification {
            classes: classes.clone(),
        };
        let info =
            ServableInfo::new("income", 1, task, "income").with_created_at_unix(1_700_000_000);
        Self { classes, info }
    }
}

impl Servable for IncomeRules {
    /// A request's JSON records are converted to this schema (missing → null).
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("educational-num", DataType::Int64, true),
            Field::new("hours-per-week", DataType::Int64, true),
        ]))
    }

    fn info(&self) -> &ServableInfo {
        &self.info
    }

    fn predict(&self, batch: &RecordBatch) -> Result<Predictions, CoreError> {
        let education = batch.column(0).as_primitive::<Int64Type>();
        let hours = batch.column(1).as_primitive::<Int64Type>();
        let at_least = |column: &dyn Array, row: usize, values: &[i64], min: i64| {
            column.is_valid(row) && values[row] >= min
        };
        let mut probabilities = Array2::zeros((batch.num_rows(), 2));
        for (row, mut p) in probabilities.rows_mut().into_iter().enumerate() {
            // In tenths, so the probabilities print as 0.2 and 0.8, not 0.19999999999999996.
            let mut high = 1.0;
            if at_least(education, row, education.values(), 13) {
                high += 4.0;
            }
            if at_least(hours, row, hours.values(), 45) {
                high += 3.0;
            }
            p[0] = (10.0 - high) / 10.0;
            p[1] = high / 10.0;
        }
        Ok(Predictions::Classification {
            classes: self.classes.clone(),
            probabilities,
        })
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let registry = Arc::new(ModelRegistry::new());
    registry.insert(Arc::new(IncomeRules::new()))?;
    let app = router(registry, &ServerConfig::default());

    let runtime = mlrig_serve::tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let address = listener.local_addr()?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let shutdown = async move {
        // Waits on a blocking-pool thread, so the server's workers stay free.
        let _ = mlrig_serve::tokio::task::spawn_blocking(move || stopped.recv()).await;
    };
    let server = runtime.spawn(serve(listener, app, shutdown));
    println!("serving model `income` on http://{address}");

    let body =
        r#"{"instances": [{"educational-num": 16, "hours-per-week": 50}, {"educational-num": 9}]}"#;
    let answer = post(address, "/v1/models/income:predict", body);
    // Stop the server whatever the request gave, then report.
    stop.send(())?;
    runtime.block_on(server)??;
    println!("POST /v1/models/income:predict {body}\n→ {}", answer?);
    println!("server stopped");
    Ok(())
}

/// Sends one HTTP/1.1 POST with a JSON body and returns the status line and body.
fn post(address: SocketAddr, path: &str, body: &str) -> Result<String, Box<dyn Error>> {
    let mut stream = TcpStream::connect(address)?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("no end of HTTP headers")?;
    let status = head.lines().next().unwrap_or_default();
    Ok(format!("{status}: {body}"))
}
