//! Compumedics Profusion XML: the `*-profusion.xml` files NSRR ships beside its
//! `*-nsrr.xml` for every cohort, and what Profusion PSG exports.
//!
//! Input: the XML text, root `CMPStudyConfig`. Output: its [`Events`], times in seconds
//! from the start of the recording; what the crate takes from them is [`super::events`]'.
//!
//! * `<EpochLength>`: the epoch, s (30 when absent).
//! * `<SleepStages><SleepStage>`: one digit per epoch from t = 0: `0` wake, `1`–`3` N1–N3,
//!   `4` N3 (R&K stage 4), `5` REM; any other code (`6` movement time, `9` unscored) leaves
//!   its epoch without a stage.
//! * `<ScoredEvents><ScoredEvent>`: a `<Name>`, `<Start>` and `<Duration>` in seconds, and
//!   an optional `<Input>` (the channel; it gives a limb movement's side when the name does
//!   not). Names are read by [`super::vocab`]: `Hypopnea`, `Obstructive Apnea`, `Central
//!   Apnea`, `Mixed Apnea`, `RERA`; `Arousal ()`, `Arousal (ASDA)`…; `Limb Movement
//!   (Left)`, `PLM (Right)`. Others (`SpO2 desaturation`, `SpO2 artifact`, technician
//!   notes) are ignored whatever their content, and counted.
//!
//! Errors name the file and the line: malformed or cut-short XML, a stage code that is not
//! a number, and a `Start` or `Duration` of a used event that is not a non-negative number.

use super::events::{Events, When};
use super::vocab::{Kind, classify};
use super::xml::{records, seconds};
use crate::error::{Error, Location, Result, shorten};
use crate::io::context::Stage;

/// The format's name.
pub(crate) const FORMAT: &str = "Compumedics Profusion XML";

/// The root element.
pub(crate) const ROOT: &str = "CMPStudyConfig";

/// The events of a Profusion XML file (module docs).
pub(crate) fn read(data: &[u8], loc: &Location) -> Result<Events> {
    let mut ev = Events::new(FORMAT, loc);
    let specs: &[(&str, &[&str])] = &[
        ("ScoredEvent", &["Name", "Start", "Duration", "Input"]),
        ("SleepStage", &[]),
        ("EpochLength", &[]),
    ];
    let recs = records(data, loc, specs)?;
    let epoch_s = match recs.iter().find(|r| r.spec == 2) {
        Some(r) => seconds(&r.text, "EpochLength", "EpochLength", &loc.at_line(r.line))
            .ok()
            .filter(|v| *v > 0.0)
            .ok_or_else(|| {
                Error::parse(
                    loc.at_line(r.line),
                    format!(
                        "<EpochLength> `{}` is not a positive number of seconds",
                        shorten(r.text.trim())
                    ),
                )
            })?,
        None => 30.0,
    };
    ev.epoch_s = Some(epoch_s);
    let mut epoch = 0usize;
    for r in recs {
        let at = loc.at_line(r.line);
        match r.spec {
            0 => {
                let [name, start, duration, input] =
                    <[String; 4]>::try_from(r.fields).unwrap_or_default();
                let input = input.trim();
                let Some(kind) = classify(&name, (!input.is_empty()).then_some(input), false)
                else {
                    ev.ignore(&name);
                    continue;
                };
                let start_s = seconds(&start, "Start", &name, &at)?;
                let duration_s = seconds(&duration, "Duration", &name, &at)?;
                ev.push(kind, &name, When::Elapsed(start_s), duration_s, at);
            }
            1 => {
                let code = r.text.trim();
                let digit: u32 = code.parse().map_err(|_| {
                    Error::parse(
                        at.clone(),
                        format!("<SleepStage> `{}` is not a stage code (0–5)", shorten(code)),
                    )
                })?;
                let stage = match digit {
                    0 => Some(Stage::W),
                    1 => Some(Stage::N1),
                    2 => Some(Stage::N2),
                    3 | 4 => Some(Stage::N3),
                    5 => Some(Stage::R),
                    _ => None,
                };
                let start = epoch as f64 * epoch_s;
                ev.push(Kind::Stage(stage), code, When::Elapsed(start), epoch_s, at);
                epoch += 1;
            }
            _ => {}
        }
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use crate::events::Side;
    use crate::io::Stage;
    use crate::io::annotations::{AnnotationFile, AnnotationOptions};

    const XML: &str = "<?xml version=\"1.0\"?>\r\n<CMPStudyConfig>\r\n<EpochLength>30</EpochLength>\r\n<ScoredEvents>\r\n<ScoredEvent><Name>Technician Notes</Name><Start></Start><Duration>0</Duration></ScoredEvent>\r\n<ScoredEvent><Name>SpO2 desaturation</Name><Start>3</Start><Duration>Invalid Duration</Duration></ScoredEvent>\r\n<ScoredEvent><Name>Hypopnea</Name><Start>31.5</Start><Duration>12</Duration><Input>Nasal</Input></ScoredEvent>\r\n<ScoredEvent><Name>Arousal ()</Name><Start>40</Start><Duration>4</Duration></ScoredEvent>\r\n<ScoredEvent><Name>Limb Movement (Left)</Name><Start>50</Start><Duration>1.5</Duration></ScoredEvent>\r\n<ScoredEvent><Name>PLM (Left)</Name><Start>50</Start><Duration>1.5</Duration></ScoredEvent>\r\n<ScoredEvent><Name>Limb Movement</Name><Start>60</Start><Duration>1</Duration><Input>RAT</Input></ScoredEvent>\r\n</ScoredEvents>\r\n<SleepStages>\r\n<SleepStage>0</SleepStage>\r\n<SleepStage>4</SleepStage>\r\n<SleepStage>9</SleepStage>\r\n<SleepStage>5</SleepStage>\r\n</SleepStages>\r\n</CMPStudyConfig>\r\n";

    fn read(text: &str) -> crate::error::Result<AnnotationFile> {
        AnnotationFile::read_from(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            Some(std::path::Path::new("p.xml")),
        )
    }

    #[test]
    fn stages_events_and_movements() {
        let f = read(XML).unwrap();
        let o = AnnotationOptions::new(30.0);
        let c = f.context(&o).unwrap();
        let h = c.value.hypnogram.unwrap();
        assert_eq!(
            h.epochs(),
            vec![(0.0, Stage::W), (30.0, Stage::N3), (90.0, Stage::R)]
        );
        assert_eq!(h.unstaged_epochs(), 1);
        assert_eq!(c.value.respiratory.len(), 1);
        assert_eq!(c.value.arousals.len(), 1);
        // The empty Start and the invalid duration are on events scoring does not use.
        assert!(c.notes[0].ends_with("2 events of types scoring does not use ignored: SpO2 desaturation ×1, Technician Notes ×1"), "{:?}", c.notes);
        let m = f.leg_movements(&o).unwrap().value;
        assert_eq!(m.len(), 2, "the PLM marking repeats the left LM");
        assert_eq!(
            (m[1].side, m[1].onset_s),
            (Side::Right, 60.0),
            "side from the Input channel"
        );
        // Epochs of another length than the rules' are refused.
        let e = f
            .hypnogram(&AnnotationOptions::new(20.0))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("its epochs are 30 s long, the rules' epoch_s is 20 s"),
            "{e}"
        );
    }

    #[test]
    fn bad_used_events_and_cut_files_are_errors() {
        let e = read(&XML.replace("<Start>31.5</Start>", "<Start></Start>"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "p.xml, line 7: scored event `Hypopnea`: Start `` is not a non-negative number of seconds"
        );
        let e = read(&XML.replace("<SleepStage>9</SleepStage>", "<SleepStage>N2</SleepStage>"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.xml, line 16: <SleepStage> `N2`"), "{e}");
        let e = read(&XML[..XML.find("</SleepStages>").unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ends before </CMPStudyConfig>"), "{e}");
        let e = read("<?xml version=\"1.0\"?><Other><a/></Other>")
            .unwrap_err()
            .to_string();
        assert!(e.contains("XML with root <Other>"), "{e}");
    }
}
