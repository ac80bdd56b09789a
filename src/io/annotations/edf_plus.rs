//! The scoring context in EDF+ and BDF+ annotations: a Sleep-EDF `Hypnogram.edf`, the
//! night's own EDF+ file read as a stream, or an annotations-only file written by
//! PLMScoRe, Polyman or EDFbrowser.
//!
//! Input: the [`Annotation`](crate::io::edf::tal::Annotation)s of the file
//! ([`crate::io::edf::tal`]). Output: its [`Events`], from which [`super::events`] takes
//! stages, respiratory events, arousals and leg movements. Times count from the file's
//! first data record, which must be the recording's start (it is for the night's own file
//! and for Sleep-EDF's hypnograms, which share their recording's start time).
//!
//! Texts are read by [`super::vocab`]: `Sleep stage X` or `Stage X` (the EDF+ standard
//! texts; `?` and other codes leave their epochs without a stage; a missing duration is one
//! epoch), apneas, hypopneas and RERAs, arousals, and limb or leg movements. The text
//! after `@@` is the channel the event was scored on (`Limb movement@@LAT`, `LM@@Leg R`,
//! as Polyman and PLMScoRe write them): a movement without a side in its text takes it
//! from the channel, read with the signal reader's leg-label aliases. Everything else
//! (lights, body position, desaturations, comments) is ignored and counted, and so is any
//! annotation before the first data record; empty time-keeping annotations are passed
//! over.

use std::io::Read;

use super::events::{Events, When};
use super::vocab::classify;
use crate::error::{Location, Result};
use crate::io::edf::header::ANNOTATIONS;
use crate::io::edf::tal::annotations;

/// The format's name.
pub(crate) const FORMAT: &str = "EDF+ annotations";

/// The events of an EDF+ file's annotations (module docs).
///
/// # Errors
/// As [`annotations`].
pub(crate) fn read(input: impl Read, loc: &Location) -> Result<Events> {
    let mut ev = Events::new(FORMAT, loc);
    for a in annotations(input, loc)? {
        let text = a.text.trim();
        if text.is_empty() {
            continue;
        }
        let (name, channel) = match text.split_once("@@") {
            Some((n, c)) => (n.trim(), Some(c.trim())),
            None => (text, None),
        };
        match classify(name, channel, false) {
            Some(kind) if a.onset_s >= 0.0 => ev.push(
                kind,
                text,
                When::Elapsed(a.onset_s),
                a.duration_s.unwrap_or(0.0),
                loc.at_byte(a.byte, ANNOTATIONS),
            ),
            _ => ev.ignore(name),
        }
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use crate::events::Side;
    use crate::io::edf::test_files::*;

    #[test]
    fn annotations_give_stages_events_and_movements() {
        // Sleep-EDF style: annotations only, one record of 0 s.
        let tals = tal_signal(
            &[&[
                "+0\x14\x14\0",
                "+0\x1530\x14Sleep stage W\x14\0",
                "+30\x1560\x14Sleep stage 2\x14\0",
                "+90\x1530\x14Sleep stage ?\x14\0",
                "+95.5\x1512\x14Obstructive Apnoea\x14\0",
                "+100\x153\x14Arousal\x14\0",
                "+101\x152\x14Limb movement - left\x14\0",
                "+102\x14Lights on\x14\0",
            ]],
            160,
        );
        let bytes = edf_bytes(
            "EDF+C",
            0.0,
            &[("EDF Annotations", "", -1.0, 1.0, 160, tals)],
            1,
        );
        let path = Some(std::path::Path::new("h.edf"));
        let input = || std::io::Cursor::new(bytes.clone());
        let h = crate::io::read_hypnogram_from(input(), path, 30.0).unwrap();
        assert_eq!(
            h.epochs(),
            vec![
                (0.0, crate::io::Stage::W),
                (30.0, crate::io::Stage::N2),
                (60.0, crate::io::Stage::N2)
            ]
        );
        let r = crate::io::read_respiratory_from(input(), path).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].onset_s, r[0].offset_s), (95.5, 107.5));
        assert_eq!(r[0].kind.as_deref(), Some("Obstructive Apnoea"));
        let a = crate::io::read_arousals_from(input(), path).unwrap();
        assert_eq!((a.len(), a[0].onset_s, a[0].offset_s), (1, 100.0, 103.0));
        let m = crate::io::read_leg_movements_from(input(), path).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].onset_s, m[0].offset_s, m[0].side),
            (101.0, 103.0, Side::Left)
        );
    }
}
