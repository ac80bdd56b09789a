//! A seeded mutation fuzz loop over every reader's byte entry point, bounded in time so
//! that it runs in `cargo test` (and so in CI, on stable).
//!
//! Valid inputs of every kind (a CSV night of EMG and one of accelerometers, EDF, EDF+
//! and BDF+ files written by pyedflib, NSRR XML, EDF+ annotations, hypnogram, respiratory,
//! arousal and LM lists, detector and rules configurations) are damaged in seeded ways:
//! bits flipped, bytes and ranges deleted, duplicated or replaced, numbers swapped for
//! hostile ones (`1e-300`, `1e308`, `9007199254740993`, `-1`, `NaN`), lines repeated,
//! files cut. Each damaged input goes through its reader and, when it is read, through
//! detection and scoring. Every case must end in `Ok` or an [`Error`] whose message is
//! one line: never a panic. Its memory (counted by this binary's allocator) and its time
//! are bounded.
//!
//! `FUZZ_CASES` sets the number of cases (default 20 000, a few seconds); `FUZZ_SEED` the first
//! seed. A failing case prints its seed, target and input, to be kept as a regression
//! test beside the readers.

// The one `unsafe` of the package: a global allocator that counts, forwarding to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use plm_detect::compare::read_reference_from;
use plm_detect::io::{
    read_arousals_from, read_hypnogram_from, read_leg_movements_from, read_respiratory_from,
};
use plm_detect::{
    Context, Detector, DetectorConfig, Error, Night, Reader, Report, Rules, Span, score,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = IN_USE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a damaged input is fed to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// `Reader::read_from`, then detection and scoring.
    Night,
    /// Every context reader, and the reference reader of `compare`.
    Context,
    /// `read_leg_movements_from`, then `score`.
    LmList,
    /// `DetectorConfig::from_json` and `Rules::from_json_over`, then `Detector::new`.
    Config,
    /// `DeviceFile::read_from`, then an hour of it on the grid, detected and scored.
    Device,
}

/// The valid inputs damaged, with their targets.
fn seeds() -> Vec<(&'static str, Target, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = |p: &str| std::fs::read(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let head = |p: &str, lines: usize| -> Vec<u8> {
        let text = String::from_utf8(file(p)).unwrap();
        let mut s: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
        s.push('\n');
        s.into_bytes()
    };
    vec![
        // 4 s of two-leg EMG at 256 Hz, and 8 s of two ankles at 50 Hz.
        ("emg.csv", Target::Night, head("data/emg-256hz-15min.csv", 1_025)),
        ("accel.csv", Target::Night, head("data/accel-50hz-15min.csv", 401)),
        ("legs.edf", Target::Night, file("tests/golden/edf/legs-edf.edf")),
        ("psg.edf", Target::Night, file("tests/golden/edf/psg-edfplus.edf")),
        ("legs.bdf", Target::Night, file("tests/golden/edf/legs-bdfplus.bdf")),
        ("nsrr.xml", Target::Context, file("data/context/emg-256hz-15min-nsrr.xml")),
        (
            "hypnogram.edf",
            Target::Context,
            file("data/context/emg-256hz-15min-hypnogram.edf"),
        ),
        ("hyp.csv", Target::Context, file("data/emg-256hz-15min.hyp.csv")),
        ("resp.csv", Target::Context, file("data/context/emg-256hz-15min.resp.csv")),
        (
            "arousals.csv",
            Target::Context,
            file("data/context/emg-256hz-15min.arousals.csv"),
        ),
        ("truth.csv", Target::LmList, file("data/emg-256hz-15min.truth.csv")),
        // Scoring exports of other software, as context and as LM lists.
        ("profusion.xml", Target::Context, file("data/context/emg-256hz-15min-profusion.xml")),
        ("sdo-nsrr.xml", Target::Context, file("data/context/emg-256hz-15min-sdo-nsrr.xml")),
        ("embla.xml", Target::Context, file("data/context/emg-256hz-15min-embla.xml")),
        ("remlogic.txt", Target::Context, file("data/context/emg-256hz-15min-remlogic.txt")),
        ("remlogic-lms.txt", Target::LmList, file("data/context/emg-256hz-15min-remlogic.txt")),
        ("domino.txt", Target::Context, file("data/context/emg-256hz-15min-domino-events.txt")),
        ("domino-profile.txt", Target::Context, file("data/context/emg-256hz-15min-domino-profile.txt")),
        ("cap.txt", Target::Context, file("data/context/emg-256hz-15min-cap.txt")),
        ("plmscore.edf", Target::LmList, file("data/context/emg-256hz-15min-plmscore.edf")),
        // Device files: real ones (GGIRread's) and ones the crate's writers make.
        ("ax3.cwa", Target::Device, file("data/devices/ax3_testfile.cwa")),
        ("ax6.cwa", Target::Device, file("data/devices/ax6_testfile.cwa")[..40 * 1024].to_vec()),
        ("geneactiv.bin", Target::Device, file("data/devices/GENEActiv_testfile.bin")),
        ("device.gt3x", Target::Device, device_file(true)),
        ("actilife.csv", Target::Device, device_file(false)),
        (
            "detector.json",
            Target::Config,
            br#"{"highpass_hz": 10, "notch": {"fixed": 50}, "envelope": {"rest_half_window_s": 30, "spike_guard_s": 0.15, "envelope_median_s": 0.25}, "accel": {"onset_mg": 12}}"#.to_vec(),
        ),
        (
            "rules.json",
            Target::Config,
            br#"{"imi_min_s": 10, "imi_max_s": 90, "epoch_s": 30, "min_lm_s": 0.5, "offset_quiet_s": 0.5}"#.to_vec(),
        ),
    ]
}

/// A minute of an ankle at 30 Hz written as a GT3X zip (`gt3x`) or an ActiLife CSV.
fn device_file(gt3x: bool) -> Vec<u8> {
    use plm_detect::sim::devices::{ActiLifeCsv, DeviceSignal, Gt3x};
    let axes: [Vec<f64>; 3] = std::array::from_fn(|a| {
        (0..1800)
            .map(|i| ((i * (a + 1)) as f64 * 0.01).sin() * 0.3 + 0.5)
            .collect()
    });
    let signal = DeviceSignal {
        axes_g: [&axes[0], &axes[1], &axes[2]],
        rate_hz: 30.0,
        nominal_hz: 30.0,
        start_s: 1_709_676_000.0,
    };
    let mut out = Cursor::new(Vec::new());
    if gt3x {
        Gt3x {
            serial: "MOS2E1".into(),
            packed_12bit: true,
            idle_s: vec![(20, 25)],
            nhanes: false,
        }
        .write(&signal, &mut out)
        .unwrap();
    } else {
        ActiLifeCsv { timestamps: true }
            .write(&signal, &mut out)
            .unwrap();
    }
    out.into_inner()
}

/// Numbers and tokens that break readers which trust what a file says.
const HOSTILE: &[&str] = &[
    "1e-300",
    "1e308",
    "-1e308",
    "9007199254740993",
    "18446744073709551617",
    "-1",
    "0",
    "-0",
    "NaN",
    "inf",
    "1e20",
    "3e6",
    "0.0000001",
    "\"",
    "\"\n\"",
    "\n",
    "\r\n",
    ",,,,",
    ";",
    "\t",
    "\u{7}",
    "é",
    "</ScoredEvent>",
    "<ScoredEvent><Start>1e300</Start><Duration>1e300</Duration></ScoredEvent>",
    "+100000\u{14}\u{14}\0",
    "+1e-300\u{14}\u{14}\0",
    "EDF+D",
    "BDF+D",
    "-1      ",
    "99999999",
    "1e-300  ",
];

/// Numbers put in place of a file's own: hostile, and still numbers, so that the file
/// stays well-formed around them.
const NUMBERS: &[&str] = &[
    "1e-300",
    "1e308",
    "-1e308",
    "9007199254740993",
    "-1",
    "0",
    "-0",
    "1e20",
    "3e6",
    "100000",
    "0.0000001",
    "1e5",
    "NaN",
    "43194",
    "2",
];

/// The byte range of a number (digits, with sign, point and exponent) around or after
/// `at`, if any.
fn number_at(v: &[u8], at: usize) -> Option<(usize, usize)> {
    let is_num = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E');
    let p = at + v.get(at..)?.iter().position(u8::is_ascii_digit)?;
    let start = (0..p)
        .rev()
        .take_while(|&i| is_num(v[i]))
        .last()
        .unwrap_or(p);
    let end = (p..v.len()).find(|&i| !is_num(v[i])).unwrap_or(v.len());
    Some((start, end))
}

/// `input` damaged by one to three seeded mutations (most often one).
fn mutate(input: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut v = input.to_vec();
    let count = [1, 1, 1, 2, 2, 3][rng.random_range(0..6)];
    for _ in 0..count {
        let len = v.len().max(1);
        let at = rng.random_range(0..len).min(v.len());
        match rng.random_range(0..13) {
            9..=12 => {
                // A number of the file replaced by a hostile one.
                if let Some((a, b)) = number_at(&v, at) {
                    let n = NUMBERS[rng.random_range(0..NUMBERS.len())].as_bytes();
                    v.splice(a..b, n.iter().copied());
                }
            }
            0 => {
                if let Some(b) = v.get_mut(at) {
                    *b ^= 1 << rng.random_range(0..8);
                }
            }
            1 => {
                if let Some(b) = v.get_mut(at) {
                    *b = rng.random();
                }
            }
            2 => {
                let end = (at + rng.random_range(1..64)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                // A range repeated: a line or a record many times.
                let end = (at + rng.random_range(1..200)).min(v.len());
                let piece = v[at..end].to_vec();
                for _ in 0..rng.random_range(1..50) {
                    v.splice(end..end, piece.iter().copied());
                }
            }
            4 => v.truncate(at),
            5 | 6 => {
                // A number or token put in place of what is there.
                let token = HOSTILE[rng.random_range(0..HOSTILE.len())].as_bytes();
                let end = (at + rng.random_range(0..12)).min(v.len());
                v.splice(at..end, token.iter().copied());
            }
            7 => {
                // An 8-byte header field (EDF) overwritten, padded as EDF pads.
                let field = 8 * rng.random_range(0..(v.len().min(2048) / 8).max(1));
                let token = HOSTILE[rng.random_range(0..HOSTILE.len())];
                let padded = format!("{token:<8}");
                for (i, b) in padded.bytes().take(8).enumerate() {
                    if let Some(x) = v.get_mut(field + i) {
                        *x = b;
                    }
                }
            }
            _ => {
                // A digit run lengthened: a number far out of range.
                if let Some(p) = v[at..].iter().position(u8::is_ascii_digit) {
                    let digits = vec![b'9'; rng.random_range(1..40)];
                    v.splice(at + p..at + p, digits);
                }
            }
        }
    }
    v
}

/// One line, and no panic: the promise of every error.
fn check_error(e: &Error) {
    let text = e.to_string();
    assert!(
        !text.contains('\n') && !text.contains('\r'),
        "multi-line: {text:?}"
    );
    assert!(!text.is_empty());
}

/// A report's events sorted and inside the recording.
fn check_report(r: &Report) {
    let duration = r.recording.duration_s;
    let mut last = f64::NEG_INFINITY;
    for m in &r.leg_movements {
        assert!(m.onset_s >= last, "leg movements out of order");
        assert!(m.onset_s >= 0.0 && m.offset_s >= m.onset_s, "{m:?}");
        assert!(m.offset_s <= duration + 1e-6, "{m:?} beyond {duration} s");
        last = m.onset_s;
    }
    for x in &r.recording.excluded {
        assert!(x.onset_s >= -1e-9 && x.offset_s <= duration + 1e-6, "{x:?}");
    }
}

/// How far a case got: refused by its reader, refused later, or read and scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Reached {
    Refused,
    Later,
    Scored,
}

/// Feeds `input` to `target`.
fn run(target: Target, input: &[u8], detector: &Detector) -> Reached {
    let name = Some(Path::new("fuzzed"));
    let owned = || Cursor::new(input.to_vec());
    match target {
        Target::Night => {
            let report = match Reader::new().read_from(owned(), name) {
                Ok(Night::Emg(r)) => detector.run(&r, &Context::default()),
                Ok(Night::Accel(r)) => detector.run_accel(&r, &Context::default()),
                Err(e) => {
                    check_error(&e);
                    return Reached::Refused;
                }
            };
            scored(&report)
        }
        Target::Context => {
            let outcomes = [
                read_hypnogram_from(owned(), name, 30.0).map(|_| ()),
                read_respiratory_from(owned(), name).map(|_| ()),
                read_arousals_from(owned(), name).map(|_| ()),
                read_reference_from(owned(), name).map(|_| ()),
            ];
            for e in outcomes.iter().filter_map(|o| o.as_ref().err()) {
                check_error(e);
            }
            if outcomes.iter().any(Result::is_ok) {
                Reached::Scored
            } else {
                Reached::Refused
            }
        }
        Target::LmList => match read_leg_movements_from(owned(), name) {
            Ok(lms) => {
                let span = Span {
                    duration_s: None,
                    excluded: &[],
                };
                scored(&score(&lms, &Context::default(), &Rules::wasm2016(), span))
            }
            Err(e) => {
                check_error(&e);
                Reached::Refused
            }
        },
        Target::Device => match plm_detect::DeviceFile::read_from(owned(), name) {
            Ok(d) => {
                let (a, b) = (d.first_s(), d.end_s().min(d.first_s() + 3600.0));
                let fs = plm_detect::io::grid_rate_hz([d.nominal_rate_hz()]);
                let ankles = [(plm_detect::Side::Left, &d, &[][..])];
                match plm_detect::io::ankle_night(&ankles, a, b, fs) {
                    Ok(r) => scored(&detector.run_accel(&r, &Context::default())),
                    Err(e) => {
                        check_error(&e);
                        Reached::Later
                    }
                }
            }
            Err(e) => {
                check_error(&e);
                Reached::Refused
            }
        },
        Target::Config => {
            let text = String::from_utf8_lossy(input);
            let detectors = [
                DetectorConfig::from_json(&text).and_then(|c| Detector::new(Rules::wasm2016(), c)),
                Rules::from_json_over(&Rules::wasm2016(), &text)
                    .and_then(|r| Detector::new(r, DetectorConfig::default())),
            ];
            let mut reached = Reached::Refused;
            for d in &detectors {
                match d {
                    // A configuration accepted must run a night.
                    Ok(d) => {
                        let night = plm_detect::simulate(&plm_detect::SimConfig {
                            duration_s: 60.0,
                            ..plm_detect::SimConfig::default()
                        })
                        .unwrap();
                        reached = scored(&d.run(&night.recording, &Context::default()));
                    }
                    Err(e) => check_error(e),
                }
            }
            reached
        }
    }
}

/// A scoring's outcome checked.
fn scored(report: &plm_detect::Result<Report>) -> Reached {
    match report {
        Ok(r) => {
            check_report(r);
            Reached::Scored
        }
        Err(e) => {
            check_error(e);
            Reached::Later
        }
    }
}

/// Memory a case may take: a constant for the buffers of a short night, plus a multiple
/// of its input (each input byte is at most one decoded sample of 8 bytes, held a few
/// times over by the stages).
fn memory_bound(input_len: usize) -> usize {
    (96 << 20) + 64 * input_len
}

/// Runs one case, catching a panic; returns its peak memory and time.
fn case(
    target: Target,
    input: &[u8],
    detector: &Detector,
) -> (Result<Reached, String>, usize, Duration) {
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| run(target, input, detector))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    });
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (outcome, peak, start.elapsed())
}

#[test]
fn damaged_inputs_never_panic_and_stay_within_memory_and_time() {
    let cases: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let first: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default()).unwrap();
    let seeds = seeds();
    // The valid inputs first: each must be read (a fuzz loop over inputs that fail at
    // once would test nothing).
    for (name, target, input) in &seeds {
        let (outcome, _, _) = case(*target, input, &detector);
        assert_eq!(outcome, Ok(Reached::Scored), "seed input {name}");
    }
    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut most_memory = 0usize;
    let mut reached = std::collections::HashMap::new();
    for seed in first..first + cases {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (name, target, input) = &seeds[(seed % seeds.len() as u64) as usize];
        let damaged = mutate(input, &mut rng);
        let (outcome, peak, time) = case(*target, &damaged, &detector);
        slowest = slowest.max(time);
        most_memory = most_memory.max(peak);
        if let Ok(r) = outcome {
            *reached.entry((*name, r)).or_insert(0usize) += 1;
        }
        let fault = match outcome {
            Err(panic) => Some(format!("panic: {panic}")),
            Ok(_) if peak > memory_bound(damaged.len()) => {
                Some(format!("{peak} bytes for a {}-byte input", damaged.len()))
            }
            // Generous for unoptimised test builds on a loaded CI machine.
            Ok(_) if time > Duration::from_secs(10) => Some(format!("{time:?}")),
            Ok(_) => None,
        };
        if let Some(fault) = fault {
            let shown = String::from_utf8_lossy(&damaged[..damaged.len().min(300)]).into_owned();
            failures.push(format!(
                "seed {seed} ({name}, {target:?}): {fault}; input starts {shown:?}"
            ));
        }
    }
    let mut counts: Vec<_> = reached.into_iter().collect();
    counts.sort_by_key(|((name, r), _)| (*name, format!("{r:?}")));
    eprintln!(
        "cases reaching each stage (slowest {slowest:?}, most memory {} kB): {counts:?}",
        most_memory / 1024
    );
    // Damage must leave many inputs readable, or the loop tests the first check only.
    for (name, _, _) in &seeds {
        let deep: usize = counts
            .iter()
            .filter(|((n, r), _)| n == name && *r != Reached::Refused)
            .map(|(_, c)| c)
            .sum();
        assert!(
            cases < 1_000 || deep > 0,
            "no damaged {name} got past its reader"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed (slowest {slowest:?}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
