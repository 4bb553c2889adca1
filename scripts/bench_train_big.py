#!/usr/bin/env python3
"""`mlrig train` against scikit-learn on the 1M-row synthetic file, in one run (docs/benchmarks.md).

    python3 ../shared/tools/make_big.py --rows 1000000 --out $TMPDIR/big.csv
    cargo build --release -p mlrig-cli
    python3 scripts/bench_train_big.py $TMPDIR/big.csv [--mlrig target/release/mlrig] [--threads N]

Needs scikit-learn, pandas and numpy (scripts/requirements-bench.txt). Both sides do the same
work: read the CSV, hold out row i iff i % 5 == 4, mean-impute + standardise the numeric
columns, most-frequent-impute + one-hot the string columns (the 1,140 features stay sparse),
fit L2 logistic regression (C = 1) on the 800k training rows and score the 200k held-out rows
(ROC AUC). Each side runs in its own process; the script reports its wall time and peak RSS
(from wait4's rusage) and the ratios.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SKLEARN = r"""
import sys, numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
df = pd.read_csv(sys.argv[1], na_values=[""], keep_default_na=False)
held_out = np.arange(len(df)) % 5 == 4
y = df.pop("label")
numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
strings = [c for c in df.columns if c not in numeric]
pre = ColumnTransformer([
    ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric),
    ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), strings),
])
x_train = pre.fit_transform(df[~held_out])
model = LogisticRegression(C=1.0, max_iter=1000).fit(x_train, y[~held_out])
p = model.predict_proba(pre.transform(df[held_out]))[:, 1]
print(roc_auc_score(y[held_out], p))
"""


def run(command):
    """Runs `command`; returns (stdout, wall seconds, peak RSS bytes)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0 and os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{command[0]} failed with status {status}")
    return out, wall, usage.ru_maxrss * 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--mlrig", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "mlrig"))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import sklearn

    with tempfile.TemporaryDirectory() as out:
        command = [args.mlrig, "--format", "json"]
        if args.threads:
            command += ["--threads", str(args.threads)]
        command += ["train", args.data, "--target", "label", "--out", out, "--no-baseline"]
        text, mlrig_wall, mlrig_rss = run(command)
        report = json.loads(text)
        mlrig_auc = report["evaluation"]["metrics"]["roc_auc"]
    text, sk_wall, sk_rss = run([sys.executable, "-c", SKLEARN, args.data])
    sk_auc = float(text.strip().splitlines()[-1])

    print(f"scikit-learn {sklearn.__version__}, {os.cpu_count()} cores, {args.data}")
    print("| | read + features + fit + score | peak RSS | held-out ROC AUC |")
    print("|---|---:|---:|---:|")
    print(f"| scikit-learn (pandas, ColumnTransformer, LogisticRegression lbfgs) | {sk_wall:.1f} s | {sk_rss / 1e9:.2f} GB | {sk_auc:.4f} |")
    print(f"| `mlrig train` | {mlrig_wall:.1f} s | {mlrig_rss / 1e9:.2f} GB | {mlrig_auc:.4f} |")
    print(f"| ratio mlrig / scikit-learn | {mlrig_wall / sk_wall:.2f}× | {mlrig_rss / sk_rss:.2f}× | Δ {mlrig_auc - sk_auc:+.4f} |")


if __name__ == "__main__":
    main()
