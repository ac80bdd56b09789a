//! `plm detect` and `plm score` on the sample nights: the true movements found, the
//! outputs and options, and reports unchanged to the last digit.

use std::fmt::Write as _;

use super::*;

#[test]
fn detect_finds_the_true_movements_in_every_sample_night() {
    for name in NIGHTS {
        let night = data(&format!("{name}.csv"));
        let hyp = data(&format!("{name}.hyp.csv"));
        let resp = data(&format!("context/{name}.resp.csv"));
        let out = run(&[
            "detect",
            night.to_str().unwrap(),
            "--hypnogram",
            hyp.to_str().unwrap(),
            "--respiratory",
            resp.to_str().unwrap(),
            "--json",
            "-",
        ]);
        let report = stdout_json(&out);
        // The summary went to stderr because stdout carries the JSON.
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("PLMS index"),
            "{name}"
        );

        // Required fields.
        for key in [
            "recording",
            "rules",
            "leg_movements",
            "candidate_movements",
            "series",
            "summary",
        ] {
            assert!(report.get(key).is_some(), "{name}: missing {key}");
        }
        for key in ["duration_s", "sample_rate_hz", "channels", "excluded_s"] {
            assert!(
                report["recording"].get(key).is_some(),
                "{name}: missing recording.{key}"
            );
        }
        for key in [
            "total_sleep_time_h",
            "clms_count",
            "plms_count",
            "plms_index",
            "clms_index",
            "plmw_index",
            "plmsnr_index",
            "plms_arousal_index",
            "periodicity_index",
            "plm_clm_ratio",
            "imi_histogram",
        ] {
            assert!(
                report["summary"].get(key).is_some(),
                "{name}: missing summary.{key}"
            );
        }
        let c0 = &report["candidate_movements"][0];
        for key in [
            "onset_s",
            "offset_s",
            "side",
            "clm",
            "imi_s",
            "periodic",
            "series",
            "stage",
            "respiratory",
            "arousal",
        ] {
            assert!(c0.get(key).is_some(), "{name}: missing candidate.{key}");
        }

        // Detection against truth: the leg movements of the report, matched with the
        // truth's (barely visible ones counting neither way).
        let detection: plm_detect::Report = serde_json::from_value(report.clone()).unwrap();
        let reference =
            plm_detect::compare::read_reference(data(&format!("{name}.truth.csv"))).unwrap();
        let context = plm_detect::Context {
            hypnogram: Some(plm_detect::io::read_hypnogram(&hyp, 30.0).unwrap()),
            ..plm_detect::Context::default()
        };
        let comparison =
            plm_detect::compare(&detection, &reference, &context, &detection.rules, 0.5).unwrap();
        let agreement = comparison.lm;
        assert!(
            agreement.f1() >= 0.97,
            "{name}: LM F1 {:.3} ({agreement:?})",
            agreement.f1()
        );

        // PLMS against the truth scored by `plm score`.
        let truth_file = data(&format!("{name}.truth.csv"));
        let duration = report["recording"]["duration_s"]
            .as_f64()
            .unwrap()
            .to_string();
        let reference = stdout_json(&run(&[
            "score",
            truth_file.to_str().unwrap(),
            "--hypnogram",
            hyp.to_str().unwrap(),
            "--duration",
            &duration,
            "--json",
            "-",
        ]));
        let got = report["summary"]["plms_count"].as_i64().unwrap();
        let want = reference["summary"]["plms_count"].as_i64().unwrap();
        assert!(
            (got - want).abs() <= 1,
            "{name}: {got} PLMS vs {want} in the truth"
        );
    }
}

#[test]
fn events_csv_has_one_row_per_candidate_and_aasm_rules_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.csv");
    let json = dir.path().join("report.json");
    let night = data("emg-256hz-15min.csv");
    let arousals = data("context/emg-256hz-15min.arousals.csv");
    let out = run(&[
        "detect",
        night.to_str().unwrap(),
        "--rules",
        "aasm",
        "--arousals",
        arousals.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("aasm") && summary.contains("no hypnogram"),
        "{summary}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["rules"]["name"], "aasm");
    assert_eq!(report["rules"]["imi_min_s"], 5.0);
    assert_eq!(report["summary"]["sleep_source"], "whole_recording");
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("no hypnogram"))
    );
    assert!(report["summary"]["plms_arousal_index"].as_f64().unwrap() > 0.0);
    let mut rdr = csv::Reader::from_path(&events).unwrap();
    assert_eq!(&rdr.headers().unwrap()[0], "onset_s");
    assert_eq!(
        rdr.records().count(),
        report["candidate_movements"].as_array().unwrap().len()
    );
    assert!(!dir.path().join("report.json.partial").exists());
}

#[test]
fn score_matches_the_library_and_accepts_a_rules_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("rules.json");
    std::fs::write(&cfg, r#"{"short_imi": "break"}"#).unwrap();
    let lms = data("emg-200hz-hum60.truth.csv");
    let hyp = data("emg-200hz-hum60.hyp.csv");
    let base = stdout_json(&run(&[
        "score",
        lms.to_str().unwrap(),
        "--hypnogram",
        hyp.to_str().unwrap(),
        "--json",
        "-",
    ]));
    let lib = plm_detect::score(
        &plm_detect::io::read_leg_movements(&lms).unwrap(),
        &plm_detect::Context {
            hypnogram: Some(plm_detect::io::read_hypnogram(&hyp, 30.0).unwrap()),
            ..Default::default()
        },
        &plm_detect::Rules::wasm2016(),
        plm_detect::Span::default(),
    )
    .unwrap();
    assert_eq!(
        base["summary"]["plm_count"].as_u64().unwrap() as usize,
        lib.summary.plm_count
    );
    assert_eq!(
        base["summary"]["clm_count"].as_u64().unwrap() as usize,
        lib.summary.clm_count
    );
    let custom = stdout_json(&run(&[
        "score",
        lms.to_str().unwrap(),
        "--hypnogram",
        hyp.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--json",
        "-",
    ]));
    assert_eq!(custom["rules"]["name"], "custom");
    assert_eq!(custom["rules"]["short_imi"], "break");
    assert!(custom["summary"]["plm_count"].as_u64() <= base["summary"]["plm_count"].as_u64());
}

#[test]
fn signal_kind_axes_and_units_can_be_forced() {
    let accel = data("accel-50hz-15min.csv");
    let emg = data("emg-512hz-ms-stamps.csv");
    // Explicit axes: one leg only.
    let report = stdout_json(&run(&[
        "detect",
        accel.to_str().unwrap(),
        "--right-axes",
        "right_x,right_y,right_z",
        "--json",
        "-",
    ]));
    assert_eq!(report["recording"]["channels"].as_array().unwrap().len(), 1);
    assert_eq!(report["recording"]["channels"][0]["side"], "right");
    // Milli-g data read as mg gives the same movements as g data read as g.
    let dir = tempfile::tempdir().unwrap();
    let mg = dir.path().join("mg.csv");
    let text = std::fs::read_to_string(&accel).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
        } else {
            let mut cells = line.split(',');
            out.push_str(cells.next().unwrap());
            for c in cells {
                out.push(',');
                let _ = write!(out, "{:.2}", c.parse::<f64>().unwrap() * 1000.0);
            }
        }
        out.push('\n');
    }
    std::fs::write(&mg, out).unwrap();
    let a = stdout_json(&run(&[
        "detect",
        accel.to_str().unwrap(),
        "--json",
        "-",
        "-q",
    ]));
    let b = stdout_json(&run(&[
        "detect",
        mg.to_str().unwrap(),
        "--unit",
        "mg",
        "--json",
        "-",
        "-q",
    ]));
    assert_eq!(a["summary"]["lm_count"], b["summary"]["lm_count"]);
    // Errors: an EMG file forced to accel, missing axis names, units of the other kind.
    let out = run(&["detect", emg.to_str().unwrap(), "--signal", "accel"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no accelerometer axes"));
    let out = run(&["detect", accel.to_str().unwrap(), "--left-axes", "a,b,c"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column named `a`"));
    let out = run(&["detect", accel.to_str().unwrap(), "--left-axes", "a,b"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["detect", accel.to_str().unwrap(), "--unit", "mV"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an accelerometer unit"));
    let out = run(&["detect", emg.to_str().unwrap(), "--signal", "sonar"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The reports of two sample nights, exactly as committed in `tests/golden/reports/`
/// (everything but the version string): optimisations must not change a single number.
/// After a deliberate change to detection or scoring, regenerate them with
/// `plm detect data/NAME.csv --hypnogram data/NAME.hyp.csv --respiratory
/// data/context/NAME.resp.csv --json tests/golden/reports/NAME.json` and say why in the
/// commit.
#[test]
fn reports_are_unchanged_to_the_last_digit() {
    for name in ["emg-512hz-ms-stamps", "accel-25hz-drift"] {
        let night = data(&format!("{name}.csv"));
        let hyp = data(&format!("{name}.hyp.csv"));
        let resp = data(&format!("context/{name}.resp.csv"));
        let mut got = detect_json(&night, &[("--hypnogram", &hyp), ("--respiratory", &resp)]);
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/reports/{name}.json"));
        let mut want: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        got["version"] = Value::Null;
        want["version"] = Value::Null;
        assert!(
            got == want,
            "{name}: the report differs from tests/golden/reports/{name}.json"
        );
    }
}

#[test]
fn figure_has_one_mark_per_movement() {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("night.svg");
    let out = run(&[
        "detect",
        data("emg-200hz-hum60.csv").to_str().unwrap(),
        "--hypnogram",
        data("emg-200hz-hum60.hyp.csv").to_str().unwrap(),
        "--figure",
        svg_path.to_str().unwrap(),
        "--json",
        "-",
        "-q",
    ]);
    let report = stdout_json(&out);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    let count = |class: &str| svg.matches(&format!("class=\"{class}\"")).count();
    let lms = report["leg_movements"].as_array().unwrap();
    for side in ["left", "right"] {
        let n = lms.iter().filter(|m| m["side"] == side).count();
        assert_eq!(count(&format!("lm {side}")), n, "{side}");
    }
    let plms = report["candidate_movements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["periodic"].as_bool().unwrap())
        .count();
    assert_eq!(count("plm"), plms);
    assert_eq!(count("hypnogram"), 1);
    // Two outputs cannot share stdout.
    let out = run(&[
        "detect",
        data("emg-200hz-hum60.csv").to_str().unwrap(),
        "--figure",
        "-",
        "--json",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--figure x.png` writes a real PNG (rendered with the bundled font); an unknown
/// extension is refused before anything is written.
#[test]
fn figures_are_svg_or_real_png() {
    let dir = tempfile::tempdir().unwrap();
    let night = data("emg-256hz-15min.csv");
    let png = dir.path().join("night.PNG");
    let out = run(&[
        "detect",
        night.to_str().unwrap(),
        "--figure",
        png.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    // 2000 px wide (the 1000-unit figure at 2 px per unit), big-endian in the IHDR chunk.
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 2000);
    let bad = dir.path().join("night.pdf");
    let out = run(&[
        "detect",
        night.to_str().unwrap(),
        "--figure",
        bad.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown extension .pdf (expected .svg or .png)"),
        "{err}"
    );
    assert!(!bad.exists());
}
