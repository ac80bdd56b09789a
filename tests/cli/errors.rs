//! Bad input: one-line errors naming the file and the place, exit code 2, and no partial
//! output left behind.

use super::*;

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

#[test]
fn outputs_to_devices_fifos_and_links_are_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let night = data("emg-256hz-15min.csv");
    // A link keeps pointing at its file, which gets the report.
    let target = dir.path().join("target.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run(&[
        "detect",
        night.to_str().unwrap(),
        "--json",
        link.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert!(report["summary"]["lm_count"].as_u64().unwrap() > 0);
    // A FIFO stays a FIFO, and its reader gets the report.
    let fifo = dir.path().join("report.fifo");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let out = run(&[
            "detect",
            night.to_str().unwrap(),
            "--json",
            fifo.to_str().unwrap(),
            "-q",
        ]);
        assert!(out.status.success());
        let text = reader.join().unwrap();
        assert!(text.contains("\"leg_movements\""));
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));
    }
}
