#!/usr/bin/env python3
"""Real readers of mlrig's feature files (run by scripts/ci.sh).

    python3 scripts/check_feature_files.py PATH/TO/mlrig

Fits a feature pipeline on data/samples/adult_sample.csv (one-hot heavy, so
sparse), writes the features with `mlrig features apply` as svmlight text,
sparse Parquet and dense Parquet, then checks with the real readers that:

* scikit-learn's `load_svmlight_file` reads the .svm file (it skips the
  `# mlrig.features` comment lines) into the same CSR matrix as the sparse
  Parquet file read with pyarrow (`indices` 0-based, values bit for bit), with
  the file's width, and labels that are the summary's class indices;
* the dense Parquet file holds the same numbers in one column per output name;
* the header and summary metadata parse as JSON and agree with the data.

The readers run from a virtualenv outside the repository with the pinned
versions of PINS ($MLRIG_FEATURES_VENV, default
${TMPDIR:-/tmp}/mlrig-features-venv-<pins>).
"""

import json
import os
import subprocess
import sys
import tempfile

from pinned_venv import check_pins, ensure_venv

PINS = {"scikit-learn": "1.9.1", "numpy": "2.4.6", "scipy": "1.17.1", "pyarrow": "26.0.1"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "samples", "adult_sample.csv")
TARGET = "income"


def check(condition, what):
    if not condition:
        sys.exit(f"check_feature_files: FAILED: {what}")


def main():
    check_pins(PINS)
    ensure_venv(PINS, "mlrig-features-venv", "MLRIG_FEATURES_VENV")
    import numpy as np
    import pyarrow.parquet as pq
    import scipy.sparse as sp
    from sklearn.datasets import load_svmlight_file

    if len(sys.argv) != 2:
        sys.exit("usage: check_feature_files.py PATH/TO/mlrig")
    mlrig = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        path = lambda name: os.path.join(tmp, name)  # noqa: E731

        def run(*args):
            out = subprocess.run([mlrig, "--format", "json", *args], check=True,
                                 capture_output=True, text=True)
            return json.loads(out.stdout)

        run("features", "fit", SAMPLE, "--infer", "--target", TARGET, "--out", path("t.json"))
        svm = run("features", "apply", path("t.json"), SAMPLE, "--out", path("f.svm"),
                  "--target", TARGET)
        sparse = run("features", "apply", path("t.json"), SAMPLE, "--out", path("s.parquet"),
                     "--target", TARGET, "--layout", "sparse")
        run("features", "apply", path("t.json"), SAMPLE, "--out", path("d.parquet"),
            "--layout", "dense")

        # Parquet, sparse: CSR from the list columns.
        table = pq.read_table(path("s.parquet"))
        meta = pq.read_metadata(path("s.parquet")).metadata
        header = json.loads(meta[b"mlrig.features"])
        summary = json.loads(meta[b"mlrig.features.end"])
        width = len(header["feature_names"])
        check(summary["rows"] == table.num_rows == sparse["rows"], "sparse Parquet row count")
        check(summary["data"] == svm["data_fingerprint"], "the data fingerprint")
        indices = table.column("indices").combine_chunks()
        values = table.column("values").combine_chunks()
        check(np.array_equal(indices.offsets.to_numpy(), values.offsets.to_numpy()),
              "indices and values share offsets")
        offsets = indices.offsets.to_numpy()
        csr = sp.csr_matrix(
            (values.values.to_numpy(), indices.values.to_numpy().astype(np.int64), offsets),
            shape=(table.num_rows, width),
        )
        check(csr.nnz == sparse["stored_values"], "stored values of the sparse Parquet file")

        # svmlight, read by scikit-learn.
        x, y = load_svmlight_file(path("f.svm"), n_features=width, zero_based=False)
        check(x.shape == csr.shape, f"svmlight shape {x.shape} != {csr.shape}")
        check((x != csr).nnz == 0, "svmlight values == sparse Parquet values")
        check(np.array_equal(x.indptr, csr.indptr), "same entries per row")
        classes = svm["classes"]
        income = table.column(TARGET).to_pylist()
        check([classes[int(label)] for label in y] == income, "svmlight labels are the class indices")

        # Parquet, dense: one column per output name, the same numbers.
        dense = pq.read_table(path("d.parquet"))
        check(dense.column_names == header["feature_names"], "dense column names")
        matrix = np.column_stack([dense.column(n).to_numpy() for n in dense.column_names])
        check(np.array_equal(matrix, csr.toarray()), "dense Parquet == sparse Parquet")
        print(f"feature files: {table.num_rows} rows x {width} columns, {csr.nnz} stored values; "
              "scikit-learn's load_svmlight_file and pyarrow agree with mlrig")


if __name__ == "__main__":
    main()
