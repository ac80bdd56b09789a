//! A night's context on the command line: the files given (`--hypnogram`, `--respiratory`,
//! `--arousals`, `--annotations`) or found beside the night, read and recognised before
//! the night, and taken from once the night's clock and length are known.
//!
//! Clock-time exports (Embla, RemLogic, CAP, DOMINO, event lists) are placed from t = 0 =
//! the EDF start when the night is an EDF with one, else `--start-time`, else the night's
//! date-time stamps, else the recording start a context file states (DOMINO's header),
//! else the first stage epoch of the hypnogram; the report's `context` says which.

use std::path::{Path, PathBuf};

use clap::Args;
use plm_detect::io::{AnnotationFile, AnnotationOptions, ClockStart};
use plm_detect::{Context, ContextSource, Error, ReferenceMovement, Report, Rules, TimeBase};

#[derive(Args)]
pub(super) struct ContextArgs {
    /// Hypnogram: CSV `epoch_start_s,stage` (30-s epochs; W/N1/N2/N3/R, S1–S4, 0–5), or
    /// any annotation export (NSRR or Profusion XML, EDF+, RemLogic, CAP, DOMINO, Embla …).
    #[arg(long, value_name = "FILE")]
    pub(super) hypnogram: Option<PathBuf>,
    /// Respiratory events: CSV `onset_s,offset_s[,kind]`, or an annotation export.
    #[arg(long, value_name = "FILE")]
    pub(super) respiratory: Option<PathBuf>,
    /// Arousals: CSV `onset_s,offset_s`, or an annotation export.
    #[arg(long, value_name = "FILE")]
    pub(super) arousals: Option<PathBuf>,
    /// An annotation export (the night's own EDF+ too): stages, respiratory events and
    /// arousals from one file (`--hypnogram`, `--respiratory` and `--arousals` take
    /// precedence).
    #[arg(long, value_name = "FILE")]
    pub(super) annotations: Option<PathBuf>,
    /// The recording's start for context files in clock time (`hh:mm:ss` or an ISO
    /// date-time), when the night does not give it (an EDF header's start comes first).
    #[arg(long, value_name = "TIME")]
    pub(super) start_time: Option<String>,
    /// Count the CAP A phases (MCAP-A1/A2/A3) of CAP Sleep Database files as arousals.
    #[arg(long)]
    pub(super) cap_arousals: bool,
    /// Scoring rules preset [default: wasm2016; for `compare`, the detection report's rules].
    #[arg(long, value_name = "wasm2016|aasm")]
    pub(super) rules: Option<String>,
    /// JSON file overriding fields of the rules preset (see the README's rules table).
    #[arg(long, value_name = "JSON")]
    pub(super) config: Option<PathBuf>,
}

impl ContextArgs {
    /// Whether a context file was given (batch modes find each night's beside it).
    pub(super) fn any_file(&self) -> bool {
        self.hypnogram.is_some()
            || self.respiratory.is_some()
            || self.arousals.is_some()
            || self.annotations.is_some()
    }

    /// `--start-time`, checked.
    fn start(&self) -> Result<Option<ClockStart>, Error> {
        self.start_time
            .as_deref()
            .map(|t| {
                ClockStart::parse(t).ok_or_else(|| Error::Config {
                    field: "start-time",
                    message: format!("`{t}` is not hh:mm:ss or an ISO date-time"),
                })
            })
            .transpose()
    }
}

/// A part of the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Hypnogram,
    Respiratory,
    Arousals,
    /// All three from one export.
    Whole,
}

/// The context files of a night, read and recognised.
pub(super) struct ContextFiles {
    files: Vec<(PathBuf, AnnotationFile)>,
    /// Each part, and the file it comes from.
    parts: Vec<(Part, usize)>,
    start: Option<ClockStart>,
    cap_arousals: bool,
}

/// What the night says about its clock and length.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct NightClock<'a> {
    /// Its start (ISO 8601), and whether it came from an EDF header.
    pub(super) start: Option<(&'a str, bool)>,
    /// Its length, s.
    pub(super) end_s: Option<f64>,
}

impl<'a> NightClock<'a> {
    /// The clock of a night read.
    pub(super) fn of(night: &'a plm_detect::Night) -> Self {
        Self {
            start: night
                .start_time()
                .map(|s| (s, night.time_base() == TimeBase::EdfRecords)),
            end_s: Some(night.duration_s()),
        }
    }

    /// The clock of a night as a report states it.
    pub(super) fn of_report(report: &'a Report) -> Self {
        Self {
            start: report
                .recording
                .start_time
                .as_deref()
                .map(|s| (s, report.recording.time_base == Some(TimeBase::EdfRecords))),
            end_s: Some(report.recording.duration_s),
        }
    }
}

/// A night's context, where it came from, and the notes for its report.
#[derive(Debug, Clone, Default)]
pub(super) struct Found {
    pub(super) context: Context,
    sources: Vec<ContextSource>,
    clock_origin: Option<String>,
    notes: Vec<String>,
}

impl Found {
    /// The notes for the report.
    pub(super) fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Records in `report` where the context came from, and its notes.
    pub(super) fn apply(&self, report: &mut Report) {
        report.context.sources.clone_from(&self.sources);
        report.context.clock_origin.clone_from(&self.clock_origin);
        report.notes.extend(self.notes.iter().cloned());
    }
}

impl ContextFiles {
    /// No context files.
    pub(super) fn none() -> Self {
        Self {
            files: Vec::new(),
            parts: Vec::new(),
            start: None,
            cap_arousals: false,
        }
    }

    /// The files given on the command line, each read once.
    pub(super) fn given(a: &ContextArgs) -> Result<Self, Error> {
        let mut me = Self::none();
        me.start = a.start()?;
        me.cap_arousals = a.cap_arousals;
        let whole = a.annotations.as_deref();
        if let (Some(x), None, None, None) = (whole, &a.hypnogram, &a.respiratory, &a.arousals) {
            me.add(Part::Whole, x)?;
            return Ok(me);
        }
        for (part, p) in [
            (Part::Hypnogram, a.hypnogram.as_deref().or(whole)),
            (Part::Respiratory, a.respiratory.as_deref().or(whole)),
            (Part::Arousals, a.arousals.as_deref().or(whole)),
        ] {
            if let Some(p) = p {
                me.add(part, p)?;
            }
        }
        Ok(me)
    }

    /// The context files of the night `name` in `dir`: `NAME.hyp.csv`, `NAME.resp.csv`
    /// and `NAME.arousals.csv`, those that exist.
    pub(super) fn beside(dir: &Path, name: &str) -> Result<Self, Error> {
        let mut me = Self::none();
        for (part, suffix) in [
            (Part::Hypnogram, ".hyp.csv"),
            (Part::Respiratory, ".resp.csv"),
            (Part::Arousals, ".arousals.csv"),
        ] {
            let p = dir.join(format!("{name}{suffix}"));
            if p.is_file() {
                me.add(part, &p)?;
            }
        }
        Ok(me)
    }

    /// Reads `path` (once, whatever the parts it serves) for `part`.
    fn add(&mut self, part: Part, path: &Path) -> Result<(), Error> {
        let i = if let Some(i) = self.files.iter().position(|(p, _)| p == path) {
            i
        } else {
            self.files
                .push((path.to_path_buf(), AnnotationFile::read(path)?));
            self.files.len() - 1
        };
        self.parts.push((part, i));
        Ok(())
    }

    /// t = 0 for clock-time files, and what gave it (module docs); `extra` is a
    /// leg-movement file scored with this context.
    fn origin(
        &self,
        night: NightClock<'_>,
        extra: &[(&Path, &AnnotationFile)],
    ) -> Option<(ClockStart, String)> {
        let clock = self.files.iter().any(|(_, f)| f.has_clock_times())
            || extra.iter().any(|(_, f)| f.has_clock_times());
        if !clock {
            return None;
        }
        let parsed = night
            .start
            .and_then(|(s, edf)| Some((ClockStart::parse(s)?, edf)));
        if let Some((s, true)) = parsed {
            return Some((s, format!("the EDF start {s}")));
        }
        if let Some(s) = self.start {
            return Some((s, format!("--start-time {s}")));
        }
        if let Some((s, false)) = parsed {
            return Some((s, format!("the night's time stamps ({s})")));
        }
        let declared = self
            .files
            .iter()
            .map(|(p, f)| (p.as_path(), f))
            .chain(extra.iter().copied())
            .find_map(|(p, f)| Some((p, f.declared_start()?)));
        if let Some((p, s)) = declared {
            return Some((s, format!("the recording start in {} ({s})", p.display())));
        }
        let hypnogram = self
            .parts
            .iter()
            .filter(|(p, _)| matches!(p, Part::Hypnogram | Part::Whole))
            .map(|&(_, i)| (self.files[i].0.as_path(), &self.files[i].1));
        hypnogram
            .chain(extra.iter().copied())
            .find_map(|(p, f)| Some((p, f.first_stage_time()?)))
            .map(|(p, s)| (s, format!("the first stage epoch of {} ({s})", p.display())))
    }

    /// The options for taking parts, from `origin`.
    fn options(
        &self,
        rules: &Rules,
        origin: Option<&(ClockStart, String)>,
        end_s: Option<f64>,
    ) -> AnnotationOptions {
        AnnotationOptions {
            start: origin.map(|o| o.0),
            end_s,
            cap_phases_as_arousals: self.cap_arousals,
            ..AnnotationOptions::new(rules.epoch_s)
        }
    }

    /// The context, for a night with `night`'s clock and length.
    pub(super) fn take(&self, rules: &Rules, night: NightClock<'_>) -> Result<Found, Error> {
        Ok(self.take_with(rules, night, &[])?.0)
    }

    /// The context, and the leg movements of each of `lm_files` (`(part, file)`: a list
    /// scored with this context in `plm score`, a reference in `plm compare`), all placed
    /// from one t = 0.
    pub(super) fn take_with(
        &self,
        rules: &Rules,
        night: NightClock<'_>,
        lm_files: &[(&str, &Path)],
    ) -> Result<(Found, Vec<Vec<ReferenceMovement>>), Error> {
        // A file already read as context (`plm score X --annotations X`) is not read again.
        let known = |p: &Path| self.files.iter().find(|(q, _)| q == p).map(|(_, f)| f);
        let read: Vec<AnnotationFile> = lm_files
            .iter()
            .filter(|(_, p)| known(p).is_none())
            .map(|(_, p)| AnnotationFile::read(p))
            .collect::<Result<_, Error>>()?;
        let mut fresh = read.iter();
        let lm_read: Vec<(&str, &Path, &AnnotationFile)> = lm_files
            .iter()
            .filter_map(|&(part, p)| Some((part, p, known(p).or_else(|| fresh.next())?)))
            .collect();
        let extra: Vec<(&Path, &AnnotationFile)> =
            lm_read.iter().map(|(_, p, f)| (*p, *f)).collect();
        let origin = self.origin(night, &extra);
        let o = self.options(rules, origin.as_ref(), night.end_s);
        let mut found = Found {
            clock_origin: origin.as_ref().map(|o| o.1.clone()),
            ..Found::default()
        };
        if self.start.is_some() && origin.is_none() {
            found.notes.push(
                "--start-time not used: no context file has clock times (their times count from the recording's start)"
                    .to_owned(),
            );
        }
        if let (Some(given), Some((used, what))) = (self.start, &origin) {
            // The same time of day (on the same date, when one is given) is no news.
            let same = given.time_of_day_s() == used.time_of_day_s()
                && (!given.is_dated() || given == *used);
            if !same {
                found.notes.push(format!(
                    "--start-time {given} not used: clock times are placed from {what}"
                ));
            }
        }
        for &(part, i) in &self.parts {
            let (path, file) = &self.files[i];
            let mut source = |part: &str, count: usize| {
                found.sources.push(source_of(part, path, file, count));
            };
            match part {
                Part::Whole => {
                    let t = file.context(&o)?;
                    let c = t.value;
                    source(
                        "hypnogram",
                        c.hypnogram.as_ref().map_or(0, |h| h.epochs().len()),
                    );
                    source("respiratory", c.respiratory.len());
                    source("arousals", c.arousals.len());
                    found.context = c;
                    found.notes.extend(t.notes);
                }
                Part::Hypnogram => {
                    let t = file.hypnogram(&o)?;
                    source("hypnogram", t.value.epochs().len());
                    found.context.hypnogram = Some(t.value);
                    found.notes.extend(t.notes);
                }
                Part::Respiratory => {
                    let t = file.respiratory(&o)?;
                    source("respiratory", t.value.len());
                    found.context.respiratory = t.value;
                    found.notes.extend(t.notes);
                }
                Part::Arousals => {
                    let t = file.arousals(&o)?;
                    source("arousals", t.value.len());
                    found.context.arousals = t.value;
                    found.notes.extend(t.notes);
                }
            }
        }
        let mut lists = Vec::new();
        for (part, path, file) in &lm_read {
            let t = file.reference_movements(&o)?;
            found
                .sources
                .push(source_of(part, path, file, t.value.len()));
            found.notes.extend(t.notes);
            lists.push(t.value);
        }
        // A file read for several parts gives its notes once.
        let mut seen = std::collections::HashSet::new();
        found.notes.retain(|n| seen.insert(n.clone()));
        Ok((found, lists))
    }
}

/// The report's record of `part` read from `file`.
fn source_of(part: &str, path: &Path, file: &AnnotationFile, count: usize) -> ContextSource {
    ContextSource {
        part: part.to_owned(),
        file: path.display().to_string(),
        format: file.format().to_owned(),
        count,
    }
}
