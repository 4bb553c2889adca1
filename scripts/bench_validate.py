#!/usr/bin/env python3
"""Data validation at scale: `mlrig stats` / `mlrig drift` next to TFDV, pandas and Evidently.

    cargo build --release -p mlrig-cli
    python3 scripts/bench_validate.py [--markdown FILE] [--json FILE]

The script itself needs only the standard library; every tool runs as a
subprocess in its own virtual environment (see
scripts/requirements-bench-validate.txt and docs/benchmarks.md):

* data:      --gen-python (numpy + polars) runs ../shared/tools/make_big.py
             for 100k, 300k and 1M rows (seed 42), and writes a drifted copy of
             each (seed 43, then shifted with polars, see DRIFT_CODE);
* mlrig:     target/release/mlrig stats FILE --out s.json   (read included)
             target/release/mlrig drift --reference FILE --current DRIFTED (read included)
             at every size (time linear in rows?), and once with --threads 1;
* TFDV:      tfdv.generate_statistics_from_csv(FILE) in --tfdv-python (1M rows);
* pandas:    pd.read_csv(FILE).describe(include="all") in --pandas-python (1M rows);
* Evidently: Report([DataDriftPreset()]).run(current, reference) on the two
             DataFrames in --evidently-python (1M rows), timed without and
             with the two pd.read_csv calls.

Every run is one subprocess reaped with os.wait4, which gives its wall clock
and its peak resident set (ru_maxrss). For the Python peers the child also
reports the time of the operation alone (interpreter start and imports
excluded; TensorFlow's import alone takes several seconds); ratios use that
operation time, which favours the peers. Files are read once before timing so
every tool reads from the page cache. Before each measurement the script waits
for the 1-minute load average to drop below --max-load (at most --max-wait
seconds in all), and records the load each run started at.

Timings are machine-dependent; nothing here is a pass/fail test.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# The directory that holds the clone: the shared data tools (`../shared`) and the
# virtual environments of the peers (`../venv-*`) live next to it.
PARENT = os.path.dirname(REPO)
MAKE_BIG = os.environ.get("MLRIG_MAKE_BIG", os.path.join(PARENT, "shared", "tools", "make_big.py"))
SIZES = [100_000, 300_000, 1_000_000]

# The drifted copy: a different seed (same distributions), then real shifts in
# four numeric columns and one categorical column, deterministic.
DRIFT_CODE = r"""
import sys
sys.path.insert(0, sys.argv[1])
import polars as pl
from make_big import make
rows, out = int(sys.argv[2]), sys.argv[3]
df = make(rows, 43, 0.0)
df = df.with_columns(
    (pl.col("num_0") + 0.25).alias("num_0"),
    (pl.col("num_2") * 1.3).alias("num_2"),
    (pl.col("num_4") * 1.2).alias("num_4"),
    (pl.col("num_9") + 40.0).alias("num_9"),
    pl.when(pl.col("num_3") > 0.7).then(pl.lit("c1_6")).otherwise(pl.col("cat_1")).alias("cat_1"),
)
df.write_csv(out, float_precision=6)
print(f"wrote {out}: {df.height} rows")
"""

# Each peer prints one JSON line last: versions and the operation's own times.
TFDV_CODE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import tensorflow_data_validation as tfdv
import apache_beam, pandas
t1 = time.perf_counter()
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stats = tfdv.generate_statistics_from_csv(data_location=sys.argv[1], output_path=sys.argv[2])
t2 = time.perf_counter()
ds = stats.datasets[0]
print(json.dumps({"import_s": t1 - t0, "op_s": t2 - t1, "rss_before_op_kb": rss_before,
                  "rows": ds.num_examples, "features": len(ds.features),
                  "versions": {"tensorflow-data-validation": tfdv.__version__,
                               "apache-beam": apache_beam.__version__, "pandas (TFDV venv)": pandas.__version__}}))
"""

PANDAS_CODE = r"""
import json, resource, sys, time
import pandas as pd, numpy as np
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
t1 = time.perf_counter()
d = df.describe(include="all")
t2 = time.perf_counter()
print(json.dumps({"read_s": t1 - t0, "describe_s": t2 - t1, "op_s": t2 - t0, "rss_before_op_kb": rss_before,
                  "rows": len(df), "columns": int(d.shape[1]),
                  "versions": {"pandas": pd.__version__, "numpy": np.__version__}}))
"""

EVIDENTLY_CODE = r"""
import json, resource, sys, time
import pandas as pd
import evidently
from evidently import Report
from evidently.presets import DataDriftPreset
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
reference = pd.read_csv(sys.argv[1])
current = pd.read_csv(sys.argv[2])
t1 = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
t2 = time.perf_counter()
metrics = snapshot.dict()["metrics"]
count = next(m["value"] for m in metrics if m["metric_name"].startswith("DriftedColumnsCount"))
drifted = [m["config"]["column"] for m in metrics
           if m["metric_name"].startswith("ValueDrift") and m["value"] >= m["config"]["threshold"]]
print(json.dumps({"read_s": t1 - t0, "drift_s": t2 - t1, "op_s": t2 - t0, "rss_before_op_kb": rss_before,
                  "drifted_columns": count["count"], "drifted": drifted,
                  "versions": {"evidently": evidently.__version__, "pandas (Evidently venv)": pd.__version__}}))
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


_WAIT_LEFT = [0.0]


def wait_for_low_load(max_load: float) -> float:
    """Waits until the 1-minute load average is below max_load, within what is left of the
    --max-wait budget (shared by all runs); returns the load average."""
    load = os.getloadavg()[0]
    while load >= max_load and _WAIT_LEFT[0] > 0:
        log(f"  load average {load:.2f} >= {max_load}: waiting ({_WAIT_LEFT[0]:.0f} s of waiting left)")
        time.sleep(15)
        _WAIT_LEFT[0] -= 15
        load = os.getloadavg()[0]
    return load


def run_measured(cmd: list[str], workdir: str, accept: tuple[int, ...] = (0,)) -> dict:
    """Runs cmd as one child; returns wall seconds, peak RSS (KiB), and its stdout."""
    with tempfile.TemporaryFile(dir=workdir) as out, open(os.path.join(workdir, "stderr.log"), "ab") as err:
        err.write(f"\n$ {' '.join(cmd)}\n".encode())
        err.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=workdir)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    if proc.returncode not in accept:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}; see {workdir}/stderr.log\n{stdout[-2000:]}")
    return {"wall_s": wall, "max_rss_kb": usage.ru_maxrss, "stdout": stdout}


def last_json(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON result in output:\n{stdout[-2000:]}")


def measure(name: str, cmd: list[str], args, repeats: int, accept=(0,), peer=False) -> dict:
    """Runs cmd `repeats` times; keeps the median wall (and median op time for peers) and the max RSS."""
    runs = []
    reported: list[str] = []
    for i in range(repeats):
        load = wait_for_low_load(args.max_load)
        r = run_measured(cmd, args.workdir, accept)
        r["load"] = load
        if peer:
            peer_result = last_json(r["stdout"])
            reported = list(peer_result)
            r.update(peer_result)
        log(f"  {name} [{i + 1}/{repeats}]: {r['wall_s']:.3f} s wall"
            + (f", {r['op_s']:.3f} s operation" if peer else "")
            + f", {r['max_rss_kb'] / 1024:.0f} MiB peak RSS, load {load:.2f}")
        runs.append(r)
    result = {
        "name": name,
        "cmd": cmd,
        "runs": len(runs),
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "max_rss_kb": max(r["max_rss_kb"] for r in runs),
        "load": [round(r["load"], 2) for r in runs],
        "stdout": runs[-1]["stdout"],
    }
    # What a peer reports: times (keys ending in `_s`) as medians, anything else from the last run.
    for key in reported:
        if key.endswith("_s"):
            result[key] = statistics.median(r[key] for r in runs)
        else:
            result[key] = runs[-1][key]
    return result


def make_pair(rows: int, workdir: str, gen_python: str) -> tuple[str, str]:
    """`big_<rows>.csv` (make_big.py, seed 42) and `drifted_<rows>.csv` (DRIFT_CODE) in workdir,
    generated unless present, and read once into the page cache."""
    base = os.path.join(workdir, f"big_{rows}.csv")
    drifted = os.path.join(workdir, f"drifted_{rows}.csv")
    if not os.path.exists(base):
        log(f"generating {base}")
        subprocess.run([gen_python, MAKE_BIG, "--rows", str(rows), "--seed", "42", "--out", base], check=True)
    if not os.path.exists(drifted):
        log(f"generating {drifted}")
        subprocess.run([gen_python, "-c", DRIFT_CODE, os.path.dirname(MAKE_BIG), str(rows), drifted], check=True)
    for path in (base, drifted):
        with open(path, "rb") as f:  # into the page cache
            while f.read(1 << 20):
                pass
    return base, drifted


def generate(args) -> dict[int, tuple[str, str]]:
    return {rows: make_pair(rows, args.workdir, args.gen_python) for rows in args.sizes}


def command_output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        return f"unknown ({e})"


def cpu_model() -> str:
    for line in command_output(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_mib(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"



def write_outputs(args, report, payload):
    """Prints the report and writes it to --markdown, and payload to --json, when given."""
    print(report)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mlrig", default=os.path.join(REPO, "target", "release", "mlrig"))
    venv_python = lambda name: os.path.join(PARENT, name, "bin", "python")  # noqa: E731
    ap.add_argument("--gen-python", default=venv_python("venv-big"), help="python with numpy and polars")
    ap.add_argument("--tfdv-python", default=venv_python("venv-tfdv"))
    ap.add_argument("--pandas-python", default=venv_python("venv-sk"))
    ap.add_argument("--evidently-python", default=venv_python("venv-evidently"))
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "mlrig-bench-validate"),
                    help="generated CSVs, outputs and stderr.log (CSVs are reused if present)")
    ap.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="row counts; the largest is compared with the peers")
    ap.add_argument("--repeats", type=int, default=3, help="runs of mlrig and pandas (median)")
    ap.add_argument("--slow-repeats", type=int, default=1, help="runs of TFDV and Evidently (median)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["tfdv", "pandas", "evidently"])
    ap.add_argument("--max-load", type=float, default=1.5)
    ap.add_argument("--max-wait", type=float, default=300.0,
                    help="seconds the whole run may spend waiting for the load to drop")
    ap.add_argument("--markdown", help="also write the Markdown report here")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    _WAIT_LEFT[0] = args.max_wait
    if not os.access(args.mlrig, os.X_OK):
        sys.exit(f"{args.mlrig} not found: run `cargo build --release -p mlrig-cli` first")

    files = generate(args)
    big = max(args.sizes)
    base, drifted = files[big]
    stats_out = os.path.join(args.workdir, "s.json")
    results: dict[str, dict] = {}

    for rows in sorted(args.sizes):
        b, d = files[rows]
        results[f"mlrig_stats_{rows}"] = measure(
            f"mlrig stats {rows}", [args.mlrig, "stats", b, "--out", stats_out], args, args.repeats)
        # exit status 1 = drift detected, which is the expected outcome here
        results[f"mlrig_drift_{rows}"] = measure(
            f"mlrig drift {rows}", [args.mlrig, "drift", "--reference", b, "--current", d], args, args.repeats, accept=(0, 1))
    results["mlrig_stats_1thread"] = measure(
        "mlrig stats --threads 1", [args.mlrig, "--threads", "1", "stats", base, "--out", stats_out], args, args.repeats)
    results["mlrig_drift_1thread"] = measure(
        "mlrig drift --threads 1", [args.mlrig, "--threads", "1", "drift", "--reference", base, "--current", drifted],
        args, args.repeats, accept=(0, 1))
    if "pandas" not in args.skip:
        results["pandas"] = measure("pandas read_csv + describe", [args.pandas_python, "-c", PANDAS_CODE, base],
                                    args, args.repeats, peer=True)
    if "evidently" not in args.skip:
        results["evidently"] = measure("Evidently DataDriftPreset",
                                       [args.evidently_python, "-c", EVIDENTLY_CODE, base, drifted],
                                       args, args.slow_repeats, peer=True)
    if "tfdv" not in args.skip:
        results["tfdv"] = measure("TFDV generate_statistics_from_csv",
                                  [args.tfdv_python, "-c", TFDV_CODE, base, os.path.join(args.workdir, "tfdv_stats.tfrecord")],
                                  args, args.slow_repeats, peer=True)

    drift_text = results[f"mlrig_drift_{big}"]["stdout"].splitlines()
    versions = {
        "mlrig": command_output([args.mlrig, "--version"]).removeprefix("mlrig "),
        "rustc": command_output(["rustc", "--version"]).removeprefix("rustc "),
        "python": platform.python_version(),
    }
    for r in results.values():
        versions.update(r.get("versions", {}))
    report = markdown(args, results, files, versions, drift_text[0] if drift_text else "")
    write_outputs(args, report, {"versions": versions, "results": results})


def linear_fit(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """Least squares of seconds on rows: (intercept, slope, largest |residual| / measured)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    fixed = my - slope * mx
    worst = max(abs(y - (fixed + slope * x)) / y for x, y in points)
    return fixed, slope, worst


def markdown(args, results, files, versions, drift_summary: str) -> str:
    big = max(args.sizes)
    small = min(args.sizes)
    stats = results[f"mlrig_stats_{big}"]
    drift = results[f"mlrig_drift_{big}"]
    size_mb = os.path.getsize(files[big][0]) / 1e6
    lines = [
        f"{datetime.date.today().isoformat()} · {os.cpu_count()} cores (`lscpu` model name: `{cpu_model()}`) · "
        f"load average at the start of each run: {min(min(r['load']) for r in results.values()):.2f}–"
        f"{max(max(r['load']) for r in results.values()):.2f}",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        f"Data: `make_big.py --rows {big} --seed 42` ({size_mb:.0f} MB, 16 columns: 10 numeric, 5 string "
        f"with 3–1,000 levels, label); drifted copy: seed 43 plus shifts in num_0, num_2, num_4, num_9 and cat_1. "
        f"mlrig: {drift_summary}.",
        "",
        f"| task ({big:,} rows) | tool | wall (median) | operation only | peak RSS | peer / mlrig | target | |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]

    def row(task, tool, r, op=None, ratio=None, target="", ok=None):
        lines.append(
            f"| {task} | {tool} | {fmt_s(r['wall_s'])} ({r['runs']}×) | {fmt_s(op) if op is not None else '—'} | "
            f"{fmt_mib(r['max_rss_kb'])} | {f'{ratio:.1f}×' if ratio is not None else '—'} | {target} | "
            f"{verdict(ok) if ok is not None else ''} |")

    row("statistics, read included", "`mlrig stats`", stats, target="peak RSS < 200 MB",
        ok=stats["max_rss_kb"] < 200 * 1024)
    row("", "`mlrig --threads 1 stats`", results["mlrig_stats_1thread"])
    if "tfdv" in results:
        t = results["tfdv"]
        ratio = t["op_s"] / stats["wall_s"]
        row("", "TFDV `generate_statistics_from_csv`", t, t["op_s"], ratio, "≥ 50×", ratio >= 50)
    if "pandas" in results:
        p = results["pandas"]
        ratio = p["op_s"] / stats["wall_s"]
        row("", f"pandas `read_csv` + `describe(include=\"all\")` (read {fmt_s(p['read_s'])})", p, p["op_s"], ratio,
            "≥ 1×", ratio >= 1)
    row("drift, both reads included", "`mlrig drift`", drift, target="peak RSS < 200 MB",
        ok=drift["max_rss_kb"] < 200 * 1024)
    row("", "`mlrig --threads 1 drift`", results["mlrig_drift_1thread"])
    if "evidently" in results:
        e = results["evidently"]
        ratio = e["drift_s"] / drift["wall_s"]
        row("", "Evidently `DataDriftPreset`, drift only (DataFrames in memory)", e, e["drift_s"], ratio, "≥ 30×",
            ratio >= 30)
        ratio = e["op_s"] / drift["wall_s"]
        row("", "Evidently, with the two `pd.read_csv`", e, e["op_s"], ratio, "≥ 30×", ratio >= 30)

    lines += ["", "Linearity (mlrig, read included; ideal: time ∝ rows):", "",
              "| rows | `mlrig stats` | ns / row | peak RSS | `mlrig drift` | ns / row | peak RSS |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for rows in sorted(args.sizes):
        s, d = results[f"mlrig_stats_{rows}"], results[f"mlrig_drift_{rows}"]
        lines.append(f"| {rows:,} | {fmt_s(s['wall_s'])} | {s['wall_s'] / rows * 1e9:.0f} | {fmt_mib(s['max_rss_kb'])} | "
                     f"{fmt_s(d['wall_s'])} | {d['wall_s'] / (2 * rows) * 1e9:.0f} | {fmt_mib(d['max_rss_kb'])} |")
    if len(args.sizes) >= 3:
        lines += ["", "Least-squares fit `wall = fixed + rows × per-row` (time is linear in rows when the "
                      "per-row cost holds at every size and the residuals are small):", ""]
        for task in ("stats", "drift"):
            points = [(rows, results[f"mlrig_{task}_{rows}"]["wall_s"]) for rows in sorted(args.sizes)]
            fixed, slope, worst = linear_fit(points)
            per = "row of each file" if task == "drift" else "row"
            lines.append(f"* `mlrig {task}`: fixed {fmt_s(fixed)}, {slope * 1e9:.0f} ns per {per}, "
                         f"largest residual {worst * 100:.1f}% of the measured time; time ratio "
                         f"{big:,} / {small:,} rows {points[-1][1] / points[0][1]:.2f} (ideal {big / small:.0f} "
                         "without the fixed cost).")
        lines.append("* drift's ns / row in the table divides by the rows of both files.")
    if "evidently" in results:
        lines += ["", f"Evidently flagged {results['evidently']['drifted_columns']:.0f} drifted columns: "
                      f"{', '.join(results['evidently']['drifted'])}."]
    lines += ["", "Command: `python3 scripts/bench_validate.py "
              + " ".join(a for a in sys.argv[1:]) + "`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
