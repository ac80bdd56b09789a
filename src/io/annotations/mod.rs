//! Reading the scoring context — a hypnogram, respiratory events, arousals — and lists of
//! scored leg movements from a CSV file or the export of the software that scored the
//! night: [`AnnotationFile`] (the formats and rules are in the `io` module docs).
//!
//! One file per format — [`csv`], [`nsrr`], [`profusion`], [`edf_plus`], [`embla`],
//! [`remlogic`], [`cap`], [`domino`], [`event_list`] — each recognised here by content and
//! read into the same [`events`] (names classified by [`vocab`]; clock times placed by
//! [`clock`]; text decoded by [`text`], XML walked by [`xml`]), from which an
//! [`AnnotationFile`] takes the part asked for. Times are seconds from the start of the
//! recording.

pub(crate) mod cap;
pub(crate) mod clock;
pub(crate) mod csv;
pub(crate) mod domino;
pub(crate) mod edf_plus;
pub(crate) mod embla;
pub(crate) mod event_list;
pub(crate) mod events;
pub(crate) mod nsrr;
pub(crate) mod profusion;
mod read;
pub(crate) mod remlogic;
pub(crate) mod text;
pub(crate) mod vocab;
pub(crate) mod xml;

use std::io::Read;
use std::path::{Path, PathBuf};

pub use self::clock::ClockStart;
use self::events::{Events, Placed};
pub use self::read::{
    read_annotations, read_arousals, read_arousals_from, read_hypnogram, read_hypnogram_from,
    read_leg_movements, read_leg_movements_from, read_respiratory, read_respiratory_from,
};
use self::vocab::Kind;
use crate::error::{Error, Location, Result, shorten};
use crate::events::{Interval, LegMovement, ReferenceMovement, Side};
use crate::io::context::{Context, Hypnogram, RespiratoryEvent};
use crate::io::csv::source::open_path;

/// How the context is taken from an [`AnnotationFile`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationOptions {
    /// Hypnogram epoch length, s: the rules' `epoch_s` (30 s).
    pub epoch_s: f64,
    /// The recording's clock at t = 0, for formats with clock times. `None`: the start the
    /// file states (DOMINO), else its own first stage epoch (an error when it has none).
    pub start: Option<ClockStart>,
    /// The recording's length, s: clock-time events from then on are dropped and counted.
    pub end_s: Option<f64>,
    /// CAP A phases (`MCAP-A1`/`A2`/`A3`) count as arousals (off by default: they are EEG
    /// activations, not all of which meet the arousal criteria).
    pub cap_phases_as_arousals: bool,
}

impl AnnotationOptions {
    /// Epochs of `epoch_s`, no start, no end, no CAP phases as arousals.
    #[must_use]
    pub fn new(epoch_s: f64) -> Self {
        Self {
            epoch_s,
            start: None,
            end_s: None,
            cap_phases_as_arousals: false,
        }
    }
}

/// What was taken from a file, and what a report must say about it (events ignored or
/// dropped, movements without a side).
#[derive(Debug, Clone, PartialEq)]
pub struct Taken<T> {
    /// The hypnogram, events or movements.
    pub value: T,
    /// Notes for the report, each naming the file.
    pub notes: Vec<String>,
}

/// A context or leg-movement file, read and recognised (module docs); each part is taken
/// from it on demand.
#[derive(Debug, Clone)]
pub struct AnnotationFile {
    name: Option<PathBuf>,
    content: Content,
}

#[derive(Debug, Clone)]
enum Content {
    /// A CSV file: its meaning depends on what is asked of it.
    Csv(Vec<u8>),
    Events(Events),
}

impl AnnotationFile {
    /// Reads and recognises `path` (module docs).
    ///
    /// # Errors
    /// I/O errors, and [`Error::Parse`] with the file and the position for malformed XML,
    /// EDF+ or event rows of a used type.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::read_from(open_path(path)?, Some(path))
    }

    /// [`AnnotationFile::read`] from any reader (plain, not gzip); `name` is only used in
    /// messages.
    ///
    /// # Errors
    /// As [`AnnotationFile::read`].
    pub fn read_from(input: impl Read + Send + 'static, name: Option<&Path>) -> Result<Self> {
        let content = recognise(name, Box::new(input))?;
        Ok(Self {
            name: name.map(Path::to_path_buf),
            content,
        })
    }

    /// The format recognised (`Compumedics Profusion XML`, `CSV`, …).
    #[must_use]
    pub fn format(&self) -> &'static str {
        match &self.content {
            Content::Csv(_) => "CSV",
            Content::Events(e) => e.format,
        }
    }

    /// Whether the file's times are clock times (placed from [`AnnotationOptions::start`]).
    #[must_use]
    pub fn has_clock_times(&self) -> bool {
        matches!(&self.content, Content::Events(e) if e.has_clock_times())
    }

    /// The recording's start the file states (a DOMINO header's `Start Time`), if any.
    #[must_use]
    pub fn declared_start(&self) -> Option<ClockStart> {
        match &self.content {
            Content::Events(e) => e.declared_start,
            Content::Csv(_) => None,
        }
    }

    /// The clock time of the file's first stage epoch, when its stages have clock times.
    #[must_use]
    pub fn first_stage_time(&self) -> Option<ClockStart> {
        match &self.content {
            Content::Events(e) => e.first_stage_clock(),
            Content::Csv(_) => None,
        }
    }

    fn loc(&self) -> Location {
        Location::file(self.name.as_deref())
    }

    /// The events of `keep` kinds placed on the recording's time axis, with the notes on
    /// ignored and dropped events.
    fn placed(ev: &Events, keep: impl Fn(Kind) -> bool, o: &AnnotationOptions) -> Result<Placed> {
        let mut placed = ev.place(keep, o.start.as_ref(), o.end_s)?;
        if let Some(n) = ev.ignored_note() {
            placed.notes.insert(0, n);
        }
        Ok(placed)
    }

    /// The hypnogram, epochs `o.epoch_s` long.
    ///
    /// # Errors
    /// [`Error::Input`] for a file without scored stages (naming the event names it has),
    /// clock times with no start, or epochs of another length; positioned errors for bad
    /// cells, unknown stage labels (CSV) or overlapping epochs.
    pub fn hypnogram(&self, o: &AnnotationOptions) -> Result<Taken<Hypnogram>> {
        match &self.content {
            Content::Csv(data) => Ok(Taken {
                value: csv::hypnogram(self.name.as_deref(), data.clone(), o.epoch_s)?,
                notes: Vec::new(),
            }),
            Content::Events(ev) => {
                let placed = Self::placed(ev, |k| matches!(k, Kind::Stage(_)), o)?;
                let value = events::hypnogram(ev, &placed, o.epoch_s)?;
                Ok(Taken {
                    value,
                    notes: placed.notes,
                })
            }
        }
    }

    /// The respiratory events (apneas, hypopneas, RERAs; CSV: `onset_s,offset_s[,kind]`).
    ///
    /// # Errors
    /// As [`AnnotationFile::hypnogram`]; a recognised export without any is an error (a
    /// header-only CSV is an empty list).
    pub fn respiratory(&self, o: &AnnotationOptions) -> Result<Taken<Vec<RespiratoryEvent>>> {
        match &self.content {
            Content::Csv(data) => Ok(Taken {
                value: csv_respiratory(self.name.as_deref(), data.clone())?,
                notes: Vec::new(),
            }),
            Content::Events(ev) => {
                let placed = Self::placed(ev, |k| k == Kind::Respiratory, o)?;
                let value = events::respiratory(&placed);
                if value.is_empty() {
                    return Err(
                        ev.none_placed("respiratory events", &placed, |k| k == Kind::Respiratory)
                    );
                }
                Ok(Taken {
                    value,
                    notes: placed.notes,
                })
            }
        }
    }

    /// The arousals (CSV: `onset_s,offset_s`).
    ///
    /// # Errors
    /// As [`AnnotationFile::respiratory`].
    pub fn arousals(&self, o: &AnnotationOptions) -> Result<Taken<Vec<Interval>>> {
        match &self.content {
            Content::Csv(data) => Ok(Taken {
                value: csv_arousals(self.name.as_deref(), data.clone())?,
                notes: Vec::new(),
            }),
            Content::Events(ev) => {
                let cap = o.cap_phases_as_arousals;
                let placed = Self::placed(
                    ev,
                    |k| k == Kind::Arousal || (cap && k == Kind::CapPhase),
                    o,
                )?;
                let value = events::arousals(&placed, cap);
                if value.is_empty() {
                    return Err(ev.none_placed(
                        if ev.scored.iter().any(|e| e.kind == Kind::CapPhase) {
                            "arousals (its CAP A phases count as arousals with --cap-arousals)"
                        } else {
                            "arousals"
                        },
                        &placed,
                        |k| k == Kind::Arousal || (cap && k == Kind::CapPhase),
                    ));
                }
                Ok(Taken {
                    value,
                    notes: placed.notes,
                })
            }
        }
    }

    /// The whole context — stages, respiratory events, arousals — of one export, parsed
    /// once. The stages are required; a part without events is noted, not an error (the
    /// night may have none).
    ///
    /// # Errors
    /// As [`AnnotationFile::hypnogram`], and for a CSV file (which holds one part only).
    pub fn context(&self, o: &AnnotationOptions) -> Result<Taken<Context>> {
        let Content::Events(ev) = &self.content else {
            return Err(Error::input(
                self.loc(),
                "a CSV file holds one part of the context: give it with --hypnogram, --respiratory or --arousals",
            ));
        };
        let cap = o.cap_phases_as_arousals;
        let placed = Self::placed(
            ev,
            |k| {
                matches!(k, Kind::Stage(_) | Kind::Respiratory | Kind::Arousal)
                    || (cap && k == Kind::CapPhase)
            },
            o,
        )?;
        let context = Context {
            hypnogram: Some(events::hypnogram(ev, &placed, o.epoch_s)?),
            respiratory: events::respiratory(&placed),
            arousals: events::arousals(&placed, cap),
        };
        let mut notes = placed.notes;
        let cap_hint = !cap && ev.scored.iter().any(|e| e.kind == Kind::CapPhase);
        for (empty, what) in [
            (context.respiratory.is_empty(), "respiratory events"),
            (
                context.arousals.is_empty(),
                if cap_hint {
                    "arousals (its CAP A phases count as arousals with --cap-arousals)"
                } else {
                    "arousals"
                },
            ),
        ] {
            if empty {
                notes.push(format!("{}: holds no {what}", ev.what()));
            }
        }
        Ok(Taken {
            value: context,
            notes,
        })
    }

    /// The scored leg movements with a side (CSV: `onset_s,offset_s,side`), each once.
    ///
    /// # Errors
    /// As [`AnnotationFile::respiratory`], and for a missing `side` column or an unknown
    /// side (CSV).
    pub fn leg_movements(&self, o: &AnnotationOptions) -> Result<Taken<Vec<LegMovement>>> {
        let t = self.flagged_movements(o)?;
        Ok(Taken {
            value: t.value.into_iter().map(|(m, _)| m).collect(),
            notes: t.notes,
        })
    }

    /// [`AnnotationFile::leg_movements`] as reference movements for
    /// [`compare`](crate::compare()): `certain` is `false` where a CSV list's optional
    /// `certain` column says `0` (the convention of simulated truth files for barely visible
    /// movements), `true` otherwise.
    ///
    /// # Errors
    /// As [`AnnotationFile::leg_movements`], and for a `certain` cell other than 0/1 (or
    /// true/false, yes/no).
    pub fn reference_movements(
        &self,
        o: &AnnotationOptions,
    ) -> Result<Taken<Vec<ReferenceMovement>>> {
        let t = self.flagged_movements(o)?;
        Ok(Taken {
            value: t
                .value
                .into_iter()
                .map(|(lm, certain)| ReferenceMovement { lm, certain })
                .collect(),
            notes: t.notes,
        })
    }

    /// [`AnnotationFile::leg_movements`], each with its `certain` flag.
    fn flagged_movements(&self, o: &AnnotationOptions) -> Result<Taken<Vec<(LegMovement, bool)>>> {
        match &self.content {
            Content::Csv(data) => Ok(Taken {
                value: csv_movements(self.name.as_deref(), data.clone())?,
                notes: Vec::new(),
            }),
            Content::Events(ev) => {
                let placed = Self::placed(ev, |k| matches!(k, Kind::Movement(_)), o)?;
                let (value, sideless) = events::leg_movements(&placed);
                if value.is_empty() {
                    return Err(ev.none_placed(
                        if sideless > 0 {
                            "leg movements with a side (left or right in the name, or a leg channel)"
                        } else {
                            "leg movements"
                        },
                        &placed,
                        |k| matches!(k, Kind::Movement(_)),
                    ));
                }
                let mut notes = placed.notes;
                if sideless > 0 {
                    notes.push(format!(
                        "{}: {sideless} leg movement{} without a side (no left or right in the name or channel) left out",
                        ev.what(),
                        if sideless == 1 { "" } else { "s" }
                    ));
                }
                Ok(Taken {
                    value: value.into_iter().map(|m| (m, true)).collect(),
                    notes,
                })
            }
        }
    }
}

/// The content of `input`: the events of an export it is recognised as, else its bytes
/// (the whole input: context files are small) for the CSV readers.
fn recognise(name: Option<&Path>, mut input: Box<dyn Read + Send>) -> Result<Content> {
    let loc = Location::file(name);
    // An EDF+ file is read as a stream (it may be a whole polysomnogram).
    let mut data = vec![0u8; crate::io::edf::MAGIC.len()];
    let got = crate::io::edf::read_full(&mut input, &mut data).map_err(|e| Error::io(name, e))?;
    data.truncate(got);
    if crate::io::edf::looks_like_edf(&data) {
        let chained = std::io::Cursor::new(data).chain(input);
        return Ok(Content::Events(edf_plus::read(chained, &loc)?));
    }
    input
        .read_to_end(&mut data)
        .map_err(|e| Error::io(name, e))?;
    // UTF-16 and single-byte exports become UTF-8 text (line numbers are kept).
    let text = text::decode(&data);
    let t = text.as_bytes();
    let events = match format_of(&text) {
        Some(Format::Profusion) => profusion::read(t, &loc)?,
        Some(Format::Embla) => embla::read(t, &loc)?,
        Some(Format::Nsrr) => nsrr::read(t, &loc)?,
        Some(Format::OtherXml) => {
            // Parse it all the same: a malformed file gets the parser's message.
            let _ = xml::records(t, &loc, &[])?;
            return Err(Error::input(
                loc,
                format!(
                    "XML with root <{}>: not an annotation format read here (NSRR PSGAnnotation, Compumedics CMPStudyConfig, Embla EventExport)",
                    shorten(&xml::root_name(t).unwrap_or_default())
                ),
            ));
        }
        Some(Format::RemLogic) => remlogic::read(&text, &loc)?,
        Some(Format::Domino) => domino::read(&text, &loc)?,
        Some(Format::Cap) => cap::read(&text, &loc)?,
        Some(Format::EventList) => event_list::read(&text, &loc)?,
        None => {
            return Ok(Content::Csv(if std::str::from_utf8(&data).is_ok() {
                data
            } else {
                text.into_bytes()
            }));
        }
    };
    Ok(Content::Events(events))
}

/// The formats recognised by content (besides EDF+ and CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Nsrr,
    Profusion,
    Embla,
    /// XML of another kind: refused.
    OtherXml,
    RemLogic,
    Domino,
    Cap,
    EventList,
}

/// The export format `text` is (`None`: CSV, or anything else).
fn format_of(text: &str) -> Option<Format> {
    let t = text.as_bytes();
    if xml::looks_like_xml(t) {
        let root = xml::root_name(t).unwrap_or_default();
        return Some(match root.as_str() {
            profusion::ROOT => Format::Profusion,
            embla::ROOT => Format::Embla,
            _ if root == "PSGAnnotation" || memchr::memmem::find(t, b"<ScoredEvent").is_some() => {
                Format::Nsrr
            }
            _ => Format::OtherXml,
        });
    }
    if remlogic::recognise(text) {
        Some(Format::RemLogic)
    } else if domino::recognise(text) {
        Some(Format::Domino)
    } else if cap::recognise(text) {
        Some(Format::Cap)
    } else if remlogic::table_header(text).is_some() {
        Some(Format::RemLogic)
    } else if event_list::recognise(text) {
        Some(Format::EventList)
    } else {
        None
    }
}

/// The name of the scoring export `head` (a file's first bytes) starts like, if any: a
/// night reader refuses such a file with a pointer to the context options rather than
/// failing on its "columns".
pub(crate) fn export_named(head: &[u8]) -> Option<&'static str> {
    Some(match format_of(&text::decode(head))? {
        Format::Nsrr => nsrr::FORMAT,
        Format::Profusion => profusion::FORMAT,
        Format::Embla => embla::FORMAT,
        Format::OtherXml => "XML",
        Format::RemLogic => remlogic::FORMAT,
        Format::Domino => domino::FORMAT,
        Format::Cap => cap::FORMAT,
        Format::EventList => event_list::FORMAT,
    })
}

/// Respiratory events from a CSV list.
fn csv_respiratory(name: Option<&Path>, data: Vec<u8>) -> Result<Vec<RespiratoryEvent>> {
    let mut out = Vec::new();
    csv::read_intervals(
        name,
        data,
        "respiratory event",
        &[&["kind", "type", "event", "label"]],
        |on, off, labels| {
            out.push(RespiratoryEvent {
                onset_s: on,
                offset_s: off,
                kind: labels[0].0.map(str::to_owned),
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// Arousals from a CSV list.
fn csv_arousals(name: Option<&Path>, data: Vec<u8>) -> Result<Vec<Interval>> {
    let mut out = Vec::new();
    csv::read_intervals(name, data, "arousal", &[], |on, off, _| {
        out.push(Interval {
            onset_s: on,
            offset_s: off,
        });
        Ok(())
    })?;
    Ok(out)
}

/// Leg movements, each with its `certain` flag, from a CSV list.
fn csv_movements(name: Option<&Path>, data: Vec<u8>) -> Result<Vec<(LegMovement, bool)>> {
    let mut out = Vec::new();
    csv::read_intervals(
        name,
        data,
        "leg movement",
        &[&["side", "leg", "channel"], &["certain", "sure"]],
        |on, off, labels| {
            let (side_text, at) = &labels[0];
            let side_text = side_text
                .ok_or_else(|| Error::parse(at.clone(), "missing side (expected left or right)"))?;
            let side = Side::parse(side_text).ok_or_else(|| {
                Error::parse(
                    at.clone(),
                    format!("side `{}` is not left or right", shorten(side_text)),
                )
            })?;
            let certain = match labels[1] {
                (None, _) => true,
                (Some(c), ref at) => match c.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "y" => true,
                    "0" | "false" | "no" | "n" => false,
                    _ => {
                        return Err(Error::parse(
                            at.clone(),
                            format!("`{}` is not 0 or 1", shorten(c)),
                        ));
                    }
                },
            };
            out.push((LegMovement::new(on, off, side), certain));
            Ok(())
        },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Stage;

    fn hyp(text: &'static str) -> Result<Hypnogram> {
        read_hypnogram_from(text.as_bytes(), Some(Path::new("h.csv")), 30.0)
    }

    #[test]
    fn reads_stage_labels_and_finds_epochs() {
        let h = hyp("epoch_start_s,stage\n0,W\n30,S1\n60,2\n90,S4\n120,REM\n").unwrap();
        let stages: Vec<Stage> = h.epochs().iter().map(|e| e.1).collect();
        assert_eq!(
            stages,
            vec![Stage::W, Stage::N1, Stage::N2, Stage::N3, Stage::R]
        );
        assert_eq!(h.stage_at(29.999), Some(Stage::W));
        assert_eq!(h.stage_at(30.0), Some(Stage::N1));
        assert_eq!(h.stage_at(150.0), None);
        assert!((h.time_s(1e9, Stage::is_sleep) - 120.0).abs() < 1e-12);
        assert!((h.time_s(100.0, Stage::is_sleep) - 70.0).abs() < 1e-12);
    }

    #[test]
    fn unscored_movement_and_artifact_epochs_have_no_stage() {
        let labels = [
            "W",
            "Movement",
            "MT",
            "?",
            "U",
            "Unscored",
            "Sleep stage 2",
            "7",
            "A",
        ];
        let text = labels.join("\n") + "\n";
        let h = read_hypnogram_from(
            std::io::Cursor::new(format!("stage\n{text}")),
            Some(Path::new("h.csv")),
            30.0,
        )
        .unwrap();
        assert_eq!(h.epochs(), vec![(0.0, Stage::W), (180.0, Stage::N2)]);
        assert_eq!(h.unstaged_epochs(), 7);
        let e = hyp("stage\nMT\n?\n").unwrap_err().to_string();
        assert!(e.contains("no scored epoch"), "{e}");
    }

    #[test]
    fn stage_only_hypnogram_is_consecutive_epochs() {
        let h = hyp("stage\nW\nN2\n").unwrap();
        assert_eq!(h.epochs(), vec![(0.0, Stage::W), (30.0, Stage::N2)]);
    }

    #[test]
    fn unknown_stage_is_an_error_with_position() {
        let e = hyp("epoch_start_s,stage\n0,W\n30,X9\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "h.csv, line 3, column 2 (stage): unknown sleep stage `X9` (expected W, N1, N2, N3, R or 0–5; unscored, movement or artifact epochs as ?, U, MT or A)"
        );
        assert!(
            hyp("epoch_start_s,stage\n")
                .unwrap_err()
                .to_string()
                .contains("no epochs")
        );
        assert!(
            hyp("epoch_start_s,stage\n30,W\n0,W\n")
                .unwrap_err()
                .to_string()
                .contains("line 3")
        );
    }

    #[test]
    fn reads_respiratory_events_and_empty_lists() {
        let r = read_respiratory_from(
            &b"onset_s,offset_s,kind\n1,12.5,hypopnea\n20,30,\n"[..],
            None,
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind.as_deref(), Some("hypopnea"));
        assert_eq!(r[1].kind, None);
        assert!(
            read_respiratory_from(&b"onset_s,offset_s,kind\n"[..], None)
                .unwrap()
                .is_empty()
        );
        let e = read_arousals_from(&b"onset_s,offset_s\n5,4\n"[..], Some(Path::new("a.csv")))
            .unwrap_err();
        assert!(e.to_string().starts_with("a.csv, line 2, column 2"), "{e}");
        let e = read_arousals_from(&b"onset_s,offset_s\n5\n"[..], Some(Path::new("a.csv")))
            .unwrap_err();
        assert!(e.to_string().contains("missing field"), "{e}");
    }

    #[test]
    fn reads_leg_movement_lists() {
        let lms =
            |t: &'static str| read_leg_movements_from(t.as_bytes(), Some(Path::new("lm.csv")));
        let v = lms("onset_s,offset_s,side,certain\n1,2,left,1\n3,4.5,R,0\n").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].side, Side::Right);
        let e = lms("onset_s,offset_s,side\n1,2,left\n3,4,middle\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "lm.csv, line 3, column 3 (side): side `middle` is not left or right"
        );
        assert!(
            lms("onset_s,offset_s\n1,2\n")
                .unwrap_err()
                .to_string()
                .contains("no `side` column")
        );
        assert!(
            lms("onset_s,offset_s,side\n2,1,left\n")
                .unwrap_err()
                .to_string()
                .contains("before it starts")
        );
    }
}
