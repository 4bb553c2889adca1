//! Crash consistency (issue 14, part 2): `ingest --out-dir`, `features
//! apply`, `stats --out`, `train` and `predict` are killed with SIGKILL at
//! random points, many seeded runs per verb.
//!
//! Before each run the destination holds the complete output of the other
//! input (old != new, so both are recognisable). After the kill it must hold
//! exactly the complete previous output or exactly the complete new one —
//! compared with known-good outputs of uninterrupted runs, file by file —
//! and the next, uninterrupted run must succeed, produce the new output and
//! leave no temporary file or staging directory anywhere in the destination.
//!
//! The kill delay is uniform over 0 … 1.3 × an uninterrupted run's duration
//! (the median of the last uninterrupted runs: three before the first kill,
//! then each run after a kill), so kills land before, during and after the writes.
//! `MLRIG_CRASH_RUNS` (default 200) sets the runs per verb and
//! `MLRIG_CRASH_SEED` the seed; a failure prints both and the run index.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{IRIS, assert_status, fit_features, mlrig};

/// The names of temporary files and staging directories (mlrig-core's
/// `TEMP_FILE_PREFIX`, `STAGED_DIR_PREFIX`, `BUNDLE_STAGING_PREFIX`): never
/// part of an output, and never left behind by a run that completes.
const TEMP_PREFIXES: [&str; 3] = [
    mlrig_core::TEMP_FILE_PREFIX,
    mlrig_core::STAGED_DIR_PREFIX,
    mlrig_core::BUNDLE_STAGING_PREFIX,
];

const DEFAULT_SEED: u64 = 0x6d6c_7269_6731_3432;
const DEFAULT_RUNS: usize = 200;

/// SplitMix64: a small seeded generator, enough to draw kill delays.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    fn below(&mut self, max: Duration) -> Duration {
        let micros = u64::try_from(max.as_micros()).unwrap();
        Duration::from_micros(self.next() % (micros + 1))
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
        Err(_) => default,
    }
}

/// What a reader of the destination sees: every file (relative path →
/// bytes), temporary names left out (readers ignore them). A verb whose
/// output is a bundle adds the version as the pseudo-file `@version`.
type Observed = BTreeMap<String, Vec<u8>>;

/// One verb under test.
struct Verb {
    name: &'static str,
    /// The directory holding the verb's whole output (and nothing else).
    root: PathBuf,
    /// The arguments writing the output of input 0 or 1.
    args: Box<dyn Fn(usize) -> Vec<String>>,
    /// The destination as a reader sees it, or why it is unreadable.
    observe: fn(&Path) -> Result<Observed, String>,
}

/// Every file under `dir`, temporary names skipped.
fn files_under(dir: &Path) -> Result<Observed, String> {
    let mut out = Observed::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if TEMP_PREFIXES.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&path).map_err(|e| format!("{rel}: {e}"))?;
                out.insert(rel, bytes);
            }
        }
    }
    Ok(out)
}

/// Temporary names anywhere under `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if TEMP_PREFIXES.iter().any(|p| name.starts_with(p)) {
                found.push(entry.path());
            } else if entry.path().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    found
}

/// The newest bundle version under the model directory `dir`, checked
/// against its manifest (`ModelBundle::open` re-hashes every file), as its
/// files without the manifest (its `created_at` differs per run) plus
/// `@version`.
fn newest_bundle(dir: &Path) -> Result<Observed, String> {
    let versions = mlrig_core::ModelBundle::versions(dir.parent().unwrap(), "iris")
        .map_err(|e| e.to_string())?;
    let Some(&version) = versions.last() else {
        return Err("no version".into());
    };
    let bundle_dir = dir.join(version.to_string());
    mlrig_core::ModelBundle::open(&bundle_dir).map_err(|e| format!("version {version}: {e}"))?;
    let mut files = files_under(&bundle_dir)?;
    files.remove(mlrig_core::MANIFEST_FILE);
    files.insert("@version".into(), version.to_string().into_bytes());
    Ok(files)
}

/// Runs `args` to completion: status 0, and how long it took.
fn run_ok(verb: &str, args: &[String]) -> Duration {
    let started = Instant::now();
    assert_status(&mlrig(args), 0);
    let took = started.elapsed();
    assert!(took > Duration::ZERO, "{verb}");
    took
}

fn describe(observed: &Result<Observed, String>) -> String {
    match observed {
        Ok(files) => files
            .iter()
            .map(|(k, v)| format!("{k} ({} bytes)", v.len()))
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("unreadable: {e}"),
    }
}

/// The expected output of input `input` when the previous bundle version
/// was `version` (only bundles carry `@version`).
fn with_version(expected: &Observed, version: Option<u64>) -> Observed {
    let mut expected = expected.clone();
    if let Some(v) = version {
        expected.insert("@version".into(), v.to_string().into_bytes());
    }
    expected
}

fn version_of(observed: &Observed) -> Option<u64> {
    observed
        .get("@version")
        .map(|v| String::from_utf8_lossy(v).parse().unwrap())
}

/// Kill counts by what the destination held afterwards.
#[derive(Debug, Default)]
struct Tally {
    killed_old: usize,
    killed_new: usize,
    killed_with_temps: usize,
    finished_before_kill: usize,
}

fn crash_test(verb: Verb, dest: impl Fn(&Verb) -> PathBuf) {
    let seed: u64 = env_or("MLRIG_CRASH_SEED", DEFAULT_SEED);
    let runs: usize = env_or("MLRIG_CRASH_RUNS", DEFAULT_RUNS);
    let mut rng = SplitMix64(seed ^ mlrig_core::fnv1a_64(verb.name.as_bytes()));
    let dest = dest(&verb);

    // Known-good outputs: uninterrupted runs of input 1, then input 0 (which
    // stays as the first "previous" output); each run's duration calibrates
    // the kill delays.
    let mut expected = [Observed::new(), Observed::new()];
    let mut took = Vec::new();
    for input in [1, 0] {
        took.push(run_ok(verb.name, &(verb.args)(input)));
        let mut files = (verb.observe)(&dest).unwrap();
        files.remove("@version");
        expected[input] = files;
    }
    assert_ne!(
        expected[0], expected[1],
        "{}: inputs must differ",
        verb.name
    );
    // The same input gives the same output (else "old or new" means nothing).
    took.push(run_ok(verb.name, &(verb.args)(0)));
    let mut again = (verb.observe)(&dest).unwrap();
    again.remove("@version");
    assert_eq!(
        again, expected[0],
        "{}: the output is not deterministic",
        verb.name
    );
    // The delay range follows the run's duration, re-measured on every
    // uninterrupted run (the median of the last few: other tests share the cores).
    let max_delay = |took: &[Duration]| {
        let mut recent = took[took.len().saturating_sub(9)..].to_vec();
        recent.sort();
        recent[recent.len() / 2].mul_f64(1.3)
    };
    let mut longest_delay = Duration::ZERO;

    let mut current = 0;
    let mut tally = Tally::default();
    for run in 0..runs {
        let next = 1 - current;
        let context = format!(
            "{} run {run} (MLRIG_CRASH_SEED={seed} MLRIG_CRASH_RUNS={runs})",
            verb.name
        );
        let before = (verb.observe)(&dest).unwrap();
        let version = version_of(&before);
        assert_eq!(
            with_version(&expected[current], version),
            before,
            "{context}"
        );

        let range = max_delay(&took);
        longest_delay = longest_delay.max(range);
        let delay = rng.below(range);
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
            .args((verb.args)(next))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        // SIGKILL; the child is reaped by `wait`, so its pid is gone.
        let _ = child.kill();
        let status = child.wait().unwrap();
        if finished {
            assert_eq!(
                status.code(),
                Some(0),
                "{context}: the run failed by itself"
            );
        }

        let after = (verb.observe)(&dest);
        let old = with_version(&expected[current], version);
        let new = with_version(&expected[next], version.map(|v| v + 1));
        match &after {
            Ok(seen) if *seen == old => tally.killed_old += usize::from(!finished),
            Ok(seen) if *seen == new => tally.killed_new += usize::from(!finished),
            _ => panic!(
                "{context}: killed after {delay:?}, the destination holds neither the previous nor \
                 the new output: {}\nprevious: {}\nnew: {}",
                describe(&after),
                describe(&Ok(old)),
                describe(&Ok(new))
            ),
        }
        tally.finished_before_kill += usize::from(finished);
        if !finished && !leftovers(&verb.root).is_empty() {
            tally.killed_with_temps += 1;
        }

        // The next run completes, writes the new output and cleans up.
        let started = Instant::now();
        let output = mlrig((verb.args)(next));
        took.push(started.elapsed());
        assert!(
            output.status.success(),
            "{context}: the run after the kill failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let seen = (verb.observe)(&dest).unwrap();
        let now = version_of(&seen);
        assert_eq!(
            with_version(&expected[next], now),
            seen,
            "{context}: after the next run"
        );
        let left = leftovers(&verb.root);
        assert!(
            left.is_empty(),
            "{context}: the run after the kill left {left:?}"
        );
        // Bundles: only the newest version is kept, so the destination stays small.
        if let Some(now) = now {
            for v in mlrig_core::ModelBundle::versions(dest.parent().unwrap(), "iris").unwrap() {
                if v < now {
                    std::fs::remove_dir_all(dest.join(v.to_string())).unwrap();
                }
            }
        }
        current = next;
    }
    eprintln!(
        "{}: {runs} runs, delays up to {longest_delay:?}: {tally:?}",
        verb.name
    );
    assert_eq!(
        tally.killed_old + tally.killed_new + tally.finished_before_kill,
        runs
    );
    // The delays cover the run: some kills come before the output changed.
    if runs >= 50 {
        assert!(tally.killed_old > 0, "{}: {tally:?}", verb.name);
    }
}

/// `rows` of iris (the header always), as a new file `name` in `dir`.
fn iris_rows(dir: &Path, name: &str, keep: impl Fn(usize) -> bool) -> PathBuf {
    let text = std::fs::read_to_string(IRIS).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        if keep(i) {
            out.push_str(line);
            out.push('\n');
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// A work directory with the two inputs (two thirds of iris each, all three
/// classes, different rows) and
/// an empty `out/` for the outputs.
fn setup() -> (tempfile::TempDir, [PathBuf; 2], PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        iris_rows(dir.path(), "a.csv", |i| i % 3 != 2),
        iris_rows(dir.path(), "b.csv", |i| i % 3 != 0),
    ];
    let root = dir.path().join("out");
    std::fs::create_dir(&root).unwrap();
    (dir, inputs, root)
}

#[test]
fn ingest_out_dir_is_the_previous_or_the_new_split() {
    let dir = tempfile::tempdir().unwrap();
    // user,clicks rows with a row to quarantine; the inputs differ in size.
    let inputs = [1_500usize, 2_000].map(|rows| {
        let mut text = String::from("user,clicks\n");
        for i in 0..rows {
            let clicks = if i == 7 {
                "many".into()
            } else {
                (i * rows).to_string()
            };
            text.push_str(&format!("u{i},{clicks}\n"));
        }
        let path = dir.path().join(format!("in{rows}.csv"));
        std::fs::write(&path, text).unwrap();
        path
    });
    let root = dir.path().join("out");
    std::fs::create_dir(&root).unwrap();
    let split = root.join("split");
    let args = {
        let split = split.clone();
        move |input: usize| {
            vec![
                "ingest".into(),
                s(&inputs[input]),
                "--split-key".into(),
                "user".into(),
                "--eval-fraction".into(),
                "0.3".into(),
                "--out-dir".into(),
                s(&split),
                // Inside the split directory: part of the staged output.
                "--quarantine".into(),
                s(&split.join("quarantine.csv")),
            ]
        }
    };
    crash_test(
        Verb {
            name: "ingest",
            root: root.clone(),
            args: Box::new(args),
            observe: files_under,
        },
        |_| split.clone(),
    );
}

#[test]
fn features_apply_out_is_the_previous_or_the_new_table() {
    let (dir, inputs, root) = setup();
    let transformer = dir.path().join("transformer.json");
    fit_features(IRIS, "species", s(&transformer));
    let out = root.join("features.csv");
    crash_test(
        Verb {
            name: "features apply",
            root: root.clone(),
            args: Box::new(move |input| {
                vec![
                    "features".into(),
                    "apply".into(),
                    s(&transformer),
                    s(&inputs[input]),
                    "--out".into(),
                    s(&out),
                ]
            }),
            observe: files_under,
        },
        |verb| verb.root.clone(),
    );
}

#[test]
fn stats_out_is_the_previous_or_the_new_statistics() {
    let (_dir, inputs, root) = setup();
    let out = root.join("stats.json");
    crash_test(
        Verb {
            name: "stats",
            root: root.clone(),
            args: Box::new(move |input| {
                vec!["stats".into(), s(&inputs[input]), "--out".into(), s(&out)]
            }),
            observe: files_under,
        },
        |verb| verb.root.clone(),
    );
}

#[test]
fn train_adds_a_complete_bundle_or_none() {
    let (_dir, inputs, root) = setup();
    let models = root.clone();
    crash_test(
        Verb {
            name: "train",
            root: root.clone(),
            args: Box::new(move |input| {
                vec![
                    "train".into(),
                    s(&inputs[input]),
                    "--target".into(),
                    "species".into(),
                    "--name".into(),
                    "iris".into(),
                    "--out".into(),
                    s(&models),
                    "--no-baseline".into(),
                ]
            }),
            observe: newest_bundle,
        },
        |verb| verb.root.join("iris"),
    );
}

#[test]
fn predict_out_is_the_previous_or_the_new_table() {
    let (dir, inputs, root) = setup();
    let models = dir.path().join("models");
    common::train_iris(&models, Some(1));
    let model = models.join("iris/1");
    let out = root.join("predictions.csv");
    crash_test(
        Verb {
            name: "predict",
            root: root.clone(),
            args: Box::new(move |input| {
                vec![
                    "predict".into(),
                    "--model".into(),
                    s(&model),
                    s(&inputs[input]),
                    "--out".into(),
                    s(&out),
                    "--with-input".into(),
                ]
            }),
            observe: files_under,
        },
        |verb| verb.root.clone(),
    );
}

#[test]
fn a_run_removes_temporaries_of_gone_writers_only() {
    let (_dir, inputs, root) = setup();
    let host = mlrig_core::owned_temp_prefix("");
    let host = host.split('-').next().unwrap();
    // This test process is alive: its temporary file is a concurrent writer's.
    let live = root.join(format!(
        "{}live",
        mlrig_core::owned_temp_prefix(mlrig_core::TEMP_FILE_PREFIX)
    ));
    // No process has a pid above pid_max (at most 2^22).
    let dead = root.join(format!(
        "{}{host}-4294967295-dead00",
        mlrig_core::TEMP_FILE_PREFIX
    ));
    let other = root.join("notes.txt");
    for path in [&live, &dead, &other] {
        std::fs::write(path, b"x").unwrap();
    }
    let out = root.join("stats.json");
    assert_status(&mlrig(["stats", &s(&inputs[0]), "--out", &s(&out)]), 0);
    assert!(out.is_file());
    assert!(live.exists(), "a live writer's temporary file was removed");
    assert!(other.exists());
    assert_eq!(dead.exists(), !cfg!(target_os = "linux"));
}

#[test]
fn ingest_refuses_an_out_dir_holding_other_files() {
    let (_dir, inputs, root) = setup();
    let split = root.join("split");
    std::fs::create_dir(&split).unwrap();
    std::fs::write(split.join("notes.txt"), b"mine").unwrap();
    let line = common::assert_one_line_error(&mlrig([
        "ingest",
        &s(&inputs[0]),
        "--eval-fraction",
        "0.2",
        "--out-dir",
        &s(&split),
    ]));
    assert!(line.contains("notes.txt"), "{line}");
    assert!(line.contains("directory of its own"), "{line}");
    assert_eq!(std::fs::read(split.join("notes.txt")).unwrap(), b"mine");
    assert!(leftovers(&root).is_empty());

    // A split directory (with its quarantine file) is replaced whole.
    std::fs::remove_file(split.join("notes.txt")).unwrap();
    for input in &inputs {
        let args = [
            "ingest",
            &s(input),
            "--eval-fraction",
            "0.2",
            "--out-dir",
            &s(&split),
            "--quarantine",
            &s(&split.join("bad.csv")),
        ];
        assert_status(&mlrig(args), 0);
    }
    let names: Vec<String> = files_under(&split).unwrap().into_keys().collect();
    assert_eq!(names, ["bad.csv", "eval.csv", "train.csv"]);
}
