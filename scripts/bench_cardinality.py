#!/usr/bin/env python3
"""Peak memory of every verb on a column of 10 million unique strings.

Issue 14, part 4: `stats`, `infer-schema`, `features fit` (a capped
vocabulary, and hashing) and `drift` must each stay under 200 MB of peak
resident set on a CSV whose `id` column holds N unique strings (plus a
numeric column, a 50-value category and a 0/1 target). The CSV is generated
here, streamed to a temporary directory, and deleted afterwards.

The peak is the child's `VmHWM` (Linux, /proc/<pid>/status), polled every
5 ms while it runs; the high-water mark only grows, so the last reading is
the peak up to the last few milliseconds.

Usage (from the repository root, after `cargo build --release -p mlrig-cli`):

    python3 scripts/bench_cardinality.py [--rows 10000000] [--mlrig target/release/mlrig]

Prints one Markdown table row per verb (for docs/benchmarks.md) and exits 1
if any verb exceeds --cap-mb (default 200).
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

VOCABULARY_SPEC = """{"columns": [
  {"name": "id", "encode": {"vocabulary": {"top_k": 1000, "oov_buckets": 8}}},
  {"name": "city", "encode": "one_hot"},
  {"name": "x", "encode": "standard_scale"}]}"""

HASHING_SPEC = """{"columns": [
  {"name": "id", "impute": {"constant": "?"}, "encode": {"hash": {"buckets": 1024}}},
  {"name": "city", "impute": "most_frequent", "encode": {"hash": {"buckets": 16}}},
  {"name": "x", "encode": "robust_scale"}]}"""


def write_csv(path, rows):
    """The same rows as crates/cli/tests/cardinality.rs writes."""
    mask = (1 << 64) - 1
    state = 0x9E3779B97F4A7C15
    with open(path, "w", buffering=1 << 20) as out:
        out.write("id,x,city,y\n")
        chunk = []
        for i in range(rows):
            state = (state * 6364136223846793005 + 1442695040888963407) & mask
            high = state >> 40
            x = high / 16777216.0 * 100.0
            chunk.append(f"user-{i:08}-{high:06x},{x:.3f},c{i % 50},{int(x > 50.0)}\n")
            if len(chunk) == 100_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


def peak_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def measure(command):
    """Runs `command`; returns (peak MB, seconds). Fails on a non-zero exit."""
    start = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while child.poll() is None:
        reading = peak_mb(child.pid)
        if reading is not None:
            peak = max(peak, reading)
        time.sleep(0.005)
    seconds = time.monotonic() - start
    stderr = child.stderr.read().decode(errors="replace")
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {child.returncode}: {stderr}")
    return peak, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--mlrig", default="target/release/mlrig")
    parser.add_argument("--cap-mb", type=float, default=200.0)
    parser.add_argument(
        "--data",
        help="reuse this CSV (written first if missing) instead of a temporary one",
    )
    args = parser.parse_args()
    mlrig = os.path.abspath(args.mlrig)

    with tempfile.TemporaryDirectory(prefix="mlrig-cardinality-") as tmp:
        data = args.data or os.path.join(tmp, "unique.csv")
        start = time.monotonic()
        if not os.path.exists(data):
            write_csv(data, args.rows)
        size_mb = os.path.getsize(data) / 1e6
        print(f"data ready ({size_mb:.0f} MB) in {time.monotonic() - start:.0f} s", file=sys.stderr)
        vocabulary = os.path.join(tmp, "vocabulary.json")
        hashing = os.path.join(tmp, "hashing.json")
        with open(vocabulary, "w") as f:
            f.write(VOCABULARY_SPEC)
        with open(hashing, "w") as f:
            f.write(HASHING_SPEC)
        verbs = [
            ("stats", ["stats", data, "--format", "json"]),
            ("infer-schema", ["infer-schema", data, "--format", "json"]),
            (
                "features fit (vocabulary top_k = 1000)",
                ["features", "fit", data, "--spec", vocabulary, "--out", os.path.join(tmp, "v.json")],
            ),
            (
                "features fit (hash, 1024 buckets)",
                ["features", "fit", data, "--spec", hashing, "--out", os.path.join(tmp, "h.json")],
            ),
            ("drift (the file against itself)", ["drift", "--reference", data, "--current", data, "--format", "json"]),
        ]
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"rows: {args.rows:,} (all `id` values unique), file {size_mb:.0f} MB")
        print()
        print("| verb | peak RSS (MB) | time (s) |")
        print("|---|---:|---:|")
        over = []
        for name, command in verbs:
            peak, seconds = measure([mlrig, *command])
            print(f"| `{name}` | {peak:.0f} | {seconds:.1f} |", flush=True)
            if peak > args.cap_mb:
                over.append(name)
        if over:
            sys.exit(f"over {args.cap_mb:.0f} MB: {', '.join(over)}")


if __name__ == "__main__":
    main()
