#!/usr/bin/env python3
"""`mlrig train --model gbdt` against LightGBM and scikit-learn's HistGradientBoosting, one run.

    cargo build --release -p mlrig-cli
    ../venv-sk/bin/python scripts/bench_gbdt.py [--data-dir ../shared/data] [--big $TMPDIR/big.csv]
        [--mlrig target/release/mlrig] [--threads 2] [--model-json SPEC] [--only adult,wine]
        [--sides mlrig,lightgbm,hgb] [--repeat N] [--format markdown|json] [--json-out FILE]

Needs lightgbm, scikit-learn, pandas and numpy (scripts/requirements-bench.txt). DATA_DIR
defaults to $MLRIG_DATA_DIR, else ../shared/data next to the clone; --big is the 1M-row file
of ../shared/tools/make_big.py (target `label`), left out unless given.

For each data set, three sides, each in its own process, whose wall time and peak RSS (wait4's
rusage: the whole process, interpreter, imports and data loading included) are reported:

* mlrig: `mlrig --threads N --format json train CSV --target T --model gbdt --out TMP
  --no-baseline`; the metric is `evaluation.metrics.<metric>` of the JSON it prints. A side
  that fails (no binary, no gbdt model yet, an error) is reported as n/a and the run goes on.
  `--model-json` replaces `gbdt` with any `--model` value (family, JSON spec or spec file).
* LightGBM: `lightgbm.train` with 100 rounds, 31 leaves, learning rate 0.1, max_bin 255,
  min_data_in_leaf 20, num_threads N, deterministic, seed 0 (LIGHTGBM_PARAMS below; every other
  parameter at its default, so native categorical splits with LightGBM's defaults).
* HGB: HistGradientBoostingClassifier/Regressor(max_iter=100, max_leaf_nodes=31,
  learning_rate=0.1, max_bins=255, min_samples_leaf=20, early_stopping=False,
  categorical_features="from_dtype", random_state=0), OMP_NUM_THREADS=N. It refuses string
  columns of more than 255 levels (the 1M-row file's cat_4): reported as "refuses".

The Python sides see what `mlrig train` sees: the same file, row i held out iff i % 5 == 4,
every column but the target, mlrig's missing tokens ("", NA, N/A, NaN, null, ?) as missing,
numeric columns (mlrig's Int64/Float64) as numbers with NaN for missing, string columns
(Utf8/Boolean, including a column with no value in mlrig's 10,000-row type-inference sample,
such as chicago_taxi's pickup_census_tract) as pandas `category`, so both libraries split them
natively. When the mlrig binary exists, the script checks that set of categorical columns
against `mlrig infer-schema` and flags a difference. The targets: a binary target's positive
class is its second value in sorted order (mlrig's rule: `>50K`, 1).

`mlrig train` has no flag to leave a column out (and no feature-spec flag), so for chicago_taxi
(target big_tipper) the script writes a copy of the CSV without the `tips` column (a leak) to a
temporary directory, field by field (the other values unchanged), and every side reads that.

Times: "total" is the process wall time; "fit" is the time around the fit call inside the
process (lightgbm.train, which builds the Dataset's bins lazily inside it; HGB's fit), i.e.
without reading the CSV and without predicting; mlrig's is the `fit_seconds` that `mlrig train
--format json` reports (binning and boosting, after reading and the feature transform).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# mlrig's default missing tokens (mlrig-ingest) and type-inference sample.
MISSING = ["", "NA", "N/A", "NaN", "null", "?"]
INFER_ROWS = 10_000

ROUNDS = 100
# LightGBM's parameters apart from objective/num_class/num_threads; all of them are its defaults
# except deterministic, verbose and the explicit seed.
LIGHTGBM_PARAMS = {
    "boosting": "gbdt",
    "num_iterations": ROUNDS,
    "num_leaves": 31,
    "learning_rate": 0.1,
    "max_bin": 255,
    "min_data_in_leaf": 20,
    "deterministic": True,
    "seed": 0,
    "verbose": -1,
}
HGB_PARAMS = {
    "max_iter": ROUNDS,
    "max_leaf_nodes": 31,
    "learning_rate": 0.1,
    "max_bins": 255,
    "min_samples_leaf": 20,
    "early_stopping": False,
    "categorical_features": "from_dtype",
    "random_state": 0,
}


class DataSet:
    def __init__(self, name, file, target, metric, positive=None, drop=()):
        self.name, self.file, self.target, self.metric = name, file, target, metric
        self.positive, self.drop = positive, list(drop)

    @property
    def task(self):
        return {"roc_auc": "binary", "accuracy": "multiclass", "r2": "regression"}[self.metric]


DATASETS = [
    DataSet("adult", "adult.csv", "income", "roc_auc", positive=">50K"),
    DataSet("california_housing", "california_housing.csv", "MedHouseVal", "r2"),
    DataSet("chicago_taxi", "chicago_taxi.csv", "big_tipper", "roc_auc", positive=1, drop=["tips"]),
    DataSet("diamonds", "diamonds.csv", "price", "r2"),
    DataSet("penguins", "penguins.csv", "species", "accuracy"),
    DataSet("wine", "wine.csv", "class", "accuracy"),
    DataSet("breast_cancer", "breast_cancer.csv", "target", "roc_auc", positive=1),
]
BIG = DataSet("big (1M rows)", None, "label", "roc_auc", positive=1)


def default_data_dir():
    return os.environ.get("MLRIG_DATA_DIR") or os.path.join(ROOT, "..", "shared", "data")


# ---------------------------------------------------------------------------------------------
# The Python sides (run in the child process; also imported by scripts/lightgbm_quality.py).


def load(path, target, task, positive=None):
    """Reads `path` as `mlrig train` does; returns (features, y, held_out, categorical columns).

    y: bool (positive class) for binary, class codes 0..k-1 (classes in sorted order) for
    multiclass, float for regression."""
    import numpy as np
    import pandas as pd

    df = pd.read_csv(path, na_values=MISSING, keep_default_na=False)
    held_out = np.arange(len(df)) % 5 == 4
    y = df.pop(target)
    categorical = []
    for column in df.columns:
        values = df[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if not numeric or values.iloc[:INFER_ROWS].isna().all():
            df[column] = values.astype("category")
            categorical.append(column)
    if task == "binary":
        y = (y == positive).to_numpy()
    elif task == "multiclass":
        classes = sorted(y.unique())
        y = y.map({c: i for i, c in enumerate(classes)}).to_numpy()
    else:
        y = y.to_numpy(dtype=float)
    return df, y, held_out, categorical


def metrics(task, truth, predicted):
    """Held-out metrics, named as mlrig names them; `predicted`: the positive class's
    probability (binary), class probabilities (multiclass) or values (regression)."""
    import numpy as np
    from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score, root_mean_squared_error

    predicted = np.asarray(predicted)
    if task == "binary":
        return {"roc_auc": roc_auc_score(truth, predicted), "log_loss": log_loss(truth, predicted, labels=[False, True]),
                "accuracy": accuracy_score(truth, predicted > 0.5)}
    if task == "multiclass":
        return {"accuracy": accuracy_score(truth, predicted.argmax(axis=1)),
                "log_loss": log_loss(truth, predicted, labels=list(range(predicted.shape[1])))}
    return {"r2": r2_score(truth, predicted), "rmse": root_mean_squared_error(truth, predicted)}


def lightgbm_params(task, classes, threads):
    params = {"objective": {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}[task]}
    if task == "multiclass":
        params["num_class"] = classes
    params.update(LIGHTGBM_PARAMS)
    params["num_threads"] = threads
    return params


def fit_lightgbm(x_train, y_train, x_eval, task, threads):
    """Returns (predictions on x_eval, seconds in lightgbm.train, params)."""
    import lightgbm as lgb
    import numpy as np

    params = lightgbm_params(task, int(np.max(y_train)) + 1, threads)
    train_set = lgb.Dataset(x_train, label=y_train, categorical_feature="auto")
    start = time.perf_counter()
    booster = lgb.train(params, train_set)
    fit = time.perf_counter() - start
    return booster.predict(x_eval), fit, params


def fit_hgb(x_train, y_train, x_eval, task):
    """Returns (predictions on x_eval, seconds in fit); raises ValueError when HGB refuses the data."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    model = (HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier)(**HGB_PARAMS)
    start = time.perf_counter()
    model.fit(x_train, y_train)
    fit = time.perf_counter() - start
    if task == "regression":
        return model.predict(x_eval), fit
    p = model.predict_proba(x_eval)
    return (p[:, 1] if task == "binary" else p), fit


def child(job):
    """One Python side: prints one JSON line (metric, fit seconds, rows, categorical columns)."""
    start = time.perf_counter()
    x, y, held_out, categorical = load(job["csv"], job["target"], job["task"], job["positive"])
    loaded = time.perf_counter() - start
    x_train, y_train, x_eval, y_eval = x[~held_out], y[~held_out], x[held_out], y[held_out]
    out = {"load_seconds": loaded, "train_rows": len(y_train), "eval_rows": len(y_eval), "categorical": categorical}
    if job["side"] == "lightgbm":
        import lightgbm

        predicted, fit, params = fit_lightgbm(x_train, y_train, x_eval, job["task"], job["threads"])
        out.update(version=lightgbm.__version__, params=params)
    else:
        import sklearn

        out["version"] = sklearn.__version__
        try:
            predicted, fit = fit_hgb(x_train, y_train, x_eval, job["task"])
        except ValueError as e:
            if "cardinality" not in str(e):
                raise
            out["refused"] = str(e)
            print(json.dumps(out))
            return
    values = metrics(job["task"], y_eval, predicted)
    out.update(fit_seconds=fit, metric=values[job["metric"]], metrics=values)
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# The parent: runs the sides, collects, prints.


def run(command, env=None):
    """Runs `command`; returns (exit code, stdout, stderr, wall seconds, peak RSS bytes)."""
    with tempfile.TemporaryFile(mode="w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        return os.waitstatus_to_exitcode(status), out, err.read(), wall, usage.ru_maxrss * 1024


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def failure(code, err):
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return f"exit {code}: {lines[-1][:200] if lines else 'no message'}"


def python_side(side, data, csv_path, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    job = {"side": side, "csv": csv_path, "target": data.target, "task": data.task, "positive": data.positive,
           "metric": data.metric, "threads": threads}
    code, out, err, wall, rss = run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(job)], env)
    result = {"total_seconds": wall, "peak_rss_bytes": rss}
    try:
        if code != 0:
            raise ValueError(failure(code, err))
        result.update(last_json(out))
    except ValueError as e:
        result["error"] = str(e)
    return result


def mlrig_side(args, data, csv_path):
    if not os.path.exists(args.mlrig):
        return {"error": f"no binary at {args.mlrig}"}
    with tempfile.TemporaryDirectory() as out_dir:
        command = [args.mlrig, "--threads", str(args.threads), "--format", "json", "train", csv_path,
                   "--target", data.target, "--model", args.model_json, "--out", out_dir, "--no-baseline"]
        code, out, err, wall, rss = run(command)
    result = {"total_seconds": wall, "peak_rss_bytes": rss}
    try:
        report = json.loads(out)
    except ValueError:
        result["error"] = failure(code, err)
        return result
    if "error" in report:
        result["error"] = f"exit {code}: {report['error'][:300]}"
        return result
    evaluation = report.get("evaluation", {})
    values = evaluation.get("metrics", {})
    if data.metric not in values:
        result["error"] = f"no {data.metric} in evaluation.metrics ({', '.join(values) or 'none'})"
        return result
    if isinstance(report.get("fit_seconds"), (int, float)):
        result["fit_seconds"] = report["fit_seconds"]
    result.update(metric=values[data.metric], metrics=values, model=report.get("model"), train_rows=report.get("train_rows"),
                  eval_rows=report.get("eval_rows"), blessed=evaluation.get("blessed"), exit_code=code)
    return result


def mlrig_categorical(args, csv_path, target):
    """The string/boolean columns `mlrig infer-schema` finds (None when it cannot run)."""
    if not os.path.exists(args.mlrig):
        return None
    code, out, _, _, _ = run([args.mlrig, "--threads", str(args.threads), "--format", "json", "infer-schema", csv_path])
    try:
        schema = json.loads(out)
        schema = schema.get("schema", schema)
        return [f["name"] for f in schema["feature"] if f["name"] != target and f.get("type") in ("BYTES", "BOOL")]
    except (ValueError, KeyError, TypeError):
        return None


def without_columns(source, drop, directory):
    """A copy of the CSV `source` without the columns `drop`, other fields unchanged."""
    path = os.path.join(directory, os.path.basename(source).replace(".csv", "") + "_without_" + "_".join(drop) + ".csv")
    with open(source, newline="") as f, open(path, "w", newline="") as g:
        reader, writer = csv.reader(f), csv.writer(g, lineterminator="\n")
        header = next(reader)
        keep = [i for i, name in enumerate(header) if name not in drop]
        writer.writerow([header[i] for i in keep])
        for row in reader:
            writer.writerow([row[i] for i in keep])
    return path


def best(results):
    """Of repeated runs: the fastest wall time and the highest peak RSS (the first run's metric)."""
    ok = [r for r in results if "error" not in r]
    if not ok:
        return results[0]
    out = dict(ok[0])
    for key in ("total_seconds", "fit_seconds", "load_seconds"):
        if key in out:
            out[key] = min(r[key] for r in ok)
    out["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in ok)
    return out


def bench(args, data, csv_path):
    row = {"data_set": data.name, "file": data.file or os.path.basename(csv_path), "target": data.target,
           "metric": data.metric, "dropped": data.drop}
    # Repetitions interleave the sides, so a machine that slows down for a
    # while slows every side alike.
    runs = {side: [] for side in args.sides}
    for _ in range(args.repeat):
        for side in args.sides:
            if runs[side] and ("error" in runs[side][-1] or "refused" in runs[side][-1]):
                continue
            print(f"{data.name}: {side} …", file=sys.stderr, flush=True)
            runs[side].append(mlrig_side(args, data, csv_path) if side == "mlrig" else python_side(side, data, csv_path, args.threads))
    for side in args.sides:
        row[side] = best(runs[side])
        if "error" in row[side]:
            print(f"{data.name}: {side}: n/a ({row[side]['error']})", file=sys.stderr)
    python = row.get("lightgbm") or row.get("hgb") or {}
    if "categorical" in python:
        row["categorical"] = python["categorical"]
        theirs = mlrig_categorical(args, csv_path, data.target)
        if theirs is not None:
            row["mlrig_categorical"] = theirs
            row["same_columns"] = sorted(theirs) == sorted(python["categorical"])
            if not row["same_columns"]:
                print(f"{data.name}: WARNING: categorical columns differ: mlrig {theirs}, Python {python['categorical']}",
                      file=sys.stderr)
    for side in ("mlrig", "hgb"):
        a, b = row.get(side, {}), python
        if a.get("train_rows") is not None and b.get("train_rows") is not None and \
                (a["train_rows"], a["eval_rows"]) != (b["train_rows"], b["eval_rows"]):
            print(f"{data.name}: WARNING: {side} trained on {a['train_rows']}/{a['eval_rows']} rows, "
                  f"LightGBM on {b['train_rows']}/{b['eval_rows']}", file=sys.stderr)
    return row


# --- formatting


def metric_text(side):
    if side is None:
        return "—"
    if "refused" in side:
        return "refuses"
    if "metric" not in side:
        return "n/a"
    return f"{side['metric']:.4f}"


def seconds(side, key):
    value = (side or {}).get(key)
    if value is None or "error" in side:
        return "n/a"
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def rss(side):
    if not side or "peak_rss_bytes" not in side or "error" in side:
        return "n/a"
    b = side["peak_rss_bytes"]
    return f"{b / 1e9:.2f} GB" if b >= 1e9 else f"{b / 1e6:.0f} MB"


def ratio(a, b, key_a, key_b):
    try:
        if "error" in a or "error" in b:
            return "n/a"
        return f"{a[key_a] / b[key_b]:.2f}×"
    except (KeyError, TypeError, ZeroDivisionError):
        return "n/a"


def markdown(args, rows, versions, load):
    lines = [
        f"{versions}; {os.cpu_count()} cores (1-min load average {load[0]:.1f} before, {load[1]:.1f} after), "
        f"--threads {args.threads}, mlrig `--model {args.model_json}`" + (f", best of {args.repeat}" if args.repeat > 1 else ""),
        "",
        "| data set | metric | mlrig | LightGBM | HGB | Δ mlrig − LightGBM "
        "| mlrig fit | LightGBM fit | HGB fit | mlrig total | LightGBM total | HGB total "
        "| mlrig RSS | LightGBM RSS | HGB RSS "
        "| mlrig/LightGBM fit | mlrig/LightGBM total | mlrig/LightGBM RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        m, l, h = row.get("mlrig"), row.get("lightgbm"), row.get("hgb")
        delta = f"{m['metric'] - l['metric']:+.4f}" if m and l and "metric" in m and "metric" in l else "n/a"
        lines.append(
            f"| {row['data_set']} | {row['metric']} | {metric_text(m)} | {metric_text(l)} | {metric_text(h)} | {delta} "
            f"| {seconds(m, 'fit_seconds')} | {seconds(l, 'fit_seconds')} | {seconds(h, 'fit_seconds')} "
            f"| {seconds(m, 'total_seconds')} | {seconds(l, 'total_seconds')} | {seconds(h, 'total_seconds')} "
            f"| {rss(m)} | {rss(l)} | {rss(h)} "
            f"| {ratio(m or {}, l or {}, 'fit_seconds', 'fit_seconds')} "
            f"| {ratio(m or {}, l or {}, 'total_seconds', 'total_seconds')} "
            f"| {ratio(m or {}, l or {}, 'peak_rss_bytes', 'peak_rss_bytes')} |")
    notes = []
    for row in rows:
        for side in args.sides:
            result = row.get(side) or {}
            if "error" in result:
                notes.append(f"- {row['data_set']}, {side}: n/a — {result['error']}")
            elif "refused" in result:
                notes.append(f"- {row['data_set']}, {side}: refuses — {result['refused']}")
        if row["dropped"]:
            notes.append(f"- {row['data_set']}: column(s) {', '.join(row['dropped'])} removed from a copy of the CSV that every side reads")
        if row.get("same_columns") is False:
            notes.append(f"- {row['data_set']}: categorical columns differ: mlrig {row['mlrig_categorical']}, Python {row['categorical']}")
    lines += ["", "Times: total = process wall time (interpreter, imports, CSV reading, fit, predict); "
              "fit = the fit call alone (lightgbm.train incl. Dataset binning, HGB fit; mlrig's `fit_seconds`: "
              "binning and boosting, after reading and the feature transform). "
              "RSS = peak resident set of the process."]
    if notes:
        lines += [""] + notes
    return "\n".join(lines)


def versions_text():
    import lightgbm
    import numpy
    import pandas
    import sklearn

    return f"LightGBM {lightgbm.__version__}, scikit-learn {sklearn.__version__}, pandas {pandas.__version__}, numpy {numpy.__version__}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--big", help="the 1M-row CSV of make_big.py (target `label`)")
    parser.add_argument("--mlrig", default=os.path.join(ROOT, "target", "release", "mlrig"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model-json", default="gbdt", help="mlrig's --model: family, JSON spec or spec file (default gbdt)")
    parser.add_argument("--only", help="comma-separated data set names (adult,…,big)")
    parser.add_argument("--sides", default="mlrig,lightgbm,hgb")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side: fastest time, highest RSS")
    parser.add_argument("--format", choices=["markdown", "json"], default="markdown")
    parser.add_argument("--json-out", metavar="FILE", help="also write the JSON document to FILE")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    args.sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if set(args.sides) - {"mlrig", "lightgbm", "hgb"}:
        parser.error("--sides: mlrig, lightgbm, hgb")

    jobs = [(d, os.path.join(args.data_dir, d.file)) for d in DATASETS]
    if args.big:
        jobs.append((BIG, args.big))
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        jobs = [(d, p) for d, p in jobs if d.name.split(" ")[0] in wanted]
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for data, path in jobs:
            if data.drop:
                path = without_columns(path, data.drop, scratch)
            rows.append(bench(args, data, path))
    versions = versions_text()
    load = (load_before, os.getloadavg()[0])
    document = {"versions": versions, "cores": os.cpu_count(), "threads": args.threads, "load_average": load,
                "mlrig_model": args.model_json, "lightgbm_params": LIGHTGBM_PARAMS, "hgb_params": HGB_PARAMS,
                "results": rows}
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(document, f, indent=2)
            f.write("\n")
    print(json.dumps(document, indent=2) if args.format == "json" else markdown(args, rows, versions, load))


if __name__ == "__main__":
    main()
