//! Scoring exports of other software (`data/context/emg-256hz-15min-*`, written by
//! `data/context/make-exports.py` from the night's CSV scoring): each is recognised by its
//! content, read into the same context and leg movements, and scored as the CSV files are.

use serde_json::{Value, json};

use super::{data, run, stdout_json};

const NIGHT: &str = "emg-256hz-15min";

/// A fixture of `data/context/`.
fn export(which: &str) -> String {
    data(&format!("context/{NIGHT}-{which}"))
        .to_string_lossy()
        .into_owned()
}

fn csv(which: &str) -> String {
    data(which).to_string_lossy().into_owned()
}

/// `plm ARGS --json - -q`, which must succeed.
fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--json", "-", "-q"]);
    stdout_json(&run(&all))
}

/// `plm ARGS --json - -q` with the report's `context.sources` kept.
fn json_with_sources(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--json", "-", "-q"]);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `(part, format, count)` of each context source of a report.
fn sources(report: &Value) -> Vec<(String, String, u64)> {
    report["context"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["part"].as_str().unwrap().to_owned(),
                s["format"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn parts(format: &str, counts: [u64; 3]) -> Vec<(String, String, u64)> {
    ["hypnogram", "respiratory", "arousals"]
        .iter()
        .zip(counts)
        .map(|(p, c)| ((*p).to_owned(), format.to_owned(), c))
        .collect()
}

#[test]
fn every_export_gives_the_night_s_context() {
    let night = csv(&format!("{NIGHT}.csv"));
    let edf = csv(&format!("{NIGHT}.edf"));
    // The CSV context, with the exports' three respiratory events.
    let want = json(&["detect", &night, "--annotations", &export("profusion.xml")]);
    let reference = json(&[
        "detect",
        &night,
        "--hypnogram",
        &csv(&format!("{NIGHT}.hyp.csv")),
        "--arousals",
        &csv(&format!("context/{NIGHT}.arousals.csv")),
    ]);
    assert_eq!(
        want["summary"]["plms_index"],
        reference["summary"]["plms_index"]
    );
    assert_eq!(
        want["summary"]["plms_arousal_index"],
        reference["summary"]["plms_arousal_index"]
    );
    assert_ne!(
        want["summary"]["plmsnr_index"],
        reference["summary"]["plmsnr_index"]
    );
    for (args, format) in [
        (
            vec!["detect", &night, "--annotations", "profusion.xml"],
            "Compumedics Profusion XML",
        ),
        (
            vec!["detect", &night, "--annotations", "sdo-nsrr.xml"],
            "NSRR XML",
        ),
        (
            vec!["detect", &night, "--annotations", "plmscore.edf"],
            "EDF+ annotations",
        ),
        // Clock times: from the EDF start, from the first stage epoch, from --start-time.
        (
            vec!["detect", &edf, "--annotations", "embla.xml"],
            "Embla XML",
        ),
        (
            vec!["detect", &night, "--annotations", "remlogic.txt"],
            "RemLogic event export",
        ),
        (
            vec![
                "detect",
                &night,
                "--annotations",
                "remlogic.txt",
                "--start-time",
                "23:52:30",
            ],
            "RemLogic event export",
        ),
    ] {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains('.') && !a.contains('/') {
                    export(a)
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = json_with_sources(&args);
        assert_eq!(sources(&got), parts(format, [30, 3, 14]), "{args:?}");
        for key in [
            "plms_index",
            "plmsnr_index",
            "plms_arousal_index",
            "clms_index",
        ] {
            assert_eq!(got["summary"][key], want["summary"][key], "{args:?} {key}");
        }
    }
    let embla = json_with_sources(&["detect", &edf, "--annotations", &export("embla.xml")]);
    assert_eq!(
        embla["context"]["clock_origin"],
        "the EDF start 2024-03-01T22:30:05"
    );
    // The EDF start comes first, and a --start-time it overrides is said so.
    let given = json_with_sources(&[
        "detect",
        &edf,
        "--annotations",
        &export("embla.xml"),
        "--start-time",
        "22:00:00",
    ]);
    assert_eq!(given["summary"], embla["summary"]);
    let notes = given["notes"].to_string();
    assert!(
        notes.contains("--start-time 22:00:00 not used: clock times are placed from the EDF start 2024-03-01T22:30:05"),
        "{notes}"
    );
    // Given for files without clock times, it is said to be unused.
    let unused = json_with_sources(&[
        "detect",
        &night,
        "--annotations",
        &export("profusion.xml"),
        "--start-time",
        "22:00:00",
    ]);
    let notes = unused["notes"].to_string();
    assert!(
        notes.contains("--start-time not used: no context file has clock times"),
        "{notes}"
    );
    let remlogic = json_with_sources(&["detect", &night, "--annotations", &export("remlogic.txt")]);
    assert!(
        remlogic["context"]["clock_origin"]
            .as_str()
            .unwrap()
            .starts_with("the first stage epoch of "),
        "{}",
        remlogic["context"]
    );
    let notes = remlogic["notes"].to_string();
    assert!(
        notes.contains(
            "3 events of types scoring does not use ignored: DESAT ×1, LIGHTS-OFF ×1, POS-SUPINE ×1"
        ),
        "{notes}"
    );
}

#[test]
fn domino_and_cap_files_give_their_parts() {
    let night = csv(&format!("{NIGHT}.csv"));
    let got = json_with_sources(&[
        "detect",
        &night,
        "--hypnogram",
        &export("domino-profile.txt"),
        "--respiratory",
        &export("domino-events.txt"),
        "--arousals",
        &export("domino-events.txt"),
    ]);
    let format = "SOMNOmedics DOMINO export";
    // One profile epoch is an artifact (`A`): 29 epochs with a stage.
    assert_eq!(sources(&got), parts(format, [29, 3, 14]));
    assert_eq!(got["context"]["unstaged_epochs"], 1);
    let cap = export("cap.txt");
    let got = json_with_sources(&["detect", &night, "--annotations", &cap]);
    assert_eq!(
        sources(&got),
        parts("CAP Sleep Database scorer file", [29, 0, 0])
    );
    assert!(
        got["notes"].to_string().contains("--cap-arousals"),
        "{}",
        got["notes"]
    );
    let got = json_with_sources(&[
        "detect",
        &night,
        "--hypnogram",
        &cap,
        "--arousals",
        &cap,
        "--cap-arousals",
    ]);
    assert_eq!(got["context"]["arousals"], 6);
    // Asked for what it does not hold: an error listing what it has.
    let out = run(&["detect", &night, "--respiratory", &cap]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CAP Sleep Database scorer file: no respiratory events among 36 scored events; event names seen: SLEEP-S2 ×"),
        "{err}"
    );
}

/// `plm score` of movements given in another format equals `plm score` of the same
/// movements as `onset_s,offset_s,side` CSV.
#[test]
fn scored_movements_of_every_export_score_as_the_csv_list() {
    let truth = csv(&format!("{NIGHT}.truth.csv"));
    let hyp = csv(&format!("{NIGHT}.hyp.csv"));
    let want = json(&["score", &truth, "--hypnogram", &hyp]);
    let remlogic = export("remlogic.txt");
    let edf = export("plmscore.edf");
    let with_edf_context = json(&["score", &truth, "--annotations", &edf]);
    for (args, like) in [
        (
            vec!["score", remlogic.as_str(), "--hypnogram", remlogic.as_str()],
            &want,
        ),
        (
            vec![
                "score",
                &export("lms.txt"),
                "--hypnogram",
                remlogic.as_str(),
            ],
            &want,
        ),
        (
            vec![
                "score",
                &export("lms.txt"),
                "--hypnogram",
                &hyp,
                "--start-time",
                "2024-03-01T23:52:30",
            ],
            &want,
        ),
        (
            vec!["score", &export("profusion.xml"), "--hypnogram", &hyp],
            &want,
        ),
        (
            vec![
                "score",
                &export("embla.xml"),
                "--hypnogram",
                &hyp,
                "--start-time",
                "22:30:05",
            ],
            &want,
        ),
        (
            vec!["score", &edf, "--annotations", &edf],
            &with_edf_context,
        ),
    ] {
        let got = json(&args);
        for key in ["leg_movements", "candidate_movements", "series", "summary"] {
            assert_eq!(got[key], like[key], "{args:?}: {key}");
        }
    }
    // The RemLogic LM 10 s before the first stage epoch is dropped, and said so.
    let out = run(&["score", &remlogic, "--hypnogram", &remlogic, "-q"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 event outside the recording dropped (1 before its start, 0 after its end)"),
        "{err}"
    );
    // Clock times with nothing to place them: an error that says what to give.
    let out = run(&["score", &export("lms.txt")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --start-time"));
}

#[test]
fn compare_takes_a_reference_in_any_format() {
    let truth = csv(&format!("{NIGHT}.truth.csv"));
    let hyp = csv(&format!("{NIGHT}.hyp.csv"));
    let compare = |reference: &str| {
        json(&[
            "compare",
            &truth,
            reference,
            "--hypnogram",
            &hyp,
            "--start-time",
            "23:52:30",
        ])
    };
    let want = compare(&truth);
    assert_eq!(want["lm"]["matched"], json!(40));
    for which in ["remlogic.txt", "lms.txt", "plmscore.edf", "profusion.xml"] {
        let got = compare(&export(which));
        assert_eq!(got["lm"], want["lm"], "{which}");
        assert_eq!(got["plm"], want["plm"], "{which}");
    }
}

/// The night's own EDF+ (`data/emg-256hz-15min.edf`) with the scoring of
/// `…-plmscore.edf` written into its annotation signal, as a PSG system would: each
/// record's time-keeping annotation, then as many of the scored events as fit.
fn night_with_its_scoring(dir: &std::path::Path) -> std::path::PathBuf {
    let mut night = std::fs::read(data(&format!("{NIGHT}.edf"))).unwrap();
    let scoring = std::fs::read(data(&format!("context/{NIGHT}-plmscore.edf"))).unwrap();
    // The scoring file: a 512-byte header, then one record of TALs; the first is its
    // time-keeping one.
    let mut queue: std::collections::VecDeque<Vec<u8>> = scoring[512..]
        .split(|&b| b == 0)
        .filter(|t| !t.is_empty())
        .skip(1)
        .map(|t| [t, &[0]].concat())
        .collect();
    assert!(queue.len() > 80);
    // The night: 3 signals (two legs of 256 samples, 57 annotation samples) in 900 records.
    let (header, legs, slot) = (4 * 256, 2 * 256 * 2, 57 * 2);
    for r in 0..900 {
        let at = header + r * (legs + slot) + legs;
        let mut tals = format!("+{r}\x14\x14\0").into_bytes();
        while queue.front().is_some_and(|t| tals.len() + t.len() <= slot) {
            tals.extend(queue.pop_front().unwrap());
        }
        tals.resize(slot, 0);
        night[at..at + slot].copy_from_slice(&tals);
    }
    assert!(queue.is_empty(), "every scored event fits");
    let path = dir.join("night.edf");
    std::fs::write(&path, night).unwrap();
    path
}

#[test]
fn the_night_s_own_edf_plus_scoring_is_read_from_the_night() {
    let dir = tempfile::tempdir().unwrap();
    let night = night_with_its_scoring(dir.path());
    let night = night.to_str().unwrap();
    let scoring = export("plmscore.edf");
    // `plm score NIGHT.edf --annotations NIGHT.edf`: its LMs, scored with its context.
    let got = json(&["score", night, "--annotations", night]);
    let want = json(&["score", &scoring, "--annotations", &scoring]);
    for key in ["leg_movements", "candidate_movements", "series", "summary"] {
        assert_eq!(got[key], want[key], "{key}");
    }
    assert_eq!(got["summary"]["plm_count"], 31);
    // `plm detect NIGHT.edf --annotations NIGHT.edf`: detection with that context.
    let got = json(&["detect", night, "--annotations", night]);
    let want = json(&["detect", night, "--annotations", &scoring]);
    assert_eq!(got["summary"], want["summary"]);
    assert_eq!(got["context"], want["context"]);
}

/// An export given where the night belongs: told what it is and where it goes, whatever
/// its format.
#[test]
fn an_export_given_as_the_night_says_where_it_belongs() {
    for (which, format) in [
        ("remlogic.txt", "RemLogic event export"),
        ("profusion.xml", "Compumedics Profusion XML"),
        ("embla.xml", "Embla XML"),
        ("domino-events.txt", "SOMNOmedics DOMINO export"),
        ("cap.txt", "CAP Sleep Database scorer file"),
        ("lms.txt", "event list (start, type, duration)"),
    ] {
        let out = run(&["detect", &export(which)]);
        assert_eq!(out.status.code(), Some(2), "{which}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{format}: this file holds scoring, not a night's signals: give it with --annotations")),
            "{err}"
        );
    }
}

/// `--edf-annotations` and `--nsrr-xml` write the detection where scorers open it, and
/// both read back through `plm score` into the detection's indices.
#[test]
fn detections_written_as_edf_plus_and_nsrr_xml_score_back_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (edf, xml) = (dir.path().join("lm.edf"), dir.path().join("lm.xml"));
    let hyp = csv(&format!("{NIGHT}.hyp.csv"));
    let arousals = csv(&format!("context/{NIGHT}.arousals.csv"));
    for (night, edf_night) in [
        (csv(&format!("{NIGHT}.edf")), true),
        (csv("accel-50hz-15min.csv"), false),
    ] {
        let detected = json(&[
            "detect",
            &night,
            "--hypnogram",
            &hyp,
            "--arousals",
            &arousals,
            "--edf-annotations",
            edf.to_str().unwrap(),
            "--nsrr-xml",
            xml.to_str().unwrap(),
        ]);
        let duration = detected["recording"]["duration_s"].to_string();
        for export in [&edf, &xml] {
            let scored = json(&[
                "score",
                export.to_str().unwrap(),
                "--hypnogram",
                &hyp,
                "--arousals",
                &arousals,
                "--duration",
                &duration,
            ]);
            for key in [
                "plms_index",
                "clms_index",
                "plmw_index",
                "plms_arousal_index",
                "periodicity_index",
                "plm_count",
                "clm_count",
                "nonclm_count",
            ] {
                assert_eq!(
                    scored["summary"][key], detected["summary"][key],
                    "{night} {export:?} {key}"
                );
            }
            let (a, b) = (&scored["leg_movements"], &detected["leg_movements"]);
            assert_eq!(a.as_array().unwrap().len(), b.as_array().unwrap().len());
            for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
                assert_eq!(
                    (&x["onset_s"], &x["offset_s"], &x["side"]),
                    (&y["onset_s"], &y["offset_s"], &y["side"])
                );
            }
        }
        // The EDF+ header carries the night's start when it has one.
        let bytes = std::fs::read(&edf).unwrap();
        if edf_night {
            assert_eq!(&bytes[168..184], b"01.03.2422.30.05");
        }
    }
}
