//! Golden tests: the filter design and zero-phase filtering against scipy.
//!
//! `tests/golden/filter_golden.json` is written by `tests/golden/make_golden.py` with
//! scipy's `butter(..., output="sos")`, `iirnotch`, `sosfreqz` and `sosfiltfilt`. Section
//! pairing may differ from scipy's, so the cascade is compared through what it does: its
//! complex frequency response, its poles, and its forward–backward output on a fixed signal.

use plm_detect::internals::{Band, Section, ZeroPhase, butterworth, notch, response};
use serde_json::Value;

fn load() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/filter_golden.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn design(case: &Value) -> Vec<Section> {
    let fs = case["fs_hz"].as_f64().unwrap();
    let edges = floats(&case["edges_hz"]);
    let order = case["order"].as_u64().unwrap() as usize;
    let mut sos = match case["kind"].as_str() {
        Some("bandpass") => butterworth(order, Band::BandPass(edges[0], edges[1]), fs).unwrap(),
        Some("lowpass") => butterworth(order, Band::LowPass(edges[0]), fs).unwrap(),
        Some("highpass") => butterworth(order, Band::HighPass(edges[0]), fs).unwrap(),
        _ => Vec::new(),
    };
    for n in case["notches"].as_array().unwrap() {
        sos.push(notch(n["f0_hz"].as_f64().unwrap(), n["q"].as_f64().unwrap(), fs).unwrap());
    }
    sos
}

#[test]
fn frequency_response_matches_scipy() {
    let doc = load();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let fs = case["fs_hz"].as_f64().unwrap();
        let sos = design(case);
        let freqs = floats(&case["response_freqs_hz"]);
        for (f, h) in freqs.iter().zip(case["response"].as_array().unwrap()) {
            let h = floats(h);
            let ours = response(&sos, *f, fs);
            let err = ((ours.re - h[0]).powi(2) + (ours.im - h[1]).powi(2)).sqrt();
            assert!(
                err < 1e-9 * (1.0 + h[0].hypot(h[1])),
                "{name} at {f} Hz: ours {ours} scipy {h:?}"
            );
        }
    }
}

#[test]
fn notch_coefficients_equal_scipy_iirnotch() {
    let doc = load();
    for case in doc["cases"].as_array().unwrap() {
        let fs = case["fs_hz"].as_f64().unwrap();
        let Some(refs) = case.get("notch_ba") else {
            continue;
        };
        for (n, r) in case["notches"]
            .as_array()
            .unwrap()
            .iter()
            .zip(refs.as_array().unwrap())
        {
            let ours = notch(n["f0_hz"].as_f64().unwrap(), n["q"].as_f64().unwrap(), fs).unwrap();
            for (a, b) in ours.iter().zip(floats(r)) {
                assert!((a - b).abs() < 1e-14, "{ours:?} vs {r}");
            }
        }
    }
}

#[test]
fn poles_match_scipy() {
    let doc = load();
    for case in doc["cases"].as_array().unwrap() {
        let Some(poles) = case.get("poles") else {
            continue;
        };
        let name = case["name"].as_str().unwrap();
        // The Butterworth sections only (notch sections come after them).
        let mut sos = design(case);
        sos.truncate(sos.len() - case["notches"].as_array().unwrap().len());
        // Roots of each section's denominator.
        let mut ours: Vec<(f64, f64)> = Vec::new();
        for s in &sos {
            let (a1, a2) = (s[4], s[5]);
            if a2 == 0.0 {
                ours.push((-a1, 0.0));
                continue;
            }
            let disc = a1 * a1 - 4.0 * a2;
            if disc >= 0.0 {
                ours.push((f64::midpoint(-a1, disc.sqrt()), 0.0));
                ours.push((f64::midpoint(-a1, -disc.sqrt()), 0.0));
            } else {
                ours.push((-a1 / 2.0, (-disc).sqrt() / 2.0)); // conjugate pair
                ours.push((-a1 / 2.0, -(-disc).sqrt() / 2.0));
            }
        }
        ours.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let want: Vec<Vec<f64>> = poles.as_array().unwrap().iter().map(floats).collect();
        assert_eq!(ours.len(), want.len(), "{name}");
        for (o, w) in ours.iter().zip(&want) {
            assert!(
                (o.0 - w[0]).abs() < 1e-9 && (o.1 - w[1]).abs() < 1e-9,
                "{name}: {o:?} vs {w:?}"
            );
        }
    }
}

#[test]
fn zero_phase_output_matches_sosfiltfilt() {
    let doc = load();
    let x = floats(&doc["input"]);
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let zp = ZeroPhase::new(design(case)).unwrap();
        let want = floats(&case["filtfilt_out"]);
        let mut y = vec![0.0; x.len()];
        zp.apply(&x, &mut y, &mut Vec::new()).unwrap();
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (a, b)) in y.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() < 1e-9 * scale.max(1.0),
                "{name} sample {i}: ours {a} scipy {b}"
            );
        }
    }
}
