//! The same night in other formats — EDF+, NSRR XML and EDF+ context, a European CSV
//! export — gives the same report.

use super::*;

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
        let mut from_edf = detect(&args);
        // Its trailing `Sleep stage ?` is an epoch without a stage, which the CSV lacks.
        let unstaged = from_edf["context"]
            .as_object_mut()
            .and_then(|c| c.remove("unstaged_epochs"));
        assert_eq!(unstaged, Some(serde_json::json!(1)), "{args:?}");
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
