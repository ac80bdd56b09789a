//! The EDF+ annotation export against an independent reader: `tests/golden/export/
//! lm-annotations.edf` is what `Report::write_edf_annotations` writes for the sample
//! night's scored truth, and `lm-annotations.expected.csv` what pyedflib (`EDFlib`) reads
//! from it (`tests/golden/make_export.py`). After a deliberate change to the writer,
//! regenerate the file with `PLM_BLESS=1 cargo test --test golden_export` and the CSV with
//! the script, and say why in the commit.

use std::path::{Path, PathBuf};

use plm_detect::io::{AnnotationFile, AnnotationOptions, read_leg_movements};
use plm_detect::{Context, LegMovement, Report, Rules, Side, Span};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/export")
        .join(name)
}

/// The export of the sample night's truth, scored, starting 2024-03-01 22:30:05.
fn export() -> (plm_detect::Report, Vec<u8>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lms = read_leg_movements(root.join("data/emg-256hz-15min.truth.csv")).unwrap();
    let mut report = plm_detect::score(
        &lms,
        &Context::default(),
        &Rules::wasm2016(),
        Span::default(),
    )
    .unwrap();
    report.recording.start_time = Some("2024-03-01T22:30:05".into());
    let mut out = Vec::new();
    report.write_edf_annotations(&mut out).unwrap();
    (report, out)
}

#[test]
fn edf_plus_export_is_what_pyedflib_reads() {
    let (report, bytes) = export();
    let path = golden("lm-annotations.edf");
    if std::env::var_os("PLM_BLESS").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    assert!(
        bytes == std::fs::read(&path).unwrap(),
        "the writer's output differs from {}",
        path.display()
    );
    // pyedflib: start, duration, and (onset, duration, text) per annotation.
    let text = std::fs::read_to_string(golden("lm-annotations.expected.csv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(lines.next(), Some("start,2024-03-01 22:30:05"));
    let rows: Vec<(f64, f64, String)> = lines
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.splitn(3, ',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].to_owned(),
            )
        })
        .collect();
    let lm_rows: Vec<&(f64, f64, String)> = rows
        .iter()
        .filter(|r| r.2.starts_with("Limb movement"))
        .collect();
    assert_eq!(lm_rows.len(), report.leg_movements.len());
    for (row, lm) in lm_rows.iter().zip(&report.leg_movements) {
        assert!((row.0 - lm.onset_s).abs() < 1e-6, "{row:?} {lm:?}");
        assert!((row.1 - lm.duration_s()).abs() < 1e-6, "{row:?} {lm:?}");
        assert_eq!(row.2, format!("Limb movement {}", lm.side.as_str()));
    }
    let plms = rows.iter().filter(|r| r.2 == "PLM").count();
    assert_eq!(plms, report.summary.plm_count);
}

/// A scored list: four periodic movements on alternating legs and a lone long one, from a
/// start with a fraction of a second.
fn small_report() -> Report {
    let lms = [
        LegMovement::new(10.0, 11.5, Side::Left),
        LegMovement::new(30.25, 31.0, Side::Right),
        LegMovement::new(50.1, 52.7, Side::Left),
        LegMovement::new(70.003, 71.0, Side::Right),
        LegMovement::new(300.0, 312.0, Side::Left),
    ];
    let mut r = plm_detect::score(
        &lms,
        &Context::default(),
        &Rules::wasm2016(),
        Span::default(),
    )
    .unwrap();
    r.recording.start_time = Some("2024-03-01T22:30:05.250".into());
    r
}

fn read_back(bytes: Vec<u8>) -> (Vec<LegMovement>, Vec<String>) {
    let f = AnnotationFile::read_from(std::io::Cursor::new(bytes), None).unwrap();
    let t = f.leg_movements(&AnnotationOptions::new(30.0)).unwrap();
    (t.value, t.notes)
}

#[test]
fn edf_plus_export_reads_back_as_the_same_movements() {
    let r = small_report();
    let mut out = Vec::new();
    r.write_edf_annotations(&mut out).unwrap();
    assert_eq!(&out[168..184], b"01.03.2422.30.05");
    assert_eq!(&out[192..197], b"EDF+C");
    let text = String::from_utf8_lossy(&out[512..]);
    // The start's quarter second is in the time-keeping annotation.
    assert!(
        text.starts_with("+0.25\x14\x14\0+10.25\x151.5\x14Limb movement left\x14PLM\x14\0"),
        "{text:?}"
    );
    assert!(
        text.contains("Limb movement left\x14nonCLM\x14"),
        "{text:?}"
    );
    let (lms, notes) = read_back(out);
    assert_eq!(lms, r.leg_movements);
    // The classification texts are not movements: counted, not read.
    assert!(notes.iter().any(|n| n.contains("nonCLM ×1")), "{notes:?}");
}

#[test]
fn nsrr_xml_export_reads_back_as_the_same_movements() {
    let r = small_report();
    let mut out = Vec::new();
    r.write_nsrr_xml(&mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.contains("<ClockTime>00.00.00 22.30.05</ClockTime>"),
        "{text}"
    );
    assert!(text.contains("<EventConcept>Periodic leg movement - left|PLM (Left)</EventConcept>"));
    let (lms, _) = read_back(out);
    assert_eq!(lms, r.leg_movements);
}
