//! Rollback of the newest push: within `rollback.grace_period`, the pushed
//! version is scored next to the version it replaced on the newest span
//! (whose labels have arrived) and, with `rollback.monitoring_url`, the
//! server's live monitoring of it is read; a check that flags it moves the
//! version out of the base path and the label back.
//!
//! ```text
//! history.json ─last push (grace period, previous still in the base path)─┐
//! newest span ─EvaluationJob(version, baseline = previous)─▶ deltas ─max_drop─▶ reasons
//! GET <monitoring_url>/v1/models/<name>/versions/<v>/monitoring ─over threshold─▶ reasons
//! reasons ─apply_rollback─▶ label → previous (model config), <base>/<name>/<v> → <root>/rolled_back/<name>/<v>,
//!                           RollbackRecord appended to history.json
//! ```

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mlrig_core::Fingerprint;
use mlrig_monitor::MonitoringReport;
use mlrig_train::{DEFAULT_MAX_DROP, headline_metric};

use super::history::{PushHistory, PushRecord, RollbackRecord};
use crate::pipeline_config::resolve;
use crate::{EvaluationJob, PipelineConfig, PipelineError};

/// Where rolled-back versions go, under the pipeline root:
/// `<root>/rolled_back/<name>/<version>`.
pub(crate) const ROLLED_BACK_DIR: &str = "rolled_back";

/// How long the monitoring request may take (connect, send, read).
const MONITORING_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest monitoring response read (a report is a few kB per feature).
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// What the rollback checks found for the newest push.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RollbackCheck {
    /// The push checked.
    pub(crate) push: PushRecord,
    /// Why it should be rolled back, one line per failed check; empty: keep it.
    pub(crate) reasons: Vec<String>,
    /// What could not be checked and why (an unreachable server, a span a
    /// version cannot score); never a reason to roll back.
    pub(crate) notes: Vec<String>,
}

/// Checks the newest push if it can be rolled back: rollback is enabled, it
/// was pushed within the grace period, it was not rolled back already, and
/// the version it replaced is still in `<push.base_path>/<name>/`. `None`
/// otherwise.
///
/// Checks: (a) both versions scored on the newest span, a reason per
/// metric of `rollback.max_drop` (default: [`DEFAULT_MAX_DROP`] on the
/// task's [`headline_metric`]) that is worse than the previous version's by
/// more than its drop; (b) with `rollback.monitoring_url`, a reason per
/// feature or prediction test the server's live monitoring of the version
/// has over its threshold. A version that is gone from the base path but
/// sits under `<root>/rolled_back/` (a rollback interrupted before it was
/// recorded) is reported with a reason, so that [`apply_rollback`] finishes it.
///
/// # Errors
/// The data patterns match no file, or the base path cannot be listed.
pub(crate) fn rollback_check(
    config: &PipelineConfig,
    base_dir: &Path,
    history: &PushHistory,
    now_unix: i64,
) -> Result<Option<RollbackCheck>, PipelineError> {
    let Some(push) = history.last_push() else {
        return Ok(None);
    };
    let Some(previous) = push.previous else {
        return Ok(None);
    };
    let grace = i64::try_from(config.rollback.grace_period.as_secs()).unwrap_or(i64::MAX);
    if !config.rollback.enabled
        || history.is_rolled_back(push.version)
        || now_unix.saturating_sub(push.pushed_at_unix) > grace
    {
        return Ok(None);
    }
    let model_dir = resolve(base_dir, &config.push.base_path).join(&config.name);
    let Some(previous_dir) = version_dir(&model_dir, previous)? else {
        return Ok(None);
    };
    let mut check = RollbackCheck {
        push: push.clone(),
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let Some(pushed_dir) = version_dir(&model_dir, push.version)? else {
        let moved = rolled_back_dir(config, base_dir, push.version);
        if !moved.is_dir() {
            return Ok(None);
        }
        check.reasons.push(format!(
            "an interrupted rollback moved version {} to {} without recording it",
            push.version,
            moved.display()
        ));
        return Ok(Some(check));
    };
    quality_check(config, base_dir, &pushed_dir, &previous_dir, &mut check)?;
    if let Some(url) = &config.rollback.monitoring_url {
        monitoring_check(url, &config.name, push.version, &mut check);
    }
    Ok(Some(check))
}

/// Rolls `push` back: points `push.label` of `push.model_config` (when
/// configured) back at `push.previous`, moves `<base>/<name>/<version>` to
/// `<root>/rolled_back/<name>/<version>` (a rename; across file systems a
/// copy under a temporary name, renamed, then the original removed), and
/// appends the [`RollbackRecord`] to `history`, written to
/// `<root>/history.json`.
///
/// The steps are ordered so that a crash in between is finished by the next
/// run: the label is moved first (setting it again is harmless), and a
/// version found moved but unrecorded is only recorded.
///
/// # Errors
/// The push has no previous version, the version is neither in the base
/// path nor moved, the destination holds another directory, the model
/// config cannot be rewritten, or a file operation fails.
pub(crate) fn apply_rollback(
    config: &PipelineConfig,
    base_dir: &Path,
    history: &mut PushHistory,
    push: &PushRecord,
    reasons: Vec<String>,
    now_unix: i64,
) -> Result<RollbackRecord, PipelineError> {
    let root = resolve(base_dir, &config.root);
    let model_dir = resolve(base_dir, &config.push.base_path).join(&config.name);
    let version = push.version;
    let to = push.previous.ok_or_else(|| PipelineError::PipelineState {
        path: root.join(super::history::HISTORY_FILE),
        reason: format!(
            "version {version} was the first push; there is no version to roll back to"
        ),
    })?;
    let moved_to = rolled_back_dir(config, base_dir, version);
    let source = version_dir(&model_dir, version)?;
    match &source {
        Some(_) if moved_to.exists() => {
            return Err(PipelineError::PipelineState {
                path: moved_to,
                reason: format!(
                    "cannot move version {version} here: the directory exists; move it away and run again"
                ),
            });
        }
        None if !moved_to.is_dir() => {
            return Err(PipelineError::PipelineState {
                path: model_dir.join(version.to_string()),
                reason: format!(
                    "version {version} is neither in the base path nor under {}; nothing to roll back",
                    moved_to.display()
                ),
            });
        }
        _ => {}
    }
    if let Some(model_config) = &config.push.model_config {
        mlrig_serve::set_model_config_label(
            &resolve(base_dir, model_config),
            &config.name,
            &config.push.label,
            to,
        )?;
    }
    if let Some(source) = source {
        move_dir(&source, &moved_to)?;
    }
    let record = RollbackRecord {
        version,
        to,
        at_unix: now_unix,
        reasons,
        moved_to,
    };
    history.rollbacks.push(record.clone());
    std::fs::create_dir_all(&root).map_err(|e| mlrig_core::Error::io(&root, e))?;
    history.write(&root)?;
    Ok(record)
}

/// `<root>/rolled_back/<name>/<version>`.
fn rolled_back_dir(config: &PipelineConfig, base_dir: &Path, version: u64) -> PathBuf {
    resolve(base_dir, &config.root)
        .join(ROLLED_BACK_DIR)
        .join(&config.name)
        .join(version.to_string())
}

/// The directory of `version` under `model_dir` (`2` or `00002`), if any.
fn version_dir(model_dir: &Path, version: u64) -> Result<Option<PathBuf>, PipelineError> {
    let entries = match std::fs::read_dir(model_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(mlrig_core::Error::io(model_dir, e).into()),
    };
    for entry in entries {
        let entry = entry.map_err(|e| mlrig_core::Error::io(model_dir, e))?;
        let named = entry
            .file_name()
            .to_str()
            .and_then(mlrig_serve::parse_version_dir);
        if named == Some(version) && entry.path().is_dir() {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// (a) The pushed version against the previous one on the newest span.
fn quality_check(
    config: &PipelineConfig,
    base_dir: &Path,
    pushed_dir: &Path,
    previous_dir: &Path,
    check: &mut RollbackCheck,
) -> Result<(), PipelineError> {
    let version = check.push.version;
    let spans = config.spans(base_dir)?;
    let Some(span) = spans.last() else {
        check
            .notes
            .push("no data span to score the versions on; no post-push check".into());
        return Ok(());
    };
    let span_name = span.strip_prefix(base_dir).unwrap_or(span).display();
    // Scoring on the data the version was trained on says nothing about it:
    // wait for a span whose labels arrived after the push.
    let trained_on = Fingerprint::of_file(span)
        .is_ok_and(|f| check.push.span_fingerprints.contains(&f.to_string()));
    if trained_on {
        check.notes.push(format!(
            "the newest span {span_name} is data version {version} was trained on; the post-push check waits for a newer span"
        ));
        return Ok(());
    }
    let mut job = EvaluationJob::new(pushed_dir, span)
        .with_baseline(previous_dir)
        .with_read_options(config.read_options()?);
    for slice in &config.data.slices {
        job = job.with_slice(slice);
    }
    let report = match job.run() {
        Ok(report) => report,
        Err(e) => {
            check.notes.push(format!(
                "versions {version} and {} cannot both be scored on {span_name} ({e}); no post-push check",
                previous_version(check)
            ));
            return Ok(());
        }
    };
    let evaluation = &report.evaluation;
    let Some(comparison) = evaluation.baseline() else {
        return Ok(());
    };
    let default_drop: BTreeMap<String, f64> = headline_metric(evaluation.task())
        .map(|m| BTreeMap::from([(m.to_string(), DEFAULT_MAX_DROP)]))
        .unwrap_or_default();
    let max_drop = if config.rollback.max_drop.is_empty() {
        &default_drop
    } else {
        &config.rollback.max_drop
    };
    let previous = previous_version(check);
    for (metric, &allowed) in max_drop {
        let Some(delta) = comparison.delta(None, metric) else {
            check.notes.push(format!(
                "rollback.max_drop.{metric}: not computed for both versions on {span_name} (the task computes: {})",
                evaluation.metrics().keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        let Some(worse_by) = delta.worse_by else {
            check.notes.push(format!(
                "rollback.max_drop.{metric}: the metric has no known direction; not checked"
            ));
            continue;
        };
        if worse_by > allowed {
            let side = if delta.change < 0.0 { "below" } else { "above" };
            check.reasons.push(format!(
                "version {version} {metric} {} on {span_name} is {} {side} version {previous}'s {} (max_drop {allowed})",
                short(delta.candidate),
                short(worse_by),
                short(delta.baseline),
            ));
        }
    }
    Ok(())
}

fn previous_version(check: &RollbackCheck) -> u64 {
    check.push.previous.unwrap_or_default()
}

/// A metric value for people: at most 4 decimals, no trailing zeros.
fn short(value: f64) -> String {
    let text = format!("{value:.4}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// (b) The server's live monitoring of the pushed version.
fn monitoring_check(url: &str, name: &str, version: u64, check: &mut RollbackCheck) {
    let path = format!(
        "/v1/models/{}/versions/{version}/monitoring",
        percent_encode(name)
    );
    let endpoint = format!("{}{path}", url.trim_end_matches('/'));
    match http_get(url, &path, MONITORING_TIMEOUT) {
        Ok((200, body)) => match serde_json::from_slice::<MonitoringReport>(&body) {
            Ok(report) if report.windows_compared == 0 => check.notes.push(format!(
                "{endpoint}: no window compared yet ({} rows so far); no live check",
                report.window.rows
            )),
            Ok(report) => check.reasons.extend(monitoring_reasons(&report)),
            Err(e) => check.notes.push(format!(
                "{endpoint}: not a monitoring report ({e}); no live check"
            )),
        },
        Ok((status, body)) => check.notes.push(format!(
            "{endpoint}: HTTP {status} {}; no live check",
            String::from_utf8_lossy(&body[..body.len().min(300)]).trim()
        )),
        Err(reason) => check
            .notes
            .push(format!("{endpoint}: {reason}; no live check")),
    }
}

/// One reason per test over its threshold, naming the comparison.
fn monitoring_reasons(report: &MonitoringReport) -> Vec<String> {
    let sections = [
        ("skew against the training data", Some(&report.skew)),
        ("drift", report.drift.as_ref()),
        ("prediction drift", report.prediction_drift.as_ref()),
    ];
    let mut reasons = Vec::new();
    for (kind, section) in sections {
        for c in section
            .into_iter()
            .flat_map(|s| &s.features)
            .filter(|c| c.over_threshold)
        {
            let verdict = if c.test.uses_p_value() {
                format!(
                    "p-value {} below {}",
                    short(c.tested_value()),
                    short(c.threshold)
                )
            } else {
                format!("{} over {}", short(c.value), short(c.threshold))
            };
            reasons.push(format!(
                "live monitoring of version {}: {kind} of `{}` ({} {verdict}, window of {} rows)",
                report.version,
                c.feature,
                c.test.name(),
                report.window.rows
            ));
        }
    }
    reasons
}

/// `text` with every byte but RFC 3986's unreserved ones percent-encoded
/// (a path segment).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET <url><path>` over plain HTTP/1.1 (`Connection: close`): the status
/// and the body. The whole exchange is bounded by `timeout`.
fn http_get(url: &str, path: &str, timeout: Duration) -> Result<(u16, Vec<u8>), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("rollback.monitoring_url {url:?}: expected an http:// URL, e.g. \"http://127.0.0.1:8501\"")
    })?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    let address = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let deadline = Instant::now() + timeout;
    let addresses = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?;
    let mut failure = format!("{address} resolves to no address");
    let mut stream = None;
    for candidate in addresses {
        match TcpStream::connect_timeout(&candidate, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => failure = format!("cannot connect to {candidate}: {e}"),
        }
    }
    let mut stream = stream.ok_or(failure)?;
    let io = |e: std::io::Error| format!("request to {address} failed: {e}");
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let request = format!(
        "GET {prefix}{path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nUser-Agent: mlrig-pipeline\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut response = Vec::new();
    let mut buffer = [0_u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "{address} did not answer within {}",
                humantime::format_duration(timeout)
            ));
        }
        stream.set_read_timeout(Some(left)).map_err(io)?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&buffer[..n]);
                if response.len() as u64 > MAX_RESPONSE_BYTES {
                    return Err(format!(
                        "{address} answered more than {MAX_RESPONSE_BYTES} bytes"
                    ));
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    parse_response(&response).map_err(|reason| format!("{address}: {reason}"))
}

/// The status and body of an HTTP/1.1 response read to the end of the
/// connection (body by `Content-Length`, chunked, or up to the end).
fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("not an HTTP response (no end of headers)")?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP/1.x status line: {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length {value:?}"))?,
            );
        }
    }
    let body = &response[end + 4..];
    let body = if chunked {
        decode_chunked(body)?
    } else if let Some(length) = length {
        body.get(..length)
            .ok_or_else(|| format!("the body ended after {} of {length} bytes", body.len()))?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// A `Transfer-Encoding: chunked` body, decoded (extensions and trailers ignored).
fn decode_chunked(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line does not end")?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).ok_or("the body ended inside a chunk")?;
        out.extend_from_slice(chunk);
        body = body
            .get(size..)
            .and_then(|rest| rest.strip_prefix(b"\r\n"))
            .ok_or("a chunk does not end with CRLF")?;
    }
}

/// Moves the directory `from` to `to` (creating `to`'s parents): a rename,
/// or across file systems [`copy_then_remove`].
fn move_dir(from: &Path, to: &Path) -> Result<(), PipelineError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| mlrig_core::Error::io(parent, e))?;
    }
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::CrossesDevices => copy_then_remove(from, to),
        Err(e) => Err(PipelineError::PipelineState {
            path: from.to_path_buf(),
            reason: format!("cannot move it to {}: {e}", to.display()),
        }),
    }
}

/// Copies `from` to a temporary directory beside `to`, renames it to `to`
/// (so `to` is never half there), then removes `from`.
fn copy_then_remove(from: &Path, to: &Path) -> Result<(), PipelineError> {
    let parent = to.parent().unwrap_or(Path::new("."));
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(format!(".tmp-{name}-{}", std::process::id()));
    if temp.exists() {
        // Left by an interrupted copy; `from` is removed only after the
        // rename, so this is never the only copy.
        std::fs::remove_dir_all(&temp).map_err(|e| mlrig_core::Error::io(&temp, e))?;
    }
    super::steps::copy_tree(from, &temp)?;
    std::fs::rename(&temp, to).map_err(|e| mlrig_core::Error::io(to, e))?;
    std::fs::remove_dir_all(from).map_err(|e| mlrig_core::Error::io(from, e))?;
    Ok(())
}

#[cfg(test)]
mod tests;
