"""Writes the EDF and BDF golden files with pyedflib (EDFlib, an independent implementation) and
the physical values pyedflib reads back from them; also data/emg-256hz-15min.edf, the
sample night data/emg-256hz-15min.csv as a polysomnography export.

    pip install pyedflib numpy pandas
    python3 tests/golden/make_edf.py   # from the repository root
"""
import datetime

import numpy as np
import pandas as pd
import pyedflib


def header(label, dim, fs, lo, hi, bits=16):
    return {
        "label": label, "dimension": dim, "sample_frequency": fs,
        "physical_min": lo, "physical_max": hi,
        "digital_min": -(2 ** (bits - 1)), "digital_max": 2 ** (bits - 1) - 1,
        "transducer": "", "prefilter": "",
    }


def write(path, file_type, headers, signals, start):
    f = pyedflib.EdfWriter(path, len(headers), file_type=file_type)
    f.setSignalHeaders(headers)
    f.setStartdatetime(start)
    f.writeSamples(signals)
    f.close()


night = pd.read_csv("data/emg-256hz-15min.csv")
left, right = night["left_uv"].to_numpy(), night["right_uv"].to_numpy()
start = datetime.datetime(2024, 3, 1, 22, 30, 5)

# 1. EDF+C: a polysomnogram's mix of rates and units; legs as bipolar EMG derivations.
n = 20 * 256
t = np.arange(n) / 256
psg = "tests/golden/edf/psg-edfplus.edf"
write(
    psg, pyedflib.FILETYPE_EDFPLUS,
    [
        header("EEG C3-A2", "uV", 128, -500, 500),
        header("EMG LAT1-LAT2", "uV", 256, -1000, 1000),
        header("EMG RAT1-RAT2", "uV", 256, -1000, 1000),
        header("ECG", "mV", 256, -5, 5),
    ],
    [
        50 * np.sin(2 * np.pi * 10 * np.arange(n // 2) / 128),
        left[:n], right[:n],
        np.sin(2 * np.pi * t),
    ],
    start,
)
# 2. Plain EDF (1992): labels and millivolts as older systems export them.
old = "tests/golden/edf/legs-edf.edf"
write(
    old, pyedflib.FILETYPE_EDF,
    [header("Leg L", "mV", 200, -2, 2), header("Leg R", "mV", 200, -2, 2)],
    [left[:4000] / 1000, right[:4000] / 1000],
    start,
)
# 3. BDF+ (24-bit): legs at 512 Hz (each sample night value twice) beside an ECG at
# 256 Hz, with two stage annotations.
n = 20 * 256
bdf = "tests/golden/edf/legs-bdfplus.bdf"
f = pyedflib.EdfWriter(bdf, 3, file_type=pyedflib.FILETYPE_BDFPLUS)
f.setSignalHeaders([
    header("EMG Leg L", "uV", 512, -2000, 2000, bits=24),
    header("EMG Leg R", "uV", 512, -2000, 2000, bits=24),
    header("ECG", "mV", 256, -5, 5, bits=24),
])
f.setStartdatetime(start)
f.writeAnnotation(0, 10, "Sleep stage W")
f.writeAnnotation(10, 10, "Sleep stage N2")
f.writeSamples([np.repeat(left[:n], 2), np.repeat(right[:n], 2), np.sin(2 * np.pi * t)])
f.close()
# What pyedflib reads back (physical units), every 5th sample.
for path, names in [
    (psg, ["EMG LAT1-LAT2", "EMG RAT1-RAT2"]),
    (old, ["Leg L", "Leg R"]),
    (bdf, ["EMG Leg L", "EMG Leg R"]),
]:
    r = pyedflib.EdfReader(path)
    labels = r.getSignalLabels()
    cols = {}
    for name in names:
        i = labels.index(name)
        cols[name] = r.readSignal(i)
        cols[name + " rate"] = r.getSampleFrequency(i)
    r.close()
    m = len(cols[names[0]])
    with open(path.rsplit(".", 1)[0] + ".expected.csv", "w") as out:
        out.write(f"# {names[0]} and {names[1]} as pyedflib reads them, every 5th sample; "
                  f"rate {cols[names[0] + ' rate']} Hz; {m} samples\n")
        out.write("index,left,right\n")
        for k in range(0, m, 5):
            out.write(f"{k},{float(cols[names[0]][k])!r},{float(cols[names[1]][k])!r}\n")

# 4. The 15-minute sample night as an EDF+ file.
lim = float(np.ceil(max(abs(left).max(), abs(right).max()) * 1.05))
write(
    "data/emg-256hz-15min.edf", pyedflib.FILETYPE_EDFPLUS,
    [header("EMG Leg L", "uV", 256, -lim, lim), header("EMG Leg R", "uV", 256, -lim, lim)],
    [left, right],
    start,
)
