"""Writes data/context/emg-256hz-15min-nsrr.xml: the sample night's hypnogram (stages
merged into runs, as NSRR writes them), arousals and true leg movements as an NSRR
`PSGAnnotation` file. Every LM is written twice, as a `Limb movement` and as a `Periodic
leg movement` event, to check that the two markings of one movement count once; a
desaturation checks that it is not taken for a respiratory event.

    python3 tests/golden/make_nsrr.py   # from the repository root
"""
import csv

name = "emg-256hz-15min"
concept = {"W": "Wake|0", "N1": "Stage 1 sleep|1", "N2": "Stage 2 sleep|2",
           "N3": "Stage 3 sleep|3", "R": "REM sleep|5"}


def event(kind, what, start, duration):
    return (f"<ScoredEvent>\n<EventType>{kind}</EventType>\n<EventConcept>{what}</EventConcept>\n"
            f"<Start>{start}</Start>\n<Duration>{duration}</Duration>\n</ScoredEvent>\n")


out = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<PSGAnnotation>\n'
       "<SoftwareVersion>Compumedics</SoftwareVersion>\n<EpochLength>30</EpochLength>\n"
       "<ScoredEvents>\n"]
epochs = [(float(r["epoch_start_s"]), r["stage"]) for r in csv.DictReader(open(f"data/{name}.hyp.csv"))]
run_start, run_stage, n = epochs[0][0], epochs[0][1], 0
for start, stage in epochs + [(None, None)]:
    if stage != run_stage:
        out.append(event("Stages|Stages", concept[run_stage], f"{run_start:.1f}", f"{30 * n:.1f}"))
        run_start, run_stage, n = start, stage, 0
    n += 1
for r in csv.DictReader(open(f"data/context/{name}.arousals.csv")):
    on, off = float(r["onset_s"]), float(r["offset_s"])
    out.append(event("Arousals|Arousals", "ASDA arousal|Arousal (ASDA)", r["onset_s"], f"{off - on:.3f}"))
out.append(event("Respiratory|Respiratory", "SpO2 desaturation|SpO2 desaturation", "300.0", "25.0"))
for r in csv.DictReader(open(f"data/{name}.truth.csv")):
    on, off, side = float(r["onset_s"]), float(r["offset_s"]), r["side"]
    dur = f"{off - on:.3f}"
    label = side.capitalize()
    out.append(event("Limb Movement|Limb Movement", f"Limb movement - {side}|Limb Movement ({label})", r["onset_s"], dur))
    out.append(event("Limb Movement|Limb Movement", f"Periodic leg movement - {side}|PLM ({label})", r["onset_s"], dur))
out.append("</ScoredEvents>\n</PSGAnnotation>\n")
open(f"data/context/{name}-nsrr.xml", "w").write("".join(out))
