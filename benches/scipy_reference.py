"""The Python/scipy pipeline that plm-detect's speed is compared with (README, Performance).

The same stages on the same file, written the way a scientist would with numpy/scipy/pandas:
read the CSV (pandas' C parser), 4th-order Butterworth band-pass 10-100 Hz run forward and
backward (scipy.signal.sosfiltfilt), rectify, 10-ms block means, 0.25-s running median
(scipy.ndimage.median_filter), resting level as the 30th percentile of 5-s segments, and
+8 / +2 uV hysteresis with the 0.5-s offset rule. It is a timing reference only: no spike
clipping, notch, noise margins or scoring, so it does less work than plm-detect.

Usage: python3 benches/scipy_reference.py NIGHT.csv
Prints the wall time of each stage, the total, the movements found and the peak memory.
"""

import resource
import sys
import time

import numpy as np
import pandas as pd
from scipy import ndimage, signal


def main(path):
    t0 = time.perf_counter()
    stamps = {}
    frame = pd.read_csv(path)
    stamps["read"] = time.perf_counter()
    t = frame.iloc[:, 0].to_numpy()
    fs = (len(t) - 1) / (t[-1] - t[0])
    legs = [frame[c].to_numpy(dtype=float) for c in frame.columns[1:3]]
    del frame
    sos = signal.butter(4, [10, 100], btype="bandpass", fs=fs, output="sos")
    filtered = [signal.sosfiltfilt(sos, x) for x in legs]
    stamps["filter"] = time.perf_counter()
    block = max(1, round(fs * 0.01))
    rate = fs / block
    found = 0
    for y in filtered:
        n = len(y) // block * block
        means = np.abs(y[:n]).reshape(-1, block).mean(axis=1)
        amp = ndimage.median_filter(means, size=int(round(0.25 * rate)) | 1, mode="nearest")
        seg = int(round(5 * rate))
        nseg = len(amp) // seg
        rest_seg = np.percentile(amp[: nseg * seg].reshape(nseg, seg), 30, axis=1)
        rest = np.repeat(rest_seg, seg)
        rest = np.concatenate([rest, np.full(len(amp) - len(rest), rest_seg[-1])])
        above = amp > rest + 8.0
        quiet = amp <= rest + 2.0
        # Hysteresis: an LM starts above +8 uV and ends after 0.5 s at or below +2 uV.
        need = int(round(0.5 * rate))
        k, end = 0, len(amp)
        starts = np.flatnonzero(above)
        quiet_run = ndimage.uniform_filter1d(quiet.astype(float), need, origin=-(need // 2))
        while True:
            i = np.searchsorted(starts, k)
            if i >= len(starts):
                break
            onset = starts[i]
            offsets = np.flatnonzero(quiet_run[onset:] >= 1.0 - 1e-9)
            offset = onset + offsets[0] if len(offsets) else end
            dur = (offset - onset) / rate
            found += 0.5 <= dur <= 10.0
            k = offset + need
    stamps["envelope+detect"] = time.perf_counter()
    prev = t0
    for name, at in stamps.items():
        print(f"{name}: {at - prev:.2f} s")
        prev = at
    print(f"total: {prev - t0:.2f} s; {found} movements")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1])
