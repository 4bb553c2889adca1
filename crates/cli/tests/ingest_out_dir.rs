//! `ingest --out-dir` in the places a split directory cannot simply be
//! replaced (issue 14, part 2, review fixes): a mount point, the current
//! directory, an out-dir holding things that are not a split's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{IRIS, assert_one_line_error, assert_status, mlrig};

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn split_into(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "ingest".to_string(),
        IRIS.into(),
        "--eval-fraction".into(),
        "0.2".into(),
        "--out-dir".into(),
        s(dir),
    ];
    args.extend(extra.iter().map(|a| (*a).to_string()));
    mlrig(args)
}

/// Mounts a tmpfs on $1 in a private mount namespace, runs `ingest --out-dir
/// $1` twice (the second replaces the first's split), and lists $1.
const MOUNT_SCRIPT: &str = r#"
mnt=$1; shift
mount -t tmpfs -o size=1m tmpfs "$mnt" || exit 99
"$@" >/dev/null || exit 1
"$@" >/dev/null || exit 2
ls -A "$mnt"
"#;

#[test]
fn an_out_dir_that_is_a_mount_point_gets_the_split() {
    let work = tempfile::tempdir().unwrap();
    let mnt = work.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    for unshare in [&["-m"][..], &["-r", "-m"][..]] {
        let output = Command::new("unshare")
            .args(unshare)
            .args(["sh", "-c", MOUNT_SCRIPT, "sh"])
            .arg(&mnt)
            .arg(env!("CARGO_BIN_EXE_mlrig"))
            .args(["ingest", IRIS, "--eval-fraction", ".2", "--out-dir"])
            .arg(&mnt)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        match output.status.code() {
            Some(0) => {
                let listing = String::from_utf8(output.stdout).unwrap();
                assert_eq!(
                    listing.split_whitespace().collect::<Vec<_>>(),
                    ["eval.csv", "train.csv"]
                );
                return;
            }
            Some(99) | None => continue,
            _ => panic!(
                "ingest into a mount point failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
    eprintln!(
        "\n*** SKIPPED an_out_dir_that_is_a_mount_point_gets_the_split: cannot mount a tmpfs \
         (neither `unshare -m` nor `unshare -r -m` works here) ***\n"
    );
}

#[test]
fn the_current_directory_as_out_dir_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let here = work.path().join("here");
    std::fs::create_dir(&here).unwrap();
    for out in [".", "../here"] {
        let output = Command::new(env!("CARGO_BIN_EXE_mlrig"))
            .args(["ingest", IRIS, "--eval-fraction", ".2", "--out-dir", out])
            .current_dir(&here)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let line = assert_one_line_error(&output);
        assert!(line.contains("current directory"), "{line}");
        assert!(here.is_dir());
        assert!(names(&here).is_empty());
    }
}

#[test]
fn things_named_like_a_split_but_not_one_are_refused_and_kept() {
    let work = tempfile::tempdir().unwrap();
    let split = work.path().join("split");
    // A directory named like a split file, with a user's file inside.
    std::fs::create_dir_all(split.join("train.csv")).unwrap();
    std::fs::write(split.join("train.csv/mine"), b"mine").unwrap();
    let line = assert_one_line_error(&split_into(&split, &[]));
    assert!(line.contains("`train.csv` is not a regular file"), "{line}");
    assert!(split.join("train.csv/mine").exists());
    std::fs::remove_dir_all(split.join("train.csv")).unwrap();

    // A user's directory named like an mlrig temporary (but not as mlrig names them).
    std::fs::create_dir_all(split.join(".mlrig-tmp-keep")).unwrap();
    std::fs::write(split.join(".mlrig-tmp-keep/mine"), b"mine").unwrap();
    let line = assert_one_line_error(&split_into(&split, &[]));
    assert!(line.contains("`.mlrig-tmp-keep`"), "{line}");
    assert!(split.join(".mlrig-tmp-keep/mine").exists());
    std::fs::remove_dir_all(split.join(".mlrig-tmp-keep")).unwrap();

    // A crashed run's temporary is removed.
    let host = mlrig_core::owned_temp_prefix("");
    let host = host.split('-').next().unwrap();
    let crashed = split.join(format!(
        "{}{host}-4294967295-aBc123",
        mlrig_core::TEMP_FILE_PREFIX
    ));
    std::fs::write(&crashed, b"half").unwrap();
    assert_status(&split_into(&split, &[]), 0);
    assert_eq!(names(&split), ["eval.csv", "train.csv"]);
}

#[test]
fn an_earlier_quarantine_file_is_named_with_what_to_do() {
    let work = tempfile::tempdir().unwrap();
    let split = work.path().join("split");
    let quarantine = split.join("q.csv");
    assert_status(&split_into(&split, &["--quarantine", &s(&quarantine)]), 0);
    assert!(quarantine.is_file());
    let line = assert_one_line_error(&split_into(&split, &[]));
    assert!(line.contains("`q.csv`"), "{line}");
    assert!(line.contains("delete `q.csv`"), "{line}");
    assert!(line.contains("pass the same --quarantine"), "{line}");
    assert!(quarantine.is_file());
}

#[test]
fn a_quarantine_in_a_missing_out_dir_given_by_absolute_path_goes_into_it() {
    let work = tempfile::tempdir().unwrap();
    let quarantine = work.path().join("new5/q.csv");
    let output = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args([
            "ingest",
            IRIS,
            "--eval-fraction",
            ".2",
            "--out-dir",
            "new5",
            "--quarantine",
        ])
        .arg(&quarantine)
        .current_dir(work.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_status(&output, 0);
    assert_eq!(
        names(&work.path().join("new5")),
        ["eval.csv", "q.csv", "train.csv"]
    );
}
