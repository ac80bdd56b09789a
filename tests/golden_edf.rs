//! EDF/EDF+ and BDF+ reading against an independent implementation: files written by
//! pyedflib (`EDFlib`) with `tests/golden/make_edf.py`, and the physical values pyedflib
//! reads back from them (every 5th sample, in the file's unit).

use std::path::{Path, PathBuf};

use plm_detect::{Night, Reader, Recording, Side, TimeBase};

/// The EMG night in `path`.
fn read_night(path: &Path) -> Recording {
    match Reader::new().read_path(path).unwrap() {
        Night::Emg(r) => r,
        Night::Accel(_) => panic!("{}: read as accelerometers", path.display()),
    }
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/edf")
        .join(name)
}

/// (index, left, right) rows of an expected-values file.
fn expected(name: &str) -> Vec<(usize, f64, f64)> {
    let text = std::fs::read_to_string(golden(name)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("index"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

fn check(file: &str, expected_file: &str, to_uv: f64, fs: f64, n: usize, names: [&str; 2]) {
    let rec = read_night(&golden(file));
    assert_eq!(rec.sample_rate_hz(), fs, "{file}");
    assert_eq!(rec.time_base(), TimeBase::EdfRecords);
    assert_eq!(rec.start_time(), Some("2024-03-01T22:30:05"));
    let left = rec.channel(Side::Left).unwrap();
    let right = rec.channel(Side::Right).unwrap();
    assert_eq!([left.name(), right.name()], names);
    assert_eq!(left.samples_uv().len(), n);
    assert_eq!(right.samples_uv().len(), n);
    let rows = expected(expected_file);
    assert_eq!(rows.len(), n.div_ceil(5));
    for (k, l, r) in rows {
        for (got, want) in [(left.samples_uv()[k], l), (right.samples_uv()[k], r)] {
            let want = want * to_uv;
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{file} sample {k}: {got} vs pyedflib {want}"
            );
        }
    }
}

#[test]
fn edf_plus_polysomnogram_legs_equal_pyedflib() {
    // Legs found by label among EEG and ECG at other rates and units.
    check(
        "psg-edfplus.edf",
        "psg-edfplus.expected.csv",
        1.0,
        256.0,
        5120,
        ["EMG LAT1-LAT2", "EMG RAT1-RAT2"],
    );
}

#[test]
fn plain_edf_in_millivolts_equals_pyedflib() {
    check(
        "legs-edf.edf",
        "legs-edf.expected.csv",
        1000.0,
        200.0,
        4000,
        ["Leg L", "Leg R"],
    );
}

#[test]
fn bdf_plus_24_bit_legs_and_annotations_equal_pyedflib() {
    // Legs at 512 Hz beside an ECG at 256 Hz; 24-bit samples.
    check(
        "legs-bdfplus.bdf",
        "legs-bdfplus.expected.csv",
        1.0,
        512.0,
        10240,
        ["EMG Leg L", "EMG Leg R"],
    );
    // Its `BDF Annotations` give a hypnogram.
    let h = plm_detect::io::read_hypnogram(golden("legs-bdfplus.bdf"), 10.0).unwrap();
    assert_eq!(
        h.epochs(),
        vec![(0.0, plm_detect::Stage::W), (10.0, plm_detect::Stage::N2)]
    );
}

#[test]
fn gzipped_edf_reads_the_same() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("psg.edf.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(golden("psg-edfplus.edf")).unwrap())
        .unwrap();
    enc.finish().unwrap();
    let a = read_night(&gz);
    let b = read_night(&golden("psg-edfplus.edf"));
    assert_eq!(a, b);
    // A stream is unzipped too.
    let stream = Reader::new()
        .read_from(std::fs::File::open(&gz).unwrap(), None)
        .unwrap();
    assert_eq!(stream, Night::Emg(b));
}
