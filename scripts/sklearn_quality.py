#!/usr/bin/env python3
"""scikit-learn on the same split and preprocessing as `mlrig train` (for docs/benchmarks.md).

    python3 scripts/sklearn_quality.py [DATA_DIR]     # needs scikit-learn and pandas

Also writes crates/pipeline/tests/fixtures/sklearn_quality.json, which the pipeline's tests
compare `mlrig train` with (iris, penguins, wine from data/samples: accuracy within 0.01;
adult.csv from DATA_DIR: ROC AUC within 0.001).

Split: row i is held out iff i % 5 == 4. Preprocessing, as mlrig's inferred feature spec:
numeric columns → mean imputation + StandardScaler; string columns → most-frequent
imputation + OneHotEncoder(handle_unknown="ignore"); missing tokens "", NA, N/A, NaN, null, ?.
Models: LogisticRegression(C=1.0) for adult (target income) and, multinomial, for iris, penguins
(target species) and wine (target class), LinearRegression for california_housing (target
MedHouseVal).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, r2_score, roc_auc_score, root_mean_squared_error
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
MISSING = ["", "NA", "N/A", "NaN", "null", "?"]


SAMPLES = os.path.join(os.path.dirname(__file__), "..", "data", "samples")
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "crates", "pipeline", "tests", "fixtures", "sklearn_quality.json")


def load(name, target, directory=None):
    df = pd.read_csv(os.path.join(directory or data_dir, name), na_values=MISSING, keep_default_na=False)
    held_out = np.arange(len(df)) % 5 == 4
    y = df.pop(target)
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    strings = [c for c in df.columns if c not in numeric]
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), strings),
    ])
    return df[~held_out], y[~held_out], df[held_out], y[held_out], pre


print(f"scikit-learn {sklearn.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
fixture = {"sklearn_version": sklearn.__version__}
for name, target in [("iris.csv", "species"), ("penguins.csv", "species"), ("wine.csv", "class")]:
    xt, yt, xe, ye, pre = load(name, target, SAMPLES)
    model = Pipeline([("pre", pre), ("lr", LogisticRegression(C=1.0, max_iter=5000, tol=1e-8))]).fit(xt, yt)
    accuracy = accuracy_score(ye, model.predict(xe))
    fixture[name] = {"target": target, "accuracy": accuracy, "log_loss": log_loss(ye, model.predict_proba(xe), labels=model.classes_)}
    print(f"{name} LogisticRegression(C=1), {len(model.classes_)} classes: accuracy {accuracy:.6f} (train {len(yt)}, eval {len(ye)})")
xt, yt, xe, ye, pre = load("adult.csv", "income")
model = Pipeline([("pre", pre), ("lr", LogisticRegression(C=1.0, max_iter=5000, tol=1e-8))]).fit(xt, yt == ">50K")
p = model.predict_proba(xe)[:, 1]
truth = ye == ">50K"
fixture["adult.csv"] = {"target": "income", "roc_auc": roc_auc_score(truth, p)}
print(f"adult.csv LogisticRegression(C=1): roc_auc {roc_auc_score(truth, p):.6f} log_loss {log_loss(truth, p):.6f} "
      f"accuracy {accuracy_score(truth, p > 0.5):.6f} (train {len(yt)}, eval {len(ye)})")
xt, yt, xe, ye, pre = load("california_housing.csv", "MedHouseVal")
model = Pipeline([("pre", pre), ("lr", LinearRegression())]).fit(xt, yt)
pred = model.predict(xe)
print(f"california_housing.csv LinearRegression: r2 {r2_score(ye, pred):.10f} rmse {root_mean_squared_error(ye, pred):.7f} "
      f"mae {mean_absolute_error(ye, pred):.7f} (train {len(yt)}, eval {len(ye)})")
os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
with open(FIXTURE, "w") as f:
    json.dump(fixture, f, indent=2)
    f.write("\n")
