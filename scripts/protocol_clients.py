#!/usr/bin/env python3
"""Real protocol clients against `mlrig serve` (run by scripts/ci.sh).

    python3 scripts/protocol_clients.py PATH/TO/mlrig

Trains a model on data/samples/adult_sample.csv into a temporary directory,
starts `mlrig serve` on a free port, and checks with the real
`tritonclient.http` client (Open Inference Protocol v2: live, ready, model
ready, metadata, infer with one tensor per column, binary tensors (the
client's default) and JSON) and with plain HTTP requests (MLflow
`/invocations` with `dataframe_split` and `text/csv`) that every protocol
answers exactly what TF Serving's `:predict` answers for the same rows; then
reads `/metrics` in both formats with the `prometheus_client` parsers.

The client runs from a virtualenv outside the repository, created (or
recreated) when it lacks the pinned versions of PINS: $MLRIG_PROTOCOL_VENV,
default ${TMPDIR:-/tmp}/mlrig-protocol-venv-<pins>, so a new pin gets a new venv.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from pinned_venv import check_pins, ensure_venv

# Distribution → exact version (extras are added when installing).
PINS = {"tritonclient": "2.73.0", "numpy": "2.4.6", "prometheus-client": "0.26.0"}
EXTRAS = {"tritonclient": "[http]"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "samples", "adult_sample.csv")
TARGET = "income"
ROWS = 25


def http(method, url, body=None, content_type=None, accept=None):
    """(status, content type, body bytes) of one plain HTTP request."""
    request = urllib.request.Request(url, data=body, method=method)
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    if accept is not None:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read()


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def complete(cells):
    """True for a sample row without the missing token `?`: training read `?` as missing,
    so the model's input contract refuses it as a category it never saw (and a binary
    BYTES tensor cannot carry a null)."""
    return "?" not in cells


def typed_rows(metadata):
    """The first ROWS complete rows of the sample (no target), typed as the model's inputs say."""
    types = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    convert = {"INT64": int, "FP64": float, "BOOL": lambda v: v == "true", "BYTES": str}
    with open(SAMPLE, newline="") as f:
        reader = csv.DictReader(f)
        rows = []
        for row in reader:
            if not complete(row.values()):
                continue
            rows.append({k: convert[types[k]](v) for k, v in row.items() if k != TARGET})
            if len(rows) == ROWS:
                break
    return rows


def start_server(mlrig, model, log):
    """Starts `mlrig serve` on a free port; returns (process, base URL). When it
    dies before saying where it listens, exits with its status and stderr."""
    server = subprocess.Popen(
        [mlrig, "serve", "--model", model, "--port", "0", "--format", "json"],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    line = server.stdout.readline()
    try:
        return server, json.loads(line)["listening"]
    except (json.JSONDecodeError, KeyError, TypeError):
        try:
            code = server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
        log.seek(0)
        sys.exit(
            f"mlrig serve did not start (exit status {code}); first stdout line {line!r}; "
            f"stderr:\n{log.read()}"
        )


def main():
    check_pins(PINS)
    ensure_venv(PINS, "mlrig-protocol-venv", "MLRIG_PROTOCOL_VENV", EXTRAS)
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
        with open(os.path.join(tmp, "serve.log"), "w+") as log:
            server, base = start_server(mlrig, os.path.join(models, "adult"), log)
            try:
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
        lines += [[row[i] for i in keep] for _, row in zip(range(ROWS), filter(complete, reader))]
    text = "\n".join(",".join(line) for line in lines) + "\n"
    status, _, body = http("POST", f"{base}/invocations", text.encode(), "text/csv")
    check(status == 200 and json.loads(body)["predictions"] == reference,
          "MLflow /invocations text/csv equals TF Serving's predictions")
    status, _, body = http("POST", f"{base}/invocations", b"x", "text/plain")
    check(status == 415 and json.loads(body)["error_code"] == "BAD_REQUEST",
          "MLflow /invocations answers 415 for another content type")
    status, _, _ = http("GET", f"{base}/ping")
    check(status == 200, "MLflow /ping answers 200")
    check_metrics(base)


def check_metrics(base):
    """/metrics in both formats, each read by the Python prometheus_client parser."""
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families as openmetrics_families,
    )
    from prometheus_client.parser import text_string_to_metric_families

    status, content_type, body = http("GET", f"{base}/metrics")
    check(status == 200 and content_type.startswith("text/plain; version=0.0.4"),
          "/metrics without Accept answers the Prometheus text format 0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    requests = families.get("mlrig_requests")
    check(requests is not None and requests.type == "counter"
          and any(s.name == "mlrig_requests_total" and s.value > 0 for s in requests.samples),
          "prometheus_client's 0.0.4 parser reads the mlrig_requests_total counter")
    predictions = families.get("mlrig_predictions")
    check(predictions is not None
          and sum(s.value for s in predictions.samples if s.name == "mlrig_predictions_total")
          >= 5 * ROWS,
          "prometheus_client's 0.0.4 parser reads mlrig_predictions_total for every predicted row")
    prometheus_default = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                          "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    status, content_type, body = http("GET", f"{base}/metrics", accept=prometheus_default)
    check(status == 200 and content_type.startswith("application/openmetrics-text"),
          "/metrics with Prometheus' Accept header answers OpenMetrics")
    names = {f.name for f in openmetrics_families(body.decode())}
    check({"mlrig_requests", "mlrig_predictions"} <= names,
          "prometheus_client's OpenMetrics parser reads the page")
    status, content_type, _ = http("GET", f"{base}/metrics",
                                   accept="application/openmetrics-text;q=0, text/plain")
    check(content_type.startswith("text/plain; version=0.0.4"),
          "/metrics honours q=0 for OpenMetrics")


if __name__ == "__main__":
    main()
