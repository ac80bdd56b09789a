#!/usr/bin/env python3
"""Writes filter_golden.json: reference values from scipy for tests/golden_filter.rs.

Run with scipy installed (`pip install numpy scipy`): python3 tests/golden/make_golden.py
"""
import json, os
import numpy as np
from scipy import signal

N = 600
i = np.arange(N)
x = np.sin(0.1 * i) + 0.5 * np.sin(1.3 * i) + 0.01 * i + ((i * 7919) % 13 - 6) / 6.0

def case(name, kind, order, edges, fs, notches=()):
    out = {"name": name, "kind": kind, "order": order, "edges_hz": list(edges), "fs_hz": fs,
           "notches": [{"f0_hz": f, "q": q} for f, q in notches]}
    parts = []
    if kind:
        btype = {"bandpass": "bandpass", "lowpass": "lowpass", "highpass": "highpass"}[kind]
        wn = edges if kind == "bandpass" else edges[0]
        sos = signal.butter(order, wn, btype, fs=fs, output="sos")
        z, p, k = signal.butter(order, wn, btype, fs=fs, output="zpk")
        out["poles"] = sorted([[c.real, c.imag] for c in p])
        parts.append(sos)
    for f, q in notches:
        b, a = signal.iirnotch(f, q, fs=fs)
        out.setdefault("notch_ba", []).append(list(b) + list(a))
        parts.append(np.hstack([b, a])[None, :])
    sos = np.vstack(parts)
    out["scipy_sos"] = sos.tolist()
    freqs = np.linspace(0.5, fs / 2 - 0.5, 32)
    _, h = signal.sosfreqz(sos, worN=freqs, fs=fs)
    out["response_freqs_hz"] = freqs.tolist()
    out["response"] = [[c.real, c.imag] for c in h]
    out["filtfilt_out"] = signal.sosfiltfilt(sos, x).tolist()
    return out

cases = [
    case("bandpass4_10_100_fs256", "bandpass", 4, (10, 100), 256.0),
    case("bandpass4_10_90_fs200", "bandpass", 4, (10, 90), 200.0),
    case("bandpass3_10_100_fs512", "bandpass", 3, (10, 100), 512.0),
    case("bandpass2_20_60_fs128", "bandpass", 2, (20, 60), 128.0),
    case("lowpass5_20_fs100", "lowpass", 5, (20,), 100.0),
    case("highpass2_0.5_fs50", "highpass", 2, (0.5,), 50.0),
    case("bandpass4_10_100_fs256_notch50", "bandpass", 4, (10, 100), 256.0, [(50.0, 30.0)]),
    case("notch60_q30_fs512", None, 0, (), 512.0, [(60.0, 30.0), (120.0, 30.0)]),
]
doc = {"input": x.tolist(), "cases": cases}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "filter_golden.json"), "w") as f:
    json.dump(doc, f, separators=(",", ":"))
