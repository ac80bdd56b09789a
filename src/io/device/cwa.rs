//! Axivity AX3 / AX6 `.cwa` files (openmovement `Docs/ax3/cwa.h`, little-endian,
//! tightly packed).
//!
//! * A 1024-byte header block (`MD`, length 1020): hardware type at byte 4 (`0x64` AX6,
//!   else AX3), device id at 5 (+ upper word at 11), sampling-rate code at 36.
//! * Then 512-byte data blocks (`AX`, length 508), each with a 16-bit checksum (the
//!   word-wise sum of the block is zero): a block that fails it is left out (a gap,
//!   counted in a note), not an error for the file; a block of another kind is skipped.
//! * Block fields: the packed time stamp at 14 (`YYYYYYMM MMDDDDDh hhhhmmmm mmssssss`,
//!   year from 2000), `lightScale` at 18 (top 3 bits: unpacked accelerometer scale
//!   `1/2^(8+n)` g), rate code at 24 (`3200 / 2^(15 − code & 15)` Hz), axes and packing
//!   at 25 (top nibble 3 = accel, 6 = gyro then accel, 9 = + magnetometer; bottom nibble
//!   2 = 16-bit signed values, 0 = one 32-bit word of three 10-bit values and a shared
//!   2-bit exponent, in 1/256 g), the time stamp's sample index at 26 (signed), the
//!   sample count at 28, samples from 30.
//! * Fractional time: when the top bit of bytes 4–5 is set, its low 15 bits are the
//!   stamp's fraction of a second (in 1/32768 s), and the sample index had been moved to
//!   the whole second assuming the nominal rate; the move is undone (as the maker's
//!   readers do) so the stamp is for the sample it was taken at.

use std::io::Read;

use chrono::NaiveDate;

use super::timeline::Stamp;
use super::{Decoded, DeviceFormat, Samples, clock_s, read_up_to};
use crate::error::{Error, Location, Result};

/// Bytes in the header block.
pub(crate) const HEADER_BYTES: usize = 1024;
/// Bytes in a data block.
pub(crate) const BLOCK_BYTES: usize = 512;

/// The local date-time of a packed CWA time stamp, s since 1970 (`None`: 0 or invalid).
pub(crate) fn timestamp_s(v: u32) -> Option<f64> {
    if v == 0 {
        return None;
    }
    let year = 2000 + ((v >> 26) & 0x3f) as i32;
    let month = (v >> 22) & 0x0f;
    let day = (v >> 17) & 0x1f;
    let (h, m, s) = ((v >> 12) & 0x1f, (v >> 6) & 0x3f, v & 0x3f);
    let t = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(h, m, s)?;
    Some(clock_s(t))
}

/// The rate of a rate code, Hz.
pub(crate) fn rate_hz(code: u8) -> f64 {
    3200.0 / f64::from(1u32 << (15 - u32::from(code & 0x0f)))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The three 10-bit values of a packed word, shifted by its exponent (1/256 g).
pub(crate) fn unpack(v: u32) -> [i16; 3] {
    let e = v >> 30;
    [0, 10, 20].map(|shift| {
        let raw = ((v >> shift) & 0x3ff) as i16;
        let signed = (raw << 6) >> 6; // sign-extend 10 bits
        signed << e
    })
}

/// Reads a `.cwa` file.
/// `size`, the file's length in bytes when known, sizes the store once.
pub(crate) fn read(mut input: impl Read, loc: &Location, size: Option<u64>) -> Result<Decoded> {
    let io = |e| Error::io(loc.path.as_deref(), e);
    let mut header = [0u8; HEADER_BYTES];
    let n = read_up_to(&mut input, &mut header).map_err(io)?;
    if n < HEADER_BYTES {
        return Err(Error::parse(
            loc.at_byte(n as u64, "header block"),
            format!("the file ends inside the {HEADER_BYTES}-byte header block"),
        ));
    }
    if &header[..2] != b"MD" || u16_at(&header, 2) != 1020 {
        return Err(Error::parse(
            loc.at_byte(0, "packet header"),
            "not an Axivity .cwa file (no `MD` header block of 1024 bytes)",
        ));
    }
    let ax6 = header[4] == 0x64;
    let upper = match u16_at(&header, 11) {
        0xffff => 0,
        u => u32::from(u),
    };
    let serial = (upper << 16) | u32::from(u16_at(&header, 5));
    let header_rate = rate_hz(header[36]);

    let mut raw: Vec<i16> = Vec::new();
    let mut stamps = Vec::new();
    let mut notes = Vec::new();
    let (mut corrupt, mut other, mut rate_changed, mut rescaled) = (0usize, 0usize, 0usize, 0usize);
    let mut nominal: Option<f64> = None;
    let mut scale_n: Option<u32> = None;
    let mut block = [0u8; BLOCK_BYTES];
    let mut offset = HEADER_BYTES as u64;
    loop {
        let got = read_up_to(&mut input, &mut block).map_err(io)?;
        if got == 0 {
            break;
        }
        if got < BLOCK_BYTES {
            notes.push(format!(
                "the file ends inside a data block at byte {offset} ({got} of {BLOCK_BYTES} bytes): that block was left out"
            ));
            break;
        }
        let at = offset;
        offset += BLOCK_BYTES as u64;
        if &block[..2] != b"AX" || u16_at(&block, 2) != 508 {
            other += 1;
            continue;
        }
        let sum = (0..BLOCK_BYTES / 2).fold(0u16, |s, w| s.wrapping_add(u16_at(&block, 2 * w)));
        if sum != 0 {
            corrupt += 1;
            continue;
        }
        let code = block[24];
        let fs = rate_hz(code);
        match nominal {
            None => nominal = Some(fs),
            Some(f) if f != fs => {
                rate_changed += 1;
                continue;
            }
            Some(_) => {}
        }
        let axes_bps = block[25];
        let channels = usize::from(axes_bps >> 4);
        let bps = usize::from(axes_bps & 0x0f);
        let count = usize::from(u16_at(&block, 28));
        let (per_sample, accel_at) = match (channels, bps) {
            (3, 0) => (4, 0),
            (3 | 6 | 9, 2) => (2 * channels, if channels >= 6 { 3 } else { 0 }),
            _ => {
                return Err(Error::parse(
                    loc.at_byte(at + 25, "numAxesBPS"),
                    format!(
                        "data block {} has an unknown layout 0x{axes_bps:02x} (expected 0x30, 0x32, 0x62 or 0x92)",
                        (at - HEADER_BYTES as u64) / BLOCK_BYTES as u64
                    ),
                ));
            }
        };
        if count * per_sample > 480 {
            corrupt += 1;
            continue;
        }
        // The accelerometer's scale: 1/256 g packed; 1/2^(8+n) g unpacked (n in lightScale).
        let n_scale = if bps == 0 {
            0
        } else {
            u32::from(u16_at(&block, 18) >> 13)
        };
        let shift = match scale_n {
            None => {
                scale_n = Some(n_scale);
                0
            }
            Some(s) => s as i32 - n_scale as i32,
        };
        if shift != 0 {
            rescaled += 1;
        }
        if raw.is_empty() {
            // Memory follows the data: the blocks the file holds, at this block's count.
            let blocks = size.map_or(0, |s| s.saturating_sub(at) / BLOCK_BYTES as u64);
            raw.reserve((blocks as usize).saturating_mul(3 * count).min(1 << 31));
        }
        let first = raw.len() / 3;
        let data = &block[30..30 + count * per_sample];
        if bps == 0 {
            for w in data.chunks_exact(4) {
                raw.extend(unpack(u32_at(w, 0)));
            }
        } else {
            for s in data.chunks_exact(per_sample) {
                for a in 0..3 {
                    let v = i16::from_le_bytes([s[2 * (accel_at + a)], s[2 * (accel_at + a) + 1]]);
                    raw.push(rescale(v, shift));
                }
            }
        }
        if let Some(t) = timestamp_s(u32_at(&block, 14)) {
            let mut index = f64::from(i16::from_le_bytes([block[26], block[27]]));
            let fractional = u16_at(&block, 4);
            let mut t = t;
            if fractional & 0x8000 != 0 {
                let frac16 = u32::from(fractional & 0x7fff) << 1;
                index += f64::from((frac16 * fs as u32) >> 16);
                t += f64::from(frac16) / 65536.0;
            }
            stamps.push(Stamp {
                block: first,
                index: first as f64 + index,
                time_s: t,
            });
        }
    }
    if corrupt > 0 {
        notes.push(format!(
            "{corrupt} corrupt data blocks (checksum) were left out: their time is a gap"
        ));
    }
    if other > 0 {
        notes.push(format!(
            "{other} blocks that are not data blocks were skipped"
        ));
    }
    if rate_changed > 0 {
        notes.push(format!(
            "{rate_changed} data blocks at another sample rate than the first were left out"
        ));
    }
    if rescaled > 0 {
        notes.push(format!(
            "{rescaled} data blocks at another accelerometer scale were converted to the first block's"
        ));
    }
    let n = scale_n.unwrap_or(0);
    let gain = 1.0 / f64::from(1u32 << (8 + n));
    Ok(Decoded {
        format: DeviceFormat::Cwa,
        model: if ax6 { "AX6" } else { "AX3" }.into(),
        serial: Some(serial.to_string()),
        location: None,
        nominal_rate_hz: nominal.unwrap_or(header_rate),
        samples: Samples::Raw {
            raw,
            gain: [gain; 3],
            offset: [0.0; 3],
        },
        stamps,
        hold_silences: false,
        end_s: None,
        notes,
    })
}

/// A raw value moved by `shift` binary places (to the first block's scale), saturating.
fn rescale(v: i16, shift: i32) -> i16 {
    match shift {
        0 => v,
        s if s > 0 => (i32::from(v) << s.min(15)).clamp(-32768, 32767) as i16,
        s => (i32::from(v) >> (-s).min(15)) as i16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_words_and_time_stamps() {
        // x = 5, y = −3, z = 256 − 1 = 255 ... with exponent 2.
        let pack = |x: i32, y: i32, z: i32, e: u32| -> u32 {
            (e << 30)
                | (((z as u32) & 0x3ff) << 20)
                | (((y as u32) & 0x3ff) << 10)
                | ((x as u32) & 0x3ff)
        };
        assert_eq!(unpack(pack(5, -3, 255, 0)), [5, -3, 255]);
        assert_eq!(unpack(pack(-512, 511, -1, 3)), [-4096, 4088, -8]);
        // 2013-05-30 10:12:54
        let v = (13u32 << 26) | (5 << 22) | (30 << 17) | (10 << 12) | (12 << 6) | 0x36; // 54 s
        assert_eq!(
            super::super::iso(timestamp_s(v).unwrap()),
            "2013-05-30T10:12:54"
        );
        assert_eq!(timestamp_s(0), None);
        assert_eq!(timestamp_s(13u32 << 26), None); // month 0
        assert_eq!(rate_hz(0x4A), 100.0);
        assert_eq!(rate_hz(0x0C), 400.0);
        assert_eq!(rescale(-8, -2), -2);
        assert_eq!(rescale(20_000, 2), 32767);
    }
}
