"""Reads tests/golden/export/lm-annotations.edf (written by plm-detect's EDF+ annotation
export, see tests/golden_export.rs) with pyedflib (EDFlib, an independent implementation)
and writes what it reads: the start, then one row per annotation.

    pip install pyedflib
    python3 tests/golden/make_export.py   # from the repository root
"""
import pyedflib

PATH = "tests/golden/export/lm-annotations.edf"
f = pyedflib.EdfReader(PATH)
onsets, durations, texts = f.readAnnotations()
with open("tests/golden/export/lm-annotations.expected.csv", "w") as out:
    out.write(f"# read by pyedflib {pyedflib.__version__} from {PATH}\n")
    out.write(f"start,{f.getStartdatetime():%Y-%m-%d %H:%M:%S}\n")
    out.write("onset_s,duration_s,text\n")
    for on, du, t in zip(onsets, durations, texts):
        out.write(f"{float(on)!r},{float(du)!r},{t}\n")
f.close()
