//! The records of an ActiGraph `log.bin` (actigraph/GT3X-File-Format).
//!
//! Each record: separator `0x1E`, type, a 4-byte little-endian time stamp (local time as
//! seconds since 1970, to the second), a 2-byte payload size, the payload, and a checksum
//! byte: the one's complement of the XOR of header and payload. Read here:
//! * `0x00` ACTIVITY: one second of samples, 12-bit two's-complement values packed
//!   most-significant nibble first, in y, x, z order (an odd count leaves a last nibble);
//! * `0x1A` ACTIVITY2: one second of samples, 16-bit little-endian x, y, z;
//! * `0x15` PARAMETERS: 8-byte key/value pairs (address space, identifier, value); the
//!   accelerometer scale (address 0, id 55) is a float of a 24-bit two's-complement
//!   fraction (over 2²³) and an 8-bit exponent of two.
//!
//! A 1-byte ACTIVITY payload marks a USB connection, not samples; other records
//! (battery, capsense, events, epochs …) are skipped. A record whose checksum fails is
//! left out (its second becomes a gap) and counted; bytes that are not a record are
//! skipped to the next separator and counted.

use std::io::Read;

use super::read_up_to;
use crate::error::{Error, Location, Result};

/// Record types read.
const ACTIVITY: u8 = 0x00;
const PARAMETERS: u8 = 0x15;
const ACTIVITY2: u8 = 0x1A;

/// What the log held: raw samples (x, y, z interleaved), one stamp (first sample, time)
/// per record of samples, and the scale the PARAMETERS record gives.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) raw: Vec<i16>,
    pub(crate) records: Vec<(usize, u32)>,
    pub(crate) accel_scale: Option<f64>,
    pub(crate) bad_checksums: usize,
    pub(crate) resyncs: usize,
    pub(crate) truncated: bool,
}

/// The 12-bit packed samples (y, x, z order) of `payload`, appended as x, y, z.
pub(crate) fn unpack_12bit(payload: &[u8], raw: &mut Vec<i16>) {
    let values = payload.len() * 2 / 3; // 12-bit values in the payload
    let samples = values / 3;
    let nibble = |k: usize| -> u16 {
        let b = payload[k / 2];
        u16::from(if k % 2 == 0 { b >> 4 } else { b & 0x0f })
    };
    for s in 0..samples {
        let mut yxz = [0i16; 3];
        for (a, v) in yxz.iter_mut().enumerate() {
            let k = (s * 3 + a) * 3;
            let u = (nibble(k) << 8) | (nibble(k + 1) << 4) | nibble(k + 2);
            *v = ((u << 4) as i16) >> 4;
        }
        raw.extend([yxz[1], yxz[0], yxz[2]]);
    }
}

/// A PARAMETERS float (module docs).
pub(crate) fn ssp_float(v: u32) -> f64 {
    if v == 0x007F_FFFF {
        return f64::MAX;
    }
    if v == 0x0080_0000 {
        return -f64::MAX;
    }
    let exponent = f64::from((v >> 24) as u8 as i8);
    let fraction = ((v << 8) as i32) >> 8; // sign-extend 24 bits
    f64::from(fraction) / 8_388_608.0 * exponent.exp2()
}

/// Reads the records of a `log.bin` stream.
pub(crate) fn read(mut input: impl Read, loc: &Location) -> Result<Log> {
    let io = |e| Error::io(loc.path.as_deref(), e);
    let mut log = Log::default();
    let mut header = [0u8; 8];
    let mut payload = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    loop {
        let got = read_up_to(&mut input, &mut header[..1]).map_err(io)?;
        if got == 0 {
            break;
        }
        pos += 1;
        if header[0] != 0x1E {
            log.resyncs += 1;
            continue;
        }
        let got = read_up_to(&mut input, &mut header[1..]).map_err(io)?;
        pos += got as u64;
        if got < 7 {
            log.truncated = true;
            break;
        }
        let kind = header[1];
        let time = u32::from_le_bytes([header[2], header[3], header[4], header[5]]);
        let size = usize::from(u16::from_le_bytes([header[6], header[7]]));
        let got = read_up_to(&mut input, &mut payload[..=size]).map_err(io)?;
        pos += got as u64;
        if got < size + 1 {
            log.truncated = true;
            break;
        }
        let body = &payload[..size];
        let sum = !header.iter().chain(body).fold(0u8, |s, b| s ^ b);
        if sum != payload[size] {
            log.bad_checksums += 1;
            continue;
        }
        match kind {
            ACTIVITY | ACTIVITY2 if size > 1 => {
                log.records.push((log.raw.len() / 3, time));
                if kind == ACTIVITY {
                    unpack_12bit(body, &mut log.raw);
                } else {
                    for s in body.chunks_exact(6) {
                        log.raw
                            .extend([0, 2, 4].map(|a| i16::from_le_bytes([s[a], s[a + 1]])));
                    }
                }
            }
            PARAMETERS => {
                for kv in body.chunks_exact(8) {
                    let address = u16::from_le_bytes([kv[0], kv[1]]);
                    let id = u16::from_le_bytes([kv[2], kv[3]]);
                    let value = u32::from_le_bytes([kv[4], kv[5], kv[6], kv[7]]);
                    if address == 0 && id == 55 {
                        let scale = ssp_float(value);
                        if scale.is_finite() && scale > 0.0 && scale < 1e6 {
                            log.accel_scale = Some(scale);
                        } else {
                            return Err(Error::parse(
                                loc.at_byte(pos, "log.bin PARAMETERS ACCEL_SCALE"),
                                format!("accelerometer scale {scale} is not a positive LSB/g"),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_examples() {
        // activity.bin example: 00 60 08 EB D0 07 00 9E BF 00 70 08 EB F0 → (y, x, z) =
        // (6, 8, −323), (7, 9, −321), (7, 8, −321).
        let bytes = [
            0x00, 0x60, 0x08, 0xEB, 0xD0, 0x07, 0x00, 0x9E, 0xBF, 0x00, 0x70, 0x08, 0xEB, 0xF0,
        ];
        let mut raw = Vec::new();
        unpack_12bit(&bytes, &mut raw);
        assert_eq!(raw, vec![8, 6, -323, 9, 7, -321, 8, 7, -321]);
        // PARAMETERS example: 00 00 40 09 is ACCEL_SCALE 256 LSB/g.
        assert_eq!(ssp_float(0x0940_0000), 256.0);
        assert_eq!(ssp_float(0), 0.0);
        assert!((ssp_float(0x0C40_0000) - 2048.0).abs() < 1e-9);
    }

    #[test]
    fn checksums_are_verified() {
        // The PARAMETERS record header of the specification, with a one-pair payload.
        let mut rec = vec![0x1E, 0x15, 0xF2, 0x24, 0xD2, 0x54, 0x08, 0x00];
        rec.extend([0x00, 0x00, 0x37, 0x00, 0x00, 0x00, 0x40, 0x09]);
        let sum = !rec.iter().fold(0u8, |s, b| s ^ b);
        let mut good = rec.clone();
        good.push(sum);
        let log = read(&good[..], &Location::default()).unwrap();
        assert_eq!((log.accel_scale, log.bad_checksums), (Some(256.0), 0));
        let mut bad = rec;
        bad.push(sum ^ 1);
        let log = read(&bad[..], &Location::default()).unwrap();
        assert_eq!((log.accel_scale, log.bad_checksums), (None, 1));
    }
}
