#!/usr/bin/env python3
"""Real protocol clients against `mlrig serve` (run by scripts/ci.sh).

    python3 scripts/protocol_clients.py PATH/TO/mlrig

Trains a model on data/samples/adult_sample.csv into a temporary directory,
starts `mlrig serve` on a free port, and checks with the real
`tritonclient.http` client (Open Inference Protocol v2: live, ready, model
ready, metadata, infer with one tensor per column, binary tensors (the
client's default) and JSON) and with plain HTTP requests (MLflow
`/invocations` with `dataframe_split` and `text/csv`) that every protocol
answers exactly what TF Serving's `:predict` answers for the same rows.

The client runs from a virtualenv outside the repository, created when
missing: $MLRIG_PROTOCOL_VENV, default ${TMPDIR:-/tmp}/mlrig-protocol-venv.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import venv

TRITONCLIENT = "tritonclient[http]==2.73.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "samples", "adult_sample.csv")
TARGET = "income"
ROWS = 25


def ensure_venv():
    """Re-runs this script with the venv's Python, creating the venv if needed."""
    home = os.environ.get("MLRIG_PROTOCOL_VENV") or os.path.join(
        os.environ.get("TMPDIR", "/tmp"), "mlrig-protocol-venv"
    )
    python = os.path.join(home, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(home):
        return
    has_client = os.path.exists(python) and subprocess.run(
        [python, "-c", "import tritonclient.http, numpy"], capture_output=True
    ).returncode == 0
    if not has_client:
        print(f"creating {home} with {TRITONCLIENT}", flush=True)
        venv.create(home, with_pip=True, clear=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", TRITONCLIENT, "numpy"],
            check=True,
        )
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def http(method, url, body=None, content_type=None):
    """(status, content type, body bytes) of one plain HTTP request."""
    request = urllib.request.Request(url, data=body, method=method)
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read()


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def typed_rows(metadata):
    """The first ROWS rows of the sample (no target), typed as the model's inputs say."""
    types = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    convert = {"INT64": int, "FP64": float, "BOOL": lambda v: v == "true", "BYTES": str}
    with open(SAMPLE, newline="") as f:
        reader = csv.DictReader(f)
        rows = []
        for row in reader:
            rows.append({k: convert[types[k]](v) for k, v in row.items() if k != TARGET})
            if len(rows) == ROWS:
                break
    return rows


def main():
    ensure_venv()
    import numpy as np
    import tritonclient.http as triton

    if len(sys.argv) != 2:
        sys.exit("usage: protocol_clients.py PATH/TO/mlrig")
    mlrig = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        models = os.path.join(tmp, "models")
        subprocess.run(
            [mlrig, "train", SAMPLE, "--target", TARGET, "--name", "adult", "--out", models,
             "--format", "json"],
            check=True, stdout=subprocess.DEVNULL,
        )
        server = subprocess.Popen(
            [mlrig, "serve", "--model", os.path.join(models, "adult"), "--port", "0",
             "--format", "json"],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            started = json.loads(server.stdout.readline())
            base = started["listening"]
            run_clients(base, np, triton)
        finally:
            server.terminate()
            server.wait(timeout=30)


def run_clients(base, np, triton):
    client = triton.InferenceServerClient(url=base.removeprefix("http://"))
    check(client.is_server_live(), "tritonclient: server live")
    check(client.is_server_ready(), "tritonclient: server ready")
    check(client.is_model_ready("adult"), "tritonclient: model adult ready")
    check(not client.is_model_ready("nope"), "tritonclient: unknown model not ready")
    metadata = client.get_model_metadata("adult")
    with open(SAMPLE, newline="") as f:
        columns = [c for c in next(csv.reader(f)) if c != TARGET]
    check(sorted(i["name"] for i in metadata["inputs"]) == sorted(columns),
          "tritonclient: metadata lists one input per column")
    check([o["name"] for o in metadata["outputs"]] == ["label", "scores"],
          "tritonclient: metadata lists outputs label and scores")

    rows = typed_rows(metadata)
    status, _, body = http("POST", f"{base}/v1/models/adult:predict",
                           json.dumps({"instances": rows}).encode())
    check(status == 200, "TF Serving :predict answers 200")
    reference = json.loads(body)["predictions"]
    labels = [p["label"] for p in reference]
    scores = np.array([p["scores"] for p in reference], dtype=np.float64)

    numpy_type = {"INT64": np.int64, "FP64": np.float64, "BOOL": np.bool_, "BYTES": np.object_}
    for binary in (True, False):
        inputs = []
        for spec in metadata["inputs"]:
            values = [r[spec["name"]] for r in rows]
            if spec["datatype"] == "BYTES":
                values = [v.encode() for v in values]
            tensor = triton.InferInput(spec["name"], [len(rows)], spec["datatype"])
            tensor.set_data_from_numpy(
                np.array(values, dtype=numpy_type[spec["datatype"]]), binary_data=binary
            )
            inputs.append(tensor)
        outputs = None if binary else [
            triton.InferRequestedOutput("label", binary_data=False),
            triton.InferRequestedOutput("scores", binary_data=False),
        ]
        result = client.infer("adult", inputs, outputs=outputs)
        got_labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("label")]
        kind = "binary" if binary else "JSON"
        check(got_labels == labels, f"tritonclient infer ({kind}): labels equal TF Serving's")
        check(np.array_equal(result.as_numpy("scores"), scores),
              f"tritonclient infer ({kind}): scores equal TF Serving's")

    split = {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}}
    status, content_type, body = http("POST", f"{base}/invocations", json.dumps(split).encode(),
                                      "application/json")
    check(status == 200 and json.loads(body)["predictions"] == reference,
          "MLflow /invocations dataframe_split equals TF Serving's predictions")
    with open(SAMPLE, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        keep = [i for i, c in enumerate(header) if c != TARGET]
        lines = [[header[i] for i in keep]]
        lines += [[row[i] for i in keep] for _, row in zip(range(ROWS), reader)]
    text = "\n".join(",".join(line) for line in lines) + "\n"
    status, _, body = http("POST", f"{base}/invocations", text.encode(), "text/csv")
    check(status == 200 and json.loads(body)["predictions"] == reference,
          "MLflow /invocations text/csv equals TF Serving's predictions")
    status, _, body = http("POST", f"{base}/invocations", b"x", "text/plain")
    check(status == 415 and json.loads(body)["error_code"] == "BAD_REQUEST",
          "MLflow /invocations answers 415 for another content type")
    status, _, _ = http("GET", f"{base}/ping")
    check(status == 200, "MLflow /ping answers 200")


if __name__ == "__main__":
    main()
