//! The EDF / BDF header (Kemp et al. 1992; EDF+ Kemp & Olivan 2003; BDF: Biosemi's 24-bit
//! form): the fixed 256 bytes, then 256 per signal, field-major.
//!
//! Input: the first bytes of a file. Output: a [`Header`] — the variant (contiguous or
//! EDF+D), the sample width (2 or 3 bytes), the record count and duration, each signal's
//! label, dimension, physical and digital ranges and samples per record, and the start
//! time. Every fault names its byte and field (`night.edf, byte 252 (number of signals):
//! …`), and no size a damaged header claims is allocated before the bytes are there.

use std::io::Read;

use crate::error::{Error, Location, Result, shorten};

/// The first 8 bytes of an EDF or EDF+ file.
pub(crate) const MAGIC: &[u8; 8] = b"0       ";
/// The first 8 bytes of a BDF file.
pub(crate) const BDF_MAGIC: &[u8; 8] = b"\xffBIOSEMI";
/// The label of an EDF+ annotation signal (BDF+: `BDF Annotations`).
pub(crate) const ANNOTATIONS: &str = "EDF Annotations";
/// The label of a BDF+ annotation signal.
pub(crate) const BDF_ANNOTATIONS: &str = "BDF Annotations";
/// Largest data record accepted, bytes (64 MiB; the EDF specification asks for at most
/// 61 440): a larger one is a damaged header, and would be allocated before reading.
const MAX_RECORD_BYTES: usize = 64 << 20;
/// Most signals a header may declare (a 256 MB header); beyond, the file is not EDF.
const MAX_SIGNALS: usize = 1 << 20;

/// EDF flavour, from the header's reserved field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// EDF (1992), or EDF+C: records follow each other.
    Contiguous,
    /// EDF+D: every record carries its own onset.
    Discontinuous,
}

/// One signal's header.
#[derive(Debug, Clone)]
pub(crate) struct Signal {
    pub(crate) label: String,
    pub(crate) dimension: String,
    pub(crate) physical_min: f64,
    pub(crate) physical_max: f64,
    pub(crate) digital_min: f64,
    pub(crate) digital_max: f64,
    pub(crate) samples_per_record: usize,
    /// Byte offset of the signal within a data record.
    pub(crate) offset: usize,
}

impl Signal {
    pub(crate) fn is_annotation(&self) -> bool {
        self.label == ANNOTATIONS || self.label == BDF_ANNOTATIONS
    }
}

/// The parsed header.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) variant: Variant,
    /// Bytes per sample: 2 (EDF, 16-bit) or 3 (BDF, 24-bit); little-endian two's complement.
    pub(crate) width: usize,
    /// Number of data records; `None` when the header says -1 (unknown).
    pub(crate) records: Option<usize>,
    pub(crate) record_s: f64,
    pub(crate) signals: Vec<Signal>,
    /// Bytes per data record.
    pub(crate) record_bytes: usize,
    pub(crate) start_time: Option<String>,
}

/// Whether `head` (the first bytes of a file, decompressed) starts like an EDF file.
pub(crate) fn looks_like_edf(head: &[u8]) -> bool {
    head.starts_with(MAGIC) || head.starts_with(BDF_MAGIC)
}

/// Reads and checks the header (256 bytes, then 256 per signal).
pub(crate) fn read_header(input: &mut impl Read, loc: &Location) -> Result<Header> {
    let io = |e| Error::io(loc.path.as_deref(), e);
    let mut fixed = [0u8; 256];
    let got = read_full(input, &mut fixed).map_err(io)?;
    let width = if fixed.starts_with(BDF_MAGIC) {
        3
    } else if fixed.starts_with(MAGIC) {
        2
    } else {
        return Err(Error::parse(
            loc.at_byte(0, "version"),
            "not an EDF or BDF file (the version field is neither `0` nor `\\xFFBIOSEMI`)",
        ));
    };
    if got < 256 {
        return Err(Error::parse(
            loc.at_byte(got as u64, "header"),
            format!("the file ends inside the 256-byte EDF header ({got} bytes)"),
        ));
    }
    let field = |at: usize, len: usize| -> String {
        // EDF headers are ASCII; a stray byte (e.g. Latin-1 µ) is kept as its character.
        fixed[at..at + len]
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let number = |at: usize, len: usize, name: &str| -> Result<f64> {
        let text = field(at, len);
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                Error::parse(
                    loc.at_byte(at as u64, name),
                    format!("`{}` is not a number", shorten(&text)),
                )
            })
    };
    let whole = |at: usize, len: usize, name: &str| -> Result<i64> {
        let text = field(at, len);
        text.parse::<i64>().map_err(|_| {
            Error::parse(
                loc.at_byte(at as u64, name),
                format!("`{}` is not a whole number", shorten(&text)),
            )
        })
    };
    let header_bytes = whole(184, 8, "number of bytes in header")?;
    let reserved = field(192, 44);
    let variant = if reserved.starts_with("EDF+D") || reserved.starts_with("BDF+D") {
        Variant::Discontinuous
    } else {
        Variant::Contiguous
    };
    let records = match whole(236, 8, "number of data records")? {
        -1 => None,
        n if n >= 0 => Some(n as usize),
        n => {
            return Err(Error::parse(
                loc.at_byte(236, "number of data records"),
                format!("{n} data records"),
            ));
        }
    };
    let record_s = number(244, 8, "duration of a data record")?;
    // 0 s is allowed (EDF+ §2.2.4: a file of annotations only); signals need more.
    if record_s.is_nan() || record_s < 0.0 {
        return Err(Error::parse(
            loc.at_byte(244, "duration of a data record"),
            format!("a data record lasts {record_s} s"),
        ));
    }
    let ns = whole(252, 4, "number of signals")?;
    let ns = usize::try_from(ns)
        .ok()
        .filter(|&n| (1..=MAX_SIGNALS).contains(&n))
        .ok_or_else(|| {
            Error::parse(
                loc.at_byte(252, "number of signals"),
                format!("{ns} signals"),
            )
        })?;
    if header_bytes != 256 * (ns as i64 + 1) {
        return Err(Error::parse(
            loc.at_byte(184, "number of bytes in header"),
            format!(
                "{header_bytes} header bytes, but {ns} signals need {}",
                256 * (ns + 1)
            ),
        ));
    }
    // Grown with the bytes actually there: a damaged count costs no memory.
    let mut per = Vec::new();
    let got = input
        .take(256 * ns as u64)
        .read_to_end(&mut per)
        .map_err(io)?;
    if got < 256 * ns {
        return Err(Error::parse(
            loc.at_byte(256 + got as u64, "signal headers"),
            format!(
                "the file ends inside the signal headers ({got} of {} bytes)",
                256 * ns
            ),
        ));
    }
    // Field-major layout: all labels, then all transducer types, ... (EDF §2.1.2).
    let widths = [16usize, 80, 8, 8, 8, 8, 8, 80, 8, 32];
    let names = [
        "label",
        "transducer type",
        "physical dimension",
        "physical minimum",
        "physical maximum",
        "digital minimum",
        "digital maximum",
        "prefiltering",
        "number of samples in each data record",
        "reserved",
    ];
    let mut starts = [0usize; 10];
    for f in 1..10 {
        starts[f] = starts[f - 1] + widths[f - 1] * ns;
    }
    let sfield = |f: usize, i: usize| -> (usize, String) {
        let at = starts[f] + widths[f] * i;
        let text = per[at..at + widths[f]]
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .trim()
            .to_owned();
        (256 + at, text)
    };
    let mut signals = Vec::with_capacity(ns);
    let mut offset = 0usize;
    for i in 0..ns {
        let label = sfield(0, i).1;
        let what = |f: usize| format!("{} of signal {} `{label}`", names[f], i + 1);
        let num = |f: usize| -> Result<f64> {
            let (at, text) = sfield(f, i);
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::parse(
                        loc.at_byte(at as u64, &what(f)),
                        format!("`{}` is not a number", shorten(&text)),
                    )
                })
        };
        let (physical_min, physical_max) = (num(3)?, num(4)?);
        let (digital_min, digital_max) = (num(5)?, num(6)?);
        let (at, text) = sfield(8, i);
        let samples_per_record = text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0 && n <= 1 << 24)
            .ok_or_else(|| {
                Error::parse(
                    loc.at_byte(at as u64, &what(8)),
                    format!(
                        "`{}` is not a positive whole number of samples",
                        shorten(&text)
                    ),
                )
            })?;
        let signal = Signal {
            label: label.clone(),
            dimension: sfield(2, i).1,
            physical_min,
            physical_max,
            digital_min,
            digital_max,
            samples_per_record,
            offset,
        };
        if !signal.is_annotation() {
            let bits = 8 * width;
            let top = f64::from(1u32 << (bits - 1));
            if digital_max <= digital_min
                || !(-top..top).contains(&digital_min)
                || !(-top..top).contains(&digital_max)
            {
                return Err(Error::parse(
                    loc.at_byte(sfield(5, i).0 as u64, &what(5)),
                    format!(
                        "digital range {digital_min}..{digital_max} is not an increasing {bits}-bit range"
                    ),
                ));
            }
            if physical_max == physical_min {
                return Err(Error::parse(
                    loc.at_byte(sfield(3, i).0 as u64, &what(3)),
                    format!("physical minimum and maximum are both {physical_min}"),
                ));
            }
        }
        offset = offset.saturating_add(width * samples_per_record);
        signals.push(signal);
    }
    if offset > MAX_RECORD_BYTES {
        return Err(Error::parse(
            loc.at_byte(256 + starts[8] as u64, names[8]),
            format!("data records of {offset} bytes: not an EDF file this reader can hold"),
        ));
    }
    let start_time = start_time(&field(168, 8), &field(176, 8), &field(88, 80));
    Ok(Header {
        variant,
        width,
        records,
        record_s,
        signals,
        record_bytes: offset,
        start_time,
    })
}

/// `YYYY-MM-DDThh:mm:ss` from the header's `dd.mm.yy` and `hh.mm.ss`; the year from an
/// EDF+ recording field's `Startdate dd-MMM-yyyy` when it has one. `None` when malformed.
pub(crate) fn start_time(date: &str, time: &str, recording: &str) -> Option<String> {
    let parts = |s: &str| -> Option<[u32; 3]> {
        let mut it = s.split('.').map(|p| p.trim().parse::<u32>().ok());
        let v = [it.next()??, it.next()??, it.next()??];
        it.next().is_none().then_some(v)
    };
    let [day, month, yy] = parts(date)?;
    let [h, m, s] = parts(time)?;
    let full_year = recording
        .strip_prefix("Startdate ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|d| d.rsplit('-').next())
        .and_then(|y| y.parse::<u32>().ok())
        .filter(|y| (1985..=2999).contains(y) && y % 100 == yy);
    let year = full_year.unwrap_or(if (85..=99).contains(&yy) {
        1900 + yy
    } else {
        2000 + yy
    });
    let ok = (1..=12).contains(&month) && (1..=31).contains(&day) && h < 24 && m < 60 && s < 60;
    ok.then(|| format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}"))
}

/// Fills `buf` from `input` as far as it goes; the count read.
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(m) => n += m,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::edf::test_files::*;

    #[test]
    fn header_faults_name_their_byte_and_field() {
        let good = two_legs("", 2);
        let mut b = good.clone();
        b[252..256].copy_from_slice(b"x   ");
        assert_eq!(
            emg(&b).unwrap_err().to_string(),
            "n.edf, byte 252 (number of signals): `x` is not a whole number"
        );
        let mut b = good.clone();
        b[244..252].copy_from_slice(b"0       ");
        assert!(emg(&b).unwrap_err().to_string().contains("byte 244"));
        // Physical minimum of signal 2: field block starts at 256 + (16 + 80 + 8)·3.
        let mut b = good.clone();
        let at = 256 + (16 + 80 + 8) * 3 + 8;
        b[at..at + 8].copy_from_slice(b"abc     ");
        let e = emg(&b).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "byte {at} (physical minimum of signal 2 `EMG LAT1-LAT2`)"
            )),
            "{e}"
        );
        // Truncated data: names the record.
        let e = emg(&good[..good.len() - 3]).unwrap_err().to_string();
        assert!(
            e.contains("ends inside data record 2 of the 2 announced"),
            "{e}"
        );
        assert!(
            emg(&good[..100])
                .unwrap_err()
                .to_string()
                .contains("byte 100")
        );
        assert!(
            emg(&good[..300])
                .unwrap_err()
                .to_string()
                .contains("signal headers")
        );
        let mut b = good.clone();
        b[..8].copy_from_slice(b"1       ");
        assert!(
            read_header(&mut &b[..], &crate::error::Location::default())
                .unwrap_err()
                .to_string()
                .contains("not an EDF or BDF file")
        );
        assert!(emg(b"time_s,left\n0,1\n").is_err());
        // -1 records: as many as the file holds.
        let mut b = good.clone();
        b[236..244].copy_from_slice(b"-1      ");
        assert_eq!(emg(&b).unwrap().channels()[0].samples_uv().len(), 8);
    }
}
