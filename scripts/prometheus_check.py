#!/usr/bin/env python3
"""A real Prometheus server scraping `mlrig serve` (run by scripts/ci.sh).

    python3 scripts/prometheus_check.py PATH/TO/mlrig

Standard library only. Steps, each a check that fails the script:

1. trains `adult` on data/samples/adult_sample.csv into a temporary directory;
2. `mlrig alerts --model DIR --out rules.yml --for 0s` and `promtool check rules`
   on the file;
3. starts `mlrig serve` with a short live-monitoring window on a free port and
   runs `promtool check metrics` on its `/metrics` (before and after traffic);
4. starts a real Prometheus (scrape and evaluation every second, the rules file,
   storage in the temporary directory, a free port);
5. sends sample rows whose `workclass` is shifted (every row `Self-emp-inc`),
   polling Prometheus' HTTP API (`/api/v1/query`) until the skew gauge
   `mlrig_feature_skew{model="adult",feature="workclass",test="linf"}` is above
   the rules' threshold AND the `MlrigFeatureSkew` alert of workclass is in
   `ALERTS{alertstate="firing"}` (generous timeout, polls only), and that the
   unchanged `gender` and `race` are not firing;
6. stops both servers (also on failure or Ctrl-C).

promtool and prometheus: from PATH when there (Debian: `apt-get install
prometheus`); else from $MLRIG_PROMETHEUS_BIN_DIR; else the script fetches
Debian's `prometheus` package with `apt-get download` (its hash is checked by
apt against the signed archive index) and unpacks it with `dpkg-deb -x` into
${TMPDIR:-/tmp}/mlrig-prometheus-deb (no root, no service started). The
versions used are printed.
"""

import csv
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "samples", "adult_sample.csv")
TARGET = "income"
MODEL = "adult"
SHIFTED_FEATURE = "workclass"
SHIFTED_VALUE = "Self-emp-inc"
UNCHANGED = ("gender", "race")
WINDOW = "5s"
TIMEOUT_SECONDS = 240
BATCH = 100


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def http(method, url, body=None, content_type=None, timeout=30):
    """(status, body bytes) of one plain HTTP request."""
    request = urllib.request.Request(url, data=body, method=method)
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def prometheus_tools():
    """(promtool, prometheus) paths: PATH, $MLRIG_PROMETHEUS_BIN_DIR, or Debian's package unpacked."""
    found = shutil.which("promtool"), shutil.which("prometheus")
    if all(found):
        print(f"using promtool and prometheus from PATH: {found}", flush=True)
        return found
    bin_dir = os.environ.get("MLRIG_PROMETHEUS_BIN_DIR")
    if not bin_dir:
        home = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mlrig-prometheus-deb")
        bin_dir = os.path.join(home, "root", "usr", "bin")
        if not os.path.exists(os.path.join(bin_dir, "prometheus")):
            if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
                sys.exit(
                    "promtool/prometheus not found: install Debian's `prometheus` package, or set "
                    "MLRIG_PROMETHEUS_BIN_DIR to a directory holding both"
                )
            os.makedirs(home, exist_ok=True)
            for old in glob.glob(os.path.join(home, "*.deb")):
                os.remove(old)
            print(f"fetching Debian's prometheus package into {home}", flush=True)
            subprocess.run(["apt-get", "download", "prometheus"], cwd=home, check=True)
            (deb,) = glob.glob(os.path.join(home, "prometheus_*.deb"))
            subprocess.run(["dpkg-deb", "-x", deb, os.path.join(home, "root")], check=True)
    tools = os.path.join(bin_dir, "promtool"), os.path.join(bin_dir, "prometheus")
    for tool in tools:
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is not an executable")
    return tools


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(mlrig, model, log):
    """`mlrig serve` with a short monitoring window on a free port; (process, base URL)."""
    server = subprocess.Popen(
        [mlrig, "serve", "--model", model, "--port", "0", "--format", "json",
         "--monitoring-window", WINDOW, "--monitoring-max-rows", "5000"],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    line = server.stdout.readline()
    try:
        return server, json.loads(line)["listening"]
    except (json.JSONDecodeError, KeyError, TypeError):
        stop(server)
        log.seek(0)
        sys.exit(f"mlrig serve did not start; first stdout line {line!r}; stderr:\n{log.read()}")


def stop(process):
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def promtool_check_metrics(promtool, base, when):
    status, body = http("GET", f"{base}/metrics")
    check(status == 200, f"GET /metrics answers 200 ({when})")
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    output = (result.stdout + result.stderr).decode(errors="replace").strip()
    check(result.returncode == 0, f"promtool check metrics accepts /metrics ({when}) {output}")
    return body.decode()


def string_domains(version_dir):
    """Feature → the values its schema's string domain allows (the input contract
    refuses others: the evaluation rows may hold values training never saw)."""
    with open(os.path.join(version_dir, "schema.json")) as f:
        schema = json.load(f)
    named = {d["name"]: set(d.get("value", [])) for d in schema.get("stringDomain", [])}
    domains = {}
    for feature in schema.get("feature", []):
        if "stringDomain" in feature:
            domains[feature["name"]] = set(feature["stringDomain"].get("value", []))
        elif feature.get("domain") in named:
            domains[feature["name"]] = named[feature["domain"]]
    return domains


def shifted_rows(version_dir):
    """The sample rows the model accepts (complete, known categories; no target), typed,
    with workclass shifted to one value."""
    domains = string_domains(version_dir)
    check(SHIFTED_VALUE in domains.get(SHIFTED_FEATURE, ()),
          f"`{SHIFTED_VALUE}` is a training value of {SHIFTED_FEATURE}")
    with open(SAMPLE, newline="") as f:
        rows = []
        for row in csv.DictReader(f):
            if "?" in row.values() or any(
                    k != TARGET and k in domains and v not in domains[k] for k, v in row.items()):
                continue
            typed = {}
            for key, value in row.items():
                if key == TARGET:
                    continue
                try:
                    typed[key] = int(value)
                except ValueError:
                    try:
                        typed[key] = float(value)
                    except ValueError:
                        typed[key] = value
            typed[SHIFTED_FEATURE] = SHIFTED_VALUE
            rows.append(typed)
    return rows


def threshold_of(rules_json):
    """The workclass skew threshold written in the rules (the file is the contract)."""
    pattern = re.compile(
        r'mlrig_feature_skew\{model="%s",feature="%s",test="linf"\} > ([0-9.]+)'
        % (MODEL, SHIFTED_FEATURE)
    )
    for rule in rules_json["groups"][0]["rules"]:
        match = pattern.search(rule["expr"])
        if match:
            return float(match.group(1))
    sys.exit(f"no {SHIFTED_FEATURE} skew rule in the generated rules")


def query(prometheus, promql):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    status, body = http("GET", url)
    if status != 200:
        return []
    answer = json.loads(body)
    return answer["data"]["result"] if answer.get("status") == "success" else []


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: prometheus_check.py PATH/TO/mlrig")
    mlrig = os.path.abspath(sys.argv[1])
    promtool, prometheus_bin = prometheus_tools()
    for tool in (promtool, prometheus_bin):
        version = subprocess.run([tool, "--version"], capture_output=True, text=True)
        print((version.stdout + version.stderr).splitlines()[0], flush=True)

    server = prometheus = None
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so `finally` stops both servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            models = os.path.join(tmp, "models")
            subprocess.run(
                [mlrig, "train", SAMPLE, "--target", TARGET, "--name", MODEL, "--out", models,
                 "--format", "json"],
                check=True, stdout=subprocess.DEVNULL,
            )
            model_dir = os.path.join(models, MODEL)
            rules = os.path.join(tmp, "rules.yml")
            subprocess.run(
                [mlrig, "alerts", "--model", model_dir, "--out", rules, "--for", "0s"],
                check=True, stdout=subprocess.DEVNULL,
            )
            result = subprocess.run([promtool, "check", "rules", rules], capture_output=True,
                                    text=True)
            check(result.returncode == 0,
                  f"promtool check rules accepts the rules of `mlrig alerts` {result.stdout.strip()}"
                  f" {result.stderr.strip()}")
            rules_json = json.loads(subprocess.run(
                [mlrig, "alerts", "--model", model_dir, "--for", "0s", "--format", "json"],
                check=True, capture_output=True, text=True).stdout)
            threshold = threshold_of(rules_json)

            serve_log = open(os.path.join(tmp, "serve.log"), "w+")
            server, base = start_server(mlrig, model_dir, serve_log)
            promtool_check_metrics(promtool, base, "before traffic")

            port = free_port()
            target = urllib.parse.urlparse(base).netloc
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                # JSON is YAML: no quoting to get wrong.
                json.dump({
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [rules],
                    "scrape_configs": [{"job_name": "mlrig",
                                        "static_configs": [{"targets": [target]}]}],
                }, f)
            result = subprocess.run([promtool, "check", "config", config], capture_output=True,
                                    text=True)
            check(result.returncode == 0, f"promtool check config {result.stderr.strip()}")
            prometheus_log = open(os.path.join(tmp, "prometheus.log"), "w+")
            prometheus = subprocess.Popen(
                [prometheus_bin, f"--config.file={config}",
                 f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=prometheus_log, stderr=subprocess.STDOUT,
            )
            prom = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if prometheus.poll() is not None:
                    prometheus_log.seek(0)
                    sys.exit(f"prometheus exited ({prometheus.returncode}):\n{prometheus_log.read()}")
                try:
                    if http("GET", f"{prom}/-/ready", timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit("prometheus not ready after 60 s")
                time.sleep(0.2)
            check(True, f"prometheus ready on {prom}, scraping {target}")

            rows = shifted_rows(os.path.join(model_dir, "1"))
            check(len(rows) > 1000, f"{len(rows)} sample rows to shift and send")
            skew_query = (f'mlrig_feature_skew{{model="{MODEL}",feature="{SHIFTED_FEATURE}",'
                          f'test="linf"}}')
            alert_query = (f'ALERTS{{alertname="MlrigFeatureSkew",alertstate="firing",'
                           f'model="{MODEL}",feature="{SHIFTED_FEATURE}"}}')
            deadline = time.monotonic() + TIMEOUT_SECONDS
            sent = 0
            skew = []
            firing = []
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    serve_log.seek(0)
                    sys.exit(f"mlrig serve exited ({server.returncode}):\n{serve_log.read()}")
                batch = [rows[(sent + i) % len(rows)] for i in range(BATCH)]
                status, body = http("POST", f"{base}/v1/models/{MODEL}:predict",
                                    json.dumps({"instances": batch}).encode(), "application/json")
                if status != 200:
                    sys.exit(f":predict answered {status}: {body[:500]!r}")
                sent += BATCH
                skew = query(prom, skew_query)
                firing = query(prom, alert_query)
                if (skew and float(skew[0]["value"][1]) > threshold) and firing:
                    break
                time.sleep(0.25)
            skew_values = [float(s["value"][1]) for s in skew]
            check(any(v > threshold for v in skew_values),
                  f"Prometheus has {skew_query} = {skew_values}, above the rules' threshold "
                  f"{threshold} ({sent} shifted rows sent)")
            check(bool(firing), f"the alert {alert_query} is firing in Prometheus")
            alerts_status, alerts_body = http("GET", f"{prom}/api/v1/alerts")
            listed = [a for a in json.loads(alerts_body)["data"]["alerts"]
                      if a["labels"].get("alertname") == "MlrigFeatureSkew"
                      and a["state"] == "firing"]
            check(alerts_status == 200 and any(a["labels"].get("feature") == SHIFTED_FEATURE
                                               for a in listed),
                  f"/api/v1/alerts lists MlrigFeatureSkew firing for {SHIFTED_FEATURE}")
            for feature in UNCHANGED:
                others = query(prom, f'ALERTS{{alertname="MlrigFeatureSkew",model="{MODEL}",'
                                     f'feature="{feature}"}}')
                values = [float(v["value"][1]) for v in query(
                    prom, f'mlrig_feature_skew{{model="{MODEL}",feature="{feature}",test="linf"}}')]
                check(not others and values and all(v <= threshold for v in values),
                      f"unchanged `{feature}` is scraped (linf {values}, threshold {threshold}) "
                      f"and not alerting")
            promtool_check_metrics(promtool, base, "with monitoring gauges")
        finally:
            stop(prometheus)
            stop(server)
    print("ok: prometheus check passed", flush=True)


if __name__ == "__main__":
    main()
