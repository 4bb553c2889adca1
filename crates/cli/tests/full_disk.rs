#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A full disk (issue 14): writing stdout to `/dev/full`, or a file into a
//! tmpfs too small for it, is one `error:` line naming the file and saying
//! what to do, status 2, and leaves no partial or temporary file behind —
//! the previous file at the destination stays as it was.
//!
//! The tmpfs runs in a private mount namespace (`unshare -m`, or
//! `unshare -r -m` for a user without CAP_SYS_ADMIN); where neither works,
//! the test prints a loud SKIPPED line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{ADULT, IRIS, assert_one_line_error, fit_features, train_iris};

/// Runs `mlrig ARGS` with stdout on `/dev/full` (every write: ENOSPC).
fn to_dev_full(args: &[&str]) -> Option<Output> {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .ok()?;
    Some(
        Command::new(env!("CARGO_BIN_EXE_mlrig"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .unwrap(),
    )
}

#[test]
fn stdout_on_a_full_device_is_one_error_line_and_status_2() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED stdout_on_a_full_device_is_one_error_line_and_status_2: no /dev/full");
        return;
    }
    for args in [
        vec!["--format", "json", "stats", ADULT],
        vec!["stats", IRIS],
        vec!["schema", "pipeline"],
        vec!["init", ADULT, "--target", "income"],
        vec!["--help"],
    ] {
        let output = to_dev_full(&args).unwrap();
        if args == ["--help"] {
            // clap prints the help itself: no panic, whatever it reports.
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!stderr.contains("panicked"), "{stderr}");
            continue;
        }
        let line = assert_one_line_error(&output);
        assert!(
            line.starts_with("error: writing the output to stdout: ")
                && line.contains("No space left on device")
                && line.ends_with("free space on the disk stdout goes to or redirect it elsewhere"),
            "{args:?}: {line}"
        );
    }
    // An error report that cannot be printed on stdout still reaches stderr.
    let output = to_dev_full(&["--format", "json", "stats", "no/such/file.csv"]).unwrap();
    let line = assert_one_line_error(&output);
    assert!(line.starts_with("error: no/such/file.csv: "), "{line}");
}

/// How this process can mount a tmpfs of its own: the `unshare` arguments
/// that give a private mount namespace where `mount` works, or `None`.
fn mount_namespace(probe: &Path) -> Option<Vec<&'static str>> {
    for unshare in [vec!["-m"], vec!["-r", "-m"]] {
        let works = Command::new("unshare")
            .args(&unshare)
            .args([
                "sh",
                "-c",
                "mount -t tmpfs -o size=8k tmpfs \"$0\"",
                probe.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            return Some(unshare);
        }
    }
    None
}

/// Inside the namespace: mount a tmpfs of $SIZE (default 8 KiB) on $1, write
/// "previous" (or $CONTENT) to the destination file $DEST (when set), run
/// $SETUP, run the command, and record its status, stderr, the tmpfs's
/// contents, the destination's content and a copy of the tmpfs in $2.
const SCRIPT: &str = r#"
full=$1; out=$2; shift 2
mount -t tmpfs -o "size=${SIZE:-8k}" tmpfs "$full" || exit 99
if [ -n "$DEST" ] && [ -n "$CONTENT" ]; then printf '%s' "$CONTENT" > "$full/$DEST" || exit 98;
elif [ -n "$DEST" ]; then printf 'previous\n' > "$full/$DEST" || exit 98; fi
eval "$SETUP" || exit 97
"$@" >"$out/stdout" 2>"$out/stderr"
echo $? >"$out/status"
(cd "$full" && find . -mindepth 1 | sort) >"$out/listing"
(cd "$full" && find . -mindepth 1 -type f | sort) >"$out/files"
if [ -n "$DEST" ] && [ -f "$full/$DEST" ]; then cat "$full/$DEST" >"$out/dest"; fi
mkdir "$out/after" && cp -a "$full/." "$out/after/"
exit 0
"#;

/// What a command left after running against a full tmpfs.
struct FullDiskRun {
    status: i32,
    stderr: String,
    /// Every entry left in the tmpfs (`./a/b`).
    listing: Vec<String>,
    /// The regular files among them.
    files: Vec<String>,
    /// The destination's content afterwards, if it exists.
    dest: Option<String>,
    /// The record, with a copy of the tmpfs afterwards in `after/`.
    out: tempfile::TempDir,
}

fn run_on_full_disk(
    unshare: &[&str],
    work: &Path,
    full: &Path,
    (dest, content): (&str, &str),
    args: &[String],
) -> FullDiskRun {
    run_on_full_disk_with(unshare, work, full, (dest, content), ("8k", ""), args)
}

/// [`run_on_full_disk`] with a tmpfs of `size` and a `setup` shell command
/// (`$full` is the tmpfs) run before the command.
fn run_on_full_disk_with(
    unshare: &[&str],
    work: &Path,
    full: &Path,
    (dest, content): (&str, &str),
    (size, setup): (&str, &str),
    args: &[String],
) -> FullDiskRun {
    let out = tempfile::tempdir_in(work).unwrap();
    let status = Command::new("unshare")
        .args(unshare)
        .args(["sh", "-c", SCRIPT, "sh"])
        .arg(full)
        .arg(out.path())
        .arg(env!("CARGO_BIN_EXE_mlrig"))
        .args(args)
        .env("DEST", dest)
        .env("CONTENT", content)
        .env("SIZE", size)
        .env("SETUP", setup)
        .current_dir(work)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the tmpfs script failed: {status}");
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
    FullDiskRun {
        status: read("status").trim().parse().unwrap(),
        stderr: read("stderr"),
        listing: read("listing").lines().map(str::to_string).collect(),
        files: read("files").lines().map(str::to_string).collect(),
        dest: std::fs::read_to_string(out.path().join("dest")).ok(),
        out,
    }
}

#[test]
fn writing_files_to_a_full_disk_fails_cleanly() {
    let work = tempfile::tempdir().unwrap();
    let full = work.path().join("full");
    std::fs::create_dir(&full).unwrap();
    let Some(unshare) = mount_namespace(&full) else {
        eprintln!(
            "\n*** SKIPPED writing_files_to_a_full_disk_fails_cleanly: cannot mount a tmpfs \
             (neither `unshare -m` nor `unshare -r -m` works here) ***\n"
        );
        return;
    };
    // Inputs, outside the tmpfs.
    let path = |name: &str| work.path().join(name);
    let text = |p: PathBuf| p.to_str().unwrap().to_string();
    train_iris(work.path(), None);
    fit_features(ADULT, "income", text(path("transformer.json")));
    let mut bad = String::from("id,name,score,active\n");
    for i in 0..2_000 {
        bad.push_str(&format!("{i},n{i},not-a-number-{i},true\n"));
    }
    std::fs::write(path("bad.csv"), bad).unwrap();
    let in_full = |name: &str| text(full.join(name));
    // `mlrig ingest` of the Adult sample into a train/eval split in the tmpfs.
    let split_adult = || {
        let out = in_full("split");
        ["ingest", ADULT, "--out-dir", &out, "--eval-fraction", "0.2"]
            .map(String::from)
            .to_vec()
    };
    let model = text(path("iris"));
    let transformer = text(path("transformer.json"));
    let bad = text(path("bad.csv"));

    // (destination file in the tmpfs or "" for a directory, arguments)
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "stats.json",
            vec![
                "stats".into(),
                ADULT.into(),
                "--out".into(),
                in_full("stats.json"),
            ],
        ),
        (
            "schema.json",
            vec![
                "infer-schema".into(),
                ADULT.into(),
                "--out".into(),
                in_full("schema.json"),
            ],
        ),
        ("", split_adult()),
        (
            "quarantine.csv",
            vec![
                "ingest".into(),
                bad.clone(),
                "--column-type".into(),
                "score=float64".into(),
                "--quarantine".into(),
                in_full("quarantine.csv"),
            ],
        ),
        (
            "quarantine.jsonl",
            vec![
                "ingest".into(),
                bad,
                "--column-type".into(),
                "score=float64".into(),
                "--quarantine".into(),
                in_full("quarantine.jsonl"),
                "--quarantine-format".into(),
                "jsonl".into(),
            ],
        ),
        (
            "transformer.json",
            vec![
                "features".into(),
                "fit".into(),
                ADULT.into(),
                "--infer".into(),
                "--target".into(),
                "income".into(),
                "--out".into(),
                in_full("transformer.json"),
            ],
        ),
        (
            "features.csv",
            vec![
                "features".into(),
                "apply".into(),
                transformer.clone(),
                ADULT.into(),
                "--out".into(),
                in_full("features.csv"),
            ],
        ),
        (
            "features.parquet",
            vec![
                "features".into(),
                "apply".into(),
                transformer,
                ADULT.into(),
                "--out".into(),
                in_full("features.parquet"),
            ],
        ),
        (
            "",
            vec![
                "train".into(),
                IRIS.into(),
                "--target".into(),
                "species".into(),
                "--name".into(),
                "iris".into(),
                "--out".into(),
                in_full("models"),
                "--no-baseline".into(),
            ],
        ),
        (
            "predictions.csv",
            vec![
                "predict".into(),
                "--model".into(),
                model.clone(),
                IRIS.into(),
                "--out".into(),
                in_full("predictions.csv"),
            ],
        ),
        (
            "predictions.jsonl",
            vec![
                "predict".into(),
                "--model".into(),
                model.clone(),
                IRIS.into(),
                "--out".into(),
                in_full("predictions.jsonl"),
            ],
        ),
        (
            "predictions.parquet",
            vec![
                "predict".into(),
                "--model".into(),
                model.clone(),
                IRIS.into(),
                "--out".into(),
                in_full("predictions.parquet"),
            ],
        ),
        (
            "report.html",
            vec![
                "report".into(),
                "--data".into(),
                IRIS.into(),
                "--out".into(),
                in_full("report.html"),
            ],
        ),
        (
            "pipeline.schema.json",
            vec![
                "schema".into(),
                "pipeline".into(),
                "--out".into(),
                in_full("pipeline.schema.json"),
            ],
        ),
        (
            "rules.yml",
            vec![
                "alerts".into(),
                "--model".into(),
                model,
                "--out".into(),
                in_full("rules.yml"),
            ],
        ),
    ];
    for (dest, args) in cases {
        let run = run_on_full_disk(&unshare, work.path(), &full, (dest, ""), &args);
        let what = format!("{args:?}\n--- stderr ---\n{}", run.stderr);
        assert_eq!(run.status, 2, "{what}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "not one error line: {what}");
        let line = lines[0];
        eprintln!("{line}");
        assert!(line.starts_with("error: "), "{what}");
        assert!(!line.contains("panicked"), "{what}");
        assert!(line.contains("No space left on device"), "{what}");
        let flag = if args.iter().any(|a| a == "--out-dir") {
            "--out-dir"
        } else {
            "--out"
        };
        assert!(
            line.ends_with(&format!("or choose another {flag}")),
            "{what}"
        );
        assert!(line.contains("free space on the disk holding "), "{what}");
        // The file named is the destination (or a file of it), never a temporary.
        let named = line.trim_start_matches("error: ");
        assert!(
            named.starts_with(full.to_str().unwrap())
                && !named.contains(".mlrig-tmp")
                && !named.contains("staging"),
            "{what}"
        );
        // Nothing half-written or temporary is left; the previous file is intact.
        assert!(
            run.listing
                .iter()
                .all(|entry| !entry.contains(".mlrig-tmp") && !entry.contains(".staging")),
            "{what}\nleft: {:?}",
            run.listing
        );
        if dest.is_empty() {
            assert!(run.files.is_empty(), "{what}\nfiles left: {:?}", run.files);
        } else {
            assert_eq!(run.files, vec![format!("./{dest}")], "{what}");
            assert_eq!(run.dest.as_deref(), Some("previous\n"), "{what}");
        }
    }

    // A pipeline whose root (the config's directory) is on the full disk:
    // the run fails with one line, its record is kept (complete), no
    // artifact or staging directory is half-written.
    let config = format!(
        "name = \"iris\"\n[data]\nfiles = [\"{IRIS}\"]\ntarget = \"species\"\n[push]\nbase_path = \"models\"\n"
    );
    let run = run_on_full_disk(
        &unshare,
        work.path(),
        &full,
        ("mlrig.toml", &config),
        &["run".into(), in_full("mlrig.toml")],
    );
    let what = format!("{:?}\n--- stderr ---\n{}", run.listing, run.stderr);
    assert_eq!(run.status, 2, "{what}");
    assert_eq!(run.stderr.lines().count(), 1, "{what}");
    assert!(run.stderr.contains("No space left on device"), "{what}");
    assert_eq!(run.dest.as_deref(), Some(config.as_str()), "{what}");
    for file in &run.files {
        assert!(
            file == "./mlrig.toml"
                || (file.starts_with("./pipeline/runs/") && file.ends_with(".json")),
            "{what}"
        );
    }
    assert!(
        run.listing
            .iter()
            .all(|entry| !entry.contains("/.tmp") && !entry.contains(".mlrig-tmp")),
        "{what}"
    );

    // A train/eval split where train fits and eval does not: both files are
    // synced before either is renamed, so the previous pair stays whole
    // (never a new train.csv beside an old eval.csv).
    let run = run_on_full_disk_with(
        &unshare,
        work.path(),
        &full,
        ("", ""),
        (
            "400k",
            r#"mkdir "$full/split" && echo old > "$full/split/train.csv" && echo old > "$full/split/eval.csv""#,
        ),
        &split_adult(),
    );
    let what = format!("{:?}\n--- stderr ---\n{}", run.listing, run.stderr);
    assert_eq!(run.status, 2, "{what}");
    assert!(run.stderr.contains("No space left on device"), "{what}");
    assert_eq!(
        run.files,
        ["./split/eval.csv", "./split/train.csv"],
        "{what}"
    );
    for file in ["train.csv", "eval.csv"] {
        let after = run.out.path().join("after/split").join(file);
        assert_eq!(
            std::fs::read_to_string(after).unwrap(),
            "old\n",
            "{file}: {what}"
        );
    }
}
