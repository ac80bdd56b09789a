//! The regression corpus of hostile and mistaken input: every case of the robustness
//! campaign, written here as a small generated file, must end cleanly — exit 0 with a
//! note, or exit 2 with a one-line message naming the file — within 20 s and 4 GB (the
//! run is limited to 4 GiB of address space, so an allocation that follows a claimed
//! time span instead of the data aborts the test).

use super::*;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// `plm ARGS` under a 4 GiB address-space limit; (exit code, stdout, stderr, time).
fn limited(args: &[&str]) -> (i32, String, String, Duration) {
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_plm"))
        .args(args)
        .output()
        .expect("plm runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

/// Runs `args` and checks the clean ending: `code`, within 20 s, and for exit 2 a
/// one-line message naming `file` and containing `says`; for exit 0, `says` in the
/// summary or the notes. Returns stdout.
fn expect(args: &[&str], code: i32, file: &str, says: &str) -> String {
    let (got, stdout, stderr, time) = limited(args);
    assert_eq!(got, code, "{args:?}: {stderr}");
    assert!(time < Duration::from_secs(20), "{args:?} took {time:?}");
    if code == 2 {
        let line = stderr.trim_end();
        assert!(!line.contains('\n'), "{args:?}: not one line: {stderr:?}");
        assert!(line.contains(file), "{args:?}: no file name: {line}");
        assert!(line.contains(says), "{args:?}: {line}");
        assert!(line.len() < 600, "{args:?}: {} characters", line.len());
    } else {
        assert!(
            stdout.contains(says) || stderr.contains(says),
            "{args:?}: no `{says}` in {stdout}{stderr}"
        );
    }
    stdout
}

/// A CSV night of two legs of noise with a few bursts: `rows` rows at `fs` Hz, times
/// from `stamp(i)`.
fn night_csv(
    rows: usize,
    fs: f64,
    header: &str,
    scale: f64,
    stamp: impl Fn(usize) -> f64,
) -> String {
    let mut s = format!("{header}\n");
    for i in 0..rows {
        let t = i as f64 / fs;
        let burst = if (t % 20.0) < 1.5 { 40.0 } else { 0.0 };
        let v = |k: f64| ((i as f64 * k).sin() * 3.0 + burst * (i as f64 * 0.9).sin()) * scale;
        let _ = writeln!(s, "{:.6},{:.6},{:.6}", stamp(i), v(1.3), v(2.1));
    }
    s
}

/// A minimal EDF (or BDF, `width` 3) file: `reserved` (`EDF+D` …), `records` announced,
/// each `record_s` long, signals (label, dimension, samples per record, samples of every
/// record in order).
fn edf(
    width: usize,
    reserved: &str,
    records: i64,
    record_s: &str,
    signals: &[(&str, &str, usize, Vec<i32>)],
) -> Vec<u8> {
    let pad = |s: &str, n: usize| format!("{s:<n$}").into_bytes()[..n].to_vec();
    let ns = signals.len();
    let mut h = Vec::new();
    h.extend(if width == 3 {
        b"\xffBIOSEMI".to_vec()
    } else {
        pad("0", 8)
    });
    h.extend(pad("X X X X", 80));
    h.extend(pad("Startdate 01-MAR-2024 X X X", 80));
    h.extend(pad("01.03.24", 8));
    h.extend(pad("22.30.05", 8));
    h.extend(pad(&(256 * (ns + 1)).to_string(), 8));
    h.extend(pad(reserved, 44));
    h.extend(pad(&records.to_string(), 8));
    h.extend(pad(record_s, 8));
    h.extend(pad(&ns.to_string(), 4));
    let top = 1i64 << (8 * width - 1);
    let annotation = |l: &str| l.starts_with("EDF Annotations") || l.starts_with("BDF Annotations");
    let widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32];
    for (f, &n) in widths.iter().enumerate() {
        for s in signals {
            let text = match f {
                0 => s.0.to_owned(),
                2 => s.1.to_owned(),
                3 => if annotation(s.0) { "-1" } else { "-3200" }.to_owned(),
                4 => if annotation(s.0) { "1" } else { "3200" }.to_owned(),
                5 => (-top).to_string(),
                6 => (top - 1).to_string(),
                8 => s.2.to_string(),
                _ => String::new(),
            };
            h.extend(pad(&text, n));
        }
    }
    let n_records = signals.first().map_or(0, |s| s.3.len() / s.2.max(1));
    for r in 0..n_records {
        for s in signals {
            for &v in &s.3[r * s.2..(r + 1) * s.2] {
                h.extend(&v.to_le_bytes()[..width]);
            }
        }
    }
    h
}

/// `n` samples of a leg: noise with a burst every 20 s (digital, 0.1 µV each).
fn leg(n: usize, fs: usize) -> Vec<i32> {
    (0..n)
        .map(|i| {
            let t = i as f64 / fs as f64;
            let burst = if (t % 20.0) < 1.5 { 400.0 } else { 0.0 };
            ((i as f64 * 1.3).sin() * 30.0 + burst * (i as f64 * 0.9).sin()) as i32
        })
        .collect()
}

/// The time-keeping annotations of EDF+D records starting at `onsets` (s), each in a
/// signal of `spr` 2-byte samples.
fn tal(onsets: &[f64], spr: usize) -> Vec<i32> {
    let mut out = Vec::new();
    for o in onsets {
        let mut t = format!("+{o}\u{14}\u{14}\0").into_bytes();
        t.resize(2 * spr, 0);
        out.extend(
            t.chunks_exact(2)
                .map(|c| i32::from(i16::from_le_bytes([c[0], c[1]]))),
        );
    }
    out
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn numbers_out_of_every_range_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tiny = write(
        d,
        "tiny.csv",
        night_csv(600, 256.0, "time_s,left_uv,right_uv", 1.0, |i| {
            i as f64 * 1e-300
        }),
    );
    expect(&["detect", &tiny], 2, "tiny.csv", "sample rate");
    let bare = write(
        d,
        "bare.csv",
        night_csv(600, 256.0, "time_s,left_uv,right_uv", 1.0, |i| {
            i as f64 / 256.0
        })
        .lines()
        .map(|l| l.split_once(',').unwrap().1.to_owned() + "\n")
        .collect::<String>(),
    );
    expect(
        &["detect", &bare, "--fs", "1e20"],
        2,
        "sample_rate_hz",
        "1e20",
    );
    let stamped = write(
        d,
        "stamped.csv",
        night_csv(2_560, 256.0, "time_s,left_uv,right_uv", 1.0, |i| {
            i as f64 / 256.0
        }),
    );
    expect(
        &["detect", &stamped, "--fs", "1e300"],
        2,
        "sample_rate_hz",
        "1e300",
    );
    expect(
        &["detect", &stamped, "--fs", "200"],
        2,
        "stamped.csv",
        "gives 255.99",
    );
    expect(
        &["detect", &stamped, "--notch=1e-9"],
        2,
        "notch",
        "[10, 50000]",
    );
    expect(
        &["detect", &stamped, "--notch=200"],
        2,
        "stamped.csv",
        "Nyquist",
    );
    for (field, value) in [
        ("rest_half_window_s", "1e308"),
        ("spike_guard_s", "1e19"),
        ("envelope_median_s", "9007199254740993"),
        ("block_s", "1e-300"),
        ("rest_segment_s", "-5"),
    ] {
        let config = write(
            d,
            "config.json",
            format!("{{\"envelope\": {{\"{field}\": {value}}}}}"),
        );
        expect(
            &["detect", &stamped, "--detector-config", &config],
            2,
            field,
            "must be in",
        );
    }
    let rules = write(d, "rules.json", r#"{"epoch_s": 1e-300}"#);
    expect(
        &["detect", &stamped, "--config", &rules],
        2,
        "epoch_s",
        "[1, 600]",
    );
    // EDF record durations that make absurd rates.
    for (width, name, reserved) in [(2, "short.edf", ""), (3, "short.bdf", "BDF+D")] {
        let mut signals = vec![("EMG LAT", "uV", 256, leg(512, 256))];
        if width == 3 {
            signals.push(("BDF Annotations", "", 8, tal(&[0.0, 1.0], 8)));
        }
        let f = write(d, name, edf(width, reserved, 2, "1e-300", &signals));
        expect(&["detect", &f], 2, name, "duration of a data record");
    }
}

#[test]
fn memory_follows_the_data_not_the_span_the_file_claims() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 11 rows, the last 3·10⁶ s later: beyond any recording.
    let span = write(
        d,
        "span.csv",
        night_csv(11, 256.0, "time_s,left_uv,right_uv", 1.0, |i| {
            if i == 10 { 3e6 } else { i as f64 / 256.0 }
        }),
    );
    expect(&["detect", &span], 2, "span.csv", "more than the 48 h");
    let huge = write(
        d,
        "huge.csv",
        "time_s,left_uv,right_uv\n0,1,2\n0.004,1,2\n1e15,1,2\n",
    );
    expect(&["detect", &huge], 2, "huge.csv", "sample rate");
    // Two minutes, a 40-hour gap, two minutes: read in the memory of four minutes, the
    // gap excluded and not sleep.
    let gapped = write(
        d,
        "gapped.csv",
        night_csv(2 * 30_720, 256.0, "time_s,left_uv,right_uv", 1.0, |i| {
            let t = i as f64 / 256.0;
            if t < 120.0 { t } else { t + 144_000.0 }
        }),
    );
    let json = d.join("gapped.json");
    expect(
        &["detect", &gapped, "--json", json.to_str().unwrap(), "-q"],
        0,
        "",
        "",
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let duration = report["recording"]["duration_s"].as_f64().unwrap();
    assert!((duration - 144_240.0).abs() < 1.0, "{duration}");
    assert!(report["recording"]["excluded_s"].as_f64().unwrap() > 143_999.0);
    assert!(report["summary"]["total_sleep_time_h"].as_f64().unwrap() < 0.07);
    // An EDF+D whose second record starts 1.5·10⁵ s after the first (41.7 h).
    let fs = 256;
    let onsets: Vec<f64> = (0..120u32)
        .map(|k| f64::from(k) + if k < 60 { 0.0 } else { 150_000.0 })
        .collect();
    let f = write(
        d,
        "gap.edf",
        edf(
            2,
            "EDF+D",
            120,
            "1",
            &[
                ("EMG LAT", "uV", fs, leg(120 * fs, fs)),
                ("EMG RAT", "uV", fs, leg(120 * fs, fs)),
                ("EDF Annotations", "", 8, tal(&onsets, 8)),
            ],
        ),
    );
    let json = d.join("gap.json");
    expect(
        &["detect", &f, "--json", json.to_str().unwrap(), "-q"],
        0,
        "",
        "",
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(report["summary"]["total_sleep_time_h"].as_f64().unwrap() < 0.05);
    assert!(report["recording"]["excluded_s"].as_f64().unwrap() > 149_000.0);
    assert!(!std::fs::read_to_string(&json).unwrap().contains("-0.0"));
}

#[test]
fn truncated_and_overlong_files_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // NSRR XML cut after an event: no closing root.
    let xml = std::fs::read_to_string(data("context/emg-256hz-15min-nsrr.xml")).unwrap();
    let cut = xml.find("</ScoredEvent>").unwrap() + "</ScoredEvent>".len();
    let cut = write(d, "cut.xml", &xml[..cut]);
    let night = data("emg-256hz-15min.csv");
    let night = night.to_str().unwrap();
    expect(
        &["detect", night, "--annotations", &cut],
        2,
        "cut.xml",
        "cut short",
    );
    // 100 000 events: linear time.
    let mut many = String::from("<?xml version=\"1.0\"?>\n<PSGAnnotation><ScoredEvents>\n");
    for i in 0..100_000 {
        let _ = writeln!(
            many,
            "<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 2 sleep|2</EventConcept><Start>{}</Start><Duration>30</Duration></ScoredEvent>",
            30 * i
        );
    }
    many.push_str("</ScoredEvents></PSGAnnotation>\n");
    let many = write(d, "many.xml", many);
    let start = Instant::now();
    expect(
        &["detect", night, "--annotations", &many, "-q"],
        0,
        "",
        "hypnogram runs",
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    // EDF data beyond the records it announces, and trailing bytes.
    let signals = [("EMG LAT", "uV", 256, leg(60 * 256, 256))];
    let mut more = edf(2, "", 30, "1", &signals);
    let f = write(d, "more.edf", &more);
    expect(&["detect", &f], 2, "more.edf", "follow the 30 data records");
    more = edf(2, "", 60, "1", &signals);
    more.extend(vec![b'x'; 7_000]);
    let f = write(d, "trailing.edf", &more);
    expect(&["detect", &f], 2, "trailing.edf", "7000 bytes");
    // Damaged and truncated gzip: bad input, with the byte.
    let gz = {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&std::fs::read(data("emg-256hz-15min.csv")).unwrap())
            .unwrap();
        e.finish().unwrap()
    };
    let f = write(d, "cut.csv.gz", &gz[..gz.len() / 2]);
    expect(&["detect", &f], 2, "cut.csv.gz", "gzip");
    let mut header = gz.clone();
    header[2] = 9;
    let f = write(d, "header.csv.gz", header);
    expect(&["detect", &f], 2, "header.csv.gz", "byte");
}

#[test]
fn messages_are_short_single_lines_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = write(
        d,
        "big.csv",
        format!(
            "time_s,left_uv,right_uv\n0,1,2\n0.004,{},2\n",
            "9".repeat(1_000_000)
        ),
    );
    expect(&["detect", &big], 2, "big.csv", "line 3, column 2");
    let ctrl = write(
        d,
        "ctrl.csv",
        "time_s,left_uv,right_uv\n0,1,2\n0.004,\"a\nb\u{7}c\",2\n",
    );
    expect(&["detect", &ctrl], 2, "ctrl.csv", "a\\nb\\u{7}c");
}

#[test]
fn user_mistakes_get_a_note_or_an_error_not_a_confident_answer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stamp = |i: usize| i as f64 / 256.0;
    // Millivolts read as microvolts: a note naming --unit mV.
    let mv = write(
        d,
        "mv.csv",
        night_csv(76_800, 256.0, "time_s,left_uv,right_uv", 1e-3, stamp),
    );
    expect(&["detect", &mv], 0, "", "--unit mV");
    // A header that states mV is read in mV: the same movements as in µV.
    let uv = write(
        d,
        "uv.csv",
        night_csv(76_800, 256.0, "time_s,left_uv,right_uv", 1.0, stamp),
    );
    let named = write(
        d,
        "named.csv",
        night_csv(76_800, 256.0, "time_s,left_mV,right_mV", 1e-3, stamp),
    );
    let lms = |f: &str| {
        stdout_json(&run(&["detect", f, "--json", "-", "-q"]))["summary"]["lm_count"].clone()
    };
    assert_eq!(lms(&named), lms(&uv));
    assert!(lms(&uv).as_u64().unwrap() > 0);
    // A leg column misspelt: a note, not a silent one-leg night.
    let typo = write(
        d,
        "typo.csv",
        night_csv(7_680, 256.0, "time_s,left_uv,rihgt_uv", 1.0, stamp),
    );
    expect(
        &["detect", &typo],
        0,
        "",
        "`rihgt_uv` looks like the right leg",
    );
    // Hypnograms that cover half the night, or twice it; unscored labels.
    let night = data("emg-256hz-15min.csv");
    let night = night.to_str().unwrap();
    let epochs = |n: usize| {
        (0..n).fold(String::from("epoch_start_s,stage\n"), |mut s, i| {
            let _ = writeln!(s, "{},N2", 30 * i);
            s
        })
    };
    let half = write(d, "half.hyp.csv", epochs(15));
    expect(
        &["detect", night, "--hypnogram", &half],
        0,
        "",
        "the hypnogram covers 0.12 h",
    );
    let double = write(d, "double.hyp.csv", epochs(60));
    expect(
        &["detect", night, "--hypnogram", &double],
        0,
        "",
        "past the recording's end",
    );
    let labels = [
        "W",
        "Movement",
        "MT",
        "?",
        "U",
        "Unscored",
        "Sleep stage 2",
        "7",
    ];
    let rows = (0..30).fold(String::from("epoch_start_s,stage\n"), |mut s, i| {
        let _ = writeln!(s, "{},{}", 30 * i, labels[i % labels.len()]);
        s
    });
    let labelled = write(d, "labels.hyp.csv", rows);
    expect(
        &["detect", night, "--hypnogram", &labelled],
        0,
        "",
        "unscored, movement time or artifact",
    );
    // Two EDF signals that could be one leg: an error naming both.
    let signals = [
        ("EMG LAT", "uV", 256, leg(30 * 256, 256)),
        ("EMG LAT", "uV", 256, leg(30 * 256, 256)),
    ];
    let f = write(d, "twice.edf", edf(2, "", 30, "1", &signals));
    expect(
        &["detect", &f],
        2,
        "twice.edf",
        "`EMG LAT` (1) and `EMG LAT` (2)",
    );
}
