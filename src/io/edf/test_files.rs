//! EDF, BDF and EDF+ files written for tests: the full digital range, the given signals
//! and annotation lists.

use crate::error::Result;
use crate::io::{Night, Reader, Recording};

/// A test signal: label, dimension, physical minimum and maximum, samples per record,
/// and the digital samples of every record in order.
pub(crate) type TestSignal<'a> = (&'a str, &'a str, f64, f64, usize, Vec<i16>);

/// A minimal EDF writer for tests.
pub(crate) fn edf_bytes(
    reserved: &str,
    record_s: f64,
    signals: &[TestSignal<'_>],
    records: usize,
) -> Vec<u8> {
    let wide: Vec<WideSignal<'_>> = signals
        .iter()
        .map(|s| {
            (
                s.0,
                s.1,
                s.2,
                s.3,
                s.4,
                s.5.iter().map(|&d| i32::from(d)).collect(),
            )
        })
        .collect();
    file_bytes(2, reserved, record_s, &wide, records)
}

/// A signal of [`file_bytes`]: as [`TestSignal`], with samples of up to 24 bits.
pub(crate) type WideSignal<'a> = (&'a str, &'a str, f64, f64, usize, Vec<i32>);

/// An EDF (`width` 2) or BDF (`width` 3) file: the full digital range, `signals` as
/// (label, dimension, physical min, physical max, samples per record, samples).
pub(crate) fn file_bytes(
    width: usize,
    reserved: &str,
    record_s: f64,
    signals: &[WideSignal<'_>],
    records: usize,
) -> Vec<u8> {
    let pad = |s: &str, n: usize| format!("{s:<n$}").into_bytes()[..n].to_vec();
    let ns = signals.len();
    let mut h = Vec::new();
    if width == 3 {
        h.extend(b"\xffBIOSEMI");
    } else {
        h.extend(pad("0", 8));
    }
    h.extend(pad("X X X X", 80));
    h.extend(pad("Startdate 01-MAR-2024 X X X", 80));
    h.extend(pad("01.03.24", 8));
    h.extend(pad("22.30.05", 8));
    h.extend(pad(&(256 * (ns + 1)).to_string(), 8));
    h.extend(pad(reserved, 44));
    h.extend(pad(&records.to_string(), 8));
    h.extend(pad(&record_s.to_string(), 8));
    h.extend(pad(&ns.to_string(), 4));
    for s in signals {
        h.extend(pad(s.0, 16));
    }
    for _ in signals {
        h.extend(pad("", 80));
    }
    for s in signals {
        h.extend(pad(s.1, 8));
    }
    for s in signals {
        h.extend(pad(&s.2.to_string(), 8));
    }
    for s in signals {
        h.extend(pad(&s.3.to_string(), 8));
    }
    let top = 1i32 << (8 * width - 1);
    for _ in signals {
        h.extend(pad(&(-top).to_string(), 8));
    }
    for _ in signals {
        h.extend(pad(&(top - 1).to_string(), 8));
    }
    for _ in signals {
        h.extend(pad("", 80));
    }
    for s in signals {
        h.extend(pad(&s.4.to_string(), 8));
    }
    for _ in signals {
        h.extend(pad("", 32));
    }
    for r in 0..records {
        for s in signals {
            for d in &s.5[r * s.4..(r + 1) * s.4] {
                h.extend(&d.to_le_bytes()[..width]);
            }
        }
    }
    h
}

/// Two legs at 4 samples per 0.5-s record (8 Hz) plus an EEG at another rate.
pub(crate) fn two_legs(reserved: &str, records: usize) -> Vec<u8> {
    let left: Vec<i16> = (0..4 * records).map(|i| i as i16 * 100).collect();
    let right: Vec<i16> = (0..4 * records).map(|i| -(i as i16)).collect();
    let eeg: Vec<i16> = vec![7; 2 * records];
    edf_bytes(
        reserved,
        0.5,
        &[
            ("EEG C3-A2", "uV", -500.0, 500.0, 2, eeg),
            ("EMG LAT1-LAT2", "uV", -3276.8, 3276.7, 4, left),
            ("Leg R", "mV", -32.768, 32.767, 4, right),
        ],
        records,
    )
}

/// An annotation signal of `n` samples per record holding `tals` (record by record).
pub(crate) fn tal_signal(records: &[&[&str]], n: usize) -> Vec<i16> {
    let mut out = Vec::new();
    for tals in records {
        let mut b: Vec<u8> = tals.concat().into_bytes();
        assert!(b.len() <= 2 * n, "TALs too long for the signal");
        b.resize(2 * n, 0);
        out.extend(b.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])));
    }
    out
}

/// Reads a night from `bytes` (named `n.edf` in messages) with the settings `with` makes.
pub(crate) fn read_bytes(bytes: &[u8], with: impl FnOnce(Reader) -> Reader) -> Result<Night> {
    with(Reader::new()).read_from(
        std::io::Cursor::new(bytes.to_vec()),
        Some(std::path::Path::new("n.edf")),
    )
}

/// Reads the EMG night of `bytes`.
pub(crate) fn emg(bytes: &[u8]) -> Result<Recording> {
    match read_bytes(bytes, |r| r)? {
        Night::Emg(r) => Ok(r),
        Night::Accel(_) => panic!("read as accelerometer"),
    }
}

/// The 24-bit samples of [`bdf_plus_night`], across the whole range.
pub(crate) const BDF_DIGITAL: [i32; 12] = [
    -8_388_608, 8_388_607, -1, 0, 1, 65_536, -65_537, 1_234_567, -7_654_321, 255, -256, 42,
];

/// A BDF+D night: 1-s records of 4 samples of a leg (1 digital unit = 1 µV), record onsets
/// 0, 1 and 3 s, and a stage annotation; with its digital samples.
pub(crate) fn bdf_plus_night() -> (Vec<u8>, [i32; 12]) {
    let mut tal = Vec::new();
    for t in [
        "+0\x14\x14\0+0\x1530\x14Sleep stage 2\x14\0",
        "+1\x14\x14\0",
        "+3\x14\x14\0",
    ] {
        let mut b = t.as_bytes().to_vec();
        b.resize(30, 0);
        tal.extend(
            b.chunks_exact(3)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], 0])),
        );
    }
    let digital = BDF_DIGITAL;
    let bytes = file_bytes(
        3,
        "BDF+D",
        1.0,
        &[
            (
                "EMG Leg L",
                "uV",
                -8_388_608.0,
                8_388_607.0,
                4,
                digital.to_vec(),
            ),
            ("BDF Annotations", "", -1.0, 1.0, 10, tal),
        ],
        3,
    );
    (bytes, digital)
}
