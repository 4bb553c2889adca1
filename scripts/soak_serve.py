#!/usr/bin/env python3
"""Soak test of `mlrig serve`: a million mixed requests, every answer checked, RSS bounded.

    python3 scripts/soak_serve.py                       # 1,000,000 requests (builds the release binary)
    python3 scripts/soak_serve.py --requests 20000      # a quick run
    python3 scripts/soak_serve.py --mlrig PATH/TO/mlrig --format json

Standard library only. The script trains the adult model on data/samples/adult_sample.csv
into a temporary directory (`mlrig train`), starts `mlrig serve --model` on a free port with
its defaults (input contract, limits, metrics and live monitoring on) and sends --requests
requests over --connections keep-alive connections, one client process per connection.
Request i is of kind SCHEDULE[i % len(SCHEDULE)] (a fixed, weighted cycle), so two runs send
the same requests:

* good requests of every protocol: TF Serving `:predict` (row and columnar formats, latest
  and a specific version), `:classify`, model status and metadata; Open Inference v2 `infer`
  (JSON tensors and binary tensor data), health, server and model metadata and readiness;
  MLflow `/invocations` (`dataframe_records`, `dataframe_split`, CSV), `/ping`, `/version`;
  Prometheus `/metrics`;
* every kind of bad request: malformed JSON, deeply nested JSON, invalid UTF-8, an empty
  body, wrong JSON types, an unknown field, a missing required field, NaN / Infinity in an
  integer field, an unseen category, a huge (1 MiB) field, wrong shapes (per protocol),
  unknown model / version / label / route (a new name on every request, so nothing kept per
  name may grow), `:regress` on a classifier, an unsupported tensor datatype,
  an oversized body (`Content-Length` over the 4-MiB limit: the server answers 413 at once and
  closes), a wrong content type, a wrong method, an unknown route, an over-long header (431),
  an unparsable request line;
* large batches: 1,000, 5,000 and 10,000 instances (TF Serving, Open Inference, MLflow).

Every response is checked: the status is the one expected for its kind (never a 5xx), the
body is well-formed in the endpoint's documented format (JSON with the protocol's success
shape and one prediction per instance, `{"error": str}` for TF Serving and Open Inference
errors, `{"error_code": str, "message": str}` for MLflow's, an empty body for the v2 health
and readiness endpoints, `"\\n"` for `/ping`, Prometheus text for `/metrics`), and a response
that says `Connection: close` is followed by a new connection.

Memory: the server's resident set size (VmRSS in /proc/<pid>/status) is read after the first
10,000 requests (every client stops there until it is read), every second during the run and
at the end; the end RSS must be within --rss-tolerance (default 10 %) of the RSS at 10k. The
peak (VmHWM) is reported too. Before the schedule, every connection sends the largest batch at
the same moment, PEAK_ROUNDS times (these requests are counted apart), so the server's memory
high-water is in the baseline and growth after it is a leak; each cycle of the schedule then
opens with a burst of large batches spread over the connections. `mlrig serve` bounds glibc's
malloc arenas to one (MALLOC_ARENA_MAX=1, unless set in its environment); the report says which
value it ran with.

Exit status 0 when every check held, 1 when any did (each violation is reported with the
request kind, status and the start of the body), 2 on a setup error. `--format json` prints
one JSON document with every figure on stdout.
"""

import argparse
import csv
import io
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "samples", "adult_sample.csv")
TARGET = "income"
MODEL = "adult"
RSS_CHECKPOINT = 10_000
MAX_BODY_BYTES = 4 * 1024 * 1024  # the server's default limit
VIOLATIONS_KEPT = 20  # per client process
# Twice the server's default max_header_bytes (32 KiB).
HEAD_TOO_LARGE = 64 * 1024
SMALL_WEIGHT_SCALE = 6
PEAK_ROUNDS = 2  # rounds of the largest batch on every connection at once, before the schedule
LARGE_BURST = 10  # large batches at the start of each cycle of the schedule (about 5,000 requests)


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Request bodies


def string_domains(schema_path):
    """{feature: set of values} of the text features of a bundle's schema.json (tfmd JSON)."""
    with open(schema_path) as f:
        schema = json.load(f)
    named = {d["name"]: set(d.get("value", [])) for d in schema.get("stringDomain", [])}
    domains = {}
    for feature in schema.get("feature", []):
        if isinstance(feature.get("domain"), str) and feature["domain"] in named:
            domains[feature["name"]] = named[feature["domain"]]
        elif isinstance(feature.get("stringDomain"), dict):
            domains[feature["name"]] = set(feature["stringDomain"].get("value", []))
    return domains


def load_records(domains):
    """Complete adult rows (no `?`) without the target, integers as JSON integers, whose text
    values are all training values of the served model (the input contract refuses others)."""
    with open(SAMPLE, newline="") as f:
        rows = [r for r in csv.DictReader(f) if "?" not in r.values()]
    records = []
    for row in rows:
        row.pop(TARGET)
        if all(row[k] in values for k, values in domains.items() if k in row):
            records.append({k: int(v) if v.lstrip("-").isdigit() else v for k, v in row.items()})
    return records


def batch_of(records, n):
    return [records[i % len(records)] for i in range(n)]


def dumps(value):
    return json.dumps(value, separators=(",", ":")).encode()


def columnar(records):
    return {k: [r[k] for r in records] for k in records[0]}


def v2_tensors(records):
    inputs = []
    for field in records[0]:
        values = [r[field] for r in records]
        datatype = "INT64" if isinstance(values[0], int) else "BYTES"
        inputs.append({"name": field, "shape": [len(values)], "datatype": datatype, "data": values})
    return {"id": "soak", "inputs": inputs}


def v2_binary(records):
    """An Open Inference request with every input as binary tensor data (Triton's extension)."""
    header = {"inputs": [], "parameters": {"binary_data_output": False}}
    blobs = []
    for field in records[0]:
        values = [r[field] for r in records]
        if isinstance(values[0], int):
            blob = struct.pack(f"<{len(values)}q", *values)
            datatype = "INT64"
        else:
            blob = b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)
            datatype = "BYTES"
        header["inputs"].append(
            {"name": field, "shape": [len(values)], "datatype": datatype,
             "parameters": {"binary_data_size": len(blob)}}
        )
        blobs.append(blob)
    head = dumps(header)
    return head + b"".join(blobs), {"Inference-Header-Content-Length": str(len(head))}


def csv_body(records):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def http_request(method, path, body=b"", headers=None, content_type="application/json",
                 content_length=None):
    """The bytes of one HTTP/1.1 request on a keep-alive connection."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body or method in ("POST", "PUT"):
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# Response checks: each takes the parsed JSON (or raw bytes for non-JSON formats) and returns
# None when well-formed, else what is wrong.


def tf_error(doc):
    if isinstance(doc, dict) and set(doc) == {"error"} and isinstance(doc["error"], str) and doc["error"]:
        return None
    return "not TF Serving's / Open Inference's error shape {\"error\": str}"


def mlflow_error(doc):
    if (isinstance(doc, dict) and set(doc) == {"error_code", "message"}
            and isinstance(doc["error_code"], str) and isinstance(doc["message"], str) and doc["message"]):
        return None
    return "not MLflow's error shape {\"error_code\": str, \"message\": str}"


def classifier_rows(rows, n):
    if not isinstance(rows, list) or len(rows) != n:
        return f"expected {n} predictions"
    for row in rows:
        if not (isinstance(row, dict) and isinstance(row.get("label"), str)
                and isinstance(row.get("scores"), list) and len(row["scores"]) == 2
                and all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in row["scores"])
                and row.get("classes") == ["<=50K", ">50K"]):
            return "a prediction is not {classes, label, scores}"
    return None


def tf_predict_ok(n):
    def check(doc):
        if not isinstance(doc, dict) or set(doc) != {"predictions"}:
            return "expected {\"predictions\": [...]}"
        return classifier_rows(doc["predictions"], n)
    return check


def tf_columnar_ok(n):
    def check(doc):
        if not isinstance(doc, dict) or set(doc) != {"outputs"} or not isinstance(doc["outputs"], dict):
            return "expected {\"outputs\": {...}}"
        outputs = doc["outputs"]
        for key in ("label", "scores", "classes"):
            if not isinstance(outputs.get(key), list) or len(outputs[key]) != n:
                return f"expected outputs.{key} with {n} entries"
        return None
    return check


def tf_classify_ok(n):
    def check(doc):
        results = doc.get("results") if isinstance(doc, dict) else None
        if not isinstance(results, list) or len(results) != n:
            return f"expected {{\"results\": [...]}} with {n} entries"
        for result in results:
            if not (isinstance(result, list) and len(result) == 2
                    and all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                            and isinstance(p[1], float) for p in result)):
                return "a result is not [[class, score], ...]"
        return None
    return check


def tf_status_ok(doc):
    statuses = doc.get("model_version_status") if isinstance(doc, dict) else None
    if (isinstance(statuses, list) and statuses
            and all(s.get("state") == "AVAILABLE" for s in statuses)):
        return None
    return "expected model_version_status with AVAILABLE versions"


def tf_metadata_ok(doc):
    try:
        inputs = doc["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    except (KeyError, TypeError):
        return "expected metadata.signature_def.signature_def.serving_default.inputs"
    return None if isinstance(inputs, dict) and len(inputs) == 14 else "expected 14 inputs"


def v2_infer_ok(n):
    def check(doc):
        outputs = doc.get("outputs") if isinstance(doc, dict) else None
        if not isinstance(outputs, list) or doc.get("model_name") != MODEL:
            return "expected {model_name, outputs: [...]}"
        by_name = {o.get("name"): o for o in outputs if isinstance(o, dict)}
        label, scores = by_name.get("label"), by_name.get("scores")
        if not label or label.get("shape") != [n] or len(label.get("data", [])) != n:
            return f"expected output `label` of shape [{n}]"
        if not scores or scores.get("shape") != [n, 2] or len(scores.get("data", [])) != 2 * n:
            return f"expected output `scores` of shape [{n}, 2]"
        return None
    return check


def v2_model_ok(doc):
    if isinstance(doc, dict) and doc.get("name") == MODEL and isinstance(doc.get("inputs"), list):
        return None
    return "expected {name, versions, platform, inputs, outputs}"


def v2_server_ok(doc):
    if isinstance(doc, dict) and doc.get("name") == "mlrig" and isinstance(doc.get("extensions"), list):
        return None
    return "expected {name: mlrig, version, extensions}"


def mlflow_ok(n):
    def check(doc):
        if not isinstance(doc, dict) or set(doc) != {"predictions"}:
            return "expected {\"predictions\": [...]}"
        return classifier_rows(doc["predictions"], n)
    return check


def empty_body(raw):
    return None if raw == b"" else "expected an empty body"


def ping_body(raw):
    return None if raw == b"\n" else "expected the body \"\\n\""


def version_body(raw):
    text = raw.decode("utf-8", "replace").strip()
    return None if text and text[0].isdigit() else "expected a version number"


def metrics_body(raw):
    """Prometheus text exposition: comments, or `name{labels} value` samples."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "metrics are not UTF-8"
    samples = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_end = line.rfind(" ")
        try:
            float(line[name_end + 1:].replace("Inf", "inf"))
        except ValueError:
            return f"not a Prometheus sample line: {line[:80]!r}"
        samples += 1
    return None if "mlrig_requests_total" in text and samples else "expected mlrig_requests_total samples"


class Kind:
    """One kind of request: its bytes, the status it must get and how its body is checked."""

    def __init__(self, name, group, weight, raw, status, check, json_body=True):
        # `raw`: the request's bytes, or a function of the request's index returning them.
        self.name, self.group, self.weight, self.raw = name, group, weight, raw
        self.status, self.check, self.json_body = status, check, json_body


def build_kinds(records):
    one = records[:1]
    rec = one[0]
    tf = f"/v1/models/{MODEL}"
    v2 = f"/v2/models/{MODEL}"
    kinds = []

    def add(name, group, weight, raw, status, check, json_body=True):
        kinds.append(Kind(name, group, weight, raw, status, check, json_body))

    def post(path, body, **kw):
        return http_request("POST", path, body, **kw)

    def get(path):
        return http_request("GET", path)

    # Good requests, every protocol.
    add("tf_predict", "good", 120, post(f"{tf}:predict", dumps({"instances": one})), 200, tf_predict_ok(1))
    add("tf_predict_8", "good", 40, post(f"{tf}:predict", dumps({"instances": records[1:9]})), 200,
        tf_predict_ok(8))
    add("tf_predict_version", "good", 30,
        post(f"{tf}/versions/1:PREDICT", dumps({"signature_name": "serving_default", "instances": one})),
        200, tf_predict_ok(1))
    add("tf_predict_columnar", "good", 30, post(f"{tf}:predict", dumps({"inputs": columnar(records[:4])})),
        200, tf_columnar_ok(4))
    add("tf_classify", "good", 30, post(f"{tf}:classify", dumps({"examples": records[:3]})), 200,
        tf_classify_ok(3))
    add("tf_status", "good", 10, get(tf), 200, tf_status_ok)
    add("tf_metadata", "good", 5, get(f"{tf}/metadata"), 200, tf_metadata_ok)
    add("v2_infer", "good", 80, post(f"{v2}/infer", dumps(v2_tensors(records[:2]))), 200, v2_infer_ok(2))
    add("v2_infer_version", "good", 20, post(f"{v2}/versions/1/infer", dumps(v2_tensors(one))), 200,
        v2_infer_ok(1))
    body, headers = v2_binary(records[:4])
    add("v2_infer_binary", "good", 20,
        post(f"{v2}/infer", body, headers=headers, content_type="application/octet-stream"), 200,
        v2_infer_ok(4))
    add("v2_health_live", "good", 10, get("/v2/health/live"), 200, empty_body, json_body=False)
    add("v2_health_ready", "good", 10, get("/v2/health/ready"), 200, empty_body, json_body=False)
    add("v2_model_ready", "good", 10, get(f"{v2}/ready"), 200, empty_body, json_body=False)
    add("v2_model_metadata", "good", 5, get(v2), 200, v2_model_ok)
    add("v2_server_metadata", "good", 5, get("/v2"), 200, v2_server_ok)
    add("mlflow_records", "good", 60, post("/invocations", dumps({"dataframe_records": records[:2]})),
        200, mlflow_ok(2))
    split = {"columns": list(rec), "data": [list(r.values()) for r in records[:3]]}
    add("mlflow_split", "good", 30, post("/invocations", dumps({"dataframe_split": split})), 200,
        mlflow_ok(3))
    add("mlflow_csv", "good", 30, post("/invocations", csv_body(records[:2]), content_type="text/csv"),
        200, mlflow_ok(2))
    add("mlflow_ping", "good", 10, get("/ping"), 200, ping_body, json_body=False)
    add("mlflow_version", "good", 5, get("/version"), 200, version_body, json_body=False)
    add("metrics", "good", 1, get("/metrics"), 200, metrics_body, json_body=False)

    # Large batches.
    for n, weight in ((1000, 1), (5000, 1), (10000, 1)):
        batch = batch_of(records, n)
        add(f"tf_predict_batch_{n}", "large", weight, post(f"{tf}:predict", dumps({"instances": batch})),
            200, tf_predict_ok(n))
    add("v2_infer_batch_1000", "large", 1, post(f"{v2}/infer", dumps(v2_tensors(batch_of(records, 1000)))),
        200, v2_infer_ok(1000))
    split = {"columns": list(rec), "data": [list(r.values()) for r in batch_of(records, 5000)]}
    add("mlflow_split_batch_5000", "large", 1, post("/invocations", dumps({"dataframe_split": split})), 200,
        mlflow_ok(5000))

    # Bad requests: each kind, per protocol where the protocols parse differently.
    def with_field(**changes):
        out = dict(rec)
        out.update(changes)
        return out

    without_age = {k: v for k, v in rec.items() if k != "age"}
    bad_json = b'{"instances": [{"age": 25,'
    add("bad_json_tf", "bad", 20, post(f"{tf}:predict", bad_json), 400, tf_error)
    add("bad_json_v2", "bad", 10, post(f"{v2}/infer", bad_json), 400, tf_error)
    add("bad_json_mlflow", "bad", 10, post("/invocations", bad_json), 400, mlflow_error)
    add("deeply_nested_json", "bad", 5, post(f"{tf}:predict", b'{"instances":' + b"[" * 5000 + b"]" * 5000 + b"}"),
        400, tf_error)
    add("invalid_utf8", "bad", 5, post(f"{tf}:predict", b'{"instances": [{"workclass": "\xff\xfe"}]}'),
        400, tf_error)
    add("empty_body_tf", "bad", 10, post(f"{tf}:predict", b""), 400, tf_error)
    add("empty_body_v2", "bad", 5, post(f"{v2}/infer", b""), 400, tf_error)
    add("empty_body_mlflow", "bad", 5, post("/invocations", b""), 400, mlflow_error)
    add("wrong_type", "bad", 15, post(f"{tf}:predict", dumps({"instances": [with_field(age="forty")]})),
        400, tf_error)
    add("wrong_type_v2", "bad", 5,
        post(f"{v2}/infer", dumps({"inputs": [{"name": "age", "shape": [1], "datatype": "INT64",
                                               "data": ["forty"]}]})), 400, tf_error)
    add("unknown_field", "bad", 15, post(f"{tf}:predict", dumps({"instances": [with_field(zodiac="leo")]})),
        400, tf_error)
    add("unknown_field_mlflow", "bad", 5,
        post("/invocations", dumps({"dataframe_records": [with_field(zodiac="leo")]})), 400, mlflow_error)
    add("missing_field", "bad", 15, post(f"{tf}:predict", dumps({"instances": [without_age]})), 400, tf_error)
    add("null_required_field", "bad", 5, post(f"{tf}:predict", dumps({"instances": [with_field(age=None)]})),
        400, tf_error)
    nan = dumps({"instances": [with_field(age=0)]}).replace(b'"age":0', b'"age":NaN')
    add("nan_integer_field", "bad", 10, post(f"{tf}:predict", nan), 400, tf_error)
    inf = dumps({"dataframe_records": [with_field(age=0)]}).replace(b'"age":0', b'"age":-Infinity')
    add("inf_integer_field_mlflow", "bad", 5, post("/invocations", inf), 400, mlflow_error)
    add("unseen_category", "bad", 10, post(f"{tf}:predict", dumps({"instances": [with_field(race="Martian")]})),
        400, tf_error)
    add("huge_field", "bad", 1,
        post(f"{tf}:predict", dumps({"instances": [with_field(occupation="x" * (1 << 20))]})), 400, tf_error)
    add("wrong_shape_tf", "bad", 10, post(f"{tf}:predict", dumps({"instances": {"age": 25}})), 400, tf_error)
    add("wrong_shape_tf_no_key", "bad", 5, post(f"{tf}:predict", dumps({"rows": one})), 400, tf_error)
    add("wrong_shape_v2", "bad", 10,
        post(f"{v2}/infer", dumps({"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [25]}]})),
        400, tf_error)
    add("wrong_shape_mlflow", "bad", 5,
        post("/invocations", dumps({"dataframe_split": {"columns": ["age", "workclass"], "data": [[25]]}})),
        400, mlflow_error)
    add("bad_datatype_v2", "bad", 5,
        post(f"{v2}/infer", dumps({"inputs": [{"name": "age", "shape": [1], "datatype": "FP16", "data": [25]}]})),
        400, tf_error)
    # Names that differ on every request: nothing the server keeps per name (metric labels,
    # caches, log de-duplication) may grow with them.
    predict_one = dumps({"instances": one})
    v2_one = dumps(v2_tensors(one))
    add("unknown_model", "bad", 10, lambda i: post(f"/v1/models/nope-{i}:predict", predict_one), 404, tf_error)
    add("unknown_model_v2", "bad", 5, lambda i: post(f"/v2/models/nope-{i}/infer", v2_one), 404, tf_error)
    add("unknown_version", "bad", 10, lambda i: post(f"{tf}/versions/{1000 + i}:predict", predict_one), 404,
        tf_error)
    add("unknown_label", "bad", 5, lambda i: post(f"{tf}/labels/canary-{i}:predict", predict_one), 400,
        tf_error)
    add("regress_on_classifier", "bad", 5, post(f"{tf}:regress", dumps({"examples": one})), 400, tf_error)
    add("oversized_body", "bad", 2,
        post(f"{tf}:predict", b"", content_length=MAX_BODY_BYTES + 1), 413, tf_error)
    add("wrong_content_type", "bad", 10,
        post("/invocations", b"<instances/>", content_type="application/xml"), 415, mlflow_error)
    add("wrong_method", "bad", 10, get(f"{tf}:predict"), 405, tf_error)
    add("wrong_method_v2", "bad", 5, http_request("DELETE", f"{v2}/infer"), 405, tf_error)
    add("unknown_route", "bad", 10, lambda i: get(f"/v3/models/{i}"), 404, tf_error)
    add("header_too_large", "bad", 1,
        http_request("GET", f"{tf}", headers={"X-Padding": "p" * HEAD_TOO_LARGE}), 431, tf_error)
    add("bad_request_line", "bad", 1, b"GARBAGE / HTTP/9\r\n\r\n", 400, tf_error)
    return kinds


def build_schedule(kinds):
    """Kind indices in a fixed cycle. It opens with a burst of LARGE_BURST large batches (each
    large kind in turn, spread over the connections), then spreads every other kind evenly,
    SMALL_WEIGHT_SCALE × `weight` times each."""
    large = [index for index, kind in enumerate(kinds) if kind.group == "large"]
    burst = [large[j % len(large)] for j in range(LARGE_BURST)]
    slots = []
    for index, kind in enumerate(kinds):
        if kind.group == "large":
            continue
        weight = kind.weight * SMALL_WEIGHT_SCALE
        for j in range(weight):
            slots.append(((j + 0.5) / weight, index))
    slots.sort()
    return burst + [index for _, index in slots]


# ---------------------------------------------------------------------------------------------
# Client


class Closed(Exception):
    pass


class Connection:
    def __init__(self, port):
        self.port = port
        self.sock = None
        self.reader = None
        self.opened = 0

    def open(self):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=1 << 16)
        self.opened += 1

    def close(self):
        if self.sock is not None:
            try:
                self.reader.close()
                self.sock.close()
            except OSError:
                pass
        self.sock = self.reader = None

    def exchange(self, raw):
        """Send one request, read one response: (status, headers, body)."""
        if self.sock is None:
            self.open()
        try:
            self.sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            # The server may close a connection that a previous answer said it would close;
            # a fresh connection must then work.
            self.open()
            self.sock.sendall(raw)
        line = self.reader.readline(65537)
        if not line:
            raise Closed("connection closed before a response")
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise Closed(f"malformed status line {line[:80]!r}")
        status = int(parts[1])
        headers = {}
        while True:
            line = self.reader.readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise Closed("connection closed in the response head")
            key, _, value = line.partition(b":")
            headers[key.strip().lower().decode()] = value.strip().decode()
        if "content-length" in headers:
            length = int(headers["content-length"])
            body = self.reader.read(length)
            if len(body) != length:
                raise Closed(f"body shorter than Content-Length ({len(body)} < {length})")
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.reader.readline().split(b";")[0], 16)
                if size == 0:
                    while self.reader.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.reader.read(size))
                self.reader.readline()
            body = b"".join(chunks)
        else:
            body = self.reader.read()  # until close
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body


def check_response(kind, status, headers, body):
    """None when the response is what the kind expects, else the violation."""
    if status >= 500:
        return f"5xx status {status}"
    if status != kind.status:
        return f"status {status}, expected {kind.status}"
    if kind.json_body:
        content_type = headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            return f"content-type {content_type!r}, expected application/json"
        try:
            doc = json.loads(body)
        except ValueError as error:
            return f"body is not JSON ({error})"
        return kind.check(doc)
    return kind.check(body)


def client(worker, workers, port, phases, barrier, progress, results, kinds_args, peak_barrier):
    """One client process: requests worker, worker + workers, ... of each phase."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    kinds = build_kinds(*kinds_args)
    schedule = build_schedule(kinds)
    counts = {}  # (kind, status) -> n
    seconds = {}  # kind -> client-side seconds (send, wait, read, check)
    violations = []
    violation_count = 0
    conn = Connection(port)
    done_since_report = 0
    busy = 0.0

    def one(i, kind):
        nonlocal violation_count
        sent_at = time.perf_counter()
        try:
            raw = kind.raw(i) if callable(kind.raw) else kind.raw
            status, headers, body = conn.exchange(raw)
            problem = check_response(kind, status, headers, body)
        except (Closed, OSError, ValueError) as error:
            status, body, problem = 0, b"", f"transport: {error}"
            conn.close()
        counts[(kind.name, status)] = counts.get((kind.name, status), 0) + 1
        seconds[kind.name] = seconds.get(kind.name, 0.0) + time.perf_counter() - sent_at
        if problem:
            violation_count += 1
            if len(violations) < VIOLATIONS_KEPT:
                violations.append({"request": i, "kind": kind.name, "status": status, "problem": problem,
                                   "body": body[:200].decode("utf-8", "replace") if status else ""})

    try:
        # The peak first: every connection sends the largest batch at the same moment,
        # PEAK_ROUNDS times, so the server's memory high-water is in the RSS baseline.
        largest = max((k for k in kinds if k.group == "large"), key=lambda k: len(k.raw))
        for _ in range(PEAK_ROUNDS):
            peak_barrier.wait()
            one(-1, largest)
        for phase, (start, end) in enumerate(phases):
            first = start + ((worker - start) % workers)
            began = time.perf_counter()
            for i in range(first, end, workers):
                one(i, kinds[schedule[i % len(schedule)]])
                done_since_report += 1
                if done_since_report == 200:
                    with progress.get_lock():
                        progress.value += done_since_report
                    done_since_report = 0
            busy += time.perf_counter() - began
            with progress.get_lock():
                progress.value += done_since_report
            done_since_report = 0
            if phase + 1 < len(phases):
                barrier.wait()  # the RSS checkpoint is read while every client waits
                barrier.wait()
    finally:
        conn.close()
        results.put({"worker": worker, "counts": [[k, s, n] for (k, s), n in counts.items()],
                     "violations": violations, "violation_count": violation_count,
                     "seconds": seconds, "connections": conn.opened, "busy_seconds": busy})


# ---------------------------------------------------------------------------------------------
# Server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mlrig_binary(explicit):
    if explicit:
        return os.path.abspath(explicit)
    log("building the release binary (cargo build --release -p mlrig-cli)")
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "mlrig-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "mlrig")


def proc_status(pid):
    """(VmRSS, VmHWM) of a process in bytes."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def server_environment(pid):
    """The environment of the serving process (`mlrig serve` sets MALLOC_ARENA_MAX on glibc)."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        entries = f.read().split(b"\0")
    return dict(e.decode("utf-8", "replace").split("=", 1) for e in entries if b"=" in e)


def wait_ready(proc, port, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: mlrig serve exited with status {proc.returncode} at start-up")
        try:
            conn = Connection(port)
            status, _, _ = conn.exchange(http_request("GET", "/v2/health/ready"))
            conn.close()
            if status == 200:
                return
        except (OSError, Closed):
            pass
        time.sleep(0.1)
    raise SystemExit(f"error: mlrig serve did not become ready within {timeout:.0f} s")


def mib(n):
    return n / (1 << 20)


# ---------------------------------------------------------------------------------------------


def run(args):
    binary = mlrig_binary(args.mlrig)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="mlrig-soak-") as tmp:
        models = os.path.join(tmp, "models")
        subprocess.run([binary, "train", SAMPLE, "--target", TARGET, "--name", MODEL, "--out", models,
                        "--bundle-version", "1", "--no-baseline", "--format", "json"],
                       check=True, stdout=subprocess.DEVNULL)
        records = load_records(string_domains(os.path.join(models, MODEL, "1", "schema.json")))
        if len(records) < 100:
            raise SystemExit(f"error: only {len(records)} sample rows fit the trained schema")
        kinds = build_kinds(records)
        schedule = build_schedule(kinds)
        port = free_port()
        server_log = open(os.path.join(tmp, "serve.log"), "wb")
        server = subprocess.Popen([binary, "serve", "--model", os.path.join(models, MODEL),
                                   "--port", str(port)] + args.serve_arg,
                                  stdout=server_log, stderr=server_log)
        try:
            wait_ready(server, port)
            arena_max = server_environment(server.pid).get("MALLOC_ARENA_MAX")
            report = drive(args, server, port, kinds, schedule, records)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server_log.close()
        report["server_exit_status"] = server.returncode
        if server.returncode != 0:
            report["violations"].append({"kind": "server", "problem": f"mlrig serve exited with status "
                                         f"{server.returncode} after SIGTERM"})
            report["violation_count"] += 1
        with open(os.path.join(tmp, "serve.log"), "rb") as f:
            server_text = f.read().decode("utf-8", "replace")
        if "panicked" in server_text:
            report["violations"].append({"kind": "server", "problem": "the server log holds a panic"})
            report["violation_count"] += 1
    report["mlrig_version"] = version
    report["server_malloc_arena_max"] = arena_max
    report["command"] = " ".join(["python3", "scripts/soak_serve.py"] + sys.argv[1:])
    return report


def drive(args, server, port, kinds, schedule, records):
    total = args.requests
    workers = args.connections
    checkpoint = min(RSS_CHECKPOINT, total)
    phases = [(0, checkpoint), (checkpoint, total)] if checkpoint < total else [(0, total)]
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers + 1)
    peak_barrier = ctx.Barrier(workers)
    progress = ctx.Value("q", 0)
    results = ctx.Queue()
    procs = [ctx.Process(target=client, args=(w, workers, port, phases, barrier, progress, results,
                                              (records,), peak_barrier))
             for w in range(workers)]
    samples = []  # [requests done, seconds, rss]
    start = time.monotonic()
    for p in procs:
        p.start()
    rss_checkpoint = None
    stop_sampling = threading.Event()

    def sampler():
        last_print = 0.0
        while not stop_sampling.wait(args.sample_interval):
            rss, _ = proc_status(server.pid)
            elapsed = time.monotonic() - start
            samples.append([progress.value, round(elapsed, 2), rss])
            if elapsed - last_print >= 10:
                last_print = elapsed
                log(f"  {progress.value:>9,} requests  {elapsed:7.1f} s  RSS {mib(rss):6.1f} MiB")

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    if len(phases) == 2:
        barrier.wait()
        rss_checkpoint, _ = proc_status(server.pid)
        samples.append([progress.value, round(time.monotonic() - start, 2), rss_checkpoint])
        log(f"after {progress.value:,} requests: RSS {mib(rss_checkpoint):.1f} MiB")
        barrier.wait()
    collected = [results.get() for _ in procs]
    for p in procs:
        p.join()
    duration = time.monotonic() - start
    stop_sampling.set()
    thread.join()
    rss_end, rss_peak = proc_status(server.pid)
    samples.append([progress.value, round(duration, 2), rss_end])
    if rss_checkpoint is None:
        rss_checkpoint = rss_end

    per_kind = {k.name: {"group": k.group, "expected_status": k.status, "statuses": {}, "seconds": 0.0}
                for k in kinds}
    for result in collected:
        for name, spent in result["seconds"].items():
            per_kind[name]["seconds"] += spent
        for name, status, n in result["counts"]:
            statuses = per_kind[name]["statuses"]
            statuses[str(status)] = statuses.get(str(status), 0) + n
    sent = sum(sum(v["statuses"].values()) for v in per_kind.values())
    status_totals = {}
    for v in per_kind.values():
        for status, n in v["statuses"].items():
            status_totals[status] = status_totals.get(status, 0) + n
    violations = [v for r in collected for v in r["violations"]]
    violation_count = sum(r["violation_count"] for r in collected)
    growth = (rss_end - rss_checkpoint) / rss_checkpoint
    peak_requests = PEAK_ROUNDS * workers
    if sent != total + peak_requests:
        violations.append({"kind": "client", "problem": f"{sent} requests sent, expected {total} "
                           f"+ {peak_requests} peak requests"})
        violation_count += 1
    rss_ok = abs(growth) <= args.rss_tolerance
    if not rss_ok:
        violations.append({"kind": "memory", "problem": f"RSS {mib(rss_end):.1f} MiB at the end vs "
                           f"{mib(rss_checkpoint):.1f} MiB after {checkpoint:,} requests "
                           f"({growth:+.1%}, tolerance ±{args.rss_tolerance:.0%})"})
        violation_count += 1
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform(),
                    "cpu": cpu_model(), "python": platform.python_version()},
        "requests": sent,
        "peak_requests": peak_requests,
        "connections": workers,
        "connections_opened": sum(r["connections"] for r in collected),
        "duration_seconds": round(duration, 2),
        "requests_per_second": round(sent / duration, 1),
        "rss_checkpoint_requests": checkpoint,
        "rss_checkpoint_bytes": rss_checkpoint,
        "rss_end_bytes": rss_end,
        "rss_max_sampled_bytes": max(s[2] for s in samples),
        "rss_peak_bytes": rss_peak,
        "rss_growth": round(growth, 4),
        "rss_tolerance": args.rss_tolerance,
        "rss_samples": samples,
        "status_totals": status_totals,
        "kinds": per_kind,
        "schedule_length": len(schedule),
        "violation_count": violation_count,
        "violations": violations,
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_text(report):
    out = sys.stdout
    print(f"mlrig serve soak, {report['date']} ({report['mlrig_version']})", file=out)
    m = report["machine"]
    print(f"machine: nproc {m['nproc']}, {m['cpu']}, {m['platform']}; server's MALLOC_ARENA_MAX: "
          f"{report['server_malloc_arena_max']}", file=out)
    print(f"{report['requests']:,} requests over {report['connections']} keep-alive connections "
          f"({report['connections_opened']:,} opened) in {report['duration_seconds']:.1f} s: "
          f"{report['requests_per_second']:,.0f} requests/s", file=out)
    print(f"RSS after {report['rss_checkpoint_requests']:,} requests {mib(report['rss_checkpoint_bytes']):.1f} MiB, "
          f"at the end {mib(report['rss_end_bytes']):.1f} MiB ({report['rss_growth']:+.1%}), "
          f"max sampled {mib(report['rss_max_sampled_bytes']):.1f} MiB, peak (VmHWM) "
          f"{mib(report['rss_peak_bytes']):.1f} MiB", file=out)
    print("status totals: " + ", ".join(f"{s}: {n:,}" for s, n in sorted(report["status_totals"].items())),
          file=out)
    print(f"{'kind':<28} {'group':<6} {'expected':>8} {'ms/req':>8}  statuses", file=out)
    for name, v in report["kinds"].items():
        statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(v["statuses"].items()))
        n = sum(v["statuses"].values())
        per_request = 1000 * v["seconds"] / n if n else 0.0
        print(f"{name:<28} {v['group']:<6} {v['expected_status']:>8} {per_request:8.3f}  {statuses}", file=out)
    if report["violation_count"]:
        print(f"FAILED: {report['violation_count']:,} violations; first ones:", file=out)
        for v in report["violations"][:40]:
            print(f"  {json.dumps(v)}", file=out)
    else:
        print("OK: no 5xx, every status as expected, every body well-formed, RSS within "
              f"{report['rss_tolerance']:.0%}", file=out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests to send (default 1,000,000)")
    parser.add_argument("--connections", type=int, default=4,
                        help="keep-alive connections, one client process each (default 4)")
    parser.add_argument("--mlrig", help="the mlrig binary (default: build the release one with cargo)")
    parser.add_argument("--rss-tolerance", type=float, default=0.10,
                        help="largest relative change of RSS from the 10k checkpoint to the end (default 0.10)")
    parser.add_argument("--sample-interval", type=float, default=1.0, help="seconds between RSS samples")
    parser.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for `mlrig serve` (repeat; e.g. --serve-arg=--no-monitoring)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    if args.requests < 1 or args.connections < 1:
        parser.error("--requests and --connections must be positive")
    if not sys.platform.startswith("linux"):
        raise SystemExit("error: the soak reads the server's RSS from /proc (Linux only)")
    report = run(args)
    if args.format == "json":
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        print_text(report)
    sys.exit(1 if report["violation_count"] else 0)


if __name__ == "__main__":
    main()
