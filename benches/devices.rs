//! Criterion benches of the device readers and of a week split into nights.
//!
//! Inputs are written here by `plm_detect::sim::devices` (nothing large is committed): one
//! hour of an ankle at 100 Hz per format (CWA packed and 16-bit, GT3X ACTIVITY2, GENEActiv,
//! ActiLife CSV), and seven days of a 100 Hz packed CWA (about 120 MB, kept in
//! `target/bench-week.cwa` for memory measurements) read and split into nights with a
//! sleep window each. Throughput is in samples. Figures are in `benches/README.md`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_main};
use plm_detect::sim::devices::{ActiLifeCsv, Cwa, DeviceSignal, GeneActiv, Gt3x};
use plm_detect::{AnkleNights, DeviceFile, Side, WindowChoice};

const START: f64 = 1_709_542_800.0; // 2024-03-04 09:00 local

/// `hours` of an ankle at 100 Hz: days restless, nights (23:00–07:00) still but for a
/// movement every 30 s.
fn ankle(hours: f64) -> [Vec<f64>; 3] {
    let n = (hours * 3600.0 * 100.0) as usize;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    };
    let mut axes: [Vec<f64>; 3] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut tilt = 0.0f64;
    for i in 0..n {
        let t = i as f64 / 100.0;
        let tod = (9.0 * 3600.0 + t) % 86_400.0;
        let asleep = !(7.0 * 3600.0..23.0 * 3600.0).contains(&tod);
        let v = if asleep {
            let burst = if tod % 30.0 < 1.0 {
                0.1 * (18.8 * tod).sin()
            } else {
                0.0
            };
            [0.3 + burst, 0.1 + burst, 0.95 - burst]
        } else {
            if i % 500 == 0 {
                tilt = noise() * 0.7;
            }
            let swing = 0.25 * (11.3 * t).sin();
            [tilt.sin() + swing, 0.3 * swing, tilt.cos()]
        };
        for (a, x) in axes.iter_mut().zip(v) {
            a.push(x + 0.005 * noise());
        }
    }
    axes
}

fn signal(axes: &[Vec<f64>; 3]) -> DeviceSignal<'_> {
    DeviceSignal {
        axes_g: [&axes[0], &axes[1], &axes[2]],
        rate_hz: 100.0 * (1.0 + 40e-6),
        nominal_hz: 100.0,
        start_s: START,
    }
}

fn write(path: &Path, f: impl FnOnce(&mut std::fs::File)) -> PathBuf {
    let mut file = std::fs::File::create(path).expect("create");
    f(&mut file);
    path.to_path_buf()
}

fn readers(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let axes = ankle(1.0);
    let s = signal(&axes);
    let whole = DeviceSignal {
        rate_hz: 100.0,
        ..s
    };
    let files = [
        (
            "cwa_packed",
            write(&dir.path().join("a.cwa"), |f| {
                Cwa {
                    ax6: false,
                    packed: true,
                    device_id: 1,
                }
                .write(&s, f)
                .expect("cwa");
            }),
        ),
        (
            "cwa_16bit",
            write(&dir.path().join("b.cwa"), |f| {
                Cwa {
                    ax6: false,
                    packed: false,
                    device_id: 1,
                }
                .write(&s, f)
                .expect("cwa");
            }),
        ),
        (
            "gt3x",
            write(&dir.path().join("c.gt3x"), |f| {
                Gt3x {
                    serial: "MOS2E1".into(),
                    packed_12bit: false,
                    idle_s: vec![],
                    nhanes: false,
                }
                .write(&whole, f)
                .expect("gt3x");
            }),
        ),
        (
            "geneactiv",
            write(&dir.path().join("d.bin"), |f| {
                GeneActiv::default().write(&s, f).expect("geneactiv");
            }),
        ),
        (
            "actilife_csv",
            write(&dir.path().join("e.csv"), |f| {
                let mut w = std::io::BufWriter::new(f);
                ActiLifeCsv { timestamps: true }
                    .write(&whole, &mut w)
                    .expect("csv");
            }),
        ),
    ];
    let mut g = c.benchmark_group("device_read_1h_100hz");
    g.throughput(Throughput::Elements(axes[0].len() as u64));
    g.sample_size(10);
    for (name, path) in &files {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(DeviceFile::read_path(path).expect("read").len()));
        });
    }
    g.finish();
}

fn week(c: &mut Criterion) {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-week.cwa");
    if !target.exists() {
        let axes = ankle(7.0 * 24.0);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&target).expect("create"));
        Cwa {
            ax6: false,
            packed: true,
            device_id: 9,
        }
        .write(&signal(&axes), &mut f)
        .expect("cwa");
    }
    let mut g = c.benchmark_group("device_week_100hz");
    g.throughput(Throughput::Elements(7 * 24 * 3600 * 100));
    g.sample_size(10);
    g.bench_function("cwa_read_and_split_into_nights", |b| {
        b.iter(|| {
            let d = DeviceFile::read_path(&target).expect("read");
            let plan = AnkleNights::plan(vec![(Side::Left, &d, None)], WindowChoice::Estimate)
                .expect("plan");
            black_box(plan.nights.len())
        });
    });
    g.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    readers(&mut c);
    week(&mut c);
    c.final_summary();
}

criterion_main!(benches);
