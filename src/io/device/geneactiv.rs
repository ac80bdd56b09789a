//! GENEActiv `.bin` files.
//!
//! There is no published specification; the layout was learnt from the maker's R reader
//! (GENEAcore, on CRAN) and GGIRread's `GENEActivReader.cpp`, and checked against
//! GGIRread's test file. It is text, one `Key:value` per line (CRLF):
//! * a header of about 59 lines in sections (`Device Identity`, `Configuration Info`,
//!   `Subject Info`, `Calibration Data`, `Memory Status` …), among them `Device Unique
//!   Serial Code`, `Device Model`, `Measurement Frequency:85.7 Hz`, `Device Location
//!   Code`, and the calibration `x gain`, `x offset`, `y gain` … `z offset`;
//! * then pages, each `Recorded Data` and 8 header lines — `Page Time:2013-05-30
//!   10:12:54:500` (local time, milliseconds after the last colon) and `Measurement
//!   Frequency` among them — and one line of hex: 300 samples of 12 hex digits, x, y, z
//!   as 12-bit two's complement, then 12 bits of light (10) and button/reserved bits.
//!
//! Calibrated acceleration: `(raw · 100 − offset) / gain` g per axis. A page that does not
//! decode is left out (its time is a gap) and counted; a time jump between pages is a
//! gap (`timeline.rs`).

use std::io::BufRead;

use chrono::NaiveDateTime;

use super::timeline::Stamp;
use super::{Decoded, DeviceFormat, Samples, clock_s};
use crate::error::{Error, Location, Result};

/// A page time `2013-05-30 10:12:54:500`, s since 1970 (local).
pub(crate) fn page_time_s(v: &str) -> Option<f64> {
    let v = v.trim();
    let (whole, ms) = v.rsplit_once(':')?;
    let t = NaiveDateTime::parse_from_str(whole, "%Y-%m-%d %H:%M:%S").ok()?;
    let ms: f64 = if ms.is_empty() { 0.0 } else { ms.parse().ok()? };
    (0.0..1000.0)
        .contains(&ms)
        .then(|| clock_s(t) + ms / 1000.0)
}

/// A 12-bit two's-complement value of 3 hex digits.
fn hex12(d: &[u8]) -> Option<i16> {
    let mut v = 0u16;
    for &c in d {
        v = (v << 4) | u16::from((c as char).to_digit(16)? as u8);
    }
    Some(((v << 4) as i16) >> 4)
}

/// Reads a GENEActiv `.bin` file.
pub(crate) fn read(mut input: impl BufRead, loc: &Location) -> Result<Decoded> {
    let io = |e| Error::io(loc.path.as_deref(), e);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut header: Vec<(String, String)> = Vec::new();
    let mut next = |line: &mut Vec<u8>, line_no: &mut u64| -> Result<bool> {
        line.clear();
        let n = std::io::Read::take(&mut input, 1 << 16)
            .read_until(b'\n', line)
            .map_err(io)?;
        *line_no += 1;
        while line.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
            line.pop();
        }
        Ok(n > 0)
    };
    // The file header, up to the first page.
    loop {
        if !next(&mut line, &mut line_no)? {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim() == "Recorded Data" {
            break;
        }
        if let Some((k, v)) = text.split_once(':') {
            header.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let get = |k: &str| {
        header
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let number = |k: &'static str| -> Result<f64> {
        get(k)
            .and_then(|v| v.trim_end_matches("Hz").trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                Error::input(
                    Location {
                        field: Some(k.to_owned()),
                        ..loc.clone()
                    },
                    format!(
                        "GENEActiv header: `{k}` missing or not a number (`{}`)",
                        get(k).unwrap_or("")
                    ),
                )
            })
    };
    let rate = number("measurement frequency")?;
    if !(rate > 0.0 && rate <= 10_000.0) {
        return Err(Error::input(
            loc.clone(),
            format!("GENEActiv header: measurement frequency {rate} Hz is not a rate"),
        ));
    }
    let mut gain = [0.0; 3];
    let mut offset = [0.0; 3];
    for (a, axis) in ["x", "y", "z"].into_iter().enumerate() {
        let g = match axis {
            "x" => number("x gain")?,
            "y" => number("y gain")?,
            _ => number("z gain")?,
        };
        let o = match axis {
            "x" => number("x offset")?,
            "y" => number("y offset")?,
            _ => number("z offset")?,
        };
        if g == 0.0 {
            return Err(Error::input(
                loc.clone(),
                format!("GENEActiv header: {axis} gain is 0"),
            ));
        }
        gain[a] = 100.0 / g;
        offset[a] = -o / g;
    }
    let location = get("device location code")
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let serial = get("device unique serial code").map(str::to_owned);
    let model = format!("GENEActiv {}", get("device model").unwrap_or_default())
        .trim()
        .to_owned();

    let mut raw: Vec<i16> = Vec::new();
    let mut stamps = Vec::new();
    let (mut bad_pages, mut other_rate) = (0usize, 0usize);
    let mut page_time: Option<f64> = None;
    let mut page_rate: Option<f64> = None;
    while next(&mut line, &mut line_no)? {
        if line.is_empty() {
            continue;
        }
        if line == b"Recorded Data" {
            page_time = None;
            page_rate = None;
            continue;
        }
        let is_data = line.len() >= 12 && line.iter().all(u8::is_ascii_hexdigit);
        if !is_data {
            let text = String::from_utf8_lossy(&line);
            if let Some((k, v)) = text.split_once(':') {
                match k.trim() {
                    "Page Time" => page_time = page_time_s(v),
                    "Measurement Frequency" => page_rate = v.trim().parse().ok(),
                    _ => {}
                }
            }
            continue;
        }
        let Some(t) = page_time else {
            bad_pages += 1;
            continue;
        };
        if page_rate.is_some_and(|r| (r - rate).abs() > 1e-6) {
            other_rate += 1;
            continue;
        }
        let first = raw.len() / 3;
        let before = raw.len();
        let mut ok = true;
        for s in line.chunks_exact(12) {
            if let (Some(x), Some(y), Some(z)) = (hex12(&s[0..3]), hex12(&s[3..6]), hex12(&s[6..9]))
            {
                raw.extend([x, y, z]);
            } else {
                ok = false;
                break;
            }
        }
        if !ok || line.len() % 12 != 0 {
            raw.truncate(before);
            bad_pages += 1;
            continue;
        }
        stamps.push(Stamp {
            block: first,
            index: first as f64,
            time_s: t,
        });
        page_time = None;
    }
    let mut notes = Vec::new();
    if bad_pages > 0 {
        notes.push(format!(
            "{bad_pages} pages did not decode (no page time, or not 12-digit hex samples) and were left out"
        ));
    }
    if other_rate > 0 {
        notes.push(format!(
            "{other_rate} pages at another measurement frequency than the header's {rate} Hz were left out"
        ));
    }
    Ok(Decoded {
        format: DeviceFormat::GeneActiv,
        model,
        serial,
        location,
        nominal_rate_hz: rate,
        samples: Samples::Raw { raw, gain, offset },
        stamps,
        hold_silences: false,
        end_s: None,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_times_and_hex() {
        let t = page_time_s("2013-05-30 10:12:54:500").unwrap();
        assert_eq!(super::super::iso(t), "2013-05-30T10:12:54.500");
        assert_eq!(page_time_s("2013-05-30 10:12:54:1500"), None);
        assert_eq!(hex12(b"7FF"), Some(2047));
        assert_eq!(hex12(b"800"), Some(-2048));
        assert_eq!(hex12(b"FFF"), Some(-1));
        assert_eq!(hex12(b"0G0"), None);
    }
}
