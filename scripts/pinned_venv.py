"""A virtualenv outside the repository with exact pinned versions, for the CI
scripts that check mlrig against a real Python package.

    from pinned_venv import ensure_venv
    ensure_venv({"numpy": "2.4.6"}, "mlrig-protocol-venv", "MLRIG_PROTOCOL_VENV")

`ensure_venv` re-runs the calling script with the venv's Python, creating (or
recreating) the venv when it lacks the pins: $ENV_VAR, default
${TMPDIR:-/tmp}/<prefix>-<pins>, so a new pin gets a new venv. The script must
answer `--check-pins` with `check_pins(pins)` before anything else.
"""

import importlib.metadata
import os
import subprocess
import sys
import venv


def pins_installed(pins):
    """Whether this Python has exactly the pinned versions."""
    try:
        return all(importlib.metadata.version(name) == version for name, version in pins.items())
    except importlib.metadata.PackageNotFoundError:
        return False


def check_pins(pins):
    """Handles `SCRIPT --check-pins` (exit 0 iff the pins are installed)."""
    if sys.argv[1:] == ["--check-pins"]:
        sys.exit(0 if pins_installed(pins) else 1)


def ensure_venv(pins, prefix, env_var, extras=None):
    """Re-runs the calling script with the venv's Python, creating the venv if needed."""
    extras = extras or {}
    script = os.path.abspath(sys.argv[0])
    tag = "-".join(f"{name}-{version}" for name, version in pins.items())
    home = os.environ.get(env_var) or os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"{prefix}-{tag}"
    )
    python = os.path.join(home, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(home):
        if not pins_installed(pins):
            sys.exit(f"{home} does not have the pinned versions {pins} after installing them")
        return
    pinned = os.path.exists(python) and subprocess.run(
        [python, script, "--check-pins"], capture_output=True
    ).returncode == 0
    if not pinned:
        print(f"creating {home} with {pins}", flush=True)
        venv.create(home, with_pip=True, clear=True)
        requirements = [f"{n}{extras.get(n, '')}=={v}" for n, v in pins.items()]
        subprocess.run([python, "-m", "pip", "install", "--quiet", *requirements], check=True)
    os.execv(python, [python, script, *sys.argv[1:]])
