//! ActiLife CSV exports of raw acceleration.
//!
//! A preamble of ten lines (any of them followed by commas):
//! ```text
//! ------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v2.5.0 date format M/d/yyyy at 30 Hz  Filter Normal -----------
//! Serial Number: NEO1F18120387
//! Start Time 00:00:00
//! Start Date 5/13/2015
//! Epoch Period (hh:mm:ss) 00:00:00
//! Download Time 12:04:32
//! Download Date 5/20/2015
//! Current Memory Address: 0
//! Current Battery Voltage: 4.01     Mode = 12
//! --------------------------------------------------
//! ```
//! then, optionally, a row of column names (`Timestamp,Accelerometer X,Accelerometer
//! Y,Accelerometer Z`), then one row per sample: x, y, z in g, with or without a first
//! timestamp column. ActiLife writes the rows evenly spaced from the preamble's start at
//! the rate it names (`at 30 Hz`), so the start and the rate place every row.
//!
//! An export of epoch counts (`Epoch Period` other than `00:00:00`, no `at N Hz`, or
//! columns such as `axis1`, `steps`, `vm`) is not raw acceleration and is refused.

use std::io::BufRead;

use chrono::{NaiveDate, NaiveTime};

use super::timeline::Stamp;
use super::{Decoded, DeviceFormat, Samples, clock_s};
use crate::error::{Error, Location, Result};

/// The chrono format of a .NET date format (`M/d/yyyy`, `dd-MM-yyyy` …).
fn chrono_date_format(net: &str) -> String {
    let mut out = String::new();
    let mut chars = net.chars().peekable();
    while let Some(c) = chars.next() {
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        match c {
            'y' => out.push_str(if n <= 2 { "%y" } else { "%Y" }),
            'M' => out.push_str("%m"),
            'd' => out.push_str("%d"),
            other => (0..n).for_each(|_| out.push(other)),
        }
    }
    out
}

/// The word after `key` in `text` (`date format M/d/yyyy` → `M/d/yyyy`).
fn word_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    text[at..].split_whitespace().next()
}

/// Reads an ActiLife CSV export.
pub(crate) fn read(mut input: impl BufRead, loc: &Location) -> Result<Decoded> {
    let io = |e| Error::io(loc.path.as_deref(), e);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut preamble = Vec::new();
    for _ in 0..10 {
        line.clear();
        if std::io::Read::take(&mut input, 1 << 16)
            .read_until(b'\n', &mut line)
            .map_err(io)?
            == 0
        {
            break;
        }
        line_no += 1;
        let text = String::from_utf8_lossy(&line);
        preamble.push(text.trim_end().trim_end_matches(',').trim().to_owned());
    }
    let first = preamble.first().cloned().unwrap_or_default();
    let find = |key: &str| {
        preamble
            .iter()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
    };
    let at_line = |key: &str| {
        preamble
            .iter()
            .position(|l| l.starts_with(key))
            .map_or(1, |p| p as u64 + 1)
    };
    let epoch = find("Epoch Period (hh:mm:ss)").unwrap_or_default();
    let rate: Option<f64> = word_after(&first, " at ").and_then(|v| v.parse().ok());
    let counts = |why: String| {
        Error::input(
            loc.at_line(at_line("Epoch Period")),
            format!(
                "an ActiLife export of epoch counts, not raw acceleration ({why}): export the raw data (ActiLife: File > Export > raw .csv, or give the .gt3x file)"
            ),
        )
    };
    if !epoch.is_empty() && epoch != "00:00:00" {
        return Err(counts(format!("epoch period {epoch}")));
    }
    let Some(rate) = rate.filter(|r| r.is_finite() && *r > 0.0 && *r <= 10_000.0) else {
        return Err(counts("no `at N Hz` sample rate in the first line".into()));
    };
    let date_format = word_after(&first, "date format").unwrap_or("M/d/yyyy");
    let fmt = chrono_date_format(date_format);
    let date = find("Start Date")
        .and_then(|d| NaiveDate::parse_from_str(&d, &fmt).ok())
        .ok_or_else(|| {
            Error::input(
                loc.at_line(at_line("Start Date")),
                format!("ActiLife preamble: no Start Date in the format {date_format}"),
            )
        })?;
    let time = find("Start Time")
        .and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M:%S").ok())
        .ok_or_else(|| {
            Error::input(
                loc.at_line(at_line("Start Time")),
                "ActiLife preamble: no Start Time (HH:MM:SS)",
            )
        })?;
    let start_s = clock_s(date.and_time(time));
    let model = word_after(&first, "ActiGraph")
        .unwrap_or("ActiGraph")
        .to_owned();
    let serial = find("Serial Number:");

    let mut values: Vec<f32> = Vec::new();
    let mut columns: Option<[usize; 3]> = None;
    loop {
        line.clear();
        if std::io::Read::take(&mut input, 1 << 20)
            .read_until(b'\n', &mut line)
            .map_err(io)?
            == 0
        {
            break;
        }
        line_no += 1;
        while line.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&[u8]> = line.split(|c| *c == b',').collect();
        let cols = if let Some(c) = columns {
            c
        } else {
            {
                let names: Vec<String> = fields
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().to_ascii_lowercase())
                    .collect();
                if names.iter().any(|n| {
                    matches!(
                        n.as_str(),
                        "axis1" | "axis2" | "axis3" | "steps" | "vm" | "lux" | "vector magnitude"
                    )
                }) {
                    return Err(counts(format!("columns {}", names.join(", "))));
                }
                let named: Vec<usize> = ["accelerometer x", "accelerometer y", "accelerometer z"]
                    .iter()
                    .filter_map(|want| names.iter().position(|n| n == want))
                    .collect();
                if named.len() == 3 {
                    columns = Some([named[0], named[1], named[2]]);
                    continue;
                }
                let numeric = |f: &[u8]| fast_float2::parse::<f64, _>(f).is_ok();
                let c = if fields.len() >= 4 && !numeric(fields[0]) {
                    [1, 2, 3]
                } else if fields.len() >= 3 && fields[..3].iter().all(|f| numeric(f)) {
                    [0, 1, 2]
                } else {
                    return Err(Error::parse(
                        loc.at_line(line_no),
                        "ActiLife CSV: expected Accelerometer X, Y, Z columns after the preamble",
                    ));
                };
                columns = Some(c);
                c
            }
        };
        for (k, &c) in cols.iter().enumerate() {
            let cell = fields.get(c).copied().unwrap_or_default();
            let v: f64 = fast_float2::parse(cell.trim_ascii()).map_err(|_| {
                Error::parse(
                    loc.at_field(
                        line_no,
                        c + 1,
                        ["Accelerometer X", "Accelerometer Y", "Accelerometer Z"][k],
                    ),
                    format!(
                        "`{}` is not an acceleration in g",
                        crate::error::shorten(&String::from_utf8_lossy(cell))
                    ),
                )
            })?;
            if !v.is_finite() || v.abs() > 1000.0 {
                return Err(Error::parse(
                    loc.at_field(line_no, c + 1, "acceleration"),
                    format!("{} g is not a plausible acceleration", crate::error::num(v)),
                ));
            }
            values.push(v as f32);
        }
    }
    Ok(Decoded {
        format: DeviceFormat::ActiLifeCsv,
        model,
        serial,
        location: None,
        nominal_rate_hz: rate,
        samples: Samples::G(values),
        stamps: vec![Stamp {
            block: 0,
            index: 0.0,
            time_s: start_s,
        }],
        hold_silences: false,
        end_s: None,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREAMBLE: &str = "------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v2.5.0 date format M/d/yyyy at 30 Hz  Filter Normal -----------\nSerial Number: NEO1F18120387\nStart Time 22:00:00\nStart Date 5/13/2015\nEpoch Period (hh:mm:ss) 00:00:00\nDownload Time 12:04:32\nDownload Date 5/20/2015\nCurrent Memory Address: 0\nCurrent Battery Voltage: 4.01     Mode = 12\n--------------------------------------------------\n";

    #[test]
    fn raw_exports_with_and_without_names_and_stamps() {
        for body in [
            "Timestamp,Accelerometer X,Accelerometer Y,Accelerometer Z\n5/13/2015 22:00:00.000,0.1,-0.2,0.97\n5/13/2015 22:00:00.033,0.1,-0.2,0.98\n",
            "Accelerometer X,Accelerometer Y,Accelerometer Z\n0.1,-0.2,0.97\n0.1,-0.2,0.98\n",
            "0.1,-0.2,0.97\n0.1,-0.2,0.98\n",
            "5/13/2015 22:00:00.000,0.1,-0.2,0.97\r\n5/13/2015 22:00:00.033,0.1,-0.2,0.98\r\n",
        ] {
            let d = read(format!("{PREAMBLE}{body}").as_bytes(), &Location::default()).unwrap();
            assert_eq!(d.nominal_rate_hz, 30.0);
            assert_eq!(d.samples.len(), 2, "{body}");
            assert!((d.samples.g(1, 2) - 0.98).abs() < 1e-6);
            assert_eq!(super::super::iso(d.stamps[0].time_s), "2015-05-13T22:00:00");
            assert_eq!(d.model, "GT3X+");
        }
    }

    #[test]
    fn epoch_counts_are_refused() {
        let counts = PREAMBLE
            .replace("00:00:00\nDownload", "00:00:15\nDownload")
            .replace(" at 30 Hz", "");
        let e = read(
            format!("{counts}0,0,0,0\n").as_bytes(),
            &Location::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("epoch counts"), "{e}");
        let e = read(
            format!("{PREAMBLE}TimeStamp,axis1,axis2,axis3,steps,vm\n").as_bytes(),
            &Location::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("epoch counts"), "{e}");
        let e = read(
            format!("{PREAMBLE}0.1,x,0.3\n").as_bytes(),
            &Location::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 11"), "{e}");
        assert_eq!(chrono_date_format("dd/MM/yyyy"), "%d/%m/%Y");
    }
}
