#!/usr/bin/env python3
"""`mlrig run` against the same loop hand-written in pandas + scikit-learn, in one run (docs/benchmarks.md).

    python3 ../shared/tools/make_big.py --rows 1000000 --out $TMPDIR/big.csv
    cargo build --release -p mlrig-cli
    python3 scripts/bench_pipeline.py $TMPDIR/big.csv [--mlrig target/release/mlrig]

The peer is what a team without a pipeline tool writes and runs from cron: read the CSV, hold out
row i iff i % 5 == 4, describe every column (pandas `describe` and value counts, the statistics),
check the columns and dtypes against the ones saved by the first run (the schema check), fit the
scikit-learn pipeline of scripts/bench_train_big.py (mean-impute + standardise numbers,
most-frequent-impute + one-hot strings, L2 logistic regression), score the held-out rows (ROC AUC)
and pickle the model into a versioned directory. `mlrig run` does that and more (tfmd statistics,
anomalies against a curated schema, leakage, stability and serveability checks, a warm-up through
the serving path, lineage). Each is timed twice on unchanged data: the script redoes everything,
`mlrig run` finds every step cached. Wall time and peak RSS come from wait4's rusage.
"""
import argparse
import json
import os
import sys
import tempfile

from bench_train_big import SKLEARN, run

PEER = SKLEARN.replace("print(roc_auc_score(y[held_out], p))", r"""
import json, os, pickle
out = sys.argv[2]
stats = {c: df[c].describe().to_dict() for c in df.columns}
stats.update({c: df[c].value_counts().head(100).to_dict() for c in strings})
schema_path = os.path.join(out, "columns.json")
columns = {c: str(t) for c, t in df.dtypes.items()}
if os.path.exists(schema_path):
    assert json.load(open(schema_path)) == columns, "schema changed"
else:
    json.dump(columns, open(schema_path, "w"))
version = 1 + len([d for d in os.listdir(out) if d.isdigit()])
os.makedirs(os.path.join(out, str(version)))
pickle.dump((pre, model), open(os.path.join(out, str(version), "model.pkl"), "wb"))
print(roc_auc_score(y[held_out], p))
""")

CONFIG = """name = "big"
[data]
files = [{data}]
target = "label"
[gates.anomalies]
allow = ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]
[gates]
leakage_policy = "warn"
[push]
base_path = "models"
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--mlrig", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "mlrig"))
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "mlrig.toml")
        with open(config, "w") as f:
            f.write(CONFIG.format(data=json.dumps(os.path.abspath(args.data))))
        for attempt in ("first run", "second run, nothing changed"):
            text, wall, rss = run([args.mlrig, "--format", "json", "run", config])
            record = json.loads(text)
            evaluate = next(s for s in record["steps"] if s["step"] == "evaluate")
            auc = evaluate["summary"]["metrics"]["roc_auc"]
            rows.append((f"`mlrig run`, {attempt} ({record['outcome']['status']})", wall, rss, auc))
        peer_dir = os.path.join(work, "peer")
        os.makedirs(peer_dir)
        for attempt in ("first run", "second run, nothing changed"):
            text, wall, rss = run([sys.executable, "-c", PEER, args.data, peer_dir])
            rows.append((f"pandas + scikit-learn script, {attempt}", wall, rss, float(text.strip().splitlines()[-1])))

    # Imported after the runs: a child forked from a process holding scikit-learn
    # would start with its resident set and report it as its own peak.
    import sklearn

    print(f"scikit-learn {sklearn.__version__}, {os.cpu_count()} cores, {args.data}")
    print("| | wall | peak RSS | held-out ROC AUC |")
    print("|---|---:|---:|---:|")
    for name, wall, rss, auc in rows:
        print(f"| {name} | {wall:.1f} s | {rss / 1e9:.2f} GB | {auc:.4f} |")
    for i, attempt in enumerate(("first run", "second run")):
        print(f"| ratio mlrig / script, {attempt} | {rows[i][1] / rows[i + 2][1]:.3f}× | {rows[i][2] / rows[i + 2][2]:.2f}× | |")


if __name__ == "__main__":
    main()
