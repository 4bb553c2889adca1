#!/usr/bin/env python3
"""The data side in one run: every data verb of mlrig next to its fastest peer (issue 15).

    cargo build --release -p mlrig-cli
    python3 scripts/bench_dataside.py [--rows 1000000] [--runs 3] [--skip-slow] [--markdown FILE] [--json FILE]

One table spec (TABLE_SPEC below, a list of rows) drives the runs. Each row is
one mlrig verb or one peer, on the same generated file (make_big.py, seed 42)
or its drifted copy (bench_validate.DRIFT_CODE), in the same run:

* read CSV:       mlrig ingest               | polars read_csv, pyarrow csv.read_csv, pandas read_csv
* statistics:     mlrig stats --out s.pb     | polars read_csv alone (the bar), pandas read + describe,
                                               TFDV generate_statistics_from_csv
* schema:         mlrig infer-schema         | TFDV infer_schema (alone, and with its statistics)
* validate:       mlrig validate drifted.csv | TFDV statistics of drifted.csv + validate_statistics
* drift:          mlrig drift                | Evidently DataDriftPreset (as bench_validate.py)
* features fit:   mlrig features fit --infer | scikit-learn ColumnTransformer.fit (bench_peers.feature_transformer)
* features apply: mlrig features apply       | ColumnTransformer.fit_transform in memory, and + dump_svmlight_file

The driver needs only the standard library; every tool is one subprocess (the
peers in their own virtual environments), reaped with os.wait4 for wall clock
and peak RSS; the Python peers also report the time of the operation alone
(imports excluded). Ratios are peer / mlrig: above 1, mlrig is faster. Each
mlrig verb is also run under `valgrind --tool=callgrind` on a small file
(--callgrind-rows) and on a 1-row file: (Ir(N rows) - Ir(1 row)) / (N - 1) is
its instructions per row, the load-independent figure.

The report goes to stdout, to --markdown / --json, and into docs/benchmarks.md
between the markers `<!-- bench_dataside:begin -->` and `<!-- bench_dataside:end -->`
(unless --no-docs). Timings are machine-dependent; nothing here is a pass/fail test.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
from typing import Callable, Optional

from bench_validate import (
    EVIDENTLY_CODE,
    PANDAS_CODE,
    PARENT,
    REPO,
    _WAIT_LEFT,
    command_output,
    cpu_model,
    fmt_mib,
    fmt_s,
    log,
    make_pair,
    measure,
    run_measured,
    verdict,
    write_outputs,
)

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(REPO, "docs", "benchmarks.md")
BEGIN, END = "<!-- bench_dataside:begin -->", "<!-- bench_dataside:end -->"
SECTION = "## The data side at the limit (issue 15)"

# Peers. Each prints one JSON line last: its versions and its operation's own times
# (`op_s` is the operation a ratio uses; other `*_s` keys are its parts).
READ_CODE = r"""
import json, sys, time
tool, path = sys.argv[1], sys.argv[2]
if tool == "polars":
    import polars as lib
    read = lib.read_csv
elif tool == "pyarrow":
    import pyarrow as lib, pyarrow.csv
    read = pyarrow.csv.read_csv
else:
    import pandas as lib
    read = lib.read_csv
t0 = time.perf_counter()
table = read(path)
t1 = time.perf_counter()
print(json.dumps({"op_s": t1 - t0, "rows": len(table), "versions": {tool: lib.__version__}}))
"""

# scikit-learn: the ColumnTransformer of bench_peers.py (imported from there), sparse output
# as mlrig's one-hot pipeline; read_csv is timed apart (`read_s`), not in `op_s`.
SKLEARN_CODE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
mode, path = sys.argv[2], sys.argv[3]
import pandas as pd, sklearn
from sklearn.datasets import dump_svmlight_file
from bench_peers import BIG_TARGET, NA_VALUES, feature_transformer
t0 = time.perf_counter()
frame = pd.read_csv(path, na_values=NA_VALUES)
t1 = time.perf_counter()
x_frame, y = frame.drop(columns=[BIG_TARGET]), frame[BIG_TARGET].to_numpy()
out = {"read_s": t1 - t0, "versions": {"scikit-learn": sklearn.__version__}}
if mode == "fit":
    feature_transformer(x_frame, sparse=True).fit(x_frame)
    out["op_s"] = time.perf_counter() - t1
else:
    features = feature_transformer(x_frame, sparse=True).fit_transform(x_frame)
    t2 = time.perf_counter()
    out.update(fit_transform_s=t2 - t1, op_s=t2 - t1, width=features.shape[1], nnz=int(features.nnz))
    if mode == "svmlight":
        dump_svmlight_file(features, y, sys.argv[4])
        out["dump_s"] = time.perf_counter() - t2
        out["op_s"] = time.perf_counter() - t1
print(json.dumps(out))
"""

# TFDV: statistics then infer_schema in one process (the schema is written for the
# validate run); `op_s` is both.
TFDV_PROFILE_CODE = r"""
import json, sys, time
import tensorflow_data_validation as tfdv
import apache_beam
t0 = time.perf_counter()
stats = tfdv.generate_statistics_from_csv(data_location=sys.argv[1])
t1 = time.perf_counter()
schema = tfdv.infer_schema(stats)
t2 = time.perf_counter()
tfdv.write_schema_text(schema, sys.argv[2])
print(json.dumps({"stats_s": t1 - t0, "infer_s": t2 - t1, "op_s": t2 - t0,
                  "versions": {"tensorflow-data-validation": tfdv.__version__, "apache-beam": apache_beam.__version__}}))
"""

TFDV_VALIDATE_CODE = r"""
import json, sys, time
import tensorflow_data_validation as tfdv
schema = tfdv.load_schema_text(sys.argv[2])
t0 = time.perf_counter()
stats = tfdv.generate_statistics_from_csv(data_location=sys.argv[1])
t1 = time.perf_counter()
anomalies = tfdv.validate_statistics(stats, schema)
t2 = time.perf_counter()
print(json.dumps({"stats_s": t1 - t0, "validate_s": t2 - t1, "op_s": t2 - t0,
                  "anomalies": sorted(anomalies.anomaly_info.keys())}))
"""


# A target's check returns None when not measured, else (met, the measured figure).
Check = Callable[[dict], Optional[tuple[bool, str]]]


@dataclasses.dataclass
class Files:
    """The paths one set of runs works on: inputs, its own outputs, shared artifacts."""
    big: str
    drifted: str
    outdir: str
    artdir: str

    def out(self, name: str) -> str:
        return os.path.join(self.outdir, name)

    def art(self, name: str) -> str:
        return os.path.join(self.artdir, name)


@dataclasses.dataclass
class Bench:
    """One command to measure. `python` names the peer's venv (None: mlrig);
    `files_read` is how many data files of --rows rows it reads (for Ir per row)."""
    key: str
    argv: Callable[[argparse.Namespace, Files], list[str]]
    python: Optional[str] = None
    slow: bool = False
    accept: tuple[int, ...] = (0,)
    files_read: int = 1

    @property
    def peer(self) -> bool:
        return self.python is not None


@dataclasses.dataclass
class Row:
    """One table row: a bench, the time it is judged by (`wall_s` or a key the peer reports),
    the mlrig bench it is compared with, and a target over all results."""
    task: str
    tool: str
    bench: Bench
    time_key: str = "wall_s"
    vs: Optional[str] = None
    target: str = ""
    check: Optional[Check] = None


def expand(params: tuple[str, ...], files: Files) -> list[str]:
    """Command arguments for files: `out:NAME` is an output of this run, `art:NAME` an artifact
    of the timed runs, `{big}`, `{drifted}` and `{scripts}` the inputs and this directory."""
    return [files.out(a[4:]) if a.startswith("out:") else files.art(a[4:]) if a.startswith("art:") else
            a.format(big=files.big, drifted=files.drifted, scripts=SCRIPTS) for a in params]


def mlrig(*verb: str, accept=(0,), files_read=1) -> Bench:
    """A mlrig verb (run as --mlrig); its key is the command with the files' short names."""
    key = "mlrig " + " ".join(re.sub(r"^(out|art):", "", a).format(big="big.csv", drifted="drifted.csv") for a in verb)
    return Bench(key, lambda args, files: [args.mlrig, *expand(verb, files)],
                 accept=accept, files_read=files_read)


def peer(key: str, python: str, code: str, *params: str, slow=False) -> Bench:
    """A peer: `code` run by the --<python>-python interpreter with params."""
    return Bench(key, lambda args, files: [getattr(args, python + "_python"), "-c", code, *expand(params, files)],
                 python=python, slow=slow)


def ratio(results: dict, row_key: str, time_key: str, mlrig_key: str) -> Optional[float]:
    if row_key not in results or mlrig_key not in results:
        return None
    return results[row_key][time_key] / results[mlrig_key]["wall_s"]


def at_least(factor: float, peer_key: str, time_key: str, mlrig_key: str) -> Check:
    def check(results):
        r = ratio(results, peer_key, time_key, mlrig_key)
        return None if r is None else (r >= factor, fmt_ratio(r))
    return check


def rss_below(mb: int, key: str) -> Check:
    """Peak RSS at most `mb` megabytes (10^6 bytes, as the issue states them)."""
    def check(results):
        if key not in results:
            return None
        peak = results[key]["max_rss_kb"] * 1024
        return peak <= mb * 1e6, f"{peak / 1e6:.1f} MB ({peak / 2**20:.1f} MiB)"
    return check


def rss_target(mb: int) -> str:
    return f"peak RSS ≤ {mb} MB ({mb * 1e6 / 2**20:.0f} MiB)"


def fastest_peer(keys: list[str], mlrig_key: str, factor: float) -> Check:
    def check(results):
        measured = [k for k in keys if k in results]
        if not measured or mlrig_key not in results:
            return None
        best = min(measured, key=lambda k: results[k]["op_s"])
        r = results[best]["op_s"] / results[mlrig_key]["wall_s"]
        return r >= factor, f"{fmt_ratio(r)} against {best}"
    return check


def table_spec(sparse: bool) -> list[Row]:
    """The table, in run order. `sparse`: `mlrig features apply` has --layout (sparse files)."""
    ingest = mlrig("ingest", "{big}")
    stats = mlrig("stats", "{big}", "--out", "out:s.pb")
    polars = peer("polars read_csv", "sk", READ_CODE, "polars", "{big}")
    pyarrow = peer("pyarrow csv.read_csv", "sk", READ_CODE, "pyarrow", "{big}")
    pandas_read = peer("pandas read_csv", "sk", READ_CODE, "pandas", "{big}")
    describe = peer("pandas read_csv + describe", "sk", PANDAS_CODE, "{big}")
    tfdv_profile = peer("TFDV statistics + infer_schema", "tfdv", TFDV_PROFILE_CODE, "{big}", "out:tfdv_schema.pbtxt",
                        slow=True)
    infer = mlrig("infer-schema", "--stats", "art:s.pb", "--out", "out:schema.pbtxt")
    infer_csv = mlrig("infer-schema", "{big}", "--out", "out:schema_csv.pbtxt")
    validate = mlrig("validate", "{drifted}", "--schema", "art:schema.pbtxt", accept=(0, 1))
    tfdv_validate = peer("TFDV statistics + validate_statistics", "tfdv", TFDV_VALIDATE_CODE, "{drifted}",
                         "art:tfdv_schema.pbtxt", slow=True)
    drift = mlrig("drift", "--reference", "{big}", "--current", "{drifted}", accept=(0, 1), files_read=2)
    evidently = peer("Evidently DataDriftPreset", "evidently", EVIDENTLY_CODE, "{big}", "{drifted}", slow=True)
    fit = mlrig("features", "fit", "{big}", "--infer", "--target", "label", "--out", "out:t.json")
    sk_fit = peer("ColumnTransformer.fit", "sk", SKLEARN_CODE, "{scripts}", "fit", "{big}")
    sk_ft = peer("ColumnTransformer.fit_transform", "sk", SKLEARN_CODE, "{scripts}", "fit_transform", "{big}")
    sk_svm = peer("fit_transform + dump_svmlight_file", "sk", SKLEARN_CODE, "{scripts}", "svmlight", "{big}",
                  "out:sk.svm")
    readers = [polars.key, pyarrow.key, pandas_read.key]
    rows = [
        Row("read CSV", "`mlrig ingest`", ingest, target="≥ 1.5× the fastest peer",
            check=fastest_peer(readers, ingest.key, 1.5)),
        Row("", "polars `read_csv`", polars, "op_s", ingest.key),
        Row("", "pyarrow `csv.read_csv`", pyarrow, "op_s", ingest.key),
        Row("", "pandas `read_csv`", pandas_read, "op_s", ingest.key),
        Row("statistics, read included", "`mlrig stats --out s.pb`", stats, target=rss_target(100),
            check=rss_below(100, stats.key)),
        Row("", "polars `read_csv` alone (no statistics; the bar)", polars, "op_s", stats.key, "≥ 1.0×",
            at_least(1.0, polars.key, "op_s", stats.key)),
        Row("", "pandas `read_csv` + `describe(include=\"all\")`", describe, "op_s", stats.key),
        Row("", "TFDV `generate_statistics_from_csv`", tfdv_profile, "stats_s", stats.key),
        Row("schema", "`mlrig infer-schema --stats s.pb`", infer),
        Row("", "TFDV `infer_schema` (statistics in memory)", tfdv_profile, "infer_s", infer.key),
        Row("", "`mlrig infer-schema big.csv` (statistics included)", infer_csv),
        Row("", "TFDV statistics + `infer_schema`", tfdv_profile, "op_s", infer_csv.key),
        Row("validate, read included", "`mlrig validate drifted.csv --schema schema.pbtxt`", validate),
        Row("", "TFDV statistics + `validate_statistics`", tfdv_validate, "op_s", validate.key),
        Row("drift, both reads included", "`mlrig drift`", drift),
        Row("", "Evidently `DataDriftPreset`, drift only (DataFrames in memory)", evidently, "drift_s", drift.key,
            "≥ 100×", at_least(100, evidently.key, "drift_s", drift.key)),
        Row("", "Evidently, with the two `pd.read_csv`", evidently, "op_s", drift.key),
        Row("features fit, read included", "`mlrig features fit --infer`", fit),
        Row("", "`ColumnTransformer.fit` (DataFrame in memory)", sk_fit, "op_s", fit.key),
    ]
    apply = mlrig("features", "apply", "art:t.json", "{big}", "--out", "out:f.parquet")
    # (tool, bench, bounded): the 200 MB bound is for the sparse files; dense stays available.
    applies = [("`mlrig features apply --out f.parquet` (dense: no --layout)", apply, False)]
    svm = apply
    if sparse:
        svm = mlrig("features", "apply", "art:t.json", "{big}", "--out", "out:f.svm")
        dense = mlrig("features", "apply", "art:t.json", "{big}", "--out", "out:f_dense.parquet", "--layout", "dense")
        dense.slow = True  # no target; --slow-runs times (about 30 s a run at 1M rows)
        applies = [("`mlrig features apply --out f.parquet` (sparse)", apply, True),
                   ("`mlrig features apply --out f.svm` (libsvm text)", svm, True),
                   ("`mlrig features apply --layout dense --out f.parquet`", dense, False)]
    for i, (tool, bench, bounded) in enumerate(applies):
        rows.append(Row("features apply → file, read included" if i == 0 else "", tool, bench,
                        target=rss_target(200) if bounded else "",
                        check=rss_below(200, bench.key) if bounded else None))
    rows += [
        Row("", "`ColumnTransformer.fit_transform` in memory (the bar)", sk_ft, "op_s", apply.key, "≥ 1.0×",
            at_least(1.0, sk_ft.key, "op_s", apply.key)),
        Row("", "`fit_transform` + `dump_svmlight_file`", sk_svm, "op_s", svm.key),
    ]
    return rows


# ---------------------------------------------------------------- running


def shown(path: str) -> str:
    """A path for the report, without this machine's directories: relative to the repository
    when it is next to it (`../venv-sk/bin/python`), else its base name."""
    path = os.path.abspath(path)
    return os.path.relpath(path, REPO) if path.startswith(PARENT + os.sep) else os.path.basename(path)


def tool_available(python: str, module: str) -> Optional[str]:
    """None when `python -c "import module"` works, else why not."""
    if not os.access(python, os.X_OK):
        return f"`{shown(python)}` not found"
    proc = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"`import {module}` failed in `{shown(python)}` ({last})"
    return None


def benches_to_run(rows: list[Row], args, notes: list[str]) -> list[Bench]:
    """The benches of the rows in order, once each, without the skipped tools (noted)."""
    unavailable = {}
    for venv, module in (("tfdv", "tensorflow_data_validation"), ("evidently", "evidently")):
        if args.skip_slow:
            unavailable[venv] = "skipped (--skip-slow)"
        else:
            why = tool_available(getattr(args, venv + "_python"), module)
            if why:
                unavailable[venv] = why
    for venv, why in unavailable.items():
        notes.append(f"{'TFDV' if venv == 'tfdv' else 'Evidently'}: {why}.")
    seen, out = set(), []
    for row in rows:
        b = row.bench
        if b.key in seen or b.python in unavailable:
            continue
        seen.add(b.key)
        out.append(b)
    return out


def run_all(benches: list[Bench], args, files: Files, notes: list[str]) -> dict:
    """Measures every bench; one that fails is left out of the table with a note."""
    results = {}
    for b in benches:
        runs = args.slow_runs if b.slow else args.runs
        try:
            results[b.key] = measure(b.key, b.argv(args, files), args, runs, accept=b.accept, peer=b.peer)
        except RuntimeError as e:
            log(f"  {b.key} failed: {e}")
            status = re.search(r"exited with -?\d+", str(e))
            notes.append(f"`{b.key}` failed ({status.group(0) if status else 'error'}; its output is in "
                         "stderr.log in the --workdir) and is left out.")
    return results


def callgrind_ir(cmd: list[str], out_file: str, args, accept) -> int:
    """Total Ir of one run of cmd under callgrind (the `totals:` / `summary:` line)."""
    run_measured(["valgrind", "--tool=callgrind", "--trace-children=no", f"--callgrind-out-file={out_file}", *cmd],
                 args.workdir, accept)
    with open(out_file) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def instructions_per_row(benches: list[Bench], results: dict, args, notes: list[str]) -> dict:
    """Ir per row of every mlrig bench: (Ir(N rows) - Ir(1 row)) / (N - 1) per file read."""
    n = args.callgrind_rows
    sizes = {}
    for rows in (n, 1):
        big, drifted = make_pair(rows, args.workdir, args.gen_python)
        outdir = os.path.join(args.workdir, f"callgrind_{rows}")
        os.makedirs(outdir, exist_ok=True)
        sizes[rows] = Files(big, drifted, outdir, args.workdir)
    out = {}
    for b in benches:
        if b.peer or b.key not in results:
            continue
        ir = {}
        for rows, files in sizes.items():
            cmd = b.argv(args, files)
            if args.callgrind_threads:
                cmd = [cmd[0], "--threads", str(args.callgrind_threads), *cmd[1:]]
            try:
                ir[rows] = callgrind_ir(cmd, os.path.join(files.outdir, "callgrind.out"), args, b.accept)
            except RuntimeError as e:
                log(f"  callgrind {b.key} failed: {e}")
                notes.append(f"`{b.key}` under callgrind failed at {rows:,} rows (stderr.log in the --workdir).")
                break
        if len(ir) < 2:
            continue
        per_row = (ir[n] - ir[1]) / ((n - 1) * b.files_read)
        log(f"  callgrind {b.key}: {ir[n]:,} Ir at {n:,} rows, {ir[1]:,} Ir at 1 row: {per_row:,.0f} Ir / row")
        out[b.key] = {"ir": ir[n], "ir_1_row": ir[1], "ir_per_row": per_row}
    return out


# ---------------------------------------------------------------- report


def fmt_ratio(r: Optional[float]) -> str:
    return "—" if r is None else f"{r:.1f}×" if r < 100 else f"{r:.0f}×"


def table_lines(rows: list[Row], results: dict, ir: dict, args) -> list[str]:
    lines = [f"| task ({args.rows:,} rows) | tool | wall (median) | operation only | peak RSS | Ir / row "
             "| peer / mlrig | target | |",
             "|---|---|---:|---:|---:|---:|---:|---|---|"]
    task = ""
    for row in rows:
        r = results.get(row.bench.key)
        task = row.task or task
        if r is None:
            continue
        op = fmt_s(r[row.time_key]) if row.bench.peer else "—"
        irr = f"{round(ir[row.bench.key]['ir_per_row']):,}" if row.bench.key in ir else "—"
        rat = ratio(results, row.bench.key, row.time_key, row.vs) if row.vs else None
        met = row.check(results) if row.check else None
        lines.append(f"| {row.task} | {row.tool} | {fmt_s(r['wall_s'])} ({r['runs']}×) | {op} | "
                     f"{fmt_mib(r['max_rss_kb'])} | {irr} | {fmt_ratio(rat)} | {row.target} | "
                     f"{verdict(met[0]) if met else ''} |")
    return lines


def header_lines(args, results: dict, versions: dict) -> list[str]:
    loads = [x for r in results.values() for x in r["load"]]
    size_mb = os.path.getsize(os.path.join(args.workdir, f"big_{args.rows}.csv")) / 1e6
    return [
        f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} · {os.cpu_count()} cores "
        f"(`lscpu` model name: `{cpu_model()}`), {platform.system()} {platform.release()} · 1-minute load average "
        f"at the start of each run {min(loads):.2f}–{max(loads):.2f}",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        f"Data: `make_big.py --rows {args.rows} --seed 42` ({size_mb:.0f} MB); drifted copy as in "
        "`bench_validate.py` (seed 43, shifts in num_0, num_2, num_4, num_9, cat_1).",
        "",
        "Command: `python3 scripts/bench_dataside.py " + " ".join(shlex.quote(a) for a in display_argv()) + "`",
        "",
    ]


def display_argv() -> list[str]:
    """sys.argv without machine paths (see `shown`)."""
    return [re.sub(r"(?<![\w.])/[^\s=]+", lambda m: shown(m.group(0)), a) for a in sys.argv[1:]]


def targets_lines(rows: list[Row], results: dict) -> list[str]:
    lines = []
    task = ""
    for row in rows:
        task = row.task or task
        if row.check is None:
            continue
        met = row.check(results)
        state = "not measured" if met is None else f"{verdict(met[0])}: {met[1]}"
        lines.append(f"* {task}, {row.tool}: {row.target} — {state}")
    return lines


def markdown(rows, results, ir, versions, notes, args) -> str:
    lines = header_lines(args, results, versions)
    lines += table_lines(rows, results, ir, args)
    lines += ["", "Targets (issue 15):", ""] + targets_lines(rows, results)
    ir_note = (f"Ir / row: `valgrind --tool=callgrind` instructions of the whole process on "
               f"{args.callgrind_rows:,} rows minus those on 1 row, divided by {args.callgrind_rows - 1:,} "
               "(drift: by the rows of both files)"
               + (f", with `--threads {args.callgrind_threads}`" if args.callgrind_threads else "") + ".")
    driver_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += ["", "Notes:", "", "* " + (ir_note if ir else "Ir / row: not measured (--no-callgrind)."),
              f"* Peak RSS is the child's `ru_maxrss` from `os.wait4`; Linux counts the driver's memory at the "
              f"fork in it ({driver_mib:.0f} MiB here), so no reading is below that."]
    lines += [f"* {n}" for n in notes]
    return "\n".join(lines) + "\n"


def update_docs(path: str, report: str) -> None:
    """Replaces what is between the markers in path (creating the section at the end if missing)."""
    with open(path) as f:
        text = f.read()
    block = f"{BEGIN}\n{report}{END}"
    if BEGIN in text and END in text:
        start, end = text.index(BEGIN), text.index(END) + len(END)
        text = text[:start] + block + text[end:]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{block}\n"
    with open(path, "w") as f:
        f.write(text)


def collect_versions(args, results: dict) -> dict:
    versions = {
        "mlrig": args.mlrig_label or command_output([args.mlrig, "--version"]).removeprefix("mlrig "),
        "rustc": command_output(["rustc", "--version"]).removeprefix("rustc "),
        "valgrind": command_output(["valgrind", "--version"]).removeprefix("valgrind-"),
        "python": platform.python_version(),
    }
    for r in results.values():
        versions.update(r.get("versions", {}))
    return versions


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    venv_python = lambda name: os.path.join(PARENT, name, "bin", "python")  # noqa: E731
    ap.add_argument("--mlrig", default=os.path.join(REPO, "target", "release", "mlrig"), help="the release binary")
    ap.add_argument("--mlrig-label", help="how the report names the binary (e.g. `0.1.0 at commit abc1234`)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated file")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command (median wall)")
    ap.add_argument("--slow-runs", type=int, default=1, help="runs of TFDV, Evidently and the dense feature file")
    ap.add_argument("--skip-slow", action="store_true", help="skip TFDV and Evidently")
    ap.add_argument("--sk-python", default=venv_python("venv-sk"),
                    help="python with polars, pyarrow, pandas, scikit-learn (default ../venv-sk)")
    ap.add_argument("--tfdv-python", default=venv_python("venv-tfdv"))
    ap.add_argument("--evidently-python", default=venv_python("venv-evidently"))
    ap.add_argument("--gen-python", help="python with numpy and polars for the data (default: --sk-python)")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "mlrig-bench-dataside"),
                    help="generated CSVs (reused if present), outputs, stderr.log")
    ap.add_argument("--max-load", type=float, default=1.5, help="wait for the 1-minute load average below this")
    ap.add_argument("--max-wait", type=float, default=300.0, help="seconds the whole run may wait for the load")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instructions-per-row runs")
    ap.add_argument("--callgrind-rows", type=int, default=100_000, help="rows of the callgrind file")
    ap.add_argument("--callgrind-threads", type=int, default=0,
                    help="pass --threads N to mlrig under callgrind (0: mlrig's default)")
    ap.add_argument("--docs", default=DOCS, help="the Markdown file whose marked section is replaced")
    ap.add_argument("--no-docs", action="store_true", help="do not touch --docs")
    ap.add_argument("--markdown", help="also write the report here")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()
    args.gen_python = args.gen_python or args.sk_python
    args.workdir = os.path.abspath(args.workdir)
    return args


def main() -> None:
    args = parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    _WAIT_LEFT[0] = args.max_wait
    if not os.access(args.mlrig, os.X_OK):
        sys.exit(f"{args.mlrig} not found: run `cargo build --release -p mlrig-cli` first")
    notes: list[str] = []
    sparse = "--layout" in command_output([args.mlrig, "features", "apply", "--help"])
    if not sparse:
        notes.append("`mlrig features apply` has no `--layout` (no sparse output in this binary): dense Parquet only.")
    rows = table_spec(sparse)
    benches = benches_to_run(rows, args, notes)

    big, drifted = make_pair(args.rows, args.workdir, args.gen_python)
    results = run_all(benches, args, Files(big, drifted, args.workdir, args.workdir), notes)
    ir = {} if args.no_callgrind else instructions_per_row(benches, results, args, notes)

    versions = collect_versions(args, results)
    report = markdown(rows, results, ir, versions, notes, args)
    write_outputs(args, report, {"versions": versions, "results": results, "instructions": ir, "notes": notes})
    if not args.no_docs:
        update_docs(args.docs, report)
        log(f"updated {args.docs}")


if __name__ == "__main__":
    main()
