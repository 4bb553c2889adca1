//! `mlrig serve`: answer TF Serving REST, Open Inference Protocol v2 and
//! MLflow scoring requests for model bundles.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use mlrig_monitor::ServingMetrics;
use mlrig_serve::{ModelRegistry, ServerConfig};

use crate::output::{Format, Outcome};
use crate::{CommandResult, config_file};

/// Arguments of `mlrig serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A model directory (<base>/<name>, serves its highest version) or a
    /// version directory (<base>/<name>/<version>); repeat for several models.
    #[arg(long = "model", value_name = "DIR", required = true)]
    models: Vec<PathBuf>,

    /// Port to listen on.
    #[arg(long, default_value_t = 8501)]
    port: u16,

    /// Address to bind (use 0.0.0.0 to accept connections from other machines).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,

    /// Server limits file, JSON or TOML (`max_body_bytes`, `request_timeout = "30s"`,
    /// `max_instances_per_request`, `max_connections`, `header_read_timeout`, `idle_timeout`,
    /// `max_concurrent_predictions`, `queue_timeout`, ...; schema: `mlrig schema server-config`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Largest request body accepted, in bytes (default 4 MiB); overrides the config file.
    #[arg(long, value_name = "BYTES")]
    max_body_bytes: Option<usize>,
}

pub(crate) fn run(args: Args, format: Format) -> CommandResult {
    let mut config: ServerConfig = match &args.config {
        Some(path) => config_file::read("--config", path)?,
        None => ServerConfig::default(),
    };
    if let Some(bytes) = args.max_body_bytes {
        config = config.with_max_body_bytes(bytes);
    }
    let registry = Arc::new(ModelRegistry::new());
    let mut loaded = Vec::new();
    for dir in &args.models {
        let servable = mlrig_pipeline::load_model_dir(dir)?;
        let info = servable.info().clone();
        registry.insert(servable)?;
        loaded.push(info);
    }
    let metrics = Arc::new(ServingMetrics::new());
    let app = mlrig_pipeline::server_app(registry, metrics, &config);
    let address = SocketAddr::new(args.host, args.port);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e} (is the port in use? try --port)"))?;
        let bound = listener.local_addr()?;
        let started = serde_json::json!({
            "listening": format!("http://{bound}"),
            "models": loaded.iter().map(|i| serde_json::json!({"name": i.name, "version": i.version})).collect::<Vec<_>>(),
        });
        match format {
            Format::Json => println!("{started}"),
            Format::Text => {
                for info in &loaded {
                    println!("serving `{}` version {} at http://{bound}/v1/models/{}", info.name, info.version, info.name);
                }
                println!("also Open Inference v2 at http://{bound}/v2/models/{{name}} and MLflow at http://{bound}/invocations");
                println!("metrics at http://{bound}/metrics; Ctrl-C to stop");
            }
        }
        mlrig_serve::serve_with(listener, app, &config, mlrig_serve::shutdown_signal()).await?;
        Ok::<_, crate::output::CliError>(())
    })?;
    // A server's JSON output is one document per line (started, stopped).
    Ok(
        Outcome::from_json(serde_json::Value::Null, "server stopped\n".into())
            .with_json_line(serde_json::json!({"stopped": true})),
    )
}
