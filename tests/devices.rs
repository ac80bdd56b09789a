//! Device files: real recordings in `data/devices/` (GGIRread's test files, Apache-2.0;
//! see `data/devices/README.md`) against the values GGIRread's own tests state, and
//! round trips through the writers of `plm_detect::sim::devices`.

use plm_detect::io::{DeviceFile, DeviceFormat};

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/devices")
        .join(name)
}

/// Local clock seconds of a date-time.
fn clock(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: f64) -> f64 {
    let t = chrono::NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
        .and_utc()
        .timestamp() as f64;
    t + s
}

#[test]
fn axivity_ax3_as_ggirread_reads_it() {
    let d = DeviceFile::read_path(data("ax3_testfile.cwa")).unwrap();
    assert_eq!(
        (d.format(), d.model(), d.nominal_rate_hz()),
        (DeviceFormat::Cwa, "AX3", 100.0)
    );
    assert_eq!(d.len(), 145 * 120);
    assert!(d.notes().is_empty(), "{:?}", d.notes());
    // GGIRread (Europe/Berlin, UTC+1): the 5th sample of the whole file at
    // 1551174906.040 UTC, i.e. 2019-02-26 10:55:06.04 local, on its 100 Hz grid.
    let s: Vec<(f64, [f64; 3])> = d.samples().collect();
    assert!(
        (s[4].0 - clock(2019, 2, 26, 10, 55, 6.04)).abs() < 0.02,
        "{}",
        s[4].0
    );
    // The AX3's sample clock runs about 1.1 % slow of its nominal 100 Hz.
    assert!((d.drift_ppm() + 11_383.0).abs() < 50.0, "{}", d.drift_ppm());
    // Blocks 1–4 from GGIRread: x of the first sample 0.7656 g, y of the 4th −0.3125 g.
    assert_eq!(s[120].1[0], 0.765_625);
    assert_eq!(s[123].1[1], -0.3125);
}

#[test]
fn axivity_corrupt_blocks_are_gaps_with_a_note() {
    let d =
        DeviceFile::read_path(data("ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa")).unwrap();
    assert_eq!(d.len(), (145 - 6) * 120);
    assert!(
        d.notes()[0].starts_with("6 corrupt data blocks"),
        "{:?}",
        d.notes()
    );
    let clean = DeviceFile::read_path(data("ax3_testfile.cwa")).unwrap();
    let a: Vec<_> = clean.samples().skip(120).take(12 * 120).collect();
    let b: Vec<_> = d.samples().take(12 * 120).collect();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.1, y.1);
        assert!((x.0 - y.0).abs() < 0.01);
    }
}

#[test]
fn axivity_ax6_takes_the_accelerometer_after_the_gyroscope() {
    let d = DeviceFile::read_path(data("ax6_testfile.cwa")).unwrap();
    assert_eq!((d.model(), d.len()), ("AX6", 283 * 40));
    let s: Vec<(f64, [f64; 3])> = d.samples().collect();
    // Sample 5000 (raw accelerometer −57, 1952, 1062 at ±16 g: 1/2048 g).
    assert_eq!(
        s[5000].1,
        [-57.0 / 2048.0, 1952.0 / 2048.0, 1062.0 / 2048.0]
    );
}

#[test]
fn geneactiv_as_ggirread_reads_it() {
    let d = DeviceFile::read_path(data("GENEActiv_testfile.bin")).unwrap();
    assert_eq!(
        (d.format(), d.model(), d.serial(), d.nominal_rate_hz()),
        (
            DeviceFormat::GeneActiv,
            "GENEActiv 1.1",
            Some("012967"),
            85.7
        )
    );
    let s: Vec<(f64, [f64; 3])> = d.samples().collect();
    // GGIRread: first sample 2013-05-30 10:12:54.5 local; z of sample 300 −0.80836 g
    // (GGIRread keeps f32).
    assert!((s[0].0 - clock(2013, 5, 30, 10, 12, 54.5)).abs() < 1e-6);
    assert!(
        (s[299].1[2] + 0.808_364_033_699).abs() < 1e-7,
        "{}",
        s[299].1[2]
    );
    // The file is cut inside its 17th page: 16 pages of 300 samples.
    assert_eq!(d.len(), 16 * 300);
    assert!(
        d.notes()[0].contains("1 pages did not decode"),
        "{:?}",
        d.notes()
    );
}

#[test]
fn actilife_epoch_counts_are_refused() {
    let e = DeviceFile::read_path(data("ActiGraph13.csv")).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("ActiGraph13.csv, line 5") && m.contains("epoch counts"),
        "{m}"
    );
}
