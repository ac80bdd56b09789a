//! Ankle device files through `plm`: `plm convert`, `--left-ankle`/`--right-ankle`, and a
//! recording of several days split into nights with a sleep window each.

use super::*;
use plm_detect::sim::devices::{Cwa, DeviceSignal};

#[test]
fn convert_writes_the_decoded_samples() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("genea.csv");
    let out = run(&[
        "convert",
        data("devices/GENEActiv_testfile.bin").to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "time_s,x_g,y_g,z_g");
    assert_eq!(lines.len(), 1 + 16 * 300);
    assert!(lines[1].starts_with("0.0000,0.740522,"), "{}", lines[1]);
    // z of sample 300: −0.80836 g, as GGIRread reads it.
    assert!(lines[300].ends_with(",-0.808364"), "{}", lines[300]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("GENEActiv .bin") && stderr.contains("85.7 Hz"),
        "{stderr}"
    );
    let out = run(&[
        "convert",
        data("devices/ax3_testfile.cwa").to_str().unwrap(),
        "--csv",
        "-",
        "--iso",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("time,x_g,y_g,z_g\n2019-02-26T10:55:05.988,"),
        "{}",
        &text[..80]
    );
    // A night file given where a device file belongs, and the reverse, say what to do.
    let out = run(&[
        "convert",
        data("emg-256hz-15min.csv").to_str().unwrap(),
        "--csv",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["detect", data("devices/ax3_testfile.cwa").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--left-ankle"));
}

/// A small deterministic generator (xorshift), uniform in [−1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// 60 hours of an ankle at 25 Hz from Monday 09:00: restless days, nights asleep from
/// 23:00 to 07:00 (a turn over at 02:00) with a PLM series from 00:00 to 01:30 (a 1.2-s,
/// 3-Hz, 150-mg movement every 25 s) and a small twitch every 8 minutes otherwise, and the
/// sensor on a table on Tuesday 14:00–16:00.
fn week() -> [Vec<f64>; 3] {
    let fs = 25.0;
    let n = (60.0 * 3600.0 * fs) as usize;
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut axes: [Vec<f64>; 3] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut tilt = 0.0f64;
    for i in 0..n {
        let t = i as f64 / fs; // from Monday 09:00
        let tod = (9.0 * 3600.0 + t) % 86_400.0;
        let day = ((9.0 * 3600.0 + t) / 86_400.0).floor();
        let asleep = !(7.0 * 3600.0..23.0 * 3600.0).contains(&tod);
        let table = day == 1.0 && (14.0 * 3600.0..16.0 * 3600.0).contains(&tod);
        let (mut v, sd) = if table {
            ([0.0, 0.0, 1.0], 0.001)
        } else if asleep {
            let a: f64 = if (2.0 * 3600.0..7.0 * 3600.0).contains(&tod) {
                1.3
            } else {
                0.2
            };
            ([a.sin(), 0.0, a.cos()], 0.004)
        } else {
            if i % 125 == 0 {
                tilt = noise.next() * 0.7;
            }
            let swing = 0.25 * (2.0 * std::f64::consts::PI * 1.8 * t).sin();
            ([tilt.sin() + swing, 0.3 * swing, tilt.cos()], 0.02)
        };
        if asleep && tod < 1.5 * 3600.0 {
            let phase = tod % 25.0;
            if phase < 1.2 {
                v[0] += 0.15 * (2.0 * std::f64::consts::PI * 3.0 * phase).sin();
            }
        } else if asleep {
            // A sleeper's ankle is never still for an hour: a small twitch every 8 min.
            let phase = tod % 480.0;
            if phase < 0.8 {
                let w = (2.0 * std::f64::consts::PI * 2.5 * phase).sin();
                v[0] += 0.05 * w;
                v[1] += 0.06 * w;
                v[2] -= 0.04 * w;
            }
        }
        for (a, x) in axes.iter_mut().zip(v) {
            a.push(x + sd * noise.next() * 1.7);
        }
    }
    axes
}

#[test]
fn a_recording_of_days_splits_into_nights_with_a_sleep_window_each() {
    let dir = tempfile::tempdir().unwrap();
    let axes = week();
    let monday_9 = 1_709_542_800.0; // 2024-03-04 09:00 local
    let signal = DeviceSignal {
        axes_g: [&axes[0], &axes[1], &axes[2]],
        rate_hz: 25.0 * (1.0 - 30e-6),
        nominal_hz: 25.0,
        start_s: monday_9,
    };
    let cwa = dir.path().join("ankle.cwa");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&cwa).unwrap());
    Cwa {
        ax6: false,
        packed: true,
        device_id: 42,
    }
    .write(&signal, &mut f)
    .unwrap();
    drop(f);
    let json = dir.path().join("week.json");
    let out = run(&[
        "detect",
        "--left-ankle",
        cwa.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The first piece (Monday 09:00–12:00) and the last (Wednesday noon–21:00) hold no
    // sleep period: two nights are scored, numbered 1 and 2; each note is said once.
    assert!(
        stderr.contains(
            "2024-03-04T09:00:00 to 2024-03-04T12:00:00 (noon to noon): no sleep period found"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("sample clock -30 ppm").count(),
        1,
        "{stderr}"
    );
    assert!(stdout.contains("2 nights (noon to noon)"), "{stdout}");
    for (night, date) in [(1, "2024-03-04"), (2, "2024-03-05")] {
        let path = dir.path().join(format!("week.night{night}.json"));
        let report: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let w = &report["recording"]["sleep_window"];
        assert_eq!(w["night"], night);
        assert_eq!(w["source"], "estimated");
        let start = w["start"].as_str().unwrap();
        let end = w["end"].as_str().unwrap();
        // Asleep 23:00 to 07:00: the estimate within 15 minutes.
        assert!(
            start.starts_with(date) && (start[11..16] >= *"22:45" && start[11..16] <= *"23:15"),
            "{start} {stderr}"
        );
        assert!(
            end[11..16] >= *"06:45" && end[11..16] <= *"07:15",
            "{end} {stderr}"
        );
        assert_eq!(report["recording"]["start_time"].as_str().unwrap(), start);
        assert_eq!(report["recording"]["devices"][0]["model"], "AX3");
        let ppm = report["recording"]["devices"][0]["clock_drift_ppm"]
            .as_f64()
            .unwrap();
        assert!((ppm + 30.0).abs() < 3.0, "{ppm}");
        let notes = report["notes"].to_string();
        assert!(
            notes.contains("an estimate, not a scored hypnogram"),
            "{notes}"
        );
        // The PLM series: 216 movements 25 s apart from 00:00 to 01:30, and about 60
        // twitches.
        let lms = report["summary"]["lm_count"].as_u64().unwrap();
        assert!((250..=300).contains(&lms), "night {night}: {lms} LMs");
        let plms = report["summary"]["plms_index"].as_f64().unwrap();
        assert!(plms > 20.0, "{plms}");
    }
    // The same nights from clock times: exactly the window given.
    let json = dir.path().join("given.json");
    let out = run(&[
        "detect",
        "--left-ankle",
        cwa.to_str().unwrap(),
        "--from",
        "23:30",
        "--to",
        "06:00",
        "--json",
        json.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("given.night1.json")).unwrap())
            .unwrap();
    let w = &report["recording"]["sleep_window"];
    assert_eq!(
        (w["start"].as_str(), w["end"].as_str(), w["source"].as_str()),
        (
            Some("2024-03-04T23:30:00"),
            Some("2024-03-05T06:00:00"),
            Some("given")
        )
    );
    assert!((report["recording"]["duration_s"].as_f64().unwrap() - 6.5 * 3600.0).abs() < 0.1);
}

#[test]
fn two_device_files_with_a_hypnogram_score_like_the_csv_night() {
    use plm_detect::sim::devices::Gt3x;
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("night");
    let out = run(&[
        "simulate",
        prefix.to_str().unwrap(),
        "--accel",
        "--duration",
        "1800",
        "--fs",
        "50",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let night = plm_detect::Reader::new()
        .read_path(prefix.with_extension("csv"))
        .unwrap();
    let plm_detect::Night::Accel(rec) = night else {
        panic!("an accelerometer night")
    };
    let start = 1_709_676_000.0; // 2024-03-05 22:00:00
    let legs: Vec<&[Vec<f64>; 3]> = rec
        .legs()
        .iter()
        .map(plm_detect::io::AccelLeg::axes_g)
        .collect();
    let signal = |l: &'static usize| DeviceSignal {
        axes_g: [&legs[*l][0], &legs[*l][1], &legs[*l][2]],
        rate_hz: 50.0,
        nominal_hz: 50.0,
        start_s: start,
    };
    let (left, right) = (dir.path().join("l.cwa"), dir.path().join("r.gt3x"));
    Cwa {
        ax6: false,
        packed: false,
        device_id: 5,
    }
    .write(&signal(&0), &mut std::fs::File::create(&left).unwrap())
    .unwrap();
    Gt3x {
        serial: "MOS2E3".into(),
        packed_12bit: false,
        idle_s: vec![],
        nhanes: false,
    }
    .write(&signal(&1), &mut std::fs::File::create(&right).unwrap())
    .unwrap();
    let hyp = prefix.with_extension("hyp.csv");
    let from_csv = detect_json(&prefix.with_extension("csv"), &[("--hypnogram", &hyp)]);
    let json = dir.path().join("ankles.json");
    let html = dir.path().join("ankles.html");
    let out = run(&[
        "detect",
        "--left-ankle",
        left.to_str().unwrap(),
        "--right-ankle",
        right.to_str().unwrap(),
        "--hypnogram",
        hyp.to_str().unwrap(),
        "--start-time",
        "22:00:00",
        "--json",
        json.to_str().unwrap(),
        "--review",
        html.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["recording"]["sleep_window"]["source"], "hypnogram");
    assert_eq!(report["recording"]["devices"].as_array().unwrap().len(), 2);
    assert!(
        std::fs::read(&html)
            .unwrap()
            .starts_with(b"<!DOCTYPE html>")
    );
    let (a, b) = (&from_csv["summary"], &report["summary"]);
    let lms = |s: &Value| s["lm_count"].as_i64().unwrap();
    assert!((lms(a) - lms(b)).abs() <= 3, "{} vs {}", lms(a), lms(b));
    let index = |s: &Value| s["plms_index"].as_f64().unwrap();
    assert!(
        (index(a) - index(b)).abs() <= 2.0,
        "{} vs {}",
        index(a),
        index(b)
    );
    assert_eq!(a["total_sleep_time_h"], b["total_sleep_time_h"]);
}
