//! Accelerometer files as the devices write them: [`DeviceFile`].
//!
//! One file per sensor, read whole into a compact store (the raw integers the device
//! wrote, 6 bytes a sample, with the file's per-axis calibration; `f32` for text exports),
//! with the device's own clock: the time stamps the file carries at sample indices
//! (`timeline.rs`). Recognised by content, whatever the file's name:
//!
//! | format | file | recognised by | spec |
//! |---|---|---|---|
//! | Axivity AX3 / AX6 | `.cwa` | `MD` header block of 1024 bytes | openmovement `Docs/ax3/cwa.h` |
//! | ActiGraph GT3X+ / wGT3X / GT9X | `.gt3x` (zip: `info.txt`, `log.bin`) | zip holding `log.bin` | actigraph/GT3X-File-Format |
//! | ActiGraph NHANES GT3X+ | `.gt3x` (zip: `info.txt`, `activity.bin`) | zip holding `activity.bin` | actigraph/NHANES-GT3X-File-Format |
//! | GENEActiv | `.bin` | `Device Identity` text header | maker's R reader (GENEAcore), GGIRread |
//! | ActiLife CSV export | `.csv` | `Data File Created By ActiGraph` preamble | the preamble itself |
//!
//! All clocks are the device's local time (none of the formats records a zone reliably),
//! held as seconds since 1970-01-01 00:00 of that local time.
//!
//! What each device does oddly, and what is done about it:
//! * a corrupt CWA block (checksum), a GT3X record with a bad checksum, a GENEActiv page
//!   that does not decode: left out, its time a gap, counted in a note;
//! * GT3X idle-sleep mode (the device writes nothing while still): the stillness is
//!   filled with the last sample, as ActiLife does, and said in a note; a silence longer
//!   than [`timeline::HOLD_MAX_S`] is a gap (the device was off, not still);
//! * the sample clock runs off its nominal rate (by up to a few % on an AX3): samples
//!   are placed by the time stamps (`timeline.rs`), and the drift is reported.
//!
//! Memory follows the data: the store grows with the samples read, never with the span a
//! header or a stamp claims.

pub(crate) mod actilife;
pub(crate) mod cwa;
pub(crate) mod geneactiv;
pub(crate) mod gt3x;
mod gt3x_log;
pub(crate) mod info;
pub(crate) mod night;
pub(crate) mod timeline;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use timeline::{Run, Stamp};

/// A device file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceFormat {
    /// Axivity AX3 or AX6 `.cwa`.
    Cwa,
    /// ActiGraph `.gt3x` (`log.bin`).
    Gt3x,
    /// ActiGraph `.gt3x` of the NHANES era (`activity.bin`, firmware ≤ 2.5).
    Gt3xNhanes,
    /// GENEActiv `.bin`.
    GeneActiv,
    /// ActiLife CSV export of raw acceleration.
    ActiLifeCsv,
}

impl DeviceFormat {
    /// The format's name in messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            DeviceFormat::Cwa => "Axivity .cwa",
            DeviceFormat::Gt3x => "ActiGraph .gt3x",
            DeviceFormat::Gt3xNhanes => "ActiGraph NHANES .gt3x",
            DeviceFormat::GeneActiv => "GENEActiv .bin",
            DeviceFormat::ActiLifeCsv => "ActiLife CSV",
        }
    }
}

/// The samples of a device file, interleaved x, y, z.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Samples {
    /// Raw integers: axis `a` in g is `raw · gain[a] + offset[a]`.
    Raw {
        raw: Vec<i16>,
        gain: [f64; 3],
        offset: [f64; 3],
    },
    /// Values in g (text exports).
    G(Vec<f32>),
}

impl Samples {
    /// Samples stored (triplets).
    pub(crate) fn len(&self) -> usize {
        match self {
            Samples::Raw { raw, .. } => raw.len() / 3,
            Samples::G(v) => v.len() / 3,
        }
    }

    /// Calls `f` with each sample of `range`, `[x, y, z]` g.
    #[inline]
    pub(crate) fn for_each(&self, range: std::ops::Range<usize>, mut f: impl FnMut([f64; 3])) {
        match self {
            Samples::Raw { raw, gain, offset } => {
                for s in raw[3 * range.start..3 * range.end].chunks_exact(3) {
                    f([0, 1, 2].map(|a| f64::from(s[a]) * gain[a] + offset[a]));
                }
            }
            Samples::G(v) => {
                for s in v[3 * range.start..3 * range.end].chunks_exact(3) {
                    f([0, 1, 2].map(|a| f64::from(s[a])));
                }
            }
        }
    }

    /// Sample `i`, axis `axis`, g.
    #[inline]
    pub(crate) fn g(&self, i: usize, axis: usize) -> f64 {
        match self {
            Samples::Raw { raw, gain, offset } => {
                f64::from(raw[3 * i + axis]) * gain[axis] + offset[axis]
            }
            Samples::G(v) => f64::from(v[3 * i + axis]),
        }
    }
}

/// One sensor's recording as its file holds it: samples, the device's time stamps, and
/// what the reader noticed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceFile {
    pub(crate) format: DeviceFormat,
    /// Model (`AX3`, `AX6`, `GT3X+`, `GENEActiv 1.1` …).
    pub(crate) model: String,
    /// Serial number or device id, when the file gives one.
    pub(crate) serial: Option<String>,
    /// Where the device was worn, when the file says (GENEActiv `Device Location Code`).
    pub(crate) location: Option<String>,
    /// The configured sample rate, Hz.
    pub(crate) nominal_rate_hz: f64,
    pub(crate) samples: Samples,
    /// Runs of samples on the device's clock (`timeline.rs`), in time order.
    pub(crate) runs: Vec<Run>,
    /// What the reader noticed that a report must say.
    pub(crate) notes: Vec<String>,
}

/// What a reader hands to [`DeviceFile::build`].
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) format: DeviceFormat,
    pub(crate) model: String,
    pub(crate) serial: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) nominal_rate_hz: f64,
    pub(crate) samples: Samples,
    pub(crate) stamps: Vec<Stamp>,
    /// Whether a silence between stamps is the device's idle sleep (GT3X), to be held.
    pub(crate) hold_silences: bool,
    /// The recording's end the device states (GT3X `Last Sample Time`): an idle sleep
    /// that lasted to it is held up to it.
    pub(crate) end_s: Option<f64>,
    pub(crate) notes: Vec<String>,
}

impl DeviceFile {
    /// Reads the device file at `path`, its format recognised by content.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Parse`]/[`Error::Input`]
    /// naming the file, the byte or line and the field for a fault of the file (a wrong
    /// magic, a truncated header, no samples).
    pub fn read_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(Some(path), e))?;
        Self::read_from(file, Some(path))
    }

    /// Reads a device file from `input` (a file, or bytes in a `Cursor`); `name` names it
    /// in messages.
    ///
    /// # Errors
    /// As [`DeviceFile::read_path`].
    pub fn read_from(mut input: impl Read + Seek, name: Option<&Path>) -> Result<Self> {
        let loc = Location::file(name);
        let io = |e| Error::io(name, e);
        let mut head = [0u8; 64];
        let n = read_up_to(&mut input, &mut head).map_err(io)?;
        let Some(format) = recognise(&head[..n]) else {
            return Err(Error::input(
                loc,
                "not a device file this reader knows (Axivity .cwa, ActiGraph .gt3x, GENEActiv .bin, ActiLife CSV)",
            ));
        };
        let size = input.seek(SeekFrom::End(0)).map_err(io)?;
        input.seek(SeekFrom::Start(0)).map_err(io)?;
        let buffered = std::io::BufReader::with_capacity(1 << 16, &mut input);
        let decoded = match format {
            DeviceFormat::Cwa => cwa::read(buffered, &loc, Some(size))?,
            DeviceFormat::Gt3x | DeviceFormat::Gt3xNhanes => gt3x::read(buffered, &loc)?,
            DeviceFormat::GeneActiv => geneactiv::read(buffered, &loc)?,
            DeviceFormat::ActiLifeCsv => actilife::read(buffered, &loc)?,
        };
        Self::build(decoded, &loc)
    }

    /// The recording of what a reader decoded: its stamps turned into runs.
    pub(crate) fn build(d: Decoded, loc: &Location) -> Result<Self> {
        if d.samples.len() == 0 {
            return Err(Error::input(
                loc.clone(),
                format!("{}: the file holds no samples", d.format.name()),
            ));
        }
        let mut notes = d.notes;
        let runs = timeline::runs(
            &d.stamps,
            d.samples.len(),
            d.nominal_rate_hz,
            d.hold_silences,
            d.end_s,
            &mut notes,
        )
        .map_err(|m| Error::input(loc.clone(), format!("{}: {m}", d.format.name())))?;
        Ok(Self {
            format: d.format,
            model: d.model,
            serial: d.serial,
            location: d.location,
            nominal_rate_hz: d.nominal_rate_hz,
            samples: d.samples,
            runs,
            notes,
        })
    }

    /// The format.
    #[must_use]
    pub fn format(&self) -> DeviceFormat {
        self.format
    }

    /// The device model.
    #[must_use]
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The serial number, when the file gives one.
    #[must_use]
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    /// Where the device was worn, when the file says.
    #[must_use]
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The configured sample rate, Hz.
    #[must_use]
    pub fn nominal_rate_hz(&self) -> f64 {
        self.nominal_rate_hz
    }

    /// Samples stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample is stored (never, for a file that was read).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.samples.len() == 0
    }

    /// What the reader noticed (corrupt blocks left out, idle sleep filled, …).
    #[must_use]
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Local clock time of the first sample, s since 1970-01-01 00:00.
    #[must_use]
    pub fn first_s(&self) -> f64 {
        self.runs.first().map_or(0.0, |r| r.t0_s)
    }

    /// Local clock time just after the last sample (or the last held stretch), s.
    #[must_use]
    pub fn end_s(&self) -> f64 {
        self.runs.last().map_or(0.0, Run::end_s)
    }

    /// The sample clock's drift against the device's time stamps, ppm (positive: more
    /// samples per second than nominal), weighted by the samples of each run.
    #[must_use]
    pub fn drift_ppm(&self) -> f64 {
        let n: usize = self.runs.iter().map(|r| r.len).sum();
        let w: f64 = self
            .runs
            .iter()
            .map(|r| (r.rate_hz / self.nominal_rate_hz - 1.0) * r.len as f64)
            .sum();
        if n == 0 { 0.0 } else { w / n as f64 * 1e6 }
    }

    /// Sample `i`, axis `axis` (0 x, 1 y, 2 z), g.
    pub(crate) fn g(&self, i: usize, axis: usize) -> f64 {
        self.samples.g(i, axis)
    }

    /// Every sample with its clock time, s, in order: `(time_s, [x, y, z] g)` — the
    /// stored samples at the times their stamps give, and a silence the device spent in
    /// idle sleep filled with the last sample at the run's rate, as ActiLife exports it.
    pub fn samples(&self) -> impl Iterator<Item = (f64, [f64; 3])> + '_ {
        self.runs.iter().flat_map(move |r| {
            let held = (r.hold_s * r.rate_hz - 1e-6).ceil().max(0.0) as usize;
            (r.first..r.first + r.len + held).map(move |i| {
                let j = i.min(r.first + r.len - 1);
                let t = r.t0_s + (i - r.first) as f64 / r.rate_hz;
                (t, [self.g(j, 0), self.g(j, 1), self.g(j, 2)])
            })
        })
    }

    /// ISO 8601 (local, to the millisecond) of a clock time of this file.
    #[must_use]
    pub fn iso(t_s: f64) -> String {
        iso(t_s)
    }
}

/// Reads into `buf` until it is full or the input ends; the bytes read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The device format of a file that starts with `head`, if it is one.
#[must_use]
pub(crate) fn recognise(head: &[u8]) -> Option<DeviceFormat> {
    if head.len() >= 4 && &head[..2] == b"MD" && u16::from_le_bytes([head[2], head[3]]) == 1020 {
        return Some(DeviceFormat::Cwa);
    }
    if head.starts_with(b"PK\x03\x04") {
        // Which of the two ActiGraph layouts is decided inside the zip.
        return Some(DeviceFormat::Gt3x);
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    if text.starts_with("Device Identity") {
        return Some(DeviceFormat::GeneActiv);
    }
    if text
        .trim_start_matches('-')
        .trim_start()
        .starts_with("Data File Created By ActiGraph")
        && text.starts_with("---")
    {
        return Some(DeviceFormat::ActiLifeCsv);
    }
    None
}

/// The device format a night file is, if it is one (for the message that sends it to
/// `--left-ankle`/`--right-ankle`).
pub(crate) fn device_named(head: &[u8]) -> Option<&'static str> {
    recognise(head).map(DeviceFormat::name)
}

/// Local clock seconds since 1970-01-01 00:00 of a date-time.
pub(crate) fn clock_s(t: chrono::NaiveDateTime) -> f64 {
    let d = t.and_utc();
    d.timestamp() as f64 + f64::from(d.timestamp_subsec_nanos()) * 1e-9
}

/// ISO 8601 (to the millisecond) of local clock seconds.
#[must_use]
pub(crate) fn iso(t_s: f64) -> String {
    let ms = (t_s * 1000.0).round();
    let whole = (ms / 1000.0).floor();
    let frac = (ms - whole * 1000.0) as u32;
    match chrono::DateTime::from_timestamp(whole as i64, frac * 1_000_000) {
        Some(d) if frac == 0 => d.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string(),
        Some(d) => d.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        None => format!("{t_s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognised_by_content() {
        let mut cwa = vec![b'M', b'D'];
        cwa.extend(1020u16.to_le_bytes());
        assert_eq!(recognise(&cwa), Some(DeviceFormat::Cwa));
        assert_eq!(recognise(b"PK\x03\x04rest"), Some(DeviceFormat::Gt3x));
        assert_eq!(
            recognise(b"Device Identity\r\nDevice Unique"),
            Some(DeviceFormat::GeneActiv)
        );
        assert_eq!(
            recognise(b"------------ Data File Created By ActiGraph GT3X+ ActiLife v6"),
            Some(DeviceFormat::ActiLifeCsv)
        );
        assert_eq!(recognise(b"time_s,left_x"), None);
        assert_eq!(recognise(b"MD"), None);
    }

    #[test]
    fn iso_of_clock_seconds() {
        let t = chrono::NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_milli_opt(22, 1, 2, 250)
            .unwrap();
        assert_eq!(iso(clock_s(t)), "2024-03-05T22:01:02.250");
        assert_eq!(iso(clock_s(t) - 0.25), "2024-03-05T22:01:02");
    }
}
