//! Criterion benches, one group per pipeline stage plus end to end.
//!
//! Inputs are simulated by the crate's simulator (nothing large is committed): a 1-hour
//! two-leg 256 Hz night for the stages (read from CSV and from EDF bytes written here), and an 8-hour one for the end-to-end run from
//! memory and from its CSV file (written to a temporary directory) to the JSON text, and
//! the traced run with its review page.
//! Throughput is in samples (per leg for the per-leg stages, both legs end to end).
//! Run with `cargo bench`; figures are recorded in `benches/README.md`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use plm_detect::internals::{Band, ZeroPhase, butterworth, detect, envelope, lm_thresholds};
use plm_detect::sim::{SimConfig, SimNight, simulate};
use plm_detect::{
    Context, Detector, DetectorConfig, EnvelopeConfig, LegMovement, Night, Reader, Rules, Side,
    Span,
};

fn night(hours: f64) -> SimNight {
    simulate(&SimConfig {
        duration_s: hours * 3600.0,
        sample_rate_hz: 256.0,
        series_per_hour: 3.0,
        ..SimConfig::default()
    })
    .expect("simulation")
}

/// `recording` as EDF+C bytes: 1-s records of 16-bit samples over each leg's full range.
fn edf(recording: &plm_detect::Recording) -> Vec<u8> {
    let field = |s: &str, n: usize| format!("{s:<n$}").into_bytes();
    let chans = recording.channels();
    let spr = recording.sample_rate_hz() as usize;
    let records = chans[0].samples_uv().len() / spr;
    let ns = chans.len();
    let mut h = Vec::new();
    for (s, n) in [("0", 8), ("X X X X", 80), ("Startdate X X X X", 80)] {
        h.extend(field(s, n));
    }
    for (s, n) in [("01.03.24", 8), ("22.00.00", 8)] {
        h.extend(field(s, n));
    }
    h.extend(field(&(256 * (ns + 1)).to_string(), 8));
    h.extend(field("EDF+C", 44));
    h.extend(field(&records.to_string(), 8));
    h.extend(field("1", 8));
    h.extend(field(&ns.to_string(), 4));
    let full: Vec<f64> = chans
        .iter()
        .map(|c| {
            c.samples_uv()
                .iter()
                .fold(1.0f64, |m, v| m.max(v.abs()))
                .ceil()
        })
        .collect();
    // Field-major signal headers: label, transducer, dimension, physical min/max,
    // digital min/max, prefiltering, samples per record, reserved.
    let widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32];
    for (f, width) in widths.into_iter().enumerate() {
        for (i, fs) in full.iter().enumerate() {
            let value = match f {
                0 => format!("EMG Leg {}", ["L", "R"][i]),
                2 => "uV".into(),
                3 => format!("{}", -fs),
                4 => format!("{fs}"),
                5 => "-32768".into(),
                6 => "32767".into(),
                8 => spr.to_string(),
                _ => String::new(),
            };
            h.extend(field(&value, width));
        }
    }
    for r in 0..records {
        for (c, fs) in chans.iter().zip(&full) {
            for v in &c.samples_uv()[r * spr..(r + 1) * spr] {
                let d = (v / fs * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
                h.extend(d.to_le_bytes());
            }
        }
    }
    h
}

fn stages(c: &mut Criterion) {
    let n1 = night(1.0);
    let fs = n1.recording.sample_rate_hz();
    let leg = n1.recording.channels()[0].samples_uv();
    let samples = leg.len() as u64;

    // CSV parse of the 1-hour night written to memory.
    let mut csv_bytes = Vec::new();
    n1.write_signals(&mut csv_bytes).expect("in-memory write");
    let mut g = c.benchmark_group("csv_parse");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples));
    g.bench_function("1h_256hz_two_legs", |b| {
        b.iter(|| {
            let input = std::io::Cursor::new(csv_bytes.clone());
            black_box(Reader::new().read_from(input, None).expect("parse"))
        });
    });
    g.finish();

    // EDF read of the same night, as a polysomnography export would hold it.
    let edf_bytes = edf(&n1.recording);
    let mut g = c.benchmark_group("edf_read");
    g.sample_size(20);
    g.throughput(Throughput::Elements(samples));
    g.bench_function("1h_256hz_two_legs", |b| {
        b.iter(|| {
            let input = std::io::Cursor::new(edf_bytes.clone());
            black_box(Reader::new().read_from(input, None).expect("parse"))
        });
    });
    g.finish();

    let mut g = c.benchmark_group("filter_design");
    for order in [2usize, 4, 8] {
        g.bench_with_input(BenchmarkId::from_parameter(order), &order, |b, &order| {
            b.iter(|| {
                black_box(butterworth(order, Band::BandPass(10.0, 100.0), fs).expect("design"))
            });
        });
    }
    g.finish();

    let zp = ZeroPhase::new(butterworth(4, Band::BandPass(10.0, 100.0), fs).expect("design"))
        .expect("plan");
    let mut out = vec![0.0; leg.len()];
    let mut scratch = Vec::new();
    // Filtered once here, so the later stages see the band-passed signal even when this
    // group is filtered out of a `cargo bench` run.
    zp.apply(leg, &mut out, &mut scratch).expect("filter");
    let mut g = c.benchmark_group("zero_phase_filter");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples));
    g.bench_function("bandpass4_one_leg_1h", |b| {
        b.iter(|| {
            zp.apply(black_box(leg), &mut out, &mut scratch)
                .expect("filter");
        });
    });
    g.finish();

    let rules = Rules::wasm2016();
    let cfg = EnvelopeConfig::default();
    let mut g = c.benchmark_group("envelope_baseline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples));
    // The band-passed leg is copied outside the timing: the envelope is computed in it.
    g.bench_function("one_leg_1h", |b| {
        b.iter_batched(
            || out.clone(),
            |y| {
                black_box(
                    envelope(
                        y,
                        fs,
                        &cfg,
                        rules.morphology_window_s,
                        rules.offset_above_rest_uv,
                    )
                    .expect("envelope"),
                )
            },
            criterion::BatchSize::LargeInput,
        );
    });
    g.finish();

    let env = envelope(
        out.clone(),
        fs,
        &cfg,
        rules.morphology_window_s,
        rules.offset_above_rest_uv,
    )
    .expect("envelope");
    let thresholds = lm_thresholds(&rules);
    let mut g = c.benchmark_group("lm_detection");
    g.throughput(Throughput::Elements(samples));
    g.bench_function("one_leg_1h", |b| {
        b.iter(|| black_box(detect(&env, Side::Left, &thresholds, &[])));
    });
    g.finish();

    let lms: Vec<LegMovement> = n1.truth.iter().map(|t| t.lm).collect();
    let ctx = Context {
        hypnogram: Some(n1.hypnogram.clone()),
        respiratory: n1.respiratory.clone(),
        arousals: vec![],
    };
    let mut g = c.benchmark_group("scoring");
    g.throughput(Throughput::Elements(lms.len() as u64));
    g.bench_function("truth_lms_1h", |b| {
        b.iter(|| {
            black_box(
                plm_detect::score(
                    &lms,
                    &ctx,
                    &rules,
                    Span {
                        duration_s: Some(n1.recording.duration_s()),
                        excluded: &[],
                    },
                )
                .expect("score"),
            )
        });
    });
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    let n8 = night(8.0);
    let ctx = Context {
        hypnogram: Some(n8.hypnogram.clone()),
        respiratory: n8.respiratory.clone(),
        arousals: vec![],
    };
    let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default()).expect("detector");
    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    g.throughput(Throughput::Elements(
        (n8.recording.len() * n8.recording.channels().len()) as u64,
    ));
    g.bench_function("8h_256hz_two_legs_in_memory", |b| {
        b.iter(|| black_box(detector.run(&n8.recording, &ctx).expect("run")));
    });
    // A cohort loop (`run_with`): the legs are copied into buffers kept from the previous
    // night, so no iteration after the first asks the kernel for fresh pages.
    let mut workspace = plm_detect::Workspace::new();
    g.bench_function("8h_256hz_two_legs_in_memory_workspace", |b| {
        b.iter(|| {
            black_box(
                detector
                    .run_with(&n8.recording, &ctx, &mut workspace)
                    .expect("run"),
            )
        });
    });
    // A caller that gives up its samples (`run_owned`): each leg is filtered where it is,
    // so the timed work is filtering, envelope, detection and scoring, without the copy
    // of the legs that `run` makes (the clone is made outside the timing).
    g.bench_function("8h_256hz_two_legs_owned", |b| {
        b.iter_batched(
            || n8.recording.clone(),
            |recording| black_box(detector.run_owned(recording, &ctx).expect("run")),
            criterion::BatchSize::LargeInput,
        );
    });
    // From the CSV file (the ~190 MB a PSG export gives; written once to a temporary
    // directory, read from the page cache) to the JSON report text, as `plm detect` does.
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("night.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        n8.write_signals(&mut w).expect("write the night");
        std::io::Write::flush(&mut w).expect("flush");
    }
    g.bench_function("8h_256hz_two_legs_from_csv_to_json", |b| {
        b.iter(|| {
            let Night::Emg(rec) = Reader::new().read_path(&path).expect("read") else {
                panic!("not read as EMG")
            };
            let report = detector.run_owned(rec, &ctx).expect("run");
            black_box(serde_json::to_string(&report).expect("json"))
        });
    });
    g.finish();

    // The review page (`plm detect --review`): the traced run alone, and with the page
    // written to memory, to set against `end_to_end/8h_256hz_two_legs_owned` above. Its page size
    // is printed once.
    let mut g = c.benchmark_group("review_page");
    g.sample_size(10);
    g.throughput(Throughput::Elements(
        (n8.recording.len() * n8.recording.channels().len()) as u64,
    ));
    let traced = |recording: plm_detect::Recording| {
        let (report, traces) = detector
            .run_traced(Night::Emg(recording), &ctx)
            .expect("run");
        let mut page = Vec::new();
        report
            .review_html("night", &ctx, &traces, &mut page)
            .expect("page");
        page
    };
    eprintln!(
        "review_page: {} bytes for the 8-hour two-leg 256 Hz night",
        traced(n8.recording.clone()).len()
    );
    g.bench_function("8h_256hz_two_legs_owned_traced", |b| {
        b.iter_batched(
            || n8.recording.clone(),
            |recording| {
                black_box(
                    detector
                        .run_traced(Night::Emg(recording), &ctx)
                        .expect("run"),
                )
            },
            criterion::BatchSize::LargeInput,
        );
    });
    g.bench_function("8h_256hz_two_legs_owned_traced_with_page", |b| {
        b.iter_batched(
            || n8.recording.clone(),
            |recording| black_box(traced(recording)),
            criterion::BatchSize::LargeInput,
        );
    });
    g.finish();
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod groups {
    use super::{end_to_end, stages};
    criterion::criterion_group!(benches, stages, end_to_end);
}
use groups::benches;
criterion_main!(benches);
