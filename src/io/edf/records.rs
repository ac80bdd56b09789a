//! The data records of an EDF / BDF file: the chosen signals' samples, scaled to the
//! library's unit and placed on the night's grid.
//!
//! Input: a stream positioned after the header, the [`Header`], and the chosen signals.
//! Output: the common sample rate and one buffer per chosen signal. Records are read one
//! at a time into one buffer; memory is the chosen samples as `f64` plus one record.
//! EDF and EDF+C records follow each other; each EDF+D record starts at the onset of its
//! first time-keeping annotation (EDF+ §2.2.4), placed on the sample grid, and the time
//! between records is a gap (`NaN`; a long one stored as one, `io/grid/skips.rs`).
//! Records out of order or overlapping are errors.

use std::io::Read;

use super::Options;
use super::header::{Header, Variant, read_full};
use crate::error::{Error, Location, Result, num};
use crate::io::grid::MAX_SPAN_S;
use crate::io::grid::skips::{GapFill, Skips};
use crate::io::recording::check_rate;
use crate::io::unit::{SignalKind, Unit};

/// The physical dimension's factor to the library's unit for `kind`, if recognised.
pub(crate) fn dimension_unit(dimension: &str) -> Option<Unit> {
    let d: String = dimension
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .replace(['µ', 'μ'], "u")
        .to_ascii_lowercase();
    Some(match d.as_str() {
        "uv" => Unit::Microvolt,
        "mv" => Unit::Millivolt,
        "v" => Unit::Volt,
        "g" => Unit::G,
        "mg" => Unit::MilliG,
        "m/s^2" | "m/s2" | "m/s/s" | "ms-2" | "ms^-2" => Unit::MetersPerSecondSquared,
        _ => return None,
    })
}

/// Reads the data records, keeping the signals `chosen` (header indices), scaled to the
/// library's unit for `kind`. Returns the common rate, one buffer per chosen signal and
/// the long gaps not stored.
pub(crate) fn read_signals(
    input: impl Read,
    loc: &Location,
    options: &Options,
    header: &Header,
    chosen: &[usize],
    kind: SignalKind,
) -> Result<(f64, Vec<Vec<f64>>, Skips)> {
    let first = &header.signals[chosen[0]];
    for &i in chosen {
        let s = &header.signals[i];
        if s.samples_per_record != first.samples_per_record {
            return Err(Error::input(
                loc.clone(),
                format!(
                    "signals `{}` ({} Hz) and `{}` ({} Hz) have different sample rates",
                    first.label,
                    first.samples_per_record as f64 / header.record_s,
                    s.label,
                    s.samples_per_record as f64 / header.record_s
                ),
            ));
        }
    }
    let (spr, width) = (first.samples_per_record, header.width);
    let fs = spr as f64 / header.record_s;
    check_rate(fs).map_err(|m| {
        Error::parse(
            loc.at_byte(244, "duration of a data record"),
            format!(
                "signal `{}`: {spr} samples per {}-s data record: {m}",
                first.label,
                num(header.record_s)
            ),
        )
    })?;
    // Digital → physical → library unit, per signal: value = a + b · digital.
    let mut maps = Vec::with_capacity(chosen.len());
    for &i in chosen {
        let s = &header.signals[i];
        let unit = match options.unit {
            Some(u) => u,
            None => dimension_unit(&s.dimension).ok_or_else(|| {
                Error::input(
                    loc.clone(),
                    format!(
                        "signal `{}` has physical dimension `{}`, not a unit of {}: give the unit (--unit)",
                        s.label,
                        s.dimension,
                        match kind {
                            SignalKind::Emg => "EMG (uV, mV, V)",
                            SignalKind::Accel => "acceleration (g, mg, m/s^2)",
                        }
                    ),
                )
            })?,
        };
        let factor = unit.factor(kind).ok_or_else(|| {
            Error::input(
                loc.clone(),
                format!(
                    "signal `{}` is in {unit:?}, not a unit of a{} signal",
                    s.label,
                    match kind {
                        SignalKind::Emg => "n EMG",
                        SignalKind::Accel => "n accelerometer",
                    }
                ),
            )
        })?;
        let gain = (s.physical_max - s.physical_min) / (s.digital_max - s.digital_min);
        maps.push((s.offset, s.physical_min, s.digital_min, gain, factor));
    }
    let annotation = header.signals.iter().find(|s| s.is_annotation());
    if header.variant == Variant::Discontinuous && annotation.is_none() {
        return Err(Error::parse(
            loc.at_byte(192, "reserved"),
            "an EDF+D (or BDF+D) file without an annotation signal: record onsets are unknown",
        ));
    }
    // Preallocated from the header up to 8 M samples (64 MB) a signal; beyond, the buffers
    // grow with the data actually read, so a header announcing absurd sizes costs nothing.
    let capacity = header.records.unwrap_or(0).saturating_mul(spr).min(1 << 23);
    let mut out: Vec<Vec<f64>> = chosen
        .iter()
        .map(|_| Vec::with_capacity(capacity))
        .collect();
    let mut first_onset: Option<f64> = None;
    let mut fill = GapFill::new(fs);
    for_each_record(input, header, loc, |k, at, record| {
        // Where this record starts on the grid.
        let start = match (header.variant, annotation) {
            (Variant::Discontinuous, Some(a)) => {
                let bytes = &record[a.offset..a.offset + width * a.samples_per_record];
                let onset = record_onset(bytes).ok_or_else(|| {
                    Error::parse(
                        loc.at_byte(at + a.offset as u64, &a.label),
                        format!("data record {} has no time-keeping annotation", k + 1),
                    )
                })?;
                let t0 = *first_onset.get_or_insert(onset);
                let pos = ((onset - t0) * fs).round();
                if !(pos.is_finite() && pos >= 0.0) || (pos as usize) < fill.next_grid() {
                    return Err(Error::parse(
                        loc.at_byte(at + a.offset as u64, &a.label),
                        format!(
                            "data record {} starts at {} s, before the previous one ends",
                            k + 1,
                            num(onset)
                        ),
                    ));
                }
                if onset - t0 > MAX_SPAN_S {
                    return Err(Error::parse(
                        loc.at_byte(at + a.offset as u64, &a.label),
                        format!(
                            "data record {} starts {} s after the first, more than the {} h a recording may last",
                            k + 1,
                            num(onset - t0),
                            MAX_SPAN_S / 3600.0
                        ),
                    ));
                }
                pos as usize
            }
            _ => fill.next_grid(),
        };
        let nan = fill.gap_to(start);
        fill.stored(spr);
        for (buf, &(offset, pmin, dmin, gain, factor)) in out.iter_mut().zip(&maps) {
            buf.extend(std::iter::repeat_n(f64::NAN, nan));
            let raw = &record[offset..offset + width * spr];
            let physical = |d: f64| (pmin + (d - dmin) * gain) * factor;
            if width == 3 {
                buf.extend(raw.chunks_exact(3).map(|b| {
                    // Sign-extended from the top byte.
                    physical(f64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8))
                }));
            } else {
                buf.extend(
                    raw.chunks_exact(2)
                        .map(|b| physical(f64::from(i16::from_le_bytes([b[0], b[1]])))),
                );
            }
        }
        Ok(())
    })?;
    if out[0].is_empty() {
        return Err(Error::input(
            loc.clone(),
            "the EDF file has no data records",
        ));
    }
    Ok((fs, out, fill.finish()))
}

/// Reads the data records of `header` from `input` (positioned after the header) one at
/// a time into one buffer, calling `each(index, file offset, record)`, up to the
/// announced count, or to the end of the file when the count is unknown (-1).
///
/// # Errors
/// A record cut short by the end of the file (naming its byte); data after the announced
/// records (a wrong count or trailing bytes: which data is the night's is not known, so
/// none is taken silently); I/O errors; and `each`'s.
pub(crate) fn for_each_record(
    mut input: impl Read,
    header: &Header,
    loc: &Location,
    mut each: impl FnMut(usize, u64, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut record = vec![0u8; header.record_bytes];
    let header_bytes = 256 * (header.signals.len() as u64 + 1);
    let mut k = 0usize;
    loop {
        let at = header_bytes + k as u64 * header.record_bytes as u64;
        if let Some(n) = header.records.filter(|&n| k >= n) {
            let extra = std::io::copy(&mut input, &mut std::io::sink())
                .map_err(|e| Error::io(loc.path.as_deref(), e))?;
            if extra == 0 {
                return Ok(());
            }
            return Err(Error::parse(
                loc.at_byte(at, "data record"),
                format!(
                    "{extra} bytes ({:.1} data records) follow the {n} data records the header announces: the count or the file is damaged",
                    extra as f64 / header.record_bytes.max(1) as f64
                ),
            ));
        }
        match read_full(&mut input, &mut record) {
            Ok(n) if n == record.len() => {}
            Ok(0) if header.records.is_none() => return Ok(()),
            Ok(n) => {
                let announced = header
                    .records
                    .map_or_else(String::new, |n| format!(" of the {n} announced"));
                return Err(Error::parse(
                    loc.at_byte(at + n as u64, "data record"),
                    format!("the file ends inside data record {}{announced}", k + 1),
                ));
            }
            Err(e) => return Err(Error::io(loc.path.as_deref(), e)),
        }
        each(k, at, &record)?;
        k += 1;
    }
}

/// The onset (s) of a data record: the first time-stamped annotation list of its
/// annotation signal, `+onset\x14\x14\0` (EDF+ §2.2.4).
fn record_onset(bytes: &[u8]) -> Option<f64> {
    let end = bytes.iter().position(|&b| b == 0x14 || b == 0x15)?;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    if !text.starts_with(['+', '-']) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use crate::io::edf::test_files::*;

    #[test]
    fn discontinuous_records_are_placed_at_their_onsets() {
        // 1-s records of 4 samples (4 Hz); record onsets 0, 1, 3 s: a 1-s gap.
        let onsets = ["+0", "+1", "+3"];
        let mut tal = Vec::new();
        for o in onsets {
            let mut t = format!("{o}\x14\x14\0").into_bytes();
            t.resize(16, 0);
            tal.extend(t.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])));
        }
        let leg: Vec<i16> = (0..12).map(|i| i as i16).collect();
        let bytes = edf_bytes(
            "EDF+D",
            1.0,
            &[
                ("Tib L", "uV", -32768.0, 32767.0, 4, leg),
                ("EDF Annotations", "", -1.0, 1.0, 8, tal),
            ],
            3,
        );
        let r = emg(&bytes).unwrap();
        let x = &r.channels()[0].samples_uv();
        assert_eq!(x.len(), 16);
        assert!(x[8..12].iter().all(|v| v.is_nan()));
        assert_eq!(x[12], 8.0);
        assert_eq!(x[7], 7.0);
        // Out of order: an error naming the record.
        let mut b = bytes.clone();
        let pos = b.windows(3).rposition(|w| w == b"+3\x14").unwrap();
        b[pos + 1] = b'0';
        let e = emg(&b).unwrap_err().to_string();
        assert!(e.contains("data record 3 starts at 0 s"), "{e}");
    }

    #[test]
    fn bdf_samples_are_24_bit() {
        let (bytes, digital) = bdf_plus_night();
        let r = emg(&bytes).unwrap();
        assert_eq!(r.sample_rate_hz(), 4.0);
        let x = &r.channels()[0].samples_uv();
        assert_eq!(x.len(), 16);
        for (k, d) in digital.iter().enumerate() {
            let at = if k < 8 { k } else { k + 4 };
            assert_eq!(x[at], f64::from(*d), "sample {k}");
        }
        assert!(x[8..12].iter().all(|v| v.is_nan()));
        // A 16-bit digital range check does not apply, a 24-bit one does.
        let wide = file_bytes(3, "", 1.0, &[("Leg L", "uV", -1.0, 1.0, 4, vec![0; 4])], 1);
        assert!(emg(&wide).is_ok());
        let mut b = wide.clone();
        let at = b.windows(8).position(|w| w == b"-8388608").unwrap();
        b[at..at + 8].copy_from_slice(b"-9000000");
        let e = emg(&b).unwrap_err().to_string();
        assert!(e.contains("not an increasing 24-bit range"), "{e}");
    }
}
