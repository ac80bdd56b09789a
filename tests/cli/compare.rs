//! `plm compare` against the project's shared evaluation script.

use super::*;

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
