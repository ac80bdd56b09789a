//! Accelerometer detection accuracy on simulated nights not used for tuning (issue #3's
//! acceptance conditions): 25–100 Hz, noisy sensors, small movements, many posture
//! changes, and rounded, drifting, jittered time stamps read back from CSV.
//!
//! Thresholds (issue #3's targets): LM F1 ≥ 0.95 on every night and ≥ 0.97 on average;
//! PLMS index within 2/h of the reference on average. The reference PLMs are the true LMs
//! scored with the same rules, *including* the barely visible ones (peak < 5 × sensor
//! noise), as in the shared evaluation.
//!
//! The nights are whole nights (8 h), three seeds per condition. A one-hour night measures
//! the index badly: its 0.9 h of sleep makes each PLM worth 1.1/h, so one series of 4–6
//! that the reference builds on a barely visible movement moves the error by 4–7/h. On
//! one-hour nights of these seven conditions (seeds 401–407) the mean error was 2.06/h
//! (LM F1 0.991); on the same conditions at 8 h it is 1.0–1.1/h for each seed set, with
//! the detector unchanged.

use plm_detect::sim::{AccelSimConfig, AccelSimNight, TrueMovement, simulate_accel};
use plm_detect::{AccelRecording, Context, Detector, DetectorConfig, Night, Reader, Rules};

fn score_night(night: &AccelSimNight, recording: &AccelRecording) -> (f64, f64) {
    let ctx = Context {
        hypnogram: Some(night.hypnogram.clone()),
        respiratory: night.respiratory.clone(),
        arousals: vec![],
    };
    let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default()).unwrap();
    let report = detector.run_accel(recording, &ctx).unwrap();
    assert_eq!(report.modality, plm_detect::report::Modality::Accelerometer);
    let reference: Vec<_> = night.truth.iter().map(TrueMovement::reference).collect();
    let c = plm_detect::compare(&report, &reference, &ctx, &Rules::wasm2016(), 0.5).unwrap();
    let err = (c.plms_index.unwrap_or(0.0) - c.reference_plms_index.unwrap_or(0.0)).abs();
    (c.lm.f1(), err)
}

/// A condition's settings, applied to a seed's base settings.
type Setup = fn(AccelSimConfig) -> AccelSimConfig;

#[test]
#[ignore = "night-long: run with `cargo test --release -- --ignored`"]
fn accelerometer_accuracy_on_unseen_simulated_nights() {
    let base = AccelSimConfig {
        duration_s: 8.0 * 3600.0,
        ..AccelSimConfig::default()
    };
    // (name, settings, read back from CSV)
    let conditions: [(&str, Setup, bool); 7] = [
        (
            "25 Hz",
            |c| AccelSimConfig {
                sample_rate_hz: 25.0,
                ..c
            },
            false,
        ),
        ("50 Hz", |c| c, false),
        (
            "100 Hz",
            |c| AccelSimConfig {
                sample_rate_hz: 100.0,
                ..c
            },
            false,
        ),
        (
            "noisy sensor 15 mg",
            |c| AccelSimConfig {
                noise_mg: 15.0,
                ..c
            },
            false,
        ),
        (
            "small movements 20–80 mg",
            |c| AccelSimConfig {
                amplitude_mg: (20.0, 80.0),
                ..c
            },
            false,
        ),
        (
            "30 posture changes/h",
            |c| AccelSimConfig {
                posture_changes_per_hour: 30.0,
                ..c
            },
            false,
        ),
        (
            "25 Hz, ms stamps, 400 ppm drift, 4 ms jitter (CSV)",
            |c| AccelSimConfig {
                sample_rate_hz: 25.0,
                clock_drift_ppm: 400.0,
                time_jitter_s: 0.004,
                time_decimals: Some(3),
                ..c
            },
            true,
        ),
    ];
    let (mut sum_f1, mut sum_err, mut n, mut failures) = (0.0, 0.0, 0usize, Vec::new());
    for seeds in [400, 410, 420] {
        for (k, (name, setup, via_csv)) in (1u64..).zip(&conditions) {
            let cfg = setup(AccelSimConfig {
                seed: seeds + k,
                ..base.clone()
            });
            let night = simulate_accel(&cfg).unwrap();
            let recording = if *via_csv {
                let mut bytes = Vec::new();
                night.write_signals(&mut bytes).unwrap();
                let Night::Accel(rec) = Reader::new()
                    .read_from(std::io::Cursor::new(bytes), None)
                    .unwrap()
                else {
                    panic!("not read as accelerometers")
                };
                assert!(
                    (rec.sample_rate_hz() - cfg.sample_rate_hz / 1.0004).abs() < 0.01,
                    "{}",
                    rec.sample_rate_hz()
                );
                rec
            } else {
                night.recording.clone()
            };
            let (f1, err) = score_night(&night, &recording);
            eprintln!(
                "{name:52} seed {:3}  LM F1 {f1:.4}  |ΔPLMSI| {err:.2}/h",
                cfg.seed
            );
            if f1 < 0.95 {
                failures.push(format!("{name} (seed {}): LM F1 {f1:.4} < 0.95", cfg.seed));
            }
            sum_f1 += f1;
            sum_err += err;
            n += 1;
        }
    }
    let n = n as f64;
    eprintln!(
        "mean LM F1 {:.4}  |ΔPLMSI| {:.2}/h",
        sum_f1 / n,
        sum_err / n
    );
    assert!(failures.is_empty(), "{failures:?}");
    assert!(sum_f1 / n >= 0.97, "mean LM F1 {:.4} < 0.97", sum_f1 / n);
    assert!(
        sum_err / n <= 2.0,
        "mean PLMS index error {:.2}/h > 2/h",
        sum_err / n
    );
}
