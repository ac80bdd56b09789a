//! `--review`: the review page of single nights and batches, what it holds, and the runs
//! it refuses. (`tests/review_browser.rs` loads pages in a browser.)

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::{data, plm, run, stdout_json};

/// The data the page's script draws from: the JSON in its `#data` script element.
fn page_data(html: &str) -> Value {
    let open = r#"<script type="application/json" id="data">"#;
    let start = html.find(open).expect("the page holds its data") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The review page is self-contained, leaves the report as it is, and holds every
/// movement with the full-rate signal around it.
#[test]
fn the_page_holds_the_night_and_leaves_the_report_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let night = data("emg-256hz-15min.edf");
    let xml = data("context/emg-256hz-15min-nsrr.xml");
    let html = dir.path().join("review.html");
    let args = [
        "detect",
        night.to_str().unwrap(),
        "--annotations",
        xml.to_str().unwrap(),
    ];
    let plain = stdout_json(&run(&[&args[..], &["--json", "-", "-q"]].concat()));
    let with = stdout_json(&run(&[
        &args[..],
        &["--json", "-", "-q", "--review", html.to_str().unwrap()],
    ]
    .concat()));
    assert_eq!(plain, with, "--review changed the report");
    let page = read(&html);
    assert!(page.starts_with("<!DOCTYPE html>"));
    // No network: no external script, style, font or image.
    for needle in [
        "<script src",
        "<link",
        "@import",
        "url(",
        "http://",
        "https://",
    ] {
        assert!(
            !page.contains(needle),
            "the page refers outside itself: {needle}"
        );
    }
    let d = page_data(&page);
    assert_eq!(d["title"], "emg-256hz-15min");
    assert_eq!(
        d["lms"].as_array().unwrap().len(),
        plain["leg_movements"].as_array().unwrap().len()
    );
    assert_eq!(
        d["candidates"].as_array().unwrap().len(),
        plain["candidate_movements"].as_array().unwrap().len()
    );
    assert_eq!(d["arousals"].as_array().unwrap().len(), 14);
    assert!(!d["hypnogram"].as_array().unwrap().is_empty());
    // Clock time: the EDF's start.
    assert_eq!(
        d["start"][1].as_f64().unwrap(),
        22.0 * 3600.0 + 30.0 * 60.0 + 5.0
    );
    let duration_s = plain["recording"]["duration_s"].as_f64().unwrap();
    let legs = d["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2);
    for (k, leg) in legs.iter().enumerate() {
        assert_eq!(leg["fs_hz"], 256.0);
        assert_eq!(leg["onset_above"], 8.0);
        // A 15-min night: every movement has its full-rate window (3 s either side).
        let fine: Vec<(f64, f64)> = leg["fine"]["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let (t0, n) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                (t0, t0 + n / 256.0)
            })
            .collect();
        for m in d["lms"].as_array().unwrap() {
            if m[2].as_u64() != Some(k as u64) {
                continue;
            }
            let (on, off) = (m[0].as_f64().unwrap(), m[1].as_f64().unwrap());
            assert!(
                fine.iter().any(|&(a, b)| {
                    a <= (on - 2.9).max(0.0) + 1e-6 && b >= (off + 2.9).min(duration_s) - 1e-6
                }),
                "movement {on}–{off} of leg {k} has no full-rate window: {fine:?}"
            );
        }
        // The whole night in bins: 900 s of ≥ 40-ms bins.
        let bins: f64 = leg["min"]["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_f64().unwrap())
            .sum();
        let dt = leg["min"]["dt_s"].as_f64().unwrap();
        assert!(
            dt >= 0.04 && (bins * dt - duration_s).abs() < 1.0,
            "{bins} × {dt}"
        );
    }
}

/// A recording with a long gap that is not stored: the page's series restart after it at
/// their time on the grid, as the movements do.
#[test]
fn series_restart_after_a_long_gap_at_their_grid_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gap.csv");
    let mut csv = String::from("time_s,left_uv\n");
    let mut state = 12345u64;
    for (from, to) in [(0, 240 * 128), (1000 * 128, 1240 * 128)] {
        for i in from..to {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 6.0;
            let t = f64::from(i) / 128.0;
            // A 2-s burst at 100 s and at 1100 s.
            let burst = if (100.0..102.0).contains(&(t % 1000.0)) {
                60.0 * (t * 300.0).sin()
            } else {
                0.0
            };
            let _ = writeln!(csv, "{t:.6},{:.3}", noise + burst);
        }
    }
    std::fs::write(&path, csv).unwrap();
    let html = dir.path().join("gap.html");
    let report = stdout_json(&run(&[
        "detect",
        path.to_str().unwrap(),
        "--json",
        "-",
        "-q",
        "--review",
        html.to_str().unwrap(),
    ]));
    let onsets: Vec<f64> = report["leg_movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["onset_s"].as_f64().unwrap())
        .collect();
    assert!(
        onsets.iter().any(|t| (t - 1100.0).abs() < 0.5),
        "{onsets:?}"
    );
    let d = page_data(&read(&html));
    let pieces = d["legs"][0]["min"]["pieces"].as_array().unwrap();
    assert_eq!(pieces.len(), 2, "{pieces:?}");
    let second = pieces[1][0].as_f64().unwrap();
    assert!((second - 1000.0).abs() < 0.1, "{pieces:?}");
    let fine = d["legs"][0]["fine"]["pieces"].as_array().unwrap();
    assert!(
        fine.iter()
            .any(|p| (p[0].as_f64().unwrap() - 1097.0).abs() < 0.1),
        "{fine:?}"
    );
}

#[test]
fn batch_mode_writes_a_page_per_night() {
    let dir = tempfile::tempdir().unwrap();
    let nights = dir.path().join("nights");
    std::fs::create_dir(&nights).unwrap();
    for name in ["emg-256hz-15min.csv", "accel-50hz-15min.csv"] {
        std::fs::copy(data(name), nights.join(name)).unwrap();
    }
    let out = dir.path().join("out");
    let status = plm()
        .args([
            "detect",
            nights.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
            "-q",
            "--review",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    for name in ["emg-256hz-15min", "accel-50hz-15min"] {
        let d = page_data(&read(&out.join(format!("{name}.html"))));
        assert_eq!(d["title"], name);
        assert_eq!(d["legs"].as_array().unwrap().len(), 2);
    }
    let d = page_data(&read(&out.join("accel-50hz-15min.html")));
    assert_eq!(d["unit"], "mg");
}

#[test]
fn a_page_without_a_file_or_with_one_in_batch_mode_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let night = data("emg-256hz-15min.csv");
    let out = run(&["detect", night.to_str().unwrap(), "--review"]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("--review needs the page's file"), "{e}");
    let out = run(&[
        "detect",
        night.to_str().unwrap(),
        night.to_str().unwrap(),
        "--out-dir",
        dir.path().to_str().unwrap(),
        "--review",
        "x.html",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("give --review alone"), "{e}");
}

/// `plm score` has no signal: its page has the overview and the table only.
#[test]
fn a_scored_list_gets_a_page_without_signal() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("score.html");
    let lms = data("emg-256hz-15min.truth.csv");
    let hyp = data("emg-256hz-15min.hyp.csv");
    let out = run(&[
        "score",
        lms.to_str().unwrap(),
        "--hypnogram",
        hyp.to_str().unwrap(),
        "-q",
        "--review",
        html.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = page_data(&read(&html));
    assert!(d["legs"].as_array().unwrap().is_empty());
    assert!(!d["lms"].as_array().unwrap().is_empty());
}
