"""Writes the `plm compare` golden case: a simulated hour's true leg movements, a damaged
copy of them as the "detection" (missed, shifted, wrong-leg, extra and spurious
movements), and what the project's shared evaluation script (`score.py`, an independent
implementation of the same matching and of a WASM 2016 reference scoring) makes of them.

    cargo build --release
    python3 tests/golden/make_compare.py /path/to/score.py   # from the repository root
"""
import csv
import json
import random
import subprocess
import sys

out = "tests/golden/compare"
plm = "target/release/plm"
subprocess.run([plm, "simulate", "--duration", "3600", "--seed", "8", "/tmp/plm-compare"],
               check=True, stdout=subprocess.DEVNULL)
for ext in ("truth.csv", "hyp.csv"):
    with open(f"/tmp/plm-compare.{ext}") as src, open(f"{out}/night.{ext}", "w") as dst:
        dst.write(src.read())

random.seed(5)
rows = list(csv.DictReader(open(f"{out}/night.truth.csv")))
det = []
for k, r in enumerate(rows):
    on, off, side = float(r["onset_s"]), float(r["offset_s"]), r["side"]
    if k % 9 == 4:
        continue  # missed
    if k % 3 == 0:
        on += random.uniform(-0.4, 0.4)  # onset error
    if k % 4 == 1:
        off += random.uniform(-0.6, 0.6)  # offset error
    if k % 11 == 7:
        side = "left" if side == "right" else "right"  # wrong leg
    off = max(off, on + 0.3)
    det.append((on, off, side))
    if k % 8 == 2:
        det.append((off + 0.8, off + 1.6, side))  # extra, just after
    if k % 10 == 5:
        det.append((on + 45.0, on + 46.2, side))  # spurious
det.sort()
with open(f"{out}/detection.csv", "w") as f:
    f.write("onset_s,offset_s,side\n")
    for on, off, side in det:
        f.write(f"{on:.3f},{off:.3f},{side}\n")

report = subprocess.run(
    [plm, "score", f"{out}/detection.csv", "--hypnogram", f"{out}/night.hyp.csv",
     "--duration", "3600", "--json", "-", "-q"],
    check=True, capture_output=True, text=True).stdout
with open("/tmp/plm-compare-detection.json", "w") as f:
    f.write(report)
scored = subprocess.run(
    [sys.executable, sys.argv[1], f"{out}/night", "/tmp/plm-compare-detection.json"],
    check=True, capture_output=True, text=True).stdout
with open(f"{out}/score_py.json", "w") as f:
    json.dump(json.loads(scored), f, indent=1)
    f.write("\n")
