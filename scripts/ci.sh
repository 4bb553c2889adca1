#!/usr/bin/env bash
# The project's one test command (README): format, lints, tests (doctests included),
# docs with warnings denied, benches compiled (not run), and a package check of every crate.
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

step "benches compile (not run)"
cargo test --workspace --all-features --benches --no-run

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

step "cargo package (every crate; --no-verify: sibling crates are not on crates.io yet)"
cargo package --workspace --no-verify --allow-dirty --quiet
echo "packaged: $(ls target/package/*.crate | wc -l) crates"

step "ok"
