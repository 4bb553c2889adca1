#!/usr/bin/env python3
"""Writes the small data samples shipped in data/samples/ from ../shared/data.

    python3 scripts/make_samples.py [SHARED_DATA_DIR]

Deterministic (row selection by row number, fixed edits), standard library only.
"""
import csv
import os
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
out = os.path.join(os.path.dirname(__file__), "..", "data", "samples")
os.makedirs(out, exist_ok=True)


def rows(name):
    with open(os.path.join(src, name), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def write(name, header, body):
    with open(os.path.join(out, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(body)


header, adult = rows("adult.csv")
write("adult_sample.csv", header, [r for i, r in enumerate(adult) if i % 12 == 0])

# A shifted serving-day batch: older people, a never-seen workclass, many missing
# hours, `fnlwgt` dropped and a new `device` column. Exercises every anomaly kind.
col = {name: i for i, name in enumerate(header)}
shifted_header = [h for h in header if h != "fnlwgt"] + ["device"]
shifted = []
for n, r in enumerate(r for i, r in enumerate(adult) if i % 12 == 6):
    if n >= 400:
        break
    r = list(r)
    r[col["age"]] = str(int(r[col["age"]]) + 30)
    if n % 5 == 0:
        r[col["workclass"]] = "Space-agency"
    if n % 2 == 0:
        r[col["hours-per-week"]] = ""
    row = [v for h, v in zip(header, r) if h != "fnlwgt"] + [["phone", "desktop"][n % 2]]
    shifted.append(row)
write("adult_shifted.csv", shifted_header, shifted)

header, housing = rows("california_housing.csv")
write("california_sample.csv", header, [r for i, r in enumerate(housing) if i % 8 == 0])

# The small multiclass classics, copied byte for byte.
for name in ["iris.csv", "wine.csv", "penguins.csv"]:
    with open(os.path.join(src, name), "rb") as f, open(os.path.join(out, name), "wb") as g:
        g.write(f.read())
