#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::{Baseline, TrainingJob};

const T0: i64 = 1_800_000_000;
const PUSHED_AT: i64 = T0 + 100;
const NOW: i64 = T0 + 200;

const MODEL_CONFIG: &str = "# served by `mlrig serve --model-config models.toml`\n[[models]]\nname = \"m\"\nbase_path = \"models/m\" # the pipeline pushes here\nlabels = { stable = 2 } # moved by the pipeline\n";

/// A span of 300 rows: `y` is "yes" iff `x1 + 0.3·x2 > 0` (the reverse when
/// `flipped`), with one label in ten flipped at random.
fn span(seed: u64, flipped: bool) -> String {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1_u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut out = String::from("x1,x2,y\n");
    for _ in 0..300 {
        let (x1, x2, noise) = (next(), next(), next() > 0.8);
        let positive = ((x1 + 0.3 * x2 > 0.0) != flipped) != noise;
        writeln!(
            out,
            "{x1:.4},{x2:.4},{}",
            if positive { "yes" } else { "no" }
        )
        .unwrap();
    }
    out
}

/// A pipeline directory whose history pushed version 1 (trained on day 1)
/// then version 2 (trained on day 2, where the concept flipped).
struct Fixture {
    dir: tempfile::TempDir,
    history: PushHistory,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("spans")).unwrap();
        let mut fixture = Fixture {
            dir,
            history: PushHistory::default(),
        };
        fixture.write_span("day1.csv", span(1, false));
        fixture.write_span("day2.csv", span(2, true));
        for (version, day) in [(1, "day1.csv"), (2, "day2.csv")] {
            TrainingJob::new(fixture.path().join("spans").join(day), "y")
                .with_name("m")
                .with_output_dir(fixture.path().join("models"))
                .with_version(version)
                .with_baseline(Baseline::None)
                .run()
                .unwrap();
        }
        std::fs::write(fixture.path().join("models.toml"), MODEL_CONFIG).unwrap();
        for (version, previous, at) in [(1, None, T0), (2, Some(1), PUSHED_AT)] {
            fixture.history.pushes.push(PushRecord {
                version,
                pushed_at_unix: at,
                previous,
                run_id: format!("run{version}"),
                model_fingerprint: format!("fp{version}"),
                ingest_key: format!("ingest{version}"),
                span_fingerprints: Vec::new(),
                warm_start_version: None,
                label_set: true,
            });
        }
        fixture
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write_span(&self, name: &str, text: String) {
        std::fs::write(self.path().join("spans").join(name), text).unwrap();
    }

    /// [`apply_rollback`] of `push` at `NOW`.
    fn apply(
        &mut self,
        config: &PipelineConfig,
        push: &PushRecord,
        reasons: Vec<String>,
    ) -> Result<RollbackRecord, PipelineError> {
        apply_rollback(
            config,
            self.dir.path(),
            &mut self.history,
            push,
            reasons,
            NOW,
        )
    }

    /// The pipeline config, with `extra` TOML appended.
    fn config(&self, extra: &str) -> PipelineConfig {
        let text = format!(
            "name = \"m\"\n[data]\nfiles = [\"spans/*.csv\"]\ntarget = \"y\"\n[push]\nbase_path = \"models\"\nmodel_config = \"models.toml\"\n{extra}"
        );
        PipelineConfig::from_toml_str(&text, self.path().join("mlrig.toml")).unwrap()
    }

    fn check(&self, config: &PipelineConfig, now: i64) -> Option<RollbackCheck> {
        rollback_check(config, self.path(), &self.history, now).unwrap()
    }
}

#[test]
fn a_version_worse_on_the_newest_span_is_rolled_back() {
    let mut fixture = Fixture::new();
    fixture.write_span("day4.csv", span(4, false));
    let config = fixture.config("");
    let RollbackCheck { push, reasons, .. } =
        rollback_check(&config, fixture.path(), &fixture.history, NOW)
            .unwrap()
            .unwrap();
    assert_eq!((push.version, push.previous), (2, Some(1)));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = &reasons[0];

    // The same span as version 2's own training data proves nothing: no verdict.
    let mut trained_on_it = fixture.history.clone();
    let day4 = mlrig_core::Fingerprint::of_file(&fixture.path().join("spans/day4.csv")).unwrap();
    trained_on_it.pushes[1].span_fingerprints = vec![day4.to_string()];
    let check = rollback_check(&config, fixture.path(), &trained_on_it, NOW)
        .unwrap()
        .unwrap();
    assert!(check.reasons.is_empty(), "{check:?}");
    assert!(
        check.notes[0].contains("version 2 was trained on"),
        "{check:?}"
    );
    for part in [
        "version 2 roc_auc ",
        " on spans/day4.csv is ",
        " below version 1's ",
        "(max_drop 0.01)",
    ] {
        assert!(reason.contains(part), "{reason}");
    }

    let record = fixture.apply(&config, &push, reasons.clone()).unwrap();
    let moved = fixture.path().join("pipeline/rolled_back/m/2");
    assert_eq!((record.version, record.to), (2, 1));
    assert_eq!(record.moved_to, moved);
    assert!(moved.join("manifest.json").is_file());
    assert!(!fixture.path().join("models/m/2").exists());
    assert!(fixture.path().join("models/m/1/manifest.json").is_file());

    let model_config = fixture.path().join("models.toml");
    let text = std::fs::read_to_string(&model_config).unwrap();
    for comment in [
        "# served by",
        "# the pipeline pushes here",
        "# moved by the pipeline",
    ] {
        assert!(text.contains(comment), "{text}");
    }
    let served = mlrig_serve::ModelConfig::from_file(&model_config).unwrap();
    assert_eq!(served.models[0].labels["stable"], 1);

    let written = PushHistory::read(&fixture.path().join("pipeline")).unwrap();
    assert_eq!(written, fixture.history);
    assert_eq!(written.rollbacks, vec![record]);
    assert_eq!(written.rollbacks[0].reasons, reasons);
    // Rolled back: nothing more to check.
    assert!(fixture.check(&config, NOW).is_none());
}

#[test]
fn only_drops_beyond_max_drop_in_the_metrics_direction_are_reasons() {
    let fixture = Fixture::new();
    fixture.write_span("day4.csv", span(4, false));
    let check = fixture.check(
        &fixture.config("[rollback]\nmax_drop = { accuracy = 0.99 }\n"),
        NOW,
    );
    let check = check.unwrap();
    assert!(check.reasons.is_empty(), "{:?}", check.reasons);
    assert!(check.notes.is_empty(), "{:?}", check.notes);

    let check = fixture
        .check(
            &fixture.config("[rollback]\nmax_drop = { log_loss = 0.1, auc = 0.5 }\n"),
            NOW,
        )
        .unwrap();
    assert_eq!(check.reasons.len(), 1, "{:?}", check.reasons);
    assert!(
        check.reasons[0].starts_with("version 2 log_loss ")
            && check.reasons[0].contains(" above version 1's ")
            && check.reasons[0].ends_with("(max_drop 0.1)"),
        "{}",
        check.reasons[0]
    );
    // A metric the task does not compute is a note, not a reason.
    assert!(
        check
            .notes
            .iter()
            .any(|n| n.starts_with("rollback.max_drop.auc: not computed")),
        "{:?}",
        check.notes
    );

    // Newer data like day 2's: version 2 is the better one.
    fixture.write_span("day5.csv", span(5, true));
    let check = fixture.check(&fixture.config(""), NOW).unwrap();
    assert!(check.reasons.is_empty(), "{:?}", check.reasons);

    // A newest span neither version can score: a note, no rollback.
    fixture.write_span("day6.csv", "x2,y\n0.5,yes\n-0.5,no\n".into());
    let check = fixture.check(&fixture.config(""), NOW).unwrap();
    assert!(check.reasons.is_empty(), "{:?}", check.reasons);
    assert_eq!(check.notes.len(), 1, "{:?}", check.notes);
    assert!(
        check.notes[0].contains("cannot both be scored on spans/day6.csv"),
        "{}",
        check.notes[0]
    );
}

#[test]
fn nothing_is_checked_outside_the_grace_period_or_without_a_previous_version() {
    let mut fixture = Fixture::new();
    fixture.write_span("day4.csv", span(4, false));
    let config = fixture.config("");
    assert!(fixture.check(&config, NOW).is_some());
    let week = 7 * 24 * 3600;
    assert!(fixture.check(&config, PUSHED_AT + week).is_some());
    assert!(fixture.check(&config, PUSHED_AT + week + 1).is_none());
    let hour = fixture.config("[rollback]\ngrace_period = \"1h\"\n");
    assert!(fixture.check(&hour, PUSHED_AT + 3600).is_some());
    assert!(fixture.check(&hour, PUSHED_AT + 3601).is_none());
    assert!(
        fixture
            .check(&fixture.config("[rollback]\nenabled = false\n"), NOW)
            .is_none()
    );

    // Already rolled back.
    let mut rolled_back = fixture.history.clone();
    rolled_back.rollbacks.push(RollbackRecord {
        version: 2,
        to: 1,
        at_unix: NOW,
        reasons: vec!["r".into()],
        moved_to: PathBuf::from("elsewhere"),
    });
    assert!(
        rollback_check(&config, fixture.path(), &rolled_back, NOW)
            .unwrap()
            .is_none()
    );

    // The first push has no previous version.
    let only_first = PushHistory {
        pushes: fixture.history.pushes[..1].to_vec(),
        rollbacks: Vec::new(),
    };
    assert!(
        rollback_check(&config, fixture.path(), &only_first, NOW + 1)
            .unwrap()
            .is_none()
    );
    let error = apply_rollback(
        &config,
        fixture.path(),
        &mut only_first.clone(),
        &only_first.pushes[0],
        vec![],
        NOW,
    )
    .unwrap_err();
    assert!(error.to_string().contains("first push"), "{error}");

    // The previous version is gone from the base path: nothing to roll back to.
    std::fs::remove_dir_all(fixture.path().join("models/m/1")).unwrap();
    assert!(fixture.check(&config, NOW).is_none());
    fixture.history.pushes.clear();
    assert!(fixture.check(&config, NOW).is_none());
}

#[test]
fn an_interrupted_rollback_is_finished() {
    let mut fixture = Fixture::new();
    let config = fixture.config("");
    let moved = fixture.path().join("pipeline/rolled_back/m/2");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(fixture.path().join("models/m/2"), &moved).unwrap();
    let check = fixture.check(&config, NOW).unwrap();
    assert_eq!(check.reasons.len(), 1);
    assert!(check.reasons[0].starts_with("an interrupted rollback moved version 2"));
    let push = check.push.clone();
    let record = fixture.apply(&config, &push, check.reasons).unwrap();
    assert_eq!(record.moved_to, moved);
    assert!(moved.join("manifest.json").is_file());
    assert_eq!(
        PushHistory::read(&fixture.path().join("pipeline"))
            .unwrap()
            .rollbacks,
        vec![record]
    );
    // Neither in the base path nor moved: an error, and the history is kept.
    std::fs::remove_dir_all(&moved).unwrap();
    let before = fixture.history.clone();
    let error = fixture.apply(&config, &push, vec![]).unwrap_err();
    assert!(
        error.to_string().contains("nothing to roll back"),
        "{error}"
    );
    assert_eq!(fixture.history, before);
}

#[test]
fn a_taken_destination_is_refused_before_anything_moves() {
    let mut fixture = Fixture::new();
    let config = fixture.config("");
    let moved = fixture.path().join("pipeline/rolled_back/m/2");
    std::fs::create_dir_all(&moved).unwrap();
    let push = fixture.history.pushes[1].clone();
    let error = fixture.apply(&config, &push, vec![]).unwrap_err();
    assert!(
        error.to_string().contains("the directory exists"),
        "{error}"
    );
    assert!(fixture.path().join("models/m/2/manifest.json").is_file());
    let text = std::fs::read_to_string(fixture.path().join("models.toml")).unwrap();
    assert_eq!(text, MODEL_CONFIG);
    assert!(fixture.history.rollbacks.is_empty());
}

/// Real live-monitoring reports of model `m`: version 2's `job` column was
/// all `a`/`b` in training and is mostly `c` in traffic; version 5 has seen
/// no traffic yet.
fn reports() -> (MonitoringReport, MonitoringReport) {
    use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
    use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
    use mlrig_monitor::{LiveMonitor, MonitoringBaseline, MonitoringConfig, ServingMetrics};
    use mlrig_validate::{
        SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema,
    };
    let batch = |values: Vec<&str>| {
        RecordBatch::try_from_iter([("job", Arc::new(StringArray::from(values)) as ArrayRef)])
            .unwrap()
    };
    let training = batch(vec!["a", "b", "a", "b"]);
    let stats = compute_statistics(
        std::slice::from_ref(&training),
        &training.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    let schema = infer_schema(&stats, &SchemaInferenceParams::default());
    let live = LiveMonitor::new(
        MonitoringConfig::default().with_max_rows(4).with_panes(1),
        Arc::new(ServingMetrics::new()),
    )
    .unwrap();
    for version in [2, 5] {
        live.register_version(
            "m",
            version,
            MonitoringBaseline::new(stats.clone(), schema.clone()),
        );
    }
    let predictions = Predictions::Regression {
        values: array![1.0, 2.0, 3.0, 4.0],
    };
    let served = ServedPredictions::new("m", 2, &predictions)
        .with_inputs(Arc::new(batch(vec!["c", "c", "c", "a"])));
    live.observe(&served);
    live.flush();
    (live.report("m", 2).unwrap(), live.report("m", 5).unwrap())
}

#[test]
fn live_monitoring_over_threshold_is_a_reason_and_an_unreachable_server_a_note() {
    let fixture = Fixture::new();
    // Day-2-like data: version 2 passes the quality check.
    fixture.write_span("day4.csv", span(4, true));
    let (report, fresh) = reports();
    assert!(report.over_threshold().count() > 0);
    let json = |report: &MonitoringReport| {
        let body = serde_json::to_string(report).unwrap();
        axum::routing::get(move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        })
    };
    let app = axum::Router::new()
        .route("/v1/models/m/versions/2/monitoring", json(&report))
        .route("/v1/models/m/versions/5/monitoring", json(&fresh));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });

    let config = fixture.config(&format!("[rollback]\nmonitoring_url = \"{url}\"\n"));
    let check = fixture.check(&config, NOW).unwrap();
    assert!(check.notes.is_empty(), "{:?}", check.notes);
    assert_eq!(check.reasons.len(), report.over_threshold().count());
    assert!(
        check.reasons[0].starts_with(
            "live monitoring of version 2: skew against the training data of `job` (linf "
        ) && check.reasons[0].ends_with("window of 4 rows)"),
        "{}",
        check.reasons[0]
    );

    // A version the server does not monitor (404): a note.
    let mut other = check.clone();
    other.reasons.clear();
    monitoring_check(&url, "m", 3, &mut other);
    assert!(other.reasons.is_empty());
    assert!(other.notes[0].contains("HTTP 404"), "{:?}", other.notes);

    // A version without a compared window yet: a note.
    let mut fresh_check = other.clone();
    fresh_check.notes.clear();
    monitoring_check(&url, "m", 5, &mut fresh_check);
    assert!(fresh_check.reasons.is_empty());
    assert!(
        fresh_check.notes[0].contains("no window compared yet (0 rows so far)"),
        "{:?}",
        fresh_check.notes
    );

    // Nobody listening: a note, no rollback.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let config = fixture.config(&format!("[rollback]\nmonitoring_url = \"{closed_url}\"\n"));
    let check = fixture.check(&config, NOW).unwrap();
    assert!(check.reasons.is_empty(), "{:?}", check.reasons);
    assert_eq!(check.notes.len(), 1, "{:?}", check.notes);
    assert!(
        check.notes[0].contains("/v1/models/m/versions/2/monitoring")
            && check.notes[0].contains("cannot connect")
            && check.notes[0].ends_with("no live check"),
        "{}",
        check.notes[0]
    );

    let mut https = other.clone();
    https.notes.clear();
    monitoring_check("https://example.invalid", "m", 2, &mut https);
    assert!(
        https.notes[0].contains("expected an http:// URL"),
        "{:?}",
        https.notes
    );
}

#[test]
fn copy_then_remove_moves_a_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("models/m/2");
    std::fs::create_dir_all(from.join("nested")).unwrap();
    std::fs::write(from.join("model.json"), "{}").unwrap();
    std::fs::write(from.join("nested/part.bin"), [0_u8, 1, 2]).unwrap();
    let to = dir.path().join("pipeline/rolled_back/m/2");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    // A leftover of an interrupted copy is replaced.
    let leftover = to
        .parent()
        .unwrap()
        .join(format!(".tmp-2-{}", std::process::id()));
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("stale"), "x").unwrap();
    copy_then_remove(&from, &to).unwrap();
    assert!(!from.exists() && !leftover.exists());
    assert_eq!(
        std::fs::read_to_string(to.join("model.json")).unwrap(),
        "{}"
    );
    assert_eq!(
        std::fs::read(to.join("nested/part.bin")).unwrap(),
        [0, 1, 2]
    );
    assert!(!to.join("stale").exists());

    // move_dir creates the destination's parents.
    let again = dir.path().join("a/b/c");
    move_dir(&to, &again).unwrap();
    assert!(again.join("nested/part.bin").is_file() && !to.exists());
}

#[test]
fn http_responses_are_parsed_by_length_chunks_or_end() {
    let (status, body) =
        parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}trailing").unwrap();
    assert_eq!((status, body.as_slice()), (200, b"{}".as_slice()));
    let (status, body) = parse_response(
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!((status, body.as_slice()), (404, b"abcde".as_slice()));
    let (_, body) = parse_response(b"HTTP/1.0 200 OK\r\n\r\nuntil the end").unwrap();
    assert_eq!(body, b"until the end");
    for bad in [
        b"HTTP/1.1 200 OK\r\n".as_slice(),
        b"SSH-2.0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab",
    ] {
        assert!(
            parse_response(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn numbers_and_names_are_written_for_people_and_urls() {
    assert_eq!(short(0.61), "0.61");
    assert_eq!(short(0.271_84), "0.2718");
    assert_eq!(short(1.0), "1");
    assert_eq!(short(-0.5), "-0.5");
    assert_eq!(percent_encode("adult-v2_x.y~"), "adult-v2_x.y~");
    assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
}

proptest! {
    /// Any body cut into any chunks decodes back to itself, and no byte
    /// string makes the parser panic.
    #[test]
    fn chunked_bodies_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(1_usize..40, 0..20),
        junk in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut encoded = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut rest = body.as_slice();
        for cut in cuts.iter().copied().chain(std::iter::repeat(64)) {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(cut.min(rest.len()));
            encoded.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            encoded.extend_from_slice(chunk);
            encoded.extend_from_slice(b"\r\n");
            rest = tail;
        }
        encoded.extend_from_slice(b"0\r\n\r\n");
        prop_assert_eq!(parse_response(&encoded).unwrap(), (200, body));
        let _ = parse_response(&junk);
    }
}
