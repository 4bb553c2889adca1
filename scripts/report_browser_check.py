#!/usr/bin/env python3
"""Opens every kind of `mlrig report` page in headless Chromium and fails on any console
error, uncaught exception or blocked/failed resource load; saves a screenshot of each.

    python3 scripts/report_browser_check.py MLRIG_BINARY [--screenshots DIR]

Reports are generated from data/samples: statistics of one data set, two data sets side by
side, drift, anomalies, and the evaluation of a model trained on the sample. Screenshots go to
DIR (default: a temporary directory; pass docs/images to refresh the committed ones).

Chromium is Debian's `chromium` package; when it is missing and the script runs as root it is
installed with apt-get (as CI does). The browser is driven through the DevTools protocol over a
WebSocket written here with the standard library only (no virtualenv needed). Before checking
the reports, the script checks itself: a page that calls console.error and one that throws must
both be caught, so a silent checker cannot pass.
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "data", "samples")
WIDTH, MAX_HEIGHT = 1280, 2000


def ensure_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() != 0:
        sys.exit("error: chromium is not installed; run `apt-get install chromium` as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                   check=True, env=env)
    return shutil.which("chromium") or sys.exit("error: chromium did not install")


class WebSocket:
    """A minimal RFC 6455 client: text frames, masked as clients must."""

    def __init__(self, url):
        match = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        if not match:
            raise ValueError(f"not a ws:// URL: {url}")
        host, port, path = match.group(1), int(match.group(2)), match.group(3)
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the browser closed the WebSocket handshake")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def send(self, text):
        payload = text.encode()
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack(">H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the browser closed the WebSocket")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("the browser closed the WebSocket")
            if opcode in (0x1, 0x2, 0x0):
                message += payload
                if first & 0x80:
                    return message.decode()


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="mlrig-chromium-")
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", f"--window-size={WIDTH},900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + 60
        while time.time() < deadline and port is None:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if match:
                port = int(match.group(1))
        if port is None:
            self.close()
            sys.exit("error: chromium did not start its DevTools endpoint")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        for method in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.call(method)

    def call(self, method, **params):
        self.next_id += 1
        request_id = self.next_id
        self.ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(json.loads(self.ws.receive()))
        raise TimeoutError(f"no {method} within {timeout} s")

    def open(self, path):
        """Loads `path`; returns the problems the page reported (console errors and warnings,
        uncaught exceptions, log errors such as blocked or failed loads, failed requests)."""
        self.events = []
        self.call("Page.navigate", url="file://" + os.path.abspath(path))
        self.wait_for("Page.loadEventFired")
        # Let late script (timers, handlers) run, then drain the events that arrived.
        self.call("Runtime.evaluate", expression="new Promise(r => setTimeout(r, 300))",
                  awaitPromise=True)
        problems = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                problems.append(f"console.{params['type']}: {text}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                description = details.get("exception", {}).get("description") or details.get("text")
                problems.append(f"uncaught exception: {description}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                entry = params["entry"]
                problems.append(f"{entry.get('source')} {entry['level']}: {entry.get('text')} {entry.get('url', '')}")
            elif method == "Network.loadingFailed":
                problems.append(f"failed request: {params.get('errorText')}")
            elif method == "Network.requestWillBeSent":
                url = params.get("request", {}).get("url", "")
                if not url.startswith(("file:", "data:", "about:")):
                    problems.append(f"network request: {url}")
        return problems

    def screenshot(self, out):
        # The content's own height (scrollHeight would include an earlier, taller viewport).
        height = self.call("Runtime.evaluate",
                           expression="Math.ceil(document.documentElement.getBoundingClientRect().height)",
                           returnByValue=True)["result"]["value"]
        height = max(600, min(int(height), MAX_HEIGHT))
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=height,
                  deviceScaleFactor=1, mobile=False)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(out, "wb") as f:
            f.write(base64.b64decode(data))
        return height

    def close(self):
        if getattr(self, "process", None) and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def mlrig(binary, work, *args, out=None, ok_codes=(0,)):
    result = subprocess.run([binary, *args], capture_output=True, text=True, cwd=work)
    if result.returncode not in ok_codes:
        sys.exit(f"error: mlrig {' '.join(args)} exited with {result.returncode}:\n{result.stderr}")
    if out:
        with open(os.path.join(work, out), "w") as f:
            f.write(result.stdout)
    return result.stdout


def generate_reports(binary, work):
    """Each report kind from data/samples: name → HTML path."""
    # Inputs are copied into `work` and named relative to it, so the pages (and the committed
    # screenshots) show file names, not paths of this machine.
    for sample in ("adult_sample.csv", "adult_shifted.csv"):
        shutil.copy(os.path.join(SAMPLES, sample), work)
    adult, shifted = "adult_sample.csv", "adult_shifted.csv"
    run = lambda *args, **kw: mlrig(binary, work, *args, **kw)
    run("stats", adult, "--out", "adult_stats.json")
    run("infer-schema", adult, "--out", "schema.json")
    # Drift and anomalies exit 1 when they find something (they do, on the shifted sample).
    run("--format", "json", "drift", "--reference", adult, "--current", shifted,
        out="drift.json", ok_codes=(0, 1))
    run("--format", "json", "validate", shifted, "--schema", "schema.json",
        out="anomalies.json", ok_codes=(0, 1))
    run("train", adult, "--target", "income", "--name", "adult", "--out", "models",
        "--slice", "gender", "--slice", "race", ok_codes=(0, 1))
    reports = {
        "statistics": ["--stats", "adult_stats.json", "--title", "adult: training statistics"],
        "comparison": ["--data", adult, "--compare-data", shifted,
                       "--title", "adult: training vs shifted serving data"],
        "drift": ["--drift", "drift.json", "--title", "adult: drift of the shifted data"],
        "anomalies": ["--anomalies", "anomalies.json", "--title", "adult: anomalies of the shifted data"],
        "evaluation": ["--model", os.path.join("models", "adult", "1"),
                       "--title", "adult: evaluation of version 1"],
    }
    paths = {}
    for name, args in reports.items():
        run("report", *args, "--out", f"report_{name}.html")
        paths[name] = os.path.join(work, f"report_{name}.html")
    return paths


def self_test(browser, work):
    """The checker must catch a console.error and an uncaught exception."""
    cases = {
        "console_error": "<script>console.error('planted error')</script>",
        "throw": "<script>null.planted()</script>",
        "late_throw": "<script>setTimeout(function () { throw new Error('planted late'); }, 10)</script>",
    }
    for name, body in cases.items():
        page = os.path.join(work, f"self_test_{name}.html")
        with open(page, "w") as f:
            f.write(f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>")
        problems = browser.open(page)
        if not problems:
            sys.exit(f"error: self-test {name}: the checker did not catch the planted error")
        print(f"self-test {name}: caught ({problems[0]})")
    clean = os.path.join(work, "self_test_clean.html")
    with open(clean, "w") as f:
        f.write("<!DOCTYPE html><html><head><title>t</title></head><body><p>ok</p></body></html>")
    if browser.open(clean):
        sys.exit("error: self-test: a clean page reported problems")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mlrig", help="the mlrig binary")
    parser.add_argument("--screenshots", help="directory for the PNG screenshots")
    args = parser.parse_args()
    chromium = ensure_chromium()
    work = tempfile.mkdtemp(prefix="mlrig-report-check-")
    shots = args.screenshots or os.path.join(tempfile.gettempdir(), "mlrig-report-screenshots")
    os.makedirs(shots, exist_ok=True)
    reports = generate_reports(os.path.abspath(args.mlrig), work)
    browser = Browser(chromium)
    failed = False
    try:
        self_test(browser, work)
        for name, path in reports.items():
            problems = browser.open(path)
            out = os.path.join(shots, f"report_{name}.png")
            height = browser.screenshot(out)
            status = "ok" if not problems else "FAILED"
            print(f"{name}: {status} ({os.path.getsize(path)} bytes of HTML; screenshot {out}, {WIDTH}x{height})")
            for problem in problems:
                print(f"  {problem}")
            failed |= bool(problems)
    finally:
        browser.close()
    if failed:
        sys.exit("error: reports reported problems in the browser (see above)")
    shutil.rmtree(work, ignore_errors=True)
    print("all reports render without console errors")


if __name__ == "__main__":
    main()
