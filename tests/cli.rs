//! End-to-end tests: the built `plm` binary on the sample nights in `data/` and on bad
//! files.
//!
//! Detection thresholds per night (these are 7–15-minute nights with 15–40 LMs, so one
//! error moves F1 by several percent and one PLM moves the PLMS index by 4–9/h): LM F1 ≥
//! 0.97 and at most one PLM in sleep more or fewer than the truth scored by the same rules
//! (one of these nights has a bilateral pair 0.545 s apart, within detection error of the
//! 0.5 s rule). The night-long accuracy figures are in `sim_accuracy.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn plm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plm"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    plm().args(args).output().expect("plm runs")
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "plm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// The JSON report of `plm detect NIGHT` with the context files `context` (option, file).
fn detect_json(night: &Path, context: &[(&str, &Path)]) -> Value {
    let mut args = vec!["detect", night.to_str().unwrap(), "--json", "-", "-q"];
    for (option, file) in context {
        args.extend([*option, file.to_str().unwrap()]);
    }
    stdout_json(&run(&args))
}

const NIGHTS: &[&str] = &[
    "emg-256hz-15min",
    "emg-200hz-hum60",
    "emg-512hz-ms-stamps",
    "accel-50hz-15min",
    "accel-25hz-drift",
];

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

/// Runs `plm` on a file with `content` and returns (exit code, stderr).
fn bad(dir: &Path, file: &str, content: &[u8], args: &[&str]) -> (i32, String) {
    let p = dir.join(file);
    std::fs::write(&p, content).unwrap();
    let mut full: Vec<&str> = args.to_vec();
    let ps = p.to_str().unwrap().to_owned();
    full.push(&ps);
    let out = run(&full);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_inputs_give_one_line_errors_with_positions_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let detect = ["detect"];
    let cases: Vec<(&str, Vec<u8>, &[&str], &str)> = vec![
        ("empty.csv", b"".to_vec(), &detect, "empty"),
        (
            "header.csv",
            b"time_s,left_uv,right_uv\n".to_vec(),
            &detect,
            "no data rows",
        ),
        (
            "text.csv",
            b"time_s,left_uv\n0,1\n0.005,abc\n".to_vec(),
            &detect,
            "line 3, column 2 (left_uv): `abc` is not a number",
        ),
        (
            "inf.csv",
            b"time_s,left_uv\n0,1\n0.005,inf\n".to_vec(),
            &detect,
            "line 3, column 2 (left_uv)",
        ),
        (
            "short_row.csv",
            b"time_s,left_uv,right_uv\n0,1,2\n0.005,1\n".to_vec(),
            &detect,
            "line 3: missing fields",
        ),
        (
            "backwards.csv",
            b"time_s,left_uv\n0,1\n0.01,1\n0.005,1\n".to_vec(),
            &detect,
            "line 4, column 1 (time_s): time goes backwards",
        ),
        (
            "noleg.csv",
            b"time_s,spo2\n0,97\n".to_vec(),
            &detect,
            "no leg column",
        ),
        (
            "binary.csv",
            vec![0u8, 159, 146, 150, 0, 1, 2, 255, 254, 10, 0, 0],
            &detect,
            "not a text CSV",
        ),
        (
            "short.csv",
            b"time_s,left_uv\n0,1\n0.005,2\n0.010,3\n".to_vec(),
            &detect,
            "too short to filter",
        ),
    ];
    for (file, content, args, want) in &cases {
        let (code, err) = bad(d, file, content, args);
        assert_eq!(code, 2, "{file}: exit code {code}, stderr {err}");
        assert!(err.contains(want), "{file}: {err}");
        assert!(
            err.contains(file),
            "{file}: the message names the file: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{file}: one line: {err}");
        assert!(!err.contains("panicked"), "{file}: {err}");
    }
    // Context files.
    let night = data("emg-512hz-ms-stamps.csv");
    let hyp = d.join("hyp.csv");
    std::fs::write(&hyp, "epoch_start_s,stage\n0,W\n30,N7\n").unwrap();
    let out = run(&[
        "detect",
        night.to_str().unwrap(),
        "--hypnogram",
        hyp.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hyp.csv, line 3, column 2 (stage): unknown sleep stage `N7`"),
        "{err}"
    );
    // LM lists.
    for (content, want) in [
        (
            "onset_s,offset_s,side\n10,9,left\n",
            "line 2, column 2 (offset_s)",
        ),
        (
            "onset_s,offset_s,side\n10,11,middle\n",
            "line 2, column 3 (side): side `middle` is not left or right",
        ),
    ] {
        let (code, err) = bad(d, "lms.csv", content.as_bytes(), &["score"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want), "{err}");
    }
    // Missing file: an I/O error, exit code 1.
    let out = run(&["detect", d.join("nope.csv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    // Bad option values: exit code 2.
    let out = run(&["detect", night.to_str().unwrap(), "--unit", "furlongs"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["detect", night.to_str().unwrap(), "--rules", "somas"]);
    assert_eq!(out.status.code(), Some(2));
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

#[test]
fn no_partial_report_is_left_behind_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let bad_night = dir.path().join("bad.csv");
    std::fs::write(&bad_night, "time_s,left_uv\n0,1\n0.005,x\n").unwrap();
    let json = dir.path().join("out.json");
    let out = run(&[
        "detect",
        bad_night.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!json.exists());
    assert!(!dir.path().join("out.json.partial").exists());
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
fn batch_mode_analyses_every_night_and_skips_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let nights = dir.path().join("nights");
    std::fs::create_dir(&nights).unwrap();
    for name in ["emg-512hz-ms-stamps", "accel-25hz-drift", "emg-256hz-15min"] {
        let night = if name == "emg-256hz-15min" {
            ".edf"
        } else {
            ".csv"
        };
        for suffix in [night, ".hyp.csv", ".truth.csv"] {
            std::fs::copy(
                data(&format!("{name}{suffix}")),
                nights.join(format!("{name}{suffix}")),
            )
            .unwrap();
        }
    }
    // The CSV night beside its EDF export: two nights of one name.
    std::fs::copy(
        data("emg-256hz-15min.csv"),
        nights.join("emg-256hz-15min.csv"),
    )
    .unwrap();
    std::fs::write(nights.join("broken.csv"), "time_s,left_uv\n0,1\n0.005,x\n").unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "detect",
        nights.to_str().unwrap(),
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    // One bad night: exit code 2, but every other night's report is written.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.csv, line 3, column 2 (left_uv)"),
        "{stderr}"
    );
    let mut summary = csv::Reader::from_path(out_dir.join("summary.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = summary.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5, "truth and hypnogram files are not nights");
    let status = |file: &str| {
        rows.iter()
            .find(|r| r[0].ends_with(file))
            .map(|r| r[1].to_owned())
    };
    assert_eq!(status("broken.csv").as_deref(), Some("error"));
    assert_eq!(status("emg-512hz-ms-stamps.csv").as_deref(), Some("ok"));
    assert_eq!(status("accel-25hz-drift.csv").as_deref(), Some("ok"));
    assert_eq!(status("emg-256hz-15min.edf").as_deref(), Some("ok"));
    assert_eq!(status("emg-256hz-15min.csv").as_deref(), Some("ok"));
    // Nights of one name keep their own reports.
    for ext in ["csv", "edf"] {
        assert!(
            out_dir
                .join(format!("emg-256hz-15min.{ext}.json"))
                .is_file()
        );
        assert!(out_dir.join(format!("emg-256hz-15min.{ext}.svg")).is_file());
    }
    // Each night's report equals a single-file run with its hypnogram (found beside it).
    let batch: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("emg-512hz-ms-stamps.json")).unwrap(),
    )
    .unwrap();
    assert!(batch["context"]["hypnogram"].as_bool().unwrap());
    let single = stdout_json(&run(&[
        "detect",
        data("emg-512hz-ms-stamps.csv").to_str().unwrap(),
        "--hypnogram",
        data("emg-512hz-ms-stamps.hyp.csv").to_str().unwrap(),
        "--json",
        "-",
        "-q",
    ]));
    assert_eq!(batch["summary"], single["summary"]);
    assert!(out_dir.join("accel-25hz-drift.events.csv").is_file());
    // Several nights without --out-dir is a usage error.
    let out = run(&["detect", nights.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));

    // The reports against the truth beside the nights: one row per report, then the
    // pooled figures; a report without a reference is reported and skipped.
    std::fs::copy(
        out_dir.join("accel-25hz-drift.json"),
        out_dir.join("orphan.json"),
    )
    .unwrap();
    let table = dir.path().join("table.csv");
    let out = run(&[
        "compare",
        out_dir.to_str().unwrap(),
        nights.to_str().unwrap(),
        "--out",
        table.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no reference orphan.truth.csv"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("5 nights: 4 compared, 1 failed"),
        "{stdout}"
    );
    let mut table = csv::Reader::from_path(&table).unwrap();
    let rows: Vec<csv::StringRecord> = table.records().map(Result::unwrap).collect();
    let labels: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(
        labels,
        [
            "accel-25hz-drift",
            "emg-256hz-15min.csv",
            "emg-256hz-15min.edf",
            "emg-512hz-ms-stamps",
            "orphan",
            "pooled"
        ]
    );
    assert_eq!(&rows[4][1], "error");
    let pooled = &rows[5];
    assert_eq!(&pooled[1], "4 nights");
    // LMs: 25 + 40 + 40 + 15 reference movements, all found (lm_f1 is column 9).
    assert_eq!((&pooled[3], &pooled[8]), ("120", "1.0000"));
}

#[test]
fn an_edf_export_of_a_night_gives_the_csv_night_s_report() {
    let detect = |file: &str| {
        stdout_json(&run(&[
            "detect",
            data(file).to_str().unwrap(),
            "--hypnogram",
            data("emg-256hz-15min.hyp.csv").to_str().unwrap(),
            "--json",
            "-",
            "-q",
        ]))
    };
    // The same night as pyedflib wrote it (16-bit samples).
    let edf = detect("emg-256hz-15min.edf");
    let csv = detect("emg-256hz-15min.csv");
    let rec = &edf["recording"];
    assert_eq!(rec["sample_rate_hz"], 256.0);
    assert_eq!(rec["samples"], csv["recording"]["samples"]);
    assert_eq!(rec["time_base"], "edf_records");
    assert_eq!(rec["start_time"], "2024-03-01T22:30:05");
    assert_eq!(rec["channels"][0]["name"], "EMG Leg L");
    let lms = |v: &Value| -> Vec<(f64, f64, String)> {
        v["leg_movements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["onset_s"].as_f64().unwrap(),
                    m["offset_s"].as_f64().unwrap(),
                    m["side"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (a, b) = (lms(&edf), lms(&csv));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        // Quantisation to 16 bits moves an edge by far less than a 10-ms block.
        assert!(
            (x.0 - y.0).abs() < 0.01 && (x.1 - y.1).abs() < 0.01 && x.2 == y.2,
            "{x:?} vs {y:?}"
        );
    }
    assert_eq!(edf["summary"]["plms_count"], csv["summary"]["plms_count"]);
    assert_eq!(edf["summary"]["plms_index"], csv["summary"]["plms_index"]);
    // A damaged header is a positioned one-line error with exit code 2.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(data("emg-256hz-15min.edf")).unwrap();
    bytes[252..256].copy_from_slice(b"two ");
    let (code, msg) = bad(dir.path(), "broken.edf", &bytes, &["detect"]);
    assert_eq!(code, 2);
    assert!(
        msg.contains("broken.edf, byte 252 (number of signals): `two` is not a whole number"),
        "{msg}"
    );
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

#[test]
fn nsrr_xml_annotations_give_the_csv_context_s_report() {
    let night = data("emg-256hz-15min.csv");
    let xml = data("context/emg-256hz-15min-nsrr.xml");
    let hyp = data("emg-256hz-15min.hyp.csv");
    let arousals = data("context/emg-256hz-15min.arousals.csv");
    let detect = |extra: &[&str]| {
        let mut args = vec!["detect", night.to_str().unwrap(), "--json", "-", "-q"];
        args.extend_from_slice(extra);
        stdout_json(&run(&args))
    };
    // One XML file for stages, respiratory events and arousals ...
    let from_xml = detect(&["--annotations", xml.to_str().unwrap()]);
    // ... equals the CSV context (the XML's only respiratory event is a desaturation).
    let from_csv = detect(&[
        "--hypnogram",
        hyp.to_str().unwrap(),
        "--arousals",
        arousals.to_str().unwrap(),
    ]);
    assert_eq!(from_xml["context"], from_csv["context"]);
    assert_eq!(from_xml["summary"], from_csv["summary"]);
    assert!(from_xml["summary"]["plms_arousal_index"].as_f64().unwrap() > 0.0);
    // Scored limb movements from the XML: `plm score` as on the truth CSV.
    let score = |lms: &Path| {
        stdout_json(&run(&[
            "score",
            lms.to_str().unwrap(),
            "--hypnogram",
            hyp.to_str().unwrap(),
            "--json",
            "-",
            "-q",
        ]))
    };
    let a = score(&xml);
    let b = score(&data("emg-256hz-15min.truth.csv"));
    assert_eq!(
        a["leg_movements"].as_array().unwrap().len(),
        b["leg_movements"].as_array().unwrap().len()
    );
    for key in [
        "plms_count",
        "clms_count",
        "plms_index",
        "periodicity_index",
    ] {
        assert_eq!(a["summary"][key], b["summary"][key], "{key}");
    }
}

#[test]
fn edf_plus_annotations_give_the_csv_context_s_report() {
    // A Sleep-EDF style hypnogram file: annotations only (stage runs with durations,
    // arousals, a trailing `Sleep stage ?`, a `Lights off` that is ignored).
    let night = data("emg-256hz-15min.csv");
    let edf = data("context/emg-256hz-15min-hypnogram.edf");
    let detect = |extra: &[&str]| {
        let mut args = vec!["detect", night.to_str().unwrap(), "--json", "-", "-q"];
        args.extend_from_slice(extra);
        stdout_json(&run(&args))
    };
    let from_csv = detect(&[
        "--hypnogram",
        data("emg-256hz-15min.hyp.csv").to_str().unwrap(),
        "--arousals",
        data("context/emg-256hz-15min.arousals.csv")
            .to_str()
            .unwrap(),
    ]);
    for args in [
        vec!["--annotations", edf.to_str().unwrap()],
        vec![
            "--hypnogram",
            edf.to_str().unwrap(),
            "--arousals",
            edf.to_str().unwrap(),
        ],
    ] {
        let from_edf = detect(&args);
        assert_eq!(from_edf["context"], from_csv["context"], "{args:?}");
        assert_eq!(from_edf["summary"], from_csv["summary"], "{args:?}");
    }
    assert_eq!(from_csv["context"]["epochs"], 30);
    assert_eq!(from_csv["context"]["arousals"], 14);
    // Given as the night itself, it says what it is and where it belongs.
    let out = run(&["detect", edf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("annotations only") && err.contains("--annotations"),
        "{err}"
    );
}

#[test]
fn a_european_export_with_semicolons_and_decimal_commas_gives_the_same_report() {
    // What a spreadsheet or recorder set to a German or French locale writes:
    // `time_s;left_uv;right_uv` and `0,003906;11,741;14,432`.
    let dir = tempfile::tempdir().unwrap();
    let european = |name: &str| {
        let text = std::fs::read_to_string(data(name)).unwrap();
        let path = dir.path().join(name.replace('/', "-"));
        std::fs::write(&path, text.replace(',', ";").replace('.', ",")).unwrap();
        path
    };
    let detect = |night: &Path, hyp: &Path, arousals: &Path| {
        detect_json(night, &[("--hypnogram", hyp), ("--arousals", arousals)])
    };
    let names = [
        "emg-256hz-15min.csv",
        "emg-256hz-15min.hyp.csv",
        "context/emg-256hz-15min.arousals.csv",
    ];
    let original = detect(&data(names[0]), &data(names[1]), &data(names[2]));
    let converted = detect(
        &european(names[0]),
        &european(names[1]),
        &european(names[2]),
    );
    assert!(
        std::fs::read_to_string(dir.path().join(names[0]))
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .contains(';')
    );
    for key in [
        "recording",
        "context",
        "leg_movements",
        "candidate_movements",
        "series",
        "summary",
    ] {
        let (a, b) = (&original[key], &converted[key]);
        if key == "recording" {
            assert_eq!(a["sample_rate_hz"], b["sample_rate_hz"]);
            assert_eq!(a["duration_s"], b["duration_s"]);
        } else {
            assert_eq!(a, b, "{key}");
        }
    }
    assert!(!original["leg_movements"].as_array().unwrap().is_empty());
}

#[test]
fn compare_agrees_with_the_shared_evaluation_script() {
    // `tests/golden/make_compare.py`: a simulated hour's truth, a damaged copy of it as the
    // detection, and the numbers the project's `score.py` gives for them.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/compare");
    let file = |name: &str| dir.join(name);
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(file("score_py.json")).unwrap()).unwrap();
    let compare = |detection: &Path| {
        stdout_json(&run(&[
            "compare",
            detection.to_str().unwrap(),
            file("night.truth.csv").to_str().unwrap(),
            "--hypnogram",
            file("night.hyp.csv").to_str().unwrap(),
            "--duration",
            "3600",
            "--json",
            "-",
            "-q",
        ]))
    };
    let got = compare(&file("detection.csv"));
    let rate = |a: &Value, which: &str| {
        let (t, d, m) = (
            a["truth"].as_f64().unwrap(),
            a["detected"].as_f64().unwrap(),
            a["matched"].as_f64().unwrap(),
        );
        let (s, p) = (
            if t > 0.0 { m / t } else { 1.0 },
            if d > 0.0 { m / d } else { 1.0 },
        );
        match which {
            "sens" => s,
            "ppv" => p,
            _ => 2.0 * s * p / (s + p),
        }
    };
    let close = |ours: f64, key: &str| {
        let theirs = want[key].as_f64().unwrap();
        assert!(
            (ours - theirs).abs() <= 5e-5,
            "{key}: {ours} vs score.py {theirs}"
        );
    };
    for (group, prefix) in [("lm", "lm"), ("plm", "plm")] {
        for which in ["sens", "ppv", "f1"] {
            close(rate(&got[group], which), &format!("{prefix}_{which}"));
        }
        assert_eq!(got[group]["truth"], want[format!("{prefix}_truth")]);
        assert_eq!(got[group]["detected"], want[format!("{prefix}_detected")]);
    }
    close(
        got["onset_errors"]["median_abs_s"].as_f64().unwrap(),
        "onset_err_med_s",
    );
    close(
        got["offset_errors"]["median_abs_s"].as_f64().unwrap(),
        "offset_err_med_s",
    );
    close(
        got["onset_errors"]["p90_abs_s"].as_f64().unwrap(),
        "onset_err_p90_s",
    );
    let reference = got["reference_plms_index"].as_f64().unwrap();
    assert!((reference - want["plmsi_ref"].as_f64().unwrap()).abs() <= 0.005);
    close(got["plms_index"].as_f64().unwrap(), "plmsi_det");
    assert_eq!(got["uncertain_reference"], 1);
    // The same detection as a `plm score` JSON report compares the same.
    let dir_out = tempfile::tempdir().unwrap();
    let report = dir_out.path().join("detection.json");
    let out = run(&[
        "score",
        file("detection.csv").to_str().unwrap(),
        "--hypnogram",
        file("night.hyp.csv").to_str().unwrap(),
        "--duration",
        "3600",
        "--json",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success());
    let from_report = compare(&report);
    for key in [
        "lm",
        "plm",
        "onset_errors",
        "offset_errors",
        "plms_index_difference",
    ] {
        assert_eq!(from_report[key], got[key], "{key}");
    }
    // A report scored with a hypnogram needs the hypnogram to compare.
    let out = run(&[
        "compare",
        report.to_str().unwrap(),
        file("night.truth.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hypnogram"));
    // The reference is scored by the report's rules; other rules asked for are refused.
    let aasm = dir_out.path().join("aasm.json");
    let out = run(&[
        "score",
        file("detection.csv").to_str().unwrap(),
        "--rules",
        "aasm",
        "--duration",
        "3600",
        "--json",
        aasm.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success());
    let reference = file("night.truth.csv");
    let got = stdout_json(&run(&[
        "compare",
        aasm.to_str().unwrap(),
        reference.to_str().unwrap(),
        "--json",
        "-",
        "-q",
    ]));
    assert_eq!(got["reference"]["rules"]["name"], "aasm");
    let out = run(&[
        "compare",
        aasm.to_str().unwrap(),
        reference.to_str().unwrap(),
        "--rules",
        "wasm2016",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scored with the `aasm` rules"), "{err}");
}
