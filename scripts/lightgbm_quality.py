#!/usr/bin/env python3
"""LightGBM and scikit-learn's HistGradientBoosting on the split and columns `mlrig train` uses.

    ../venv-sk/bin/python scripts/lightgbm_quality.py [DATA_DIR]   # default $MLRIG_DATA_DIR or ../shared/data

Writes crates/pipeline/tests/fixtures/lightgbm_quality.json: per data set (adult,
california_housing, chicago_taxi without `tips`, diamonds, penguins, wine, breast_cancer) the
held-out metrics of LightGBM and of HGB, the train/eval row counts, and the versions and
parameters used, for mlrig's GBDT tests to compare with.

Data, split and columns exactly as scripts/bench_gbdt.py (which this imports): row i held out
iff i % 5 == 4, mlrig's missing tokens, numeric columns as numbers (NaN for missing), string
columns as pandas `category` (native categorical splits). One thread (num_threads=1,
OMP_NUM_THREADS=1), deterministic=True, seed 0 / random_state 0, so a rerun with the same
versions writes the same file. LightGBM: bench_gbdt.LIGHTGBM_PARAMS (its defaults: 100 rounds,
31 leaves, learning rate 0.1, max_bin 255, min_data_in_leaf 20); HGB: bench_gbdt.HGB_PARAMS.
"""
import os

os.environ["OMP_NUM_THREADS"] = "1"  # before numpy/sklearn/lightgbm load OpenMP

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_gbdt  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "crates", "pipeline", "tests", "fixtures", "lightgbm_quality.json")


def main():
    import lightgbm
    import numpy as np
    import pandas as pd
    import sklearn

    data_dir = sys.argv[1] if len(sys.argv) > 1 else bench_gbdt.default_data_dir()
    fixture = {
        "lightgbm_version": lightgbm.__version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "split": "row i (0-based data row) held out iff i % 5 == 4",
        "lightgbm_params": bench_gbdt.lightgbm_params("binary", 2, 1) | {"objective": "binary, multiclass (num_class) or regression"},
        "hgb_params": bench_gbdt.HGB_PARAMS,
    }
    print(bench_gbdt.versions_text())
    with tempfile.TemporaryDirectory() as scratch:
        for data in bench_gbdt.DATASETS:
            path = os.path.join(data_dir, data.file)
            if data.drop:
                path = bench_gbdt.without_columns(path, data.drop, scratch)
            x, y, held_out, categorical = bench_gbdt.load(path, data.target, data.task, data.positive)
            x_train, y_train, x_eval, y_eval = x[~held_out], y[~held_out], x[held_out], y[held_out]
            predicted, _, _ = bench_gbdt.fit_lightgbm(x_train, y_train, x_eval, data.task, threads=1)
            ours = bench_gbdt.metrics(data.task, y_eval, predicted)
            predicted, _ = bench_gbdt.fit_hgb(x_train, y_train, x_eval, data.task)
            hgb = bench_gbdt.metrics(data.task, y_eval, predicted)
            entry = {"target": data.target, "task": data.task, "metric": data.metric}
            if data.positive is not None:
                entry["positive"] = data.positive
            if data.drop:
                entry["dropped"] = data.drop
            entry.update(train_rows=int(len(y_train)), eval_rows=int(len(y_eval)), categorical=categorical,
                         lightgbm=ours, hgb=hgb)
            fixture[data.file] = entry
            print(f"{data.file} ({data.target}, {len(y_train)} train / {len(y_eval)} eval): {data.metric} "
                  f"LightGBM {ours[data.metric]:.6f}, HGB {hgb[data.metric]:.6f}")
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
