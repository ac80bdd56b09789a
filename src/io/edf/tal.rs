//! EDF+ annotations: the time-stamped annotation lists (TALs) of an `EDF Annotations`
//! (or `BDF Annotations`) signal (EDF+ §2.2).
//!
//! Input: an EDF+ or BDF+ file read as a stream. Output: every [`Annotation`] in file
//! order, its onset counted from the first data record's time-keeping onset (where the
//! signal readers put 0 s); the time-keeping annotations themselves are left out.
//! Malformed onsets and durations are errors naming their byte.

use std::io::Read;

use super::header::{ANNOTATIONS, Signal, read_header};
use super::records::for_each_record;
use crate::error::{Error, Location, Result, shorten};

/// One annotation of an EDF+ file: a text of a time-stamped annotation list (TAL).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Annotation {
    /// Onset, s after the start of the first data record.
    pub onset_s: f64,
    /// Duration, s, when the TAL gives one.
    pub duration_s: Option<f64>,
    /// The annotation text (UTF-8, trimmed).
    pub text: String,
    /// Byte offset of its TAL in the file.
    pub byte: u64,
}

/// Every annotation of the `EDF Annotations` signals of an EDF+ file read from `input`,
/// in file order, time-keeping ones (the empty first annotation of each record) left out
/// (EDF+ §2.2). Onsets are counted from the first data record's time-keeping onset,
/// which is where the crate's signal readers put 0 s.
///
/// # Errors
/// [`Error::Parse`] naming the byte for a header fault, a file without an annotation
/// signal, a truncated record or a malformed onset or duration.
pub(crate) fn annotations(mut input: impl Read, loc: &Location) -> Result<Vec<Annotation>> {
    let header = read_header(&mut input, loc)?;
    let signals: Vec<&Signal> = header
        .signals
        .iter()
        .filter(|s| s.is_annotation())
        .collect();
    if signals.is_empty() {
        return Err(Error::input(
            loc.clone(),
            "an EDF file without an `EDF Annotations` (or `BDF Annotations`) signal: it holds no scored events",
        ));
    }
    let mut first_onset: Option<f64> = None;
    let mut out = Vec::new();
    for_each_record(input, &header, loc, |_, at, record| {
        for (i, s) in signals.iter().enumerate() {
            let bytes = &record[s.offset..s.offset + header.width * s.samples_per_record];
            let base = at + s.offset as u64;
            parse_tals(bytes, base, i == 0, loc, &mut first_onset, &mut out)?;
        }
        Ok(())
    })?;
    let t0 = first_onset.unwrap_or(0.0);
    for a in &mut out {
        a.onset_s -= t0;
    }
    Ok(out)
}

/// The TALs of one record's annotation signal `bytes` (at file offset `base`) into
/// `out`; `keeping`: the first TAL is the record's time keeping, whose onset (the first
/// record's) is kept in `first_onset`.
fn parse_tals(
    bytes: &[u8],
    base: u64,
    keeping: bool,
    loc: &Location,
    first_onset: &mut Option<f64>,
    out: &mut Vec<Annotation>,
) -> Result<()> {
    let mut i = 0;
    let mut first = keeping;
    while i < bytes.len() {
        if bytes[i] == 0 {
            i += 1;
            continue;
        }
        let end = memchr::memchr(0, &bytes[i..]).map_or(bytes.len(), |e| i + e);
        let tal = &bytes[i..end];
        let byte = base + i as u64;
        let mut parts = tal.split(|&b| b == 0x14);
        let stamp = parts.next().unwrap_or_default();
        let (onset, duration) = match stamp.iter().position(|&b| b == 0x15) {
            Some(p) => (&stamp[..p], Some(&stamp[p + 1..])),
            None => (stamp, None),
        };
        let seconds = |text: &[u8], what: &str, signed: bool| -> Result<f64> {
            let s = std::str::from_utf8(text).unwrap_or("");
            let ok = if signed {
                s.starts_with(['+', '-'])
            } else {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            };
            s.parse::<f64>()
                .ok()
                .filter(|v| ok && v.is_finite())
                .ok_or_else(|| {
                    Error::parse(
                        loc.at_byte(byte, ANNOTATIONS),
                        format!(
                            "malformed annotation {what} `{}`",
                            shorten(&String::from_utf8_lossy(text))
                        ),
                    )
                })
        };
        let onset_s = seconds(onset, "onset", true)?;
        let duration_s = duration
            .map(|d| seconds(d, "duration", false))
            .transpose()?;
        if first {
            // The time-keeping annotation: empty, its onset the record's start.
            first_onset.get_or_insert(onset_s);
            first = false;
        }
        for t in parts {
            let text = String::from_utf8_lossy(t).trim().to_owned();
            if !text.is_empty() {
                out.push(Annotation {
                    onset_s,
                    duration_s,
                    text,
                    byte,
                });
            }
        }
        i = end + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::edf::test_files::*;

    #[test]
    fn annotation_times_count_from_the_first_record_and_faults_name_their_byte() {
        // Records start 10 s into the file: an annotation at +12.5 s is 2.5 s into the signal.
        let tals = tal_signal(
            &[
                &["+10\x14\x14\0"],
                &["+11\x14\x14\0", "+12.5\x1520\x14Hypopnea\x14\0"],
            ],
            24,
        );
        let leg: Vec<i16> = vec![0; 8];
        let bytes = edf_bytes(
            "EDF+C",
            1.0,
            &[
                ("Tib L", "uV", -32768.0, 32767.0, 4, leg),
                ("EDF Annotations", "", -1.0, 1.0, 24, tals),
            ],
            2,
        );
        let loc = Location::file(Some(std::path::Path::new("n.edf")));
        let got = annotations(&bytes[..], &loc).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].onset_s, got[0].duration_s), (2.5, Some(20.0)));
        assert_eq!(got[0].text, "Hypopnea");
        // A malformed onset: an error naming the file and the byte of its list.
        let mut b = bytes.clone();
        let pos = b.windows(5).position(|w| w == b"+12.5").unwrap();
        b[pos] = b'x';
        let e = annotations(&b[..], &loc).unwrap_err().to_string();
        assert!(
            e.contains("n.edf") && e.contains(&format!("byte {pos}")),
            "{e}"
        );
        assert!(e.contains("malformed annotation onset `x12.5`"), "{e}");
        // A file without annotations holds no events.
        let plain = edf_bytes("", 1.0, &[("Tib L", "uV", -1.0, 1.0, 4, vec![0; 4])], 1);
        let e = annotations(&plain[..], &loc).unwrap_err().to_string();
        assert!(
            e.contains("without an `EDF Annotations` (or `BDF Annotations`) signal"),
            "{e}"
        );
        // A signal file still needs records that last.
        let zero = edf_bytes("", 0.0, &[("Tib L", "uV", -1.0, 1.0, 4, vec![0; 4])], 1);
        let e = emg(&zero).unwrap_err().to_string();
        assert!(e.contains("no signal can be read"), "{e}");
    }

    #[test]
    fn bdf_plus_annotations_are_read() {
        let (bytes, _) = bdf_plus_night();
        let loc = Location::file(Some(std::path::Path::new("n.bdf")));
        let got = annotations(&bytes[..], &loc).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].onset_s, got[0].duration_s, got[0].text.as_str()),
            (0.0, Some(30.0), "Sleep stage 2")
        );
    }
}
