#!/usr/bin/env python3
"""Writes the scoring-export fixtures of data/context/ from the 15-minute sample night.

Each file holds the night's scoring (data/emg-256hz-15min.hyp.csv, .truth.csv,
context/emg-256hz-15min.arousals.csv) as another program writes it, with the quirks of
its format: a few respiratory events (the night has none in CSV), events of types
scoring does not use, CRLF line ends, decimal commas, times rolling over midnight.
Layouts follow the descriptions in src/io/annotations/*.rs. Run from the repository
root; the output is deterministic.

    python3 data/context/make-exports.py
"""
import csv, datetime as dt, os, struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
D = os.path.join(ROOT, "data")
OUT = os.path.join(D, "context")
N = "emg-256hz-15min"

hyp = [(float(r["epoch_start_s"]), r["stage"]) for r in csv.DictReader(open(f"{D}/{N}.hyp.csv"))]
lms = [(float(r["onset_s"]), float(r["offset_s"]), r["side"]) for r in csv.DictReader(open(f"{D}/{N}.truth.csv"))]
arousals = [(float(r["onset_s"]), float(r["offset_s"])) for r in csv.DictReader(open(f"{OUT}/{N}.arousals.csv"))]
# Respiratory events of the fixtures: (onset, duration, kind).
resp = [(300.0, 14.5, "obstructive"), (420.25, 11.0, "hypopnea"), (610.0, 12.0, "central")]
EDF_START = dt.datetime(2024, 3, 1, 22, 30, 5)      # the start in data/emg-256hz-15min.edf
CLOCK_START = dt.datetime(2024, 3, 1, 23, 52, 30)  # crosses midnight 450 s in


def at(t, start=CLOCK_START):
    return start + dt.timedelta(seconds=t)


def write(name, text, crlf=False):
    data = text.replace("\n", "\r\n") if crlf else text
    with open(os.path.join(OUT, name), "w", newline="") as f:
        f.write(data)


def hms(t, start=CLOCK_START, sep=":", frac="."):
    c = at(t, start)
    s = c.strftime(f"%H{sep}%M{sep}%S")
    return s + (f"{frac}{c.microsecond // 1000:03d}" if frac else "")


STAGE_DIGIT = {"W": 0, "N1": 1, "N2": 2, "N3": 3, "R": 5}
# N3 epochs alternate between R&K stages 3 and 4 in formats that keep them.
def rk(i, s):
    return "S4" if s == "N3" and i % 2 else {"W": "S0", "N1": "S1", "N2": "S2", "N3": "S3", "R": "REM"}[s]


def profusion():
    ev = []
    ev.append(("Technician Notes", "", "0", ""))  # an empty Start: never used by scoring
    ev.append(("SpO2 desaturation", "250.0", "Invalid Duration", "SpO2"))
    for on, du, kind in resp:
        name = {"obstructive": "Obstructive Apnea", "hypopnea": "Hypopnea", "central": "Central Apnea"}[kind]
        ev.append((name, f"{on}", f"{du}", "Airflow"))
    for on, off in arousals:
        ev.append(("Arousal ()", f"{on}", f"{off - on:.3f}", "C3"))
    for on, off, side in lms:
        ev.append((f"Limb Movement ({side.title()})", f"{on}", f"{off - on:.3f}", f"Leg {side[0].upper()}"))
    body = "".join(
        f"<ScoredEvent>\n<Name>{n}</Name>\n<Start>{s}</Start>\n<Duration>{d}</Duration>\n<Input>{i}</Input>\n</ScoredEvent>\n"
        for n, s, d, i in ev
    )
    stages = "".join(f"<SleepStage>{4 if s == 'N3' and i % 2 else STAGE_DIGIT[s]}</SleepStage>\n" for i, (_, s) in enumerate(hyp))
    write(f"{N}-profusion.xml", f"""<?xml version="1.0" encoding="utf-8"?>
<CMPStudyConfig>
<EpochLength>30</EpochLength>
<StepChannels>
<StepChannel><Input>Light</Input><Labels><Label>ON</Label><Label>OFF</Label></Labels></StepChannel>
</StepChannels>
<ScoredEvents>
{body}</ScoredEvents>
<SleepStages>
{stages}</SleepStages>
</CMPStudyConfig>
""", crlf=True)


def sdo_nsrr():
    sdo = {"W": "SDO:WakeState", "N1": "SDO:NonRapidEyeMovementSleep-N1", "N2": "SRO:Stage2Sleep",
           "N3": "SDO:NonRapidEyeMovementSleep-N3", "R": "SRO:RapidEyeMovement"}
    ev = [("SDO:RecordingStartTime", "0", "900")]
    ev += [(sdo[s], f"{t}", "30.0") for t, s in hyp]
    ev += [({"obstructive": "SDO:ObstructiveApneaFinding", "hypopnea": "SDO:HypopneaFinding",
             "central": "SRO:CentralApnea"}[k], f"{on}", f"{du}") for on, du, k in resp]
    ev += [("SDO:OxygenDesaturationFinding", "250", "20")]
    ev += [("SDO:SleepArousalFinding", f"{on}", f"{off - on:.3f}") for on, off in arousals]
    body = "".join(
        f"<ScoredEvent>\n<EventConcept>{c}</EventConcept>\n<Start>{s}</Start>\n<Duration>{d}</Duration>\n</ScoredEvent>\n"
        for c, s, d in ev
    )
    write(f"{N}-sdo-nsrr.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<PSGAnnotation>
<SoftwareVersion>Luna</SoftwareVersion>
<EpochLength>30</EpochLength>
<ScoredEvents>
{body}</ScoredEvents>
</PSGAnnotation>
""")


def embla():
    iso = lambda t: at(t, EDF_START).strftime("%Y-%m-%dT%H:%M:%S.%f")
    ev = []
    for i, (t, s) in enumerate(hyp):
        ev.append((f"SLEEP-{rk(i, s)}", t, 30.0, None))
    for on, du, k in resp:
        ev.append(({"obstructive": "APNEA-OBSTRUCTIVE", "hypopnea": "HYPOPNEA", "central": "APNEA-CENTRAL"}[k], on, du, None))
    for on, off in arousals:
        ev.append(("AROUSAL-SPONT", on, off - on, None))
    for on, off, side in lms:
        ev.append((f"LM-{side.upper()}", on, off - on, None))
    ev.append(("POSITION-SUPINE", 0.0, 900.0, None))
    ev.append(("SNORE", 500.0, 1.0, None))
    out = []
    for k, (typ, on, du, _) in enumerate(ev):
        # Half the events give a StopTime, half a Duration.
        end = f"<StopTime>{iso(on + du)}</StopTime>" if k % 2 else f"<Duration>{du:.3f}</Duration>"
        out.append(f"  <Event>\n   <Type>{typ}</Type>\n   <StartTime>{iso(on)}</StartTime>\n   {end}\n  </Event>\n")
    write(f"{N}-embla.xml", '<?xml version="1.0" encoding="utf-8"?>\n<EventExport>\n <Events>\n' + "".join(out) + " </Events>\n</EventExport>\n")


def remlogic():
    rows = [(-20.0, "LIGHTS-OFF", 0.0, ""), (-10.0, "right-LM", 1.0, "EMG.Tibialis-Leg.Right")]
    rows += [(t, f"SLEEP-{rk(i, s)}", 30.0, "") for i, (t, s) in enumerate(hyp)]
    rows += [(on, {"obstructive": "APNEA-OBSTRUCTIVE", "hypopnea": "HYPOPNEA", "central": "APNEA-CENTRAL"}[k], du, "Flow")
             for on, du, k in resp]
    rows += [(on, "AROUSAL-LM" if i % 3 == 0 else "AROUSAL", off - on, "EEG") for i, (on, off) in enumerate(arousals)]
    # Leg movements: `LM` with the leg in Location, or the side in the name; a side-less
    # `PLM-LM` marking repeats some of them.
    for i, (on, off, side) in enumerate(lms):
        if i % 2:
            rows.append((on, f"{side}-LM", off - on, ""))
        else:
            rows.append((on, "LM", off - on, f"EMG.Tibialis-Leg.{side.title()}"))
        if i % 4 == 1:
            rows.append((on, "PLM-LM", off - on, ""))
    rows += [(350.0, "POS-SUPINE", 0.0, ""), (700.0, "DESAT", 12.0, "SpO2")]
    rows.sort(key=lambda r: r[0])
    table = "".join(f"{hms(t)}\t{e}\t{d:.3f}\t{l}\n" for t, e, d, l in rows)
    write(f"{N}-remlogic.txt", f"""RemLogic Event Export
Patient:\tTest, Night
Patient ID:\t0001
Recording Date:\t01/03/2024
Events Included:
\tSLEEP-S0
\tSLEEP-S1
\tSLEEP-S2
\tSLEEP-S3
\tSLEEP-S4
\tSLEEP-REM
\tLM
\tright-LM
\tleft-LM
\tPLM-LM
\tAROUSAL
\tAROUSAL-LM
Scoring Session:
\tScorer:\tTechnician
\tSource:\tPSG

Time [hh:mm:ss.xxx]\tEvent\tDuration[s]\tLocation
{table}""", crlf=True)


def event_list():
    rows = [(at(on).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3], f"{side}-LM", f"{off - on:.3f}") for on, off, side in lms]
    write(f"{N}-lms.txt", "Start\tType\tDuration\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows))


def domino():
    stage = {"W": "Wake", "N1": "N1", "N2": "N2", "N3": "N3", "R": "REM"}
    start = CLOCK_START.strftime("%d.%m.%Y %H:%M:%S")
    prof = "".join(f"{hms(t, frac=',')}; {stage[s] if i != 12 else 'A'}\n" for i, (t, s) in enumerate(hyp))
    write(f"{N}-domino-profile.txt", f"""Signal ID: SchlafProfil\\profil
Start Time: {start}
Unit:
Signal Type: Discret
Events list: N4,N3,N2,N1,REM,Wake,Movement,A
Rate: 30 s

{prof}""", crlf=True)
    rows = [(on, off, "Arousal (EEG)" if i % 2 else "PLM Arousal (EEG)") for i, (on, off) in enumerate(arousals)]
    rows += [(on, on + du, {"obstructive": "Obstructive Apnea", "hypopnea": "Hypopnea", "central": "Central Apnea"}[k]) for on, du, k in resp]
    rows += [(on, off, f"Leg Movement {side}") for on, off, side in lms]
    rows += [(200.0, 201.0, "Snoring"), (400.0, 410.0, "Desaturation")]
    rows.sort()
    ev = "".join(f"{hms(a, frac=',')}-{hms(b, frac=',')}; {round(b - a)};{n}\n" for a, b, n in rows)
    write(f"{N}-domino-events.txt", f"""Signal ID: Events
Start Time: {start}
Unit:
Signal Type: Impuls
Events list: Arousal (EEG),PLM Arousal (EEG),Obstructive Apnea,Hypopnea,Central Apnea,Leg Movement left,Leg Movement right

{ev}""", crlf=True)


def cap():
    rows = [(t, s, f"SLEEP-{rk(i, s)}" if i != 20 else "SLEEP-MT", 30) for i, (t, s) in enumerate(hyp)]
    phases = [(on, "MCAP-A1" if i % 2 else "MCAP-A2", round(off - on)) for i, (on, off) in enumerate(arousals) if i < 6]
    out = []
    for t, s, e, d in rows:
        out.append((t, {"W": "W", "N1": "S1", "N2": "S2", "N3": "S3", "R": "R"}[s], e, d, "ROC-LOC"))
    cur = lambda t: next((x[1] for x in reversed(out) if x[0] <= t), "W")
    for on, e, d in phases:
        out.append((on, cur(on), e, d, "C4-A1"))
    out.sort(key=lambda r: r[0])
    table = "".join(f"{s}\tUnknown Position\t{hms(t, sep='.', frac=None)}\t{e}\t{d}\t{l}\n" for t, s, e, d, l in out)
    write(f"{N}-cap.txt", f"""Patient Name:\tn99
Room #:\t
Recording Date:\t01/03/2024
Events Included:
SLEEP-S0
SLEEP-S1
SLEEP-S2
SLEEP-S3
SLEEP-S4
SLEEP-REM
SLEEP-MT
MCAP-A1
MCAP-A2
MCAP-A3

Sleep Stage\tPosition\tTime [hh.mm.ss]\tEvent\tDuration [s]\tLocation
{table}""")


def edf_plus():
    """An annotations-only EDF+ file as PLMScoRe and Polyman write one: LMs as
    `Limb movement@@LAT`/`@@RAT` on the legs' channels, and the night's other scoring."""
    tals = ["+0\x14\x14\x00"]
    names = {"W": "Sleep stage W", "N1": "Sleep stage N1", "N2": "Sleep stage N2", "N3": "Sleep stage N3", "R": "Sleep stage R"}
    items = [(t, 30.0, names[s]) for t, s in hyp]
    items += [(on, du, {"obstructive": "Obstructive apnea", "hypopnea": "Hypopnea", "central": "Central apnea"}[k] + "@@Flow") for on, du, k in resp]
    items += [(on, off - on, "Arousal@@C3-A2") for on, off in arousals]
    items += [(on, off - on, "Limb movement@@" + ("LAT" if side == "left" else "RAT")) for on, off, side in lms]
    items += [(0.0, None, "Lights off")]
    items.sort(key=lambda x: x[0])
    for t, d, text in items:
        dur = "" if d is None else f"\x15{d:g}"
        tals.append(f"+{t:g}{dur}\x14{text}\x14\x00")
    data = "".join(tals).encode()
    ns = (len(data) + 1) // 2
    data = data.ljust(ns * 2, b"\x00")
    f = lambda s, n: s.ljust(n)[:n].encode()
    header = (f("0", 8) + f("X X X X", 80) + f("Startdate 01-MAR-2024 X PLMScoRe X", 80) + f(EDF_START.strftime("%d.%m.%y"), 8)
              + f(EDF_START.strftime("%H.%M.%S"), 8) + f(str(512), 8) + f("EDF+C", 44) + f("1", 8) + f("0", 8) + f("1", 4))
    sig = (f("EDF Annotations", 16) + f("", 80) + f("", 8) + f("-1", 8) + f("1", 8) + f("-32768", 8) + f("32767", 8)
           + f("", 80) + f(str(ns), 8) + f("", 32))
    with open(os.path.join(OUT, f"{N}-plmscore.edf"), "wb") as out:
        out.write(header + sig + data)


for make in (profusion, sdo_nsrr, embla, remlogic, event_list, domino, cap, edf_plus):
    make()
