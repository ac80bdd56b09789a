//! A leg's acceleration written as the accelerometer devices write it, so that device
//! nights can be simulated, readers tested by round trips, and other tools fed: [`Cwa`],
//! [`Gt3x`], [`GeneActiv`], [`ActiLifeCsv`], all from one [`DeviceSignal`].
//!
//! The layouts are those `io/device` documents (openmovement `cwa.h`, actigraph's GT3X
//! format, the GENEActiv page layout, ActiLife's preamble). Values are rounded to each
//! format's resolution (CWA 1/256 g, packed: 1/256 g shifted by the block's exponent;
//! GT3X 1/256 g; GENEActiv 12 bits through the calibration; ActiLife 3 decimals).

use std::fmt::Write as _;
use std::io::{Seek, Write};

use chrono::{Datelike, Timelike};

use crate::error::{Error, Result};

/// Samples of one sensor: x, y, z in g at `rate_hz` real samples per second from the
/// local clock time `start_s` (s since 1970). A `rate_hz` off `nominal_hz` is a sample
/// clock that drifts; the devices' time stamps then tell the truth.
#[derive(Debug, Clone, Copy)]
pub struct DeviceSignal<'a> {
    /// x, y, z, g.
    pub axes_g: [&'a [f64]; 3],
    /// The real rate the samples were taken at, Hz.
    pub rate_hz: f64,
    /// The rate the device was configured for (written in the file), Hz.
    pub nominal_hz: f64,
    /// Local clock time of the first sample, s since 1970.
    pub start_s: f64,
}

impl DeviceSignal<'_> {
    fn len(&self) -> usize {
        self.axes_g[0].len()
    }

    fn time_s(&self, i: usize) -> f64 {
        self.start_s + i as f64 / self.rate_hz
    }

    fn sample(&self, i: usize) -> [f64; 3] {
        [0, 1, 2].map(|a| self.axes_g[a][i])
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Io {
        path: None,
        source: e,
    }
}

/// The packed CWA time stamp of a whole local second.
fn cwa_stamp(whole_s: i64) -> u32 {
    let Some(t) = chrono::DateTime::from_timestamp(whole_s, 0) else {
        return 0;
    };
    let t = t.naive_utc();
    ((t.year() - 2000).clamp(0, 63) as u32) << 26
        | t.month() << 22
        | t.day() << 17
        | t.hour() << 12
        | t.minute() << 6
        | t.second()
}

/// Axivity `.cwa` options.
#[derive(Debug, Clone, Copy)]
pub struct Cwa {
    /// `true`: an AX6 (gyro + accel, 16-bit, ±16 g at 1/2048 g); `false`: an AX3.
    pub ax6: bool,
    /// AX3 only: the packed 10-bit encoding (120 samples a block) instead of 16-bit (80).
    pub packed: bool,
    /// The device id written in the header.
    pub device_id: u16,
}

impl Cwa {
    /// Writes `signal` as a `.cwa` file.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails; [`Error::Config`] for a nominal rate that is not
    /// a CWA rate (3200 / 2ⁿ Hz).
    pub fn write(&self, signal: &DeviceSignal<'_>, w: &mut impl Write) -> Result<()> {
        let code = (0u8..16)
            .find(|&c| {
                (3200.0 / f64::from(1u32 << (15 - u32::from(c))) - signal.nominal_hz).abs() < 1e-9
            })
            .ok_or_else(|| Error::Config {
                field: "nominal_hz",
                message: format!("{} Hz is not a CWA rate (3200 / 2^n)", signal.nominal_hz),
            })?;
        let mut header = [0u8; 1024];
        header[..2].copy_from_slice(b"MD");
        header[2..4].copy_from_slice(&1020u16.to_le_bytes());
        header[4] = if self.ax6 { 0x64 } else { 0x17 };
        header[5..7].copy_from_slice(&self.device_id.to_le_bytes());
        header[11..13].copy_from_slice(&0u16.to_le_bytes());
        header[36] = 0x40 | code; // ±8 g range bits, rate code
        w.write_all(&header).map_err(io)?;
        let per_block = if self.ax6 {
            40
        } else if self.packed {
            120
        } else {
            80
        };
        let (scale, n_scale) = if self.ax6 { (2048.0, 3u16) } else { (256.0, 0) };
        for (b, first) in (0..signal.len()).step_by(per_block).enumerate() {
            let count = per_block.min(signal.len() - first);
            let mut block = [0u8; 512];
            block[..2].copy_from_slice(b"AX");
            block[2..4].copy_from_slice(&508u16.to_le_bytes());
            // The stamp: the first sample's time, whole second plus a 15-bit fraction.
            let t = signal.time_s(first);
            let whole = t.floor();
            let frac16 = (((t - whole) * 65536.0).floor() as u32) & 0xfffe;
            let shim = ((frac16 * signal.nominal_hz as u32) >> 16) as i16;
            block[4..6].copy_from_slice(&(0x8000u16 | (frac16 >> 1) as u16).to_le_bytes());
            block[10..14].copy_from_slice(&(b as u32).to_le_bytes());
            block[14..18].copy_from_slice(&cwa_stamp(whole as i64).to_le_bytes());
            block[18..20].copy_from_slice(
                &(n_scale << 13 | if self.ax6 { 3 << 10 } else { 0 }).to_le_bytes(),
            );
            block[24] = 0x40 | code;
            block[25] = if self.ax6 {
                0x62
            } else if self.packed {
                0x30
            } else {
                0x32
            };
            block[26..28].copy_from_slice(&(-shim).to_le_bytes());
            block[28..30].copy_from_slice(&(count as u16).to_le_bytes());
            for j in 0..count {
                let v = signal.sample(first + j);
                if self.packed && !self.ax6 {
                    let raw = v.map(|x| (x * 256.0).round().clamp(-4096.0, 4088.0) as i32);
                    let big = raw.iter().map(|r| r.abs()).max().unwrap_or(0);
                    let e = (0..4).find(|&e| (big >> e) <= 511).unwrap_or(3);
                    let word = raw.iter().enumerate().fold(e << 30, |w, (a, r)| {
                        w | ((((r >> e) as u32) & 0x3ff) << (10 * a as u32))
                    });
                    block[30 + 4 * j..34 + 4 * j].copy_from_slice(&word.to_le_bytes());
                } else {
                    let stride = if self.ax6 { 12 } else { 6 };
                    let at = 30 + stride * j + if self.ax6 { 6 } else { 0 };
                    for (a, x) in v.iter().enumerate() {
                        let raw = (x * scale).round().clamp(-32768.0, 32767.0) as i16;
                        block[at + 2 * a..at + 2 * a + 2].copy_from_slice(&raw.to_le_bytes());
                    }
                }
            }
            let sum = (0..255).fold(0u16, |s, k| {
                s.wrapping_add(u16::from_le_bytes([block[2 * k], block[2 * k + 1]]))
            });
            block[510..512].copy_from_slice(&sum.wrapping_neg().to_le_bytes());
            w.write_all(&block).map_err(io)?;
        }
        Ok(())
    }
}

/// ActiGraph `.gt3x` options.
#[derive(Debug, Clone)]
pub struct Gt3x {
    /// The serial number (`MOS…`, `NEO…`).
    pub serial: String,
    /// ACTIVITY records (12-bit packed, y x z) instead of ACTIVITY2 (16-bit x y z).
    pub packed_12bit: bool,
    /// Seconds (from the start, whole) the device spent in idle sleep: no record written.
    pub idle_s: Vec<(u32, u32)>,
    /// The legacy NHANES layout (`activity.bin`, 341 LSB/g, no records).
    pub nhanes: bool,
}

/// One log.bin record.
fn record(kind: u8, time: u32, payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(0x1E);
    out.push(kind);
    out.extend(time.to_le_bytes());
    out.extend((payload.len() as u16).to_le_bytes());
    out.extend(payload);
    let sum = !out[start..].iter().fold(0u8, |s, b| s ^ b);
    out.push(sum);
}

/// 12-bit values packed most-significant nibble first.
fn pack_12bit(values: &[i16]) -> Vec<u8> {
    let mut nibbles: Vec<u8> = Vec::with_capacity(values.len() * 3 + 1);
    for v in values {
        let u = (*v as u16) & 0x0fff;
        nibbles.extend([(u >> 8) as u8, ((u >> 4) & 0xf) as u8, (u & 0xf) as u8]);
    }
    if nibbles.len() % 2 == 1 {
        nibbles.push(0);
    }
    nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

impl Gt3x {
    /// Writes `signal` (at its nominal rate: a GT3X record is one second of samples) as a
    /// `.gt3x` zip.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write(&self, signal: &DeviceSignal<'_>, w: &mut (impl Write + Seek)) -> Result<()> {
        let scale = if self.nhanes { 341.0 } else { 256.0 };
        let lsb = |x: f64, max: f64| (x * scale).round().clamp(-max, max) as i16;
        let ticks_of = |t: f64| ((t + 62_135_596_800.0) * 1e7).round() as i64;
        let ticks = ticks_of(signal.start_s);
        let last = ticks_of(signal.start_s + signal.len() as f64 / signal.nominal_hz);
        let info = format!(
            "Serial Number: {}\r\nDevice Type: {}\r\nFirmware: 1.9.2\r\nBattery Voltage: 4.1\r\nSample Rate: {}\r\nStart Date: {ticks}\r\nStop Date: 0\r\nLast Sample Time: {last}\r\nDownload Date: {last}\r\nBoard Revision: 4\r\nAcceleration Scale: {scale}\r\nTimeZone: 00:00:00\r\n",
            self.serial,
            if self.nhanes { "GT3XPlus" } else { "wGT3XBT" },
            signal.nominal_hz
        );
        let per_s = signal.nominal_hz.round() as usize;
        let mut data = Vec::new();
        if self.nhanes {
            let values: Vec<i16> = (0..signal.len())
                .flat_map(|i| {
                    let v = signal.sample(i);
                    [lsb(v[1], 2046.0), lsb(v[0], 2046.0), lsb(v[2], 2046.0)]
                })
                .collect();
            data = pack_12bit(&values);
        } else {
            // PARAMETERS: ACCEL_SCALE 256 (address 0, id 55).
            let mut p = Vec::new();
            p.extend([0u8, 0, 55, 0]);
            p.extend(0x0940_0000u32.to_le_bytes());
            let t0 = signal.start_s.floor() as u32;
            record(0x15, t0, &p, &mut data);
            for (sec, first) in (0..signal.len()).step_by(per_s).enumerate() {
                let sec = sec as u32;
                if self.idle_s.iter().any(|&(a, b)| sec >= a && sec < b) {
                    continue;
                }
                let n = per_s.min(signal.len() - first);
                let mut payload = Vec::new();
                if self.packed_12bit {
                    let values: Vec<i16> = (first..first + n)
                        .flat_map(|i| {
                            let v = signal.sample(i);
                            [lsb(v[1], 2047.0), lsb(v[0], 2047.0), lsb(v[2], 2047.0)]
                        })
                        .collect();
                    payload = pack_12bit(&values);
                } else {
                    for i in first..first + n {
                        for x in signal.sample(i) {
                            payload.extend(lsb(x, 32767.0).to_le_bytes());
                        }
                    }
                }
                let kind = if self.packed_12bit { 0x00 } else { 0x1A };
                record(kind, t0 + sec, &payload, &mut data);
            }
        }
        let mut zip = zip::ZipWriter::new(w);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let zip_io = |e: zip::result::ZipError| io(std::io::Error::other(e));
        zip.start_file("info.txt", opts).map_err(zip_io)?;
        zip.write_all(info.as_bytes()).map_err(io)?;
        zip.start_file(
            if self.nhanes {
                "activity.bin"
            } else {
                "log.bin"
            },
            opts,
        )
        .map_err(zip_io)?;
        zip.write_all(&data).map_err(io)?;
        zip.finish().map_err(zip_io)?;
        Ok(())
    }
}

/// GENEActiv `.bin` options: the calibration written in the header.
#[derive(Debug, Clone, Copy)]
pub struct GeneActiv {
    /// Per-axis gain.
    pub gain: [f64; 3],
    /// Per-axis offset.
    pub offset: [f64; 3],
}

impl Default for GeneActiv {
    fn default() -> Self {
        Self {
            gain: [25_875.0, 25_734.0, 25_538.0],
            offset: [439.0, -662.0, -3056.0],
        }
    }
}

/// `2013-05-30 10:12:54:500` of a local clock time.
fn page_time(t_s: f64) -> String {
    let ms = (t_s * 1000.0).round() as i64;
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |d| {
        format!(
            "{}:{:03}",
            d.naive_utc().format("%Y-%m-%d %H:%M:%S"),
            ms.rem_euclid(1000)
        )
    })
}

impl GeneActiv {
    /// Writes `signal` as a GENEActiv `.bin` file (pages of 300 samples).
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write(&self, signal: &DeviceSignal<'_>, w: &mut impl Write) -> Result<()> {
        let pages = signal.len().div_ceil(300);
        let mut h = String::new();
        h.push_str("Device Identity\r\nDevice Unique Serial Code:012345\r\nDevice Type:GENEActiv\r\nDevice Model:1.1\r\nDevice Firmware Version:Ver1.30\r\nCalibration Date:2012-04-03 11:08:52:000\r\n\r\n");
        h.push_str("Device Capabilities\r\nAccelerometer Range:-8 to 8\r\nAccelerometer Resolution:0.0039\r\nAccelerometer Units:g\r\n\r\n");
        let _ = write!(
            h,
            "Configuration Info\r\nMeasurement Frequency:{} Hz\r\nMeasurement Period:168 Hours\r\nStart Time:{}\r\nTime Zone:GMT +00:00\r\n\r\n",
            signal.nominal_hz,
            page_time(signal.start_s)
        );
        h.push_str("Subject Info\r\nDevice Location Code:left ankle\r\nSubject Code:\r\n\r\nCalibration Data\r\n");
        for (a, axis) in ["x", "y", "z"].iter().enumerate() {
            let _ = write!(
                h,
                "{axis} gain:{}\r\n{axis} offset:{}\r\n",
                self.gain[a], self.offset[a]
            );
        }
        let _ = write!(
            h,
            "Volts:300\r\nLux:800\r\n\r\nMemory Status\r\nNumber of Pages:{pages}\r\n\r\n"
        );
        w.write_all(h.as_bytes()).map_err(io)?;
        for p in 0..pages {
            let first = p * 300;
            let mut page = format!(
                "Recorded Data\r\nDevice Unique Serial Code:012345\r\nSequence Number:{p}\r\nPage Time:{}\r\nUnassigned:\r\nTemperature:21.5\r\nBattery voltage:4.1\r\nDevice Status:Recording\r\nMeasurement Frequency:{}\r\n",
                page_time(signal.time_s(first)),
                signal.nominal_hz
            );
            for i in first..(first + 300).min(signal.len()) {
                let v = signal.sample(i);
                for (a, x) in v.into_iter().enumerate() {
                    let raw = ((x * self.gain[a] + self.offset[a]) / 100.0)
                        .round()
                        .clamp(-2048.0, 2047.0) as i16;
                    let _ = write!(page, "{:03X}", (raw as u16) & 0x0fff);
                }
                page.push_str("000");
            }
            page.push_str("\r\n");
            w.write_all(page.as_bytes()).map_err(io)?;
        }
        Ok(())
    }

    /// The value a raw 12-bit reading decodes to, g (the format's resolution).
    #[must_use]
    pub fn decoded(&self, axis: usize, g: f64) -> f64 {
        let raw = ((g * self.gain[axis] + self.offset[axis]) / 100.0)
            .round()
            .clamp(-2048.0, 2047.0);
        (raw * 100.0 - self.offset[axis]) / self.gain[axis]
    }
}

/// An ActiLife raw CSV export.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActiLifeCsv {
    /// Write the `Timestamp` column.
    pub timestamps: bool,
}

impl ActiLifeCsv {
    /// Writes `signal` (at its nominal rate) as an ActiLife CSV export.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write(&self, signal: &DeviceSignal<'_>, w: &mut impl Write) -> Result<()> {
        let start = chrono::DateTime::from_timestamp(signal.start_s.floor() as i64, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        let mut out = format!(
            "------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.4 Firmware v3.2.1 date format M/d/yyyy at {} Hz  Filter Normal -----------\nSerial Number: NEO1F00000000\nStart Time {}\nStart Date {}\nEpoch Period (hh:mm:ss) 00:00:00\nDownload Time 12:00:00\nDownload Date {}\nCurrent Memory Address: 0\nCurrent Battery Voltage: 4.01     Mode = 12\n--------------------------------------------------\n",
            signal.nominal_hz,
            start.format("%H:%M:%S"),
            start.format("%-m/%-d/%Y"),
            start.format("%-m/%-d/%Y"),
        );
        out.push_str(if self.timestamps {
            "Timestamp,Accelerometer X,Accelerometer Y,Accelerometer Z\n"
        } else {
            "Accelerometer X,Accelerometer Y,Accelerometer Z\n"
        });
        w.write_all(out.as_bytes()).map_err(io)?;
        let mut line = String::new();
        for i in 0..signal.len() {
            line.clear();
            if self.timestamps {
                let t = start
                    + chrono::Duration::milliseconds(
                        (i as f64 * 1000.0 / signal.nominal_hz).round() as i64,
                    );
                line.push_str(&t.format("%-m/%-d/%Y %H:%M:%S%.3f,").to_string());
            }
            let v = signal.sample(i);
            let _ = writeln!(line, "{:.3},{:.3},{:.3}", v[0], v[1], v[2]);
            w.write_all(line.as_bytes()).map_err(io)?;
        }
        Ok(())
    }
}
