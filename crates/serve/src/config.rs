//! [`ServerConfig`]: request and connection limits, and where predictions run.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration_serde::{deserialize_duration, serialize_duration};

use crate::InputContractConfig;

/// Limits and execution settings of the HTTP API built by [`router`](crate::router).
///
/// Built in Rust, or read (serde) from a hand-written JSON or TOML file
/// (`mlrig serve --config FILE`, JSON Schema
/// `docs/schemas/server-config.schema.json`): every key is optional, unknown
/// keys are errors, and `request_timeout` is a duration such as `"30s"`,
/// `"500ms"` or `"2m"`.
///
/// ```
/// use mlrig_serve::ServerConfig;
/// use std::time::Duration;
/// let config = ServerConfig::default()
///     .with_max_body_bytes(1 << 20)
///     .with_request_timeout(Duration::from_secs(5));
/// assert_eq!(config.max_body_bytes, 1 << 20);
/// assert_eq!(ServerConfig::default().request_timeout, Duration::from_secs(30));
///
/// let file: ServerConfig = serde_json::from_str(r#"{"max_body_bytes": 1048576, "request_timeout": "5s"}"#)?;
/// assert_eq!(file, config);
/// assert_eq!(serde_json::to_value(&config)?["request_timeout"], "5s");
/// assert!(serde_json::from_str::<ServerConfig>(r#"{"timeout": "5s"}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
// The private unit field is the ignored `$schema` key, not a non-exhaustive marker.
#[allow(clippy::manual_non_exhaustive)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes (default 4 MiB = 4194304); a
    /// larger body is answered with 413.
    pub max_body_bytes: usize,
    /// Longest time a request may take, body upload included (default
    /// `"30s"`); a slower request is answered with 504. A number and a unit
    /// (`ms`, `s`, `m`, `h`), e.g. `"500ms"`, `"1m 30s"`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["30s", "500ms", "2m"])))]
    pub request_timeout: Duration,
    /// Prediction requests whose body is at most this many bytes (default
    /// 16 KiB = 16384, a few dozen rows) are converted and predicted directly
    /// on the async worker thread; larger ones run on tokio's blocking thread
    /// pool so they never stall other connections. Set 0 to always use the
    /// pool.
    pub inline_predict_max_bytes: usize,
    /// Most rows (instances) one prediction request may carry, whatever its
    /// protocol (default 100000, [`MAX_ROWS_PER_REQUEST`](crate::MAX_ROWS_PER_REQUEST));
    /// counted before records are built, a larger request is a 400 that says
    /// to split it.
    pub max_instances_per_request: usize,
    /// Largest response body, in bytes (default 64 MiB = 67108864); a
    /// prediction whose answer would be larger is a 413 that says to send
    /// fewer instances.
    pub max_response_bytes: usize,
    /// Longest time a client may take to send a request's headers, from its
    /// first byte (default `"10s"`); a slower client (slowloris) is
    /// disconnected without an answer. Zero disables it.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["10s"])))]
    pub header_read_timeout: Duration,
    /// Longest time a keep-alive connection may stay idle between requests
    /// (default `"60s"`) before the server closes it. Zero disables it.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["60s"])))]
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers), in bytes (default
    /// 32 KiB = 32768, at least 8192); a larger one is answered 431 (with a
    /// JSON body, as every error).
    pub max_header_bytes: usize,
    /// Most open client connections (default 10000). A connection over the
    /// limit is answered 503 with `Retry-After` and closed; established
    /// connections keep being served. At start-up the limit is lowered, with
    /// a warning, to fit the process's open-file limit (`ulimit -n`).
    pub max_connections: usize,
    /// Most predictions running at once (default: 4 × the number of CPUs);
    /// more wait in a queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_predictions: Option<usize>,
    /// Most predictions waiting for a slot (default: 4 ×
    /// `max_concurrent_predictions`); a request finding the queue full is
    /// answered 503 with `Retry-After` at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_queued_predictions: Option<usize>,
    /// Longest time a prediction waits in the queue (default `"1s"`) before
    /// it is answered 503 with `Retry-After`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["1s", "250ms"])))]
    pub queue_timeout: Duration,
    /// Precomputed predictions answering requests by key (hybrid
    /// inference), one table per model; loaded by `mlrig serve` (see
    /// [`PredictionTableConfig`](crate::PredictionTableConfig)). Default none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prediction_tables: Vec<crate::PredictionTableConfig>,
    /// Logs sampled requests and their predictions to rotating files
    /// (see [`RequestLogConfig`](crate::RequestLogConfig)). Default off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_log: Option<crate::RequestLogConfig>,
    /// How strictly each model's input contract (from its training schema)
    /// is enforced, per model and feature (see [`InputContractConfig`]);
    /// by default a missing required field or an unseen category is a 400
    /// and an out-of-range number is scored and counted.
    #[serde(skip_serializing_if = "InputContractConfig::is_default")]
    pub input_contract: InputContractConfig,
    /// Live monitoring settings (the `[monitoring]` section: `enabled`,
    /// `window`, `max_rows`, `panes`, `queue_capacity`, `thresholds`), kept
    /// as written: the router does not read them; `mlrig serve` hands them to
    /// `mlrig-monitor`'s `MonitoringConfig`, which checks them (this crate
    /// does not depend on it). Default: absent (monitoring on, with its
    /// defaults, for every version whose bundle has training statistics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<serde_json::Map<String, serde_json::Value>>,
    /// The JSON Schema of this file, for editors; accepted and ignored.
    #[serde(
        rename = "$schema",
        skip_serializing,
        deserialize_with = "mlrig_core::ignore_schema_reference"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    schema_reference: (),
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            inline_predict_max_bytes: 16 * 1024,
            max_instances_per_request: crate::MAX_ROWS_PER_REQUEST,
            max_response_bytes: 64 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 32 * 1024,
            max_connections: 10_000,
            max_concurrent_predictions: None,
            max_queued_predictions: None,
            queue_timeout: Duration::from_secs(1),
            prediction_tables: Vec::new(),
            request_log: None,
            input_contract: InputContractConfig::default(),
            monitoring: None,
            schema_reference: (),
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::max_body_bytes`].
    ///
    /// ```
    /// assert_eq!(mlrig_serve::ServerConfig::default().with_max_body_bytes(10).max_body_bytes, 10);
    /// ```
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::request_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::ServerConfig::default().with_request_timeout(Duration::from_secs(1));
    /// assert_eq!(c.request_timeout, Duration::from_secs(1));
    /// ```
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::inline_predict_max_bytes`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_inline_predict_max_bytes(0);
    /// assert_eq!(c.inline_predict_max_bytes, 0);
    /// ```
    pub fn with_inline_predict_max_bytes(mut self, bytes: usize) -> Self {
        self.inline_predict_max_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::max_instances_per_request`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_max_instances_per_request(10);
    /// assert_eq!(c.max_instances_per_request, 10);
    /// ```
    pub fn with_max_instances_per_request(mut self, rows: usize) -> Self {
        self.max_instances_per_request = rows;
        self
    }

    /// Sets [`ServerConfig::max_response_bytes`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_max_response_bytes(1 << 20);
    /// assert_eq!(c.max_response_bytes, 1 << 20);
    /// ```
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::header_read_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::ServerConfig::default().with_header_read_timeout(Duration::from_secs(2));
    /// assert_eq!(c.header_read_timeout, Duration::from_secs(2));
    /// ```
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::idle_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::ServerConfig::default().with_idle_timeout(Duration::from_secs(5));
    /// assert_eq!(c.idle_timeout, Duration::from_secs(5));
    /// ```
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::max_header_bytes`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_max_header_bytes(16384);
    /// assert_eq!(c.max_header_bytes, 16384);
    /// ```
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::max_connections`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_max_connections(100);
    /// assert_eq!(c.max_connections, 100);
    /// ```
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Sets [`ServerConfig::max_concurrent_predictions`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_max_concurrent_predictions(2);
    /// assert_eq!(c.concurrent_predictions(), 2);
    /// ```
    pub fn with_max_concurrent_predictions(mut self, predictions: usize) -> Self {
        self.max_concurrent_predictions = Some(predictions);
        self
    }

    /// Sets [`ServerConfig::max_queued_predictions`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_max_queued_predictions(0);
    /// assert_eq!(c.queued_predictions(), 0);
    /// ```
    pub fn with_max_queued_predictions(mut self, predictions: usize) -> Self {
        self.max_queued_predictions = Some(predictions);
        self
    }

    /// Sets [`ServerConfig::queue_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::ServerConfig::default().with_queue_timeout(Duration::from_millis(100));
    /// assert_eq!(c.queue_timeout, Duration::from_millis(100));
    /// ```
    pub fn with_queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// The effective [`ServerConfig::max_concurrent_predictions`]: the
    /// configured value (at least 1), or 4 × the available parallelism.
    ///
    /// ```
    /// assert!(mlrig_serve::ServerConfig::default().concurrent_predictions() >= 4);
    /// ```
    pub fn concurrent_predictions(&self) -> usize {
        self.max_concurrent_predictions
            .unwrap_or_else(|| {
                4 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            })
            .max(1)
    }

    /// The effective [`ServerConfig::max_queued_predictions`]: the
    /// configured value, or 4 × [`ServerConfig::concurrent_predictions`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_max_concurrent_predictions(3);
    /// assert_eq!(c.queued_predictions(), 12);
    /// ```
    pub fn queued_predictions(&self) -> usize {
        self.max_queued_predictions
            .unwrap_or_else(|| 4 * self.concurrent_predictions())
    }
    /// Sets [`ServerConfig::input_contract`].
    ///
    /// ```
    /// use mlrig_serve::{InputContractConfig, RulesSetting, ServerConfig};
    /// let c = ServerConfig::default()
    ///     .with_input_contract(InputContractConfig::default().with_default(RulesSetting::Lenient));
    /// assert!(serde_json::to_string(&c)?.contains(r#""input_contract":{"default":"lenient"}"#));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn with_input_contract(mut self, input_contract: InputContractConfig) -> Self {
        self.input_contract = input_contract;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monitoring_section_is_kept_as_written_in_json_and_toml() {
        let from_toml: ServerConfig =
            toml::from_str("max_body_bytes = 10\n[monitoring]\nwindow = \"1h\"\nmax_rows = 400\n")
                .unwrap();
        let section = from_toml.monitoring.clone().unwrap();
        assert_eq!(section["window"], "1h");
        assert_eq!(section["max_rows"], 400);
        let from_json: ServerConfig = serde_json::from_str(
            r#"{"max_body_bytes": 10, "monitoring": {"window": "1h", "max_rows": 400}}"#,
        )
        .unwrap();
        assert_eq!(from_json, from_toml);
        assert_eq!(
            serde_json::to_value(&from_json).unwrap()["monitoring"]["max_rows"],
            400
        );
        assert!(serde_json::from_str::<ServerConfig>(r#"{"monitoring": 5}"#).is_err());
    }

    #[test]
    fn file_round_trip_defaults_and_errors() {
        let config = ServerConfig::default()
            .with_request_timeout(Duration::from_millis(1500))
            .with_inline_predict_max_bytes(0);
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(
            json,
            r#"{"max_body_bytes":4194304,"request_timeout":"1s 500ms","inline_predict_max_bytes":0,"max_instances_per_request":100000,"max_response_bytes":67108864,"header_read_timeout":"10s","idle_timeout":"1m","max_header_bytes":32768,"max_connections":10000,"queue_timeout":"1s"}"#
        );
        assert_eq!(serde_json::from_str::<ServerConfig>(&json).unwrap(), config);
        let limits = ServerConfig::default()
            .with_max_concurrent_predictions(8)
            .with_max_queued_predictions(2);
        let json = serde_json::to_value(&limits).unwrap();
        assert_eq!(json["max_concurrent_predictions"], 8);
        assert_eq!(
            serde_json::from_value::<ServerConfig>(json).unwrap(),
            limits
        );
        let with_schema = r#"{"$schema": "server-config.schema.json"}"#;
        assert_eq!(
            serde_json::from_str::<ServerConfig>(with_schema).unwrap(),
            ServerConfig::default()
        );
        let err = serde_json::from_str::<ServerConfig>("{\n  \"request_timeout\": \"soon\"\n}")
            .unwrap_err();
        assert!(
            err.to_string().contains("invalid duration \"soon\""),
            "{err}"
        );
        assert_eq!((err.line(), err.column()), (2, 27), "{err}");
        let err = serde_json::from_str::<ServerConfig>(r#"{"request_timeout": 30}"#).unwrap_err();
        assert!(
            err.to_string().contains("expected a duration such as"),
            "{err}"
        );
        let hybrid: ServerConfig = serde_json::from_str(
            r#"{"prediction_tables": [{"model": "adult", "path": "p.parquet", "key": "id"}],
                "request_log": {"dir": "logs", "format": "parquet", "sample_rate": 0.25}}"#,
        )
        .unwrap();
        assert_eq!(
            hybrid.prediction_tables,
            [crate::PredictionTableConfig::new("adult", "p.parquet").with_key("id")]
        );
        assert_eq!(
            hybrid.request_log,
            Some(
                crate::RequestLogConfig::new("logs")
                    .with_format(crate::RequestLogFormat::Parquet)
                    .with_sample_rate(0.25)
            )
        );
        let round_trip: ServerConfig =
            serde_json::from_str(&serde_json::to_string(&hybrid).unwrap()).unwrap();
        assert_eq!(round_trip, hybrid);
        let err = serde_json::from_str::<ServerConfig>(r#"{"max_body": 1}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `max_body`"),
            "{err}"
        );
    }
}
