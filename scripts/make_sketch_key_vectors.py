#!/usr/bin/env python3
"""Golden vectors for the bucket keys of mlrig-core's quantile sketch.

The key of a magnitude x > 0 is ceil(log_gamma(x)) of the real numbers x and
gamma, where gamma is the f64 value of (1 + alpha) / (1 - alpha). This script
computes it independently of the Rust code, with 300-bit mpmath logarithms,
for values at and around bucket edges (the f64 nearest to gamma^k and its
neighbours), subnormal and huge values, small integers, powers of two and ten
and random bit patterns, for the two accuracies mlrig uses (0.5 % in
mlrig-validate, 0.1 % in mlrig-features).

It also records, for the edge neighbours, how close the closest one comes to
its edge (log2 of |x / gamma^n - 1|): the Rust code decides such values by
comparing x with gamma^n in double-double arithmetic (relative error about
|n| * 2^-103), so that gap must stay well above it; the script fails if a
value is closer than 2^-80 or lies exactly on an edge other than 1 and gamma.

Usage (from the repository root; needs `pip install mpmath`):

    python3 scripts/make_sketch_key_vectors.py > crates/core/tests/fixtures/sketch_keys.json

Optionally `--check-all-edges` also checks every edge of both accuracies and
prints the smallest gap to stderr (slow: about a quarter of an hour; last run:
no f64 closer than 2^-69.8 to an edge for alpha 0.005, 2^-74.3 for 0.001).
"""

import json
import math
import random
import sys

from mpmath import mp, mpf

mp.prec = 300

ALPHAS = [0.005, 0.001]
F64_MAX = sys.float_info.max
SMALLEST_SUBNORMAL = 5e-324
MIN_GAP_LOG2 = -80


def nearest_f64(value):
    """An f64 within 10^-60 (relative) of the positive mpf `value`."""
    return float(mp.nstr(value, 70, min_fixed=1, max_fixed=0))


def exact_key(x, gamma, ln_gamma):
    """ceil(log_gamma(x)) and the log2 gap of x to the nearest edge."""
    t = mp.log(mpf(x)) / ln_gamma
    n = int(mp.nint(t))
    if x == 1.0 and n == 0:
        return 0, None
    if x == gamma and n == 1:
        return 1, None
    ratio = mpf(x) / mpf(gamma) ** n
    gap = abs(ratio - 1)
    if gap == 0:
        raise SystemExit(f"{x!r} is exactly gamma^{n}: decide by hand")
    gap_log2 = float(mp.log(gap, 2))
    key = n if ratio < 1 else n + 1
    return key, gap_log2


def neighbours(x, steps):
    out = [x]
    below = above = x
    for _ in range(steps):
        below = math.nextafter(below, 0.0)
        above = math.nextafter(above, math.inf)
        out += [below, above]
    return [v for v in out if 0.0 < v <= F64_MAX]


def values_for(gamma, ln_gamma, rng):
    min_key = exact_key(SMALLEST_SUBNORMAL, gamma, ln_gamma)[0]
    max_key = exact_key(F64_MAX, gamma, ln_gamma)[0]
    edge_keys = set(range(-60, 61))
    edge_keys.update(range(min_key, min_key + 4))
    edge_keys.update(range(max_key - 4, max_key))
    span = max_key - min_key
    edge_keys.update(min_key + (span * i) // 160 for i in range(161))
    edges = []
    for k in sorted(edge_keys):
        edge = mpf(gamma) ** k
        if mpf(SMALLEST_SUBNORMAL) <= edge <= mpf(F64_MAX):
            edges += neighbours(nearest_f64(edge), 2)
    special = [
        SMALLEST_SUBNORMAL,
        1e-323,
        1e-310,
        2.2250738585072009e-308,  # largest subnormal
        2.2250738585072014e-308,  # smallest normal
        1e-300,
        0.1,
        0.5,
        1.0,
        math.nextafter(1.0, 0.0),
        math.nextafter(1.0, 2.0),
        gamma,
        math.nextafter(gamma, 0.0),
        math.nextafter(gamma, 2.0),
        1e300,
        1e308,
        math.nextafter(F64_MAX, 0.0),
        F64_MAX,
    ]
    integers = [float(i) for i in range(1, 301)]
    integers += [65535.0, 65536.0, 65537.0, 2.0**53, 2.0**53 + 2, 2.0**63, 2.0**64]
    powers = [math.ldexp(1.0, e) for e in range(-1074, 1024, 9)]
    powers += [float(f"1e{e}") for e in range(-320, 309, 8)]
    randoms = []
    while len(randoms) < 200:
        bits = rng.getrandbits(63)
        x = _from_bits(bits)
        if 0.0 < x <= F64_MAX:
            randoms.append(x)
    randoms += [rng.uniform(0.0, 1e6) for _ in range(100)]
    seen, out = set(), []
    for x in edges + special + integers + powers + randoms:
        if x not in seen and 0.0 < x <= F64_MAX:
            seen.add(x)
            out.append(x)
    return min_key, max_key, out


def _from_bits(bits):
    import struct

    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def check_all_edges(gamma, ln_gamma):
    min_key = exact_key(SMALLEST_SUBNORMAL, gamma, ln_gamma)[0]
    max_key = exact_key(F64_MAX, gamma, ln_gamma)[0]
    smallest = 0.0
    power = mpf(gamma) ** (min_key - 1)
    for k in range(min_key, max_key):
        power *= gamma
        x = nearest_f64(power)
        if not 0.0 < x <= F64_MAX:
            continue
        for v in neighbours(x, 1):
            _, gap = exact_key(v, gamma, ln_gamma)
            if gap is not None:
                smallest = min(smallest, gap)
    print(f"alpha {(gamma - 1) / (gamma + 1):.6g}: smallest gap 2^{smallest:.1f}", file=sys.stderr)
    if smallest < MIN_GAP_LOG2:
        raise SystemExit("an edge neighbour is too close to its edge")


def main():
    rng = random.Random(8)
    cases = []
    for alpha in ALPHAS:
        gamma = (1.0 + alpha) / (1.0 - alpha)
        ln_gamma = mp.log(mpf(gamma))
        if "--check-all-edges" in sys.argv:
            check_all_edges(gamma, ln_gamma)
        min_key, max_key, values = values_for(gamma, ln_gamma, rng)
        keys, smallest_gap = [], 0.0
        for x in values:
            key, gap = exact_key(x, gamma, ln_gamma)
            if gap is not None:
                smallest_gap = min(smallest_gap, gap)
            keys.append([x, key])
        if smallest_gap < MIN_GAP_LOG2:
            raise SystemExit(f"alpha {alpha}: a value is 2^{smallest_gap:.1f} from its edge")
        cases.append(
            {
                "relative_accuracy": alpha,
                "gamma": gamma,
                "key_of_smallest_subnormal": min_key,
                "key_of_f64_max": max_key,
                "smallest_edge_gap_log2": round(smallest_gap, 1),
                "keys": keys,
            }
        )
    document = {
        "description": "Quantile-sketch bucket keys: [x, ceil(log_gamma(x))] of the real "
        "numbers x and gamma = f64((1 + a) / (1 - a)), computed with 300-bit mpmath.",
        "generator": "scripts/make_sketch_key_vectors.py",
        "cases": cases,
    }
    # One [x, key] pair per line keeps diffs readable.
    placeholders = []
    for case in cases:
        pairs = ",\n    ".join(f"[{json.dumps(x)}, {key}]" for x, key in case["keys"])
        placeholders.append("[\n    " + pairs + "\n   ]")
        case["keys"] = f"@KEYS{len(placeholders) - 1}@"
    text = json.dumps(document, indent=1)
    for i, block in enumerate(placeholders):
        text = text.replace(f'"@KEYS{i}@"', block)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
