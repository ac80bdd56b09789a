//! `plm detect DIR --out-dir`: every night of a directory, a bad one reported and skipped.

use super::*;

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
fn single_and_batch_runs_read_the_same_context_beside_the_night_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for suffix in [".csv", ".hyp.csv"] {
        std::fs::copy(
            data(&format!("emg-256hz-15min{suffix}")),
            d.join(format!("n{suffix}")),
        )
        .unwrap();
    }
    let night = d.join("n.csv");
    let single = run(&["detect", night.to_str().unwrap(), "--json", "-"]);
    assert!(single.status.success());
    let report: Value = serde_json::from_slice(&single.stdout).unwrap();
    let hyp = d.join("n.hyp.csv");
    assert_eq!(
        report["context"]["sources"],
        serde_json::json!([{
            "part": "hypnogram",
            "file": hyp.display().to_string(),
            "format": "CSV",
            "count": 30
        }])
    );
    assert_eq!(report["context"]["hypnogram"], true);
    let summary = String::from_utf8_lossy(&single.stderr);
    assert!(summary.contains("files       hypnogram: "), "{summary}");
    let out = d.join("out");
    let batch = run(&[
        "detect",
        night.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(batch.status.success());
    let in_batch: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("n.json")).unwrap()).unwrap();
    assert_eq!(in_batch["summary"], report["summary"]);
    assert_eq!(in_batch["context"], report["context"]);
    // `--no-beside` reads none, in both modes.
    let none = stdout_json(&run(&[
        "detect",
        night.to_str().unwrap(),
        "--no-beside",
        "--json",
        "-",
        "-q",
    ]));
    assert_eq!(none["context"]["hypnogram"], false);
    // A context file given is the only one read.
    let given = run(&[
        "detect",
        night.to_str().unwrap(),
        "--respiratory",
        data("context/emg-256hz-15min.resp.csv").to_str().unwrap(),
        "--json",
        "-",
        "-q",
    ]);
    let given: Value = serde_json::from_slice(&given.stdout).unwrap();
    assert_eq!(given["context"]["hypnogram"], false);
    assert_eq!(
        given["context"]["sources"].as_array().map(Vec::len),
        Some(1)
    );
}
