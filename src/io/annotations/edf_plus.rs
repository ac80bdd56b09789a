//! The scoring context in EDF+ and BDF+ annotations: a Sleep-EDF `Hypnogram.edf`, or the
//! night's own EDF+ file read as a stream.
//!
//! Input: the [`Annotation`](crate::io::edf::tal::Annotation)s of the file ([`crate::io::edf::tal`]). Output: the same
//! [`ScoredEvent`]s an NSRR XML file gives, from which [`super::events`] takes stages,
//! respiratory events, arousals and leg movements. Times count from the file's first data
//! record, which must be the recording's start (it is for the night's own file and for
//! Sleep-EDF's hypnograms, which share their recording's start time).

use std::io::Read;

use super::events::ScoredEvent;
use crate::error::{Location, Result};
use crate::io::edf::header::ANNOTATIONS;
use crate::io::edf::tal::annotations;

/// The scoring context in an EDF+ file's annotations, as the events of an NSRR XML file
/// ([`super::events`] then takes stages, respiratory events, arousals and leg movements
/// from them). Texts are matched case-insensitively:
///
/// * `Sleep stage X` or `Stage X` (the EDF+ standard texts; Sleep-EDF, MASS): `X` is
///   `W`, `1`–`4`, `R`, `N1`–`N3` as in the CSV hypnogram; `?` and anything else leave
///   their epochs without a stage. The duration spans as many epochs as it holds (a
///   missing one is one epoch).
/// * Apneas, hypopneas (either spelling) and RERAs: respiratory events.
/// * Any other text naming an arousal: an arousal.
/// * Limb or leg movements and PLMs naming a side: scored leg movements.
///
/// Everything else (lights, body position, desaturations, comments) is ignored, and so is
/// any annotation before the first data record.
///
/// # Errors
/// As [`annotations`].
pub(crate) fn scored_events(input: impl Read, loc: &Location) -> Result<Vec<ScoredEvent>> {
    Ok(annotations(input, loc)?
        .into_iter()
        .filter(|a| a.onset_s >= 0.0)
        .filter_map(|a| {
            let t = a.text.to_ascii_lowercase();
            let duration_s = a.duration_s.unwrap_or(0.0);
            let at = loc.at_byte(a.byte, ANNOTATIONS);
            if let Some(x) = t
                .strip_prefix("sleep stage ")
                .or_else(|| t.strip_prefix("stage "))
            {
                let concept = format!("{}|{}", a.text, x.trim().to_ascii_uppercase());
                return Some(ScoredEvent::new(
                    "Stages", concept, a.onset_s, duration_s, at,
                ));
            }
            let kind = if [
                "apnea",
                "apnoea",
                "hypopnea",
                "hypopnoea",
                "rera",
                "effort related arousal",
            ]
            .iter()
            .any(|w| t.contains(w))
            {
                "Respiratory"
            } else if t.contains("arousal") {
                "Arousals"
            } else if ["limb movement", "leg movement", "plm"]
                .iter()
                .any(|w| t.contains(w))
            {
                "Limb Movement"
            } else {
                return None;
            };
            Some(ScoredEvent::new(kind, a.text, a.onset_s, duration_s, at))
        })
        .collect())
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
