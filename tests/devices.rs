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

#[test]
fn recordings_too_short_or_apart_say_how_long_they_share() {
    let ax3 = DeviceFile::read_path(data("ax3_testfile.cwa")).unwrap();
    let ax6 = DeviceFile::read_path(data("ax6_testfile.cwa")).unwrap();
    let plan = |ankles| {
        AnkleNights::plan(ankles, WindowChoice::Estimate)
            .unwrap_err()
            .to_string()
    };
    let e = plan(vec![(Side::Left, &ax3, None)]);
    assert!(
        e.starts_with("the ankle recording lasts 2.9 min, less than the 10 min a night needs (left: 2019-02-26T10:55:05.988 to "),
        "{e}"
    );
    let e = plan(vec![(Side::Left, &ax6, None), (Side::Right, &ax6, None)]);
    assert!(
        e.starts_with("the ankle devices share 1.9 min, less than"),
        "{e}"
    );
    let e = plan(vec![(Side::Left, &ax3, None), (Side::Right, &ax6, None)]);
    assert!(
        e.starts_with("the ankle devices share no time to score (left: 2019-02-26"),
        "{e}"
    );
}

use plm_detect::sim::devices::{ActiLifeCsv, Cwa, DeviceSignal, GeneActiv, Gt3x};
use plm_detect::{
    AnkleNights, Context, Detector, DetectorConfig, Rules, Side, WindowChoice, sim::AccelSimConfig,
};

/// Writes `signal` with `write` into a temporary file of extension `ext` and reads it back.
fn round_trip(
    ext: &str,
    write: impl FnOnce(&mut std::fs::File) -> plm_detect::Result<()>,
) -> DeviceFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("dev.{ext}"));
    let mut f = std::fs::File::create(&path).unwrap();
    write(&mut f).unwrap();
    drop(f);
    DeviceFile::read_path(&path).unwrap()
}

/// Known samples at 1/256 g: a slow wave, a step and values up to ±7.8 g.
fn known(n: usize) -> [Vec<f64>; 3] {
    let x: Vec<f64> = (0..n)
        .map(|i| ((i as f64 * 0.05).sin() * 300.0).round() / 256.0)
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| if i % 97 < 40 { -1.0 } else { 0.5 })
        .collect();
    let z: Vec<f64> = (0..n)
        .map(|i| ((i % 500) as f64 * 4.0 - 1000.0) / 256.0)
        .collect();
    [x, y, z]
}

const START: f64 = 1_709_676_000.0; // 2024-03-05 22:00:00 local

#[test]
fn round_trips_decode_the_samples_written() {
    let axes = known(1000);
    let signal = DeviceSignal {
        axes_g: [&axes[0], &axes[1], &axes[2]],
        rate_hz: 100.0,
        nominal_hz: 100.0,
        start_s: START + 0.25,
    };
    let check = |d: &DeviceFile, exact: &dyn Fn(usize, usize) -> f64, what: &str| {
        let s: Vec<(f64, [f64; 3])> = d.samples().collect();
        assert_eq!(s.len(), 1000, "{what}");
        for (i, (t, v)) in s.iter().enumerate() {
            assert!(
                (t - (START + 0.25 + i as f64 / 100.0)).abs() < 1e-3,
                "{what} {i}: {t}"
            );
            for (a, x) in v.iter().enumerate() {
                assert!(
                    (x - exact(i, a)).abs() < 1e-12,
                    "{what} sample {i} axis {a}: {x} vs {}",
                    exact(i, a)
                );
            }
        }
    };
    let same = |i: usize, a: usize| axes[a][i];
    for (ax6, packed, what) in [
        (false, false, "AX3 16-bit"),
        (false, true, "AX3 packed"),
        (true, false, "AX6"),
    ] {
        let d = round_trip("cwa", |f| {
            Cwa {
                ax6,
                packed,
                device_id: 7,
            }
            .write(&signal, f)
        });
        assert_eq!(d.model(), if ax6 { "AX6" } else { "AX3" });
        // Packed: values over 511/256 g lose the bits their exponent shifts out.
        let packed_value = |i: usize, a: usize| {
            let raw: [i32; 3] = [0, 1, 2].map(|k| (axes[k][i] * 256.0).round() as i32);
            let big = raw.iter().map(|r| r.abs()).max().unwrap();
            let e = (0..4).find(|&e| (big >> e) <= 511).unwrap_or(3);
            f64::from((raw[a] >> e) << e) / 256.0
        };
        if packed {
            check(&d, &packed_value, what);
        } else {
            check(&d, &same, what);
        }
    }
    for packed_12bit in [false, true] {
        // A GT3X stamps whole seconds: it starts on one.
        let whole = DeviceSignal {
            start_s: START,
            ..signal
        };
        let d = round_trip("gt3x", |f| {
            Gt3x {
                serial: "MOS2E00000".into(),
                packed_12bit,
                idle_s: vec![],
                nhanes: false,
            }
            .write(&whole, f)
        });
        assert_eq!(d.format(), DeviceFormat::Gt3x);
        // ACTIVITY (12-bit) clips at ±2047/256 g.
        let clipped = |i: usize, a: usize| (axes[a][i] * 256.0).clamp(-2047.0, 2047.0) / 256.0;
        let s: Vec<(f64, [f64; 3])> = d.samples().collect();
        assert_eq!(s.len(), 1000);
        for (i, (t, v)) in s.iter().enumerate() {
            assert!((t - (START + i as f64 / 100.0)).abs() < 1e-6);
            for (a, x) in v.iter().enumerate() {
                assert!((x - clipped(i, a)).abs() < 1e-12, "gt3x {i} {a}");
            }
        }
    }
    let nhanes = DeviceSignal {
        start_s: START,
        ..signal
    };
    let d = round_trip("gt3x", |f| {
        Gt3x {
            serial: "NEO1C00000".into(),
            packed_12bit: true,
            idle_s: vec![],
            nhanes: true,
        }
        .write(&nhanes, f)
    });
    assert_eq!(d.format(), DeviceFormat::Gt3xNhanes);
    let s: Vec<(f64, [f64; 3])> = d.samples().collect();
    assert_eq!(s.len(), 1000);
    for (i, (_, v)) in s.iter().enumerate() {
        for a in 0..3 {
            let want = (axes[a][i] * 341.0).round().clamp(-2046.0, 2046.0) / 341.0;
            assert!((v[a] - want).abs() < 1e-12);
        }
    }
    let cal = GeneActiv::default();
    let d = round_trip("bin", |f| cal.write(&signal, f));
    assert_eq!(
        (d.format(), d.location()),
        (DeviceFormat::GeneActiv, Some("left ankle"))
    );
    check(&d, &|i, a| cal.decoded(a, axes[a][i]), "GENEActiv");
    for timestamps in [false, true] {
        let d = round_trip("csv", |f| ActiLifeCsv { timestamps }.write(&signal, f));
        let s: Vec<(f64, [f64; 3])> = d.samples().collect();
        assert_eq!(s.len(), 1000);
        assert!(
            (s[0].0 - START).abs() < 1e-9,
            "ActiLife starts on the whole second"
        );
        for (i, (_, v)) in s.iter().enumerate() {
            for a in 0..3 {
                assert!((v[a] - axes[a][i]).abs() <= 0.0005 + 1e-6);
            }
        }
    }
}

#[test]
fn damaged_device_files_are_gaps_notes_or_positioned_errors() {
    let axes = known(2400);
    let signal = DeviceSignal {
        axes_g: [&axes[0], &axes[1], &axes[2]],
        rate_hz: 100.0,
        nominal_hz: 100.0,
        start_s: START,
    };
    let mut cwa = Vec::new();
    Cwa {
        ax6: false,
        packed: false,
        device_id: 1,
    }
    .write(&signal, &mut cwa)
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let read = |bytes: &[u8]| {
        let p = dir.path().join("x.cwa");
        std::fs::write(&p, bytes).unwrap();
        DeviceFile::read_path(&p)
    };
    // A bad checksum: that block (80 samples) is a gap, with a note.
    let mut bad = cwa.clone();
    bad[1024 + 512 * 5 + 100] ^= 0x40;
    let d = read(&bad).unwrap();
    assert_eq!(d.len(), 2400 - 80);
    assert!(
        d.notes()
            .iter()
            .any(|n| n.contains("1 corrupt data blocks")),
        "{:?}",
        d.notes()
    );
    assert!(
        d.notes().iter().any(|n| n.contains("1 gaps")),
        "{:?}",
        d.notes()
    );
    // Truncated inside a block.
    let d = read(&cwa[..cwa.len() - 100]).unwrap();
    assert_eq!(d.len(), 2400 - 80);
    assert!(
        d.notes()
            .iter()
            .any(|n| n.contains("ends inside a data block"))
    );
    // A time jump of an hour between blocks 9 and 10: a gap.
    let late = DeviceSignal {
        axes_g: [&axes[0][800..], &axes[1][800..], &axes[2][800..]],
        start_s: START + 3608.0,
        ..signal
    };
    let early = DeviceSignal {
        axes_g: [&axes[0][..800], &axes[1][..800], &axes[2][..800]],
        ..signal
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    Cwa {
        ax6: false,
        packed: false,
        device_id: 1,
    }
    .write(&early, &mut a)
    .unwrap();
    Cwa {
        ax6: false,
        packed: false,
        device_id: 1,
    }
    .write(&late, &mut b)
    .unwrap();
    a.extend(&b[1024..]);
    let d = read(&a).unwrap();
    assert!(
        (d.end_s() - (START + 3608.0 + 16.0)).abs() < 0.01,
        "{}",
        d.end_s()
    );
    assert!(
        d.notes().iter().any(|n| n.contains("1 gaps")),
        "{:?}",
        d.notes()
    );
    // A wrong magic and a cut header are positioned errors.
    let mut magic = cwa.clone();
    magic[0] = b'X';
    let e = read(&magic).unwrap_err().to_string();
    assert!(e.contains("not a device file"), "{e}");
    let e = read(&cwa[..600]).unwrap_err().to_string();
    assert!(e.contains("byte 600") && e.contains("header"), "{e}");
    // GT3X idle sleep: 60 silent seconds are filled with the last sample, with a note.
    let idle = round_trip("gt3x", |f| {
        Gt3x {
            serial: "MOS2E1".into(),
            packed_12bit: false,
            idle_s: vec![(5, 20)],
            nhanes: false,
        }
        .write(&signal, f)
    });
    assert!(
        idle.notes()
            .iter()
            .any(|n| n.contains("idle sleep") && n.contains("15.0 s")),
        "{:?}",
        idle.notes()
    );
    let s: Vec<(f64, [f64; 3])> = idle.samples().collect();
    assert_eq!(s.len(), 2400, "held samples fill the silence");
    assert_eq!(
        s[1200].1, s[499].1,
        "the last sample before the silence is held"
    );
    assert_eq!(s[2000].1[0], axes[0][2000]);
    // Idle to the end: held up to the Last Sample Time of info.txt, as ActiLife and pygt3x
    // do (checked on pygt3x's ISM_Enabled.gt3x, whose samples then line up with
    // ISM_Disabled.gt3x's).
    let idle_end = round_trip("gt3x", |f| {
        Gt3x {
            serial: "MOS2E1".into(),
            packed_12bit: false,
            idle_s: vec![(20, 24)],
            nhanes: false,
        }
        .write(&signal, f)
    });
    let s: Vec<(f64, [f64; 3])> = idle_end.samples().collect();
    assert_eq!(s.len(), 2400);
    assert_eq!(s[2399].1, s[1999].1);
    assert!((idle_end.end_s() - (START + 24.0)).abs() < 1e-6);
    // A GT3X log record with a bad checksum is left out with a note.
    let mut zipped = std::io::Cursor::new(Vec::new());
    Gt3x {
        serial: "MOS2E1".into(),
        packed_12bit: false,
        idle_s: vec![],
        nhanes: false,
    }
    .write(&signal, &mut zipped)
    .unwrap();
    let e = {
        let p = dir.path().join("x.gt3x");
        let mut bytes = zipped.into_inner();
        let n = bytes.len();
        bytes.truncate(n / 2);
        std::fs::write(&p, &bytes).unwrap();
        DeviceFile::read_path(&p).unwrap_err().to_string()
    };
    assert!(e.contains("x.gt3x") && e.contains("zip"), "{e}");
}

#[test]
fn two_ankle_device_files_score_like_the_csv_night() {
    let night = plm_detect::sim::simulate_accel(&AccelSimConfig {
        duration_s: 1800.0,
        sample_rate_hz: 50.0,
        series_per_hour: 10.0,
        isolated_per_hour: 20.0,
        ..AccelSimConfig::default()
    })
    .unwrap();
    let rec = &night.recording;
    let fs = rec.sample_rate_hz();
    let legs: Vec<&[Vec<f64>; 3]> = rec
        .legs()
        .iter()
        .map(plm_detect::io::AccelLeg::axes_g)
        .collect();
    // Left: an AX3 whose sample clock runs 50 ppm fast, started 0.3 s after the night's
    // t = 0; right: a GT3X started 7 s after it.
    let fast = fs * (1.0 + 50e-6);
    let n_left = ((1800.0 - 0.3) * fast) as usize - 1;
    let resampled: [Vec<f64>; 3] = std::array::from_fn(|a| {
        (0..n_left)
            .map(|k| {
                let t = (0.3 + k as f64 / fast) * fs;
                let (i, w) = (t.floor() as usize, t.fract());
                legs[0][a][i] + w * (legs[0][a][i + 1] - legs[0][a][i])
            })
            .collect()
    });
    let left = DeviceSignal {
        axes_g: [&resampled[0], &resampled[1], &resampled[2]],
        rate_hz: fast,
        nominal_hz: fs,
        start_s: START + 0.3,
    };
    let skip = (7.0 * fs) as usize;
    let right = DeviceSignal {
        axes_g: [
            &legs[1][0][skip..],
            &legs[1][1][skip..],
            &legs[1][2][skip..],
        ],
        rate_hz: fs,
        nominal_hz: fs,
        start_s: START + 7.0,
    };
    let l = round_trip("cwa", |f| {
        Cwa {
            ax6: false,
            packed: false,
            device_id: 3,
        }
        .write(&left, f)
    });
    let r = round_trip("gt3x", |f| {
        Gt3x {
            serial: "MOS2E2".into(),
            packed_12bit: false,
            idle_s: vec![],
            nhanes: false,
        }
        .write(&right, f)
    });
    assert!((l.drift_ppm() - 50.0).abs() < 2.0, "{}", l.drift_ppm());
    let plan = AnkleNights::plan(
        vec![(Side::Left, &l, None), (Side::Right, &r, None)],
        WindowChoice::Span {
            from_s: START + 7.0,
            to_s: START + 1800.0,
        },
    )
    .unwrap();
    assert_eq!(plan.nights.len(), 1);
    let dev = plan.recording(0).unwrap();
    assert_eq!(dev.devices().len(), 2);
    let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default()).unwrap();
    let from_devices = detector.run_accel(&dev, &Context::default()).unwrap();
    let from_csv = detector.run_accel(rec, &Context::default()).unwrap();
    assert!(
        from_devices
            .notes
            .iter()
            .any(|n| n.contains("differ by 50 ppm")),
        "{:?}",
        from_devices.notes
    );
    // Movements of the CSV night after the devices' common start, against the devices'.
    let csv: Vec<_> = from_csv
        .leg_movements
        .iter()
        .filter(|m| m.onset_s > 8.0 && m.offset_s < 1799.0)
        .collect();
    let dev_lms: Vec<_> = from_devices
        .leg_movements
        .iter()
        .map(|m| (m.side, m.onset_s + 7.0, m.offset_s + 7.0))
        .collect();
    // Edges agree within 0.15 s for almost all, within 0.5 s for all: the devices store
    // 1/256 g (about the sensor noise), which moves a threshold crossing now and then.
    let within = |tol: f64| {
        csv.iter()
            .filter(|m| {
                dev_lms.iter().any(|d| {
                    d.0 == m.side && (d.1 - m.onset_s).abs() < tol && (d.2 - m.offset_s).abs() < tol
                })
            })
            .count()
    };
    let (close, matched) = (within(0.15), within(0.5));
    assert!(csv.len() > 50, "{}", csv.len());
    assert!(
        close * 100 >= csv.len() * 95,
        "{close} of {} within 0.15 s",
        csv.len()
    );
    assert_eq!(matched, csv.len(), "every movement within 0.5 s");
    assert!(
        (dev_lms.len() as i64 - csv.len() as i64).abs() <= 3,
        "{} vs {}",
        dev_lms.len(),
        csv.len()
    );
}
