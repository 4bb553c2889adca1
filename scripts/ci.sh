#!/usr/bin/env bash
# The project's one test command (README): no machine paths, format, lints, tests (doctests
# included), the examples run, docs with warnings denied, benches compiled (not run), and a
# package check of every crate.
# Set MLRIG_DATA_DIR to the full data sets (../shared/data) to run the full-data tests too.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One clean build: no incremental caches (they doubled the target dir and CI never reuses them).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
step() { printf '\n==> %s\n' "$*"; }

if [ -z "${MLRIG_DATA_DIR:-}" ]; then
  echo "note: MLRIG_DATA_DIR is not set; tests on the full data sets will say SKIPPED."
fi

step "no absolute paths of a particular machine in tracked files"
# A path under one machine's home, work or temporary directory works there only: use paths
# relative to the repository (../shared/...), $TMPDIR, mktemp or variables. Binary files are
# skipped (-I).
machine_path='(^|[^[:alnum:]_.$~-])/(work|root|home|tmp|Users)/'
if git ls-files -z | xargs -0 grep -nIE "$machine_path" --; then
  echo "error: the lines above name absolute paths of one machine" >&2
  exit 1
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, warnings denied)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo test (unit, integration, doctests)"
cargo test --workspace --all-features

step "tensorflow-metadata interop (real tensorflow-metadata 1.16.1 reads mlrig's files)"
# A virtualenv outside the repository, made once per machine.
venv="${MLRIG_TFMD_VENV:-${TMPDIR:-/tmp}/mlrig-venv-tfmd-1.16.1}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tensorflow_metadata" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet tensorflow-metadata==1.16.1 protobuf==4.25.9
fi
fixtures=crates/validate/tests/fixtures/tfdv
"$venv/bin/python" "$fixtures/check_tfmd_descriptors.py" crates/validate/src/tfmd/descriptors.binpb
interop="$(mktemp -d)"
for ext in pb pbtxt json; do
  cargo run --quiet -p mlrig-cli -- stats data/samples/adult_sample.csv --out "$interop/stats.$ext" >/dev/null
done
cargo run --quiet -p mlrig-cli -- infer-schema data/samples/adult_sample.csv \
  --update "$fixtures/every_field.schema.pbtxt" --out "$interop/updated.pbtxt" >/dev/null
"$venv/bin/python" "$fixtures/check_tfmd_interop.py" "$interop" "$fixtures/every_field.schema.pbtxt"
rm -rf "$interop"

step "protocol clients (real tritonclient.http and MLflow-style requests against mlrig serve)"
# The script makes its own virtualenv outside the repository (${TMPDIR:-/tmp}/mlrig-protocol-venv-<pinned versions>),
# trains a model on data/samples, serves it on a free port and compares every protocol's answer
# with TF Serving's :predict for the same rows.
mlrig_bin=$(cargo build --quiet -p mlrig-cli --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*\/mlrig\(\.exe\)\{0,1\}\)".*/\1/p' | tail -n 1)
if [ -z "$mlrig_bin" ]; then
  echo "error: the mlrig binary was not built" >&2
  exit 1
fi
timeout 900 python3 scripts/protocol_clients.py "$mlrig_bin"

step "feature files (real scikit-learn load_svmlight_file and pyarrow read mlrig's svmlight and Parquet)"
timeout 600 python3 scripts/check_feature_files.py "$mlrig_bin"

step "Prometheus (promtool check rules/metrics; a real Prometheus scrapes mlrig serve and fires the skew alert)"
# promtool and prometheus from PATH (Debian: apt-get install prometheus), else Debian's package
# fetched with apt-get download and unpacked under ${TMPDIR:-/tmp}/mlrig-prometheus-deb (no root).
timeout 600 python3 scripts/prometheus_check.py "$mlrig_bin"

step "server soak, short (every response of 20,000 mixed requests checked; RSS flat after 10,000)"
# The full run (1M requests, release build) is in docs/benchmarks.md ("Server soak"); about 25 s.
timeout 300 python3 scripts/soak_serve.py --mlrig "$mlrig_bin" --requests 20000

step "HTML reports in a real browser (headless Chromium: no console errors; screenshots)"
# Installs Debian's chromium when missing (as root: apt-get update && apt-get install chromium),
# generates every report kind from data/samples with the binary built above, opens each over the
# DevTools protocol and fails on a console error, an uncaught exception or a network request.
# It first checks that it catches a planted console.error and throw.
timeout 900 python3 scripts/report_browser_check.py "$mlrig_bin" \
  --screenshots "${TMPDIR:-/tmp}/mlrig-report-screenshots"

step "examples run (one per component crate, and the end-to-end one)"
# Built once with the workspace's features (cargo test above compiled them already), then run:
# each must finish by itself with exit status 0 on the shipped samples.
examples="read_with_quarantine validate_csv fit_apply_spec train_evaluate serve_custom_model axum_metrics end_to_end"
executables=$(cargo build --workspace --all-features --examples --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
for example in $examples; do
  executable=$(printf '%s\n' "$executables" | grep -E "/examples/${example}(\.exe)?$" || true)
  if [ -z "$executable" ]; then
    echo "error: example $example was not built" >&2
    exit 1
  fi
  echo "--- $example"
  timeout 300 "$executable" > /dev/null
done

step "benches compile (not run)"
cargo test --workspace --all-features --benches --no-run

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

step "cargo package (every crate; --no-verify: sibling crates are not on crates.io yet)"
cargo package --workspace --no-verify --allow-dirty --quiet
echo "packaged: $(ls target/package/*.crate | wc -l) crates"

step "ok"
