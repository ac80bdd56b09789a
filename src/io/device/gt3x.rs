//! ActiGraph `.gt3x`: a zip holding `info.txt` and the samples (actigraph/GT3X-File-Format,
//! actigraph/NHANES-GT3X-File-Format).
//!
//! * `info.txt`: `Key: value` lines — `Serial Number`, `Device Type`, `Firmware`, `Sample
//!   Rate` (Hz), `Start Date` (.NET ticks of local time: 100 ns since 0001-01-01),
//!   `Acceleration Scale` (LSB/g, newer files), `TimeZone`.
//! * `log.bin` (firmware ≥ 3): time-stamped records (`gt3x_log.rs`). The device writes
//!   nothing while still in idle-sleep mode: the missing seconds are filled with the last
//!   sample, as ActiLife does, and said in a note.
//! * `activity.bin` (NHANES era, firmware ≤ 2.5): one continuous stream of 12-bit
//!   samples from the start date, y, x, z order, 341 LSB/g.
//!
//! The scale: the PARAMETERS record's, else `info.txt`'s, else by serial (NEO, CLE: 341
//! LSB/g; MOS and others: 256). wGT3X-BT firmware 1.6.0 swapped x and y (the maker's
//! note): undone, with a note.

use std::io::{BufReader, Read, Seek};

use super::timeline::Stamp;
use super::{Decoded, DeviceFormat, Samples, gt3x_log};
use crate::error::{Error, Location, Result};

/// .NET ticks (100 ns since 0001-01-01) to seconds since 1970.
pub(crate) fn ticks_s(ticks: i64) -> f64 {
    ticks as f64 / 1e7 - 62_135_596_800.0
}

/// The `Key: value` pairs of `info.txt`.
fn info_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Reads a `.gt3x` zip.
pub(crate) fn read(file: impl Read + Seek, loc: &Location) -> Result<Decoded> {
    let zip_err = |e: zip::result::ZipError| {
        Error::parse(
            loc.at_byte(0, "zip archive"),
            format!("not a readable .gt3x zip: {e}"),
        )
    };
    let mut zip = zip::ZipArchive::new(file).map_err(zip_err)?;
    let info = {
        let mut f = zip
            .by_name("info.txt")
            .map_err(|_| Error::input(loc.clone(), "the .gt3x zip holds no info.txt"))?;
        let mut bytes = Vec::new();
        (&mut f)
            .take(1 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::parse(loc.at_byte(0, "info.txt"), format!("{e}")))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let pairs = info_pairs(&info);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let field = |k: &'static str| Location {
        field: Some(format!("info.txt {k}")),
        ..loc.clone()
    };
    let serial = get("Serial Number").map(str::to_owned);
    let rate: f64 = get("Sample Rate")
        .and_then(|v| v.parse().ok())
        .filter(|r: &f64| r.is_finite() && *r > 0.0 && *r <= 10_000.0)
        .ok_or_else(|| {
            Error::input(
                field("Sample Rate"),
                format!(
                    "missing or not a rate in Hz: `{}`",
                    get("Sample Rate").unwrap_or("")
                ),
            )
        })?;
    let start_s = get("Start Date")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|t| *t > 0)
        .map(ticks_s)
        .ok_or_else(|| {
            Error::input(
                field("Start Date"),
                format!(
                    "missing or not .NET ticks: `{}`",
                    get("Start Date").unwrap_or("")
                ),
            )
        })?;
    let model = get("Device Type")
        .map(str::to_owned)
        .or_else(|| serial.as_deref().map(|s| model_of_serial(s).to_owned()))
        .unwrap_or_else(|| "ActiGraph".into());
    let info_scale = get("Acceleration Scale")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0);
    let serial_scale = match serial.as_deref() {
        Some(s) if s.starts_with("NEO") || s.starts_with("CLE") || s.starts_with("MRA") => 341.0,
        _ => 256.0,
    };
    let mut notes = Vec::new();
    let nhanes = zip.by_name("log.bin").is_err();
    let (raw, stamps, scale, format) = if nhanes {
        let f = zip.by_name("activity.bin").map_err(|_| {
            Error::input(
                loc.clone(),
                "the .gt3x zip holds neither log.bin nor activity.bin",
            )
        })?;
        // Read in chunks of whole sample pairs (9 bytes hold two 36-bit samples).
        let mut raw = Vec::new();
        let mut f = f;
        let mut buf = vec![0u8; 9 * 8192];
        loop {
            let n = super::read_up_to(&mut f, &mut buf)
                .map_err(|e| Error::parse(loc.at_byte(0, "activity.bin"), format!("{e}")))?;
            gt3x_log::unpack_12bit(&buf[..n], &mut raw);
            if n < buf.len() {
                break;
            }
        }
        let stamps = vec![Stamp {
            block: 0,
            index: 0.0,
            time_s: start_s,
        }];
        (
            raw,
            stamps,
            info_scale.unwrap_or(341.0),
            DeviceFormat::Gt3xNhanes,
        )
    } else {
        let f = zip.by_name("log.bin").map_err(zip_err)?;
        let log = gt3x_log::read(BufReader::with_capacity(1 << 16, f), loc)?;
        if log.bad_checksums > 0 {
            notes.push(format!(
                "{} log records failed their checksum and were left out",
                log.bad_checksums
            ));
        }
        if log.resyncs > 0 {
            notes.push(format!(
                "{} bytes of log.bin were not records and were skipped",
                log.resyncs
            ));
        }
        if log.truncated {
            notes.push("log.bin ends inside a record: that record was left out".into());
        }
        let stamps = log
            .records
            .iter()
            .map(|&(first, t)| Stamp {
                block: first,
                index: first as f64,
                time_s: f64::from(t),
            })
            .collect();
        let scale = log.accel_scale.or(info_scale).unwrap_or(serial_scale);
        (log.raw, stamps, scale, DeviceFormat::Gt3x)
    };
    let mut raw = raw;
    if serial.as_deref().is_some_and(|s| s.starts_with("MOS"))
        && get("Firmware").is_some_and(|f| f == "1.6.0")
    {
        for s in raw.chunks_exact_mut(3) {
            let (x, y) = (s[0], s[1]);
            s[0] = y;
            s[1] = x.saturating_neg();
        }
        notes.push("wGT3X-BT firmware 1.6.0 swapped the x and y axes: undone".into());
    }
    let gain = 1.0 / scale;
    Ok(Decoded {
        format,
        model,
        serial,
        location: match (get("Side"), get("Limb")) {
            (Some(side), Some(limb)) => Some(format!("{side} {limb}").to_lowercase()),
            (None, Some(limb)) => Some(limb.to_lowercase()),
            _ => None,
        },
        nominal_rate_hz: rate,
        samples: Samples::Raw {
            raw,
            gain: [gain; 3],
            offset: [0.0; 3],
        },
        stamps,
        hold_silences: format == DeviceFormat::Gt3x,
        end_s: get("Last Sample Time")
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|t| *t > 0)
            .map(ticks_s),
        notes,
    })
}

/// The model a serial number's prefix names.
fn model_of_serial(serial: &str) -> &'static str {
    match serial.get(..3) {
        Some("NEO") => "GT3X+",
        Some("CLE") => "wGT3X+",
        Some("MRA") => "ActiSleep+",
        Some("TAS") => "GT9X Link",
        Some("MOS") => "wGT3X-BT",
        _ => "ActiGraph",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_info() {
        // The specification's sample info.txt: Start Date 634556532600000000.
        let t = ticks_s(634_556_532_600_000_000);
        assert_eq!(super::super::iso(t), "2011-10-31T10:21:00");
        let p = info_pairs("Serial Number: NEO1C16110020\r\nSample Rate: 30\r\n");
        assert_eq!(p[1], ("Sample Rate".into(), "30".into()));
        assert_eq!(model_of_serial("MOS2D123"), "wGT3X-BT");
    }
}
