#!/usr/bin/env python3
"""`mlrig serve` side by side with a FastAPI + scikit-learn server, driven by wrk.

    python3 -m venv ../venv-serve
    ../venv-serve/bin/pip install -r scripts/requirements-bench-serve.txt
    apt-get install wrk            # or your platform's package
    ../venv-serve/bin/python scripts/bench_serve.py [--repeat 3] [--duration 10] [--markdown FILE]

Both servers answer the same TF Serving request, one adult record
`{"instances": [{...}]}` → `{"predictions": [{"classes", "scores", "label"}]}`,
with the same model: the features of `mlrig train`'s default pipeline (mean
impute + standardise numerics, most-frequent impute + one-hot strings) and L2
logistic regression (C = 1), trained on data/samples/adult_sample.csv. The peer
is what a team typically writes: FastAPI on uvicorn (uvloop + httptools, one
worker), `pandas.DataFrame(instances)` then `Pipeline.predict_proba`.

Runs, all in one invocation:
1. throughput and latency: `wrk -t1 -c8 --latency` for --duration seconds
   against each server, sides interleaved per repetition; the best run of
   each side is reported (requests/s, p50, p99) with the ratio.
2. hot reload under load: `mlrig serve --model-base-path` while wrk runs for
   30 s; after 10 s `mlrig train` writes version 2 into the served base path.
   Reports how long until `/v1/models/adult` lists version 2, and wrk's
   non-2xx responses and socket errors (both should be 0).
3. memory: RSS of a fresh `mlrig serve` after 10k requests and after 1M.
4. the cost of live monitoring (skew/drift of the inputs, on by default):
   `mlrig serve` with and without `--no-monitoring` on the same workloads —
   one adult record per request and a batch of --batch-rows records — sides
   interleaved per round, --repeat rounds of a --duration-s wrk run each
   after a 2-s warm-up; reports each side's median requests/s and the
   throughput lost with monitoring on. `--monitoring-only` runs just this,
   with a third side whose window is compared only by time (a huge
   `--monitoring-max-rows`), which separates the cost of accumulating rows
   from the cost of comparing windows.

Timings depend on the machine; nothing here is a pass/fail threshold. wrk and
the servers share the machine's cores, as they would on one host.
"""
import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ADULT = os.path.join(REPO, "data", "samples", "adult_sample.csv")
TARGET = "income"
MODEL = "adult"
PREDICT_PATH = f"/v1/models/{MODEL}:predict"
MLRIG_PORT, PEER_PORT = 18501, 18502


def peer_app(model_path):
    """The FastAPI + scikit-learn server (imported only in --peer-server mode)."""
    import pickle

    import pandas as pd
    from fastapi import FastAPI, Request

    with open(model_path, "rb") as f:
        pipeline = pickle.load(f)
    classes = [str(c) for c in pipeline.classes_]
    app = FastAPI()

    @app.post(PREDICT_PATH)
    async def predict(request: Request):
        body = await request.json()
        scores = pipeline.predict_proba(pd.DataFrame(body["instances"]))
        return {
            "predictions": [
                {"classes": classes, "scores": row.tolist(), "label": classes[int(row.argmax())]}
                for row in scores
            ]
        }

    return app


def train_peer(path):
    """scikit-learn's version of mlrig train's default adult pipeline, pickled to `path`."""
    import pickle

    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.read_csv(ADULT, na_values=["?"], skipinitialspace=True)
    y = frame.pop(TARGET)
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "if"]
    strings = [c for c in frame.columns if c not in numeric]
    features = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric),
            (
                "str",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                strings,
            ),
        ]
    )
    pipeline = Pipeline([("features", features), ("model", LogisticRegression(C=1.0, max_iter=1000))])
    pipeline.fit(frame, y)
    with open(path, "wb") as f:
        pickle.dump(pipeline, f)
    record = {k: (None if isinstance(v, float) and v != v else v) for k, v in frame.iloc[0].items()}
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()}


def mlrig_binary():
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "mlrig-cli"], cwd=REPO, check=True
    )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.path.join(target, "release", "mlrig")


def wait_ready(port, path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not answer {path} within {timeout} s")


def start(cmd, port, ready_path):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, ready_path)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(port, body_lua, duration, connections=8):
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", body_lua,
         f"http://127.0.0.1:{port}{PREDICT_PATH}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return parse_wrk(out)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(out):
    def latency(pct):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": requests,
        "rps": rps,
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def send_requests(port, body, count):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}
    for _ in range(count):
        conn.request("POST", PREDICT_PATH, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"warm-up request answered {response.status}")


def versions(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    conn.request("GET", f"/v1/models/{MODEL}")
    status = json.loads(conn.getresponse().read())
    return [
        int(v["version"]) for v in status.get("model_version_status", []) if v.get("state") == "AVAILABLE"
    ]


def train_mlrig(binary, out, version):
    subprocess.run(
        [binary, "train", ADULT, "--target", TARGET, "--name", MODEL, "--out", out,
         "--bundle-version", str(version), "--no-baseline", "--format", "json"],
        check=True, stdout=subprocess.DEVNULL,
    )


def sample_records(count):
    """`count` adult records spread over the sample (every k-th complete row), as JSON objects."""
    import csv

    with open(ADULT, newline="") as f:
        rows = [r for r in csv.DictReader(f) if "?" not in r.values()]
    step = max(1, len(rows) // count)
    records = []
    for row in rows[::step][:count]:
        row.pop(TARGET)
        records.append({k: int(v) if v.lstrip("-").isdigit() else v for k, v in row.items()})
    return records


def write_lua(path, body):
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        f.write(f"wrk.body = {json.dumps(body)}\n")


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


# Server flags of each side of the monitoring comparison: off, on with the
# defaults, and on with a window so large that it is compared only by time
# (isolates the cost of accumulating rows from the cost of comparing windows).
MONITORING_SIDES = {
    "off": ["--no-monitoring"],
    "on": [],
    "on, few comparisons": ["--monitoring-max-rows", "100000000", "--monitoring-window", "1h"],
}


def monitoring_cost(binary, models, workloads, repeat, duration, sides_wanted):
    """Requests/s of `mlrig serve` with monitoring on (the default) and off, per workload."""
    runs = {(w, side): [] for w, _ in workloads for side in sides_wanted}
    for round_ in range(repeat):
        # Rotate which side goes first, so a drift in the machine's load hits all.
        shift = round_ % len(sides_wanted)
        sides = sides_wanted[shift:] + sides_wanted[:shift]
        for workload, lua in workloads:
            for side in sides:
                cmd = [binary, "serve", "--model", os.path.join(models, MODEL), "--port", str(MLRIG_PORT)]
                cmd += MONITORING_SIDES[side]
                proc = start(cmd, MLRIG_PORT, "/metrics")
                try:
                    wrk(MLRIG_PORT, lua, 2)  # warm-up
                    result = wrk(MLRIG_PORT, lua, duration)
                finally:
                    stop(proc)
                if result["non2xx"] or result["socket_errors"]:
                    raise SystemExit(f"monitoring {side}, {workload}: {result}")
                runs[(workload, side)].append(result)
                print(f"  round {round_ + 1}, {workload}, monitoring {side}: {result['rps']:,.0f} req/s, "
                      f"p50 {result['p50_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms", flush=True)
    table = {}
    for workload, _ in workloads:
        table[workload] = {
            side: {
                "rps": median([r["rps"] for r in runs[(workload, side)]]),
                "p99": median([r["p99_ms"] for r in runs[(workload, side)]]),
                "all": [r["rps"] for r in runs[(workload, side)]],
            }
            for side in sides_wanted
        }
    return table


def monitoring_lines(table, repeat, duration, batch_rows):
    lines = [
        f"Live monitoring on vs `--no-monitoring` (wrk -t1 -c8, {repeat} interleaved rounds of "
        f"{duration} s a side, median requests/s; p99 latency):",
        "",
        "| workload | server | requests/s | rows/s | throughput lost | p99 |",
        "|---|---|---|---|---|---|",
    ]
    for workload, sides in table.items():
        rows = batch_rows if workload.startswith("batch") else 1
        off = sides["off"]["rps"]
        for side, row in sides.items():
            flags = " ".join(MONITORING_SIDES[side]) or "(defaults)"
            lost = "" if side == "off" else f"{100.0 * (1 - row['rps'] / off):.1f} %"
            lines.append(
                f"| {workload} | monitoring {side}: `{flags}` | {row['rps']:,.0f} | {row['rps'] * rows:,.0f} | "
                f"{lost} | {row['p99']:.3f} ms |"
            )
    lines.append("")
    for workload, sides in table.items():
        lines.append(
            f"{workload}: " + "; ".join(
                f"{side} {', '.join(f'{r:,.0f}' for r in row['all'])}" for side, row in sides.items()
            ) + " req/s"
        )
    return lines


def throughput(binary, models, peer_model, lua, repeat, duration):
    best = {}
    for _ in range(repeat):
        for side, cmd, port in [
            ("mlrig", [binary, "serve", "--model", os.path.join(models, MODEL), "--port", str(MLRIG_PORT)], MLRIG_PORT),
            ("peer", [sys.executable, __file__, "--peer-server", peer_model, "--port", str(PEER_PORT)], PEER_PORT),
        ]:
            proc = start(cmd, port, "/metrics" if side == "mlrig" else "/docs")
            try:
                wrk(port, lua, 2)  # warm-up
                result = wrk(port, lua, duration)
            finally:
                stop(proc)
            print(f"  {side}: {result['rps']:,.0f} req/s, p50 {result['p50_ms']:.3f} ms, "
                  f"p99 {result['p99_ms']:.3f} ms, non-2xx {result['non2xx']}", flush=True)
            if side not in best or result["rps"] > best[side]["rps"]:
                best[side] = result
    return best


def hot_reload(binary, tmp, lua):
    base = os.path.join(tmp, "reload")
    train_mlrig(binary, base, 1)
    proc = start(
        [binary, "serve", "--model-base-path", os.path.join(base, MODEL), "--port", str(MLRIG_PORT)],
        MLRIG_PORT, f"/v1/models/{MODEL}",
    )
    try:
        load = subprocess.Popen(
            ["wrk", "-t1", "-c8", "-d30s", "--latency", "-s", lua, f"http://127.0.0.1:{MLRIG_PORT}{PREDICT_PATH}"],
            stdout=subprocess.PIPE, text=True,
        )
        time.sleep(10)
        train_mlrig(binary, base, 2)
        written = time.monotonic()
        while 2 not in versions(MLRIG_PORT):
            if time.monotonic() - written > 30:
                raise SystemExit("version 2 did not become available within 30 s")
            time.sleep(0.01)
        available_s = time.monotonic() - written
        result = parse_wrk(load.communicate()[0])
    finally:
        stop(proc)
    result["available_s"] = available_s
    return result


def memory(binary, models, body, lua, total):
    proc = start(
        [binary, "serve", "--model", os.path.join(models, MODEL), "--port", str(MLRIG_PORT)],
        MLRIG_PORT, "/metrics",
    )
    try:
        send_requests(MLRIG_PORT, body, 10_000)
        after_10k = rss_kib(proc.pid)
        sent = 10_000
        while sent < total:
            sent += wrk(MLRIG_PORT, lua, 10)["requests"]
        after_total = rss_kib(proc.pid)
    finally:
        stop(proc)
    return {"rss_10k_kib": after_10k, "rss_total_kib": after_total, "requests": sent}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests of the memory run")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--batch-rows", type=int, default=100, help="records per request of the batch workload")
    parser.add_argument("--monitoring-only", action="store_true",
                        help="only measure the throughput cost of live monitoring")
    parser.add_argument("--peer-server", metavar="MODEL_PICKLE", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=PEER_PORT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_server:
        import uvicorn

        uvicorn.run(peer_app(args.peer_server), host="127.0.0.1", port=args.port, log_level="warning")
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    binary = mlrig_binary()
    with tempfile.TemporaryDirectory() as tmp:
        models = os.path.join(tmp, "models")
        train_mlrig(binary, models, 1)
        records = sample_records(args.batch_rows)
        single_lua = os.path.join(tmp, "single.lua")
        write_lua(single_lua, json.dumps({"instances": records[:1]}))
        batch_lua = os.path.join(tmp, "batch.lua")
        write_lua(batch_lua, json.dumps({"instances": records}))
        workloads = [("single record", single_lua), (f"batch of {len(records)} records", batch_lua)]
        if args.monitoring_only:
            print(f"monitoring cost: wrk -t1 -c8 -d{args.duration}s, {args.repeat} interleaved rounds", flush=True)
            table = monitoring_cost(
                binary, models, workloads, args.repeat, args.duration, list(MONITORING_SIDES)
            )
            lines = [
                f"{time.strftime('%Y-%m-%d')}, {platform.machine()} ({os.cpu_count()} cores), "
                f"`python scripts/bench_serve.py --monitoring-only --repeat {args.repeat} "
                f"--duration {args.duration} --batch-rows {args.batch_rows}`",
                "",
            ] + monitoring_lines(table, args.repeat, args.duration, len(records))
            text = "\n".join(lines)
            print(text)
            if args.markdown:
                with open(args.markdown, "w") as f:
                    f.write(text + "\n")
            return
        peer_model = os.path.join(tmp, "peer.pickle")
        record = train_peer(peer_model)
        body = json.dumps({"instances": [record]})
        lua = os.path.join(tmp, "predict.lua")
        write_lua(lua, body)

        print(f"throughput: wrk -t1 -c8 -d{args.duration}s, {args.repeat} interleaved runs a side", flush=True)
        best = throughput(binary, models, peer_model, lua, args.repeat, args.duration)
        print("hot reload: 30-s wrk run, version 2 trained into the base path after 10 s", flush=True)
        reload = hot_reload(binary, tmp, lua)
        print(f"memory: RSS after 10k and after {args.requests:,} requests", flush=True)
        mem = memory(binary, models, body, lua, args.requests)
        print(f"monitoring cost: {args.repeat} interleaved rounds", flush=True)
        monitoring = monitoring_cost(binary, models, workloads, args.repeat, args.duration, ["off", "on"])

    mlrig, peer = best["mlrig"], best["peer"]
    lines = [
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()} ({os.cpu_count()} cores), "
        f"`python scripts/bench_serve.py --repeat {args.repeat} --duration {args.duration}`",
        "",
        "| measure | mlrig serve | FastAPI + scikit-learn | ratio |",
        "|---|---|---|---|",
        f"| requests/s (wrk -t1 -c8, one adult record) | {mlrig['rps']:,.0f} | {peer['rps']:,.0f} | "
        f"{mlrig['rps'] / peer['rps']:.0f}× |",
        f"| p50 latency | {mlrig['p50_ms']:.3f} ms | {peer['p50_ms']:.3f} ms | |",
        f"| p99 latency | {mlrig['p99_ms']:.3f} ms | {peer['p99_ms']:.3f} ms | |",
        "",
        f"Hot reload during a 30-s run ({reload['requests']:,} requests, {reload['rps']:,.0f}/s): version 2 "
        f"available {reload['available_s']:.2f} s after `mlrig train` returned; non-2xx responses "
        f"{reload['non2xx']}, socket errors {reload['socket_errors']}, p99 {reload['p99_ms']:.3f} ms.",
        "",
        f"RSS after 10k requests {mem['rss_10k_kib'] / 1024:.1f} MiB, after {mem['requests']:,} requests "
        f"{mem['rss_total_kib'] / 1024:.1f} MiB ({100.0 * (mem['rss_total_kib'] / mem['rss_10k_kib'] - 1):+.1f} %).",
        "",
    ] + monitoring_lines(monitoring, args.repeat, args.duration, len(records))
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
