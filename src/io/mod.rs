//! Reading nights and their context.
//!
//! A night is read with a [`Reader`] into a [`Night`]: a [`Recording`] of leg EMG (µV) or
//! an [`AccelRecording`] of leg accelerometers (g), on a uniform time grid. The format is
//! recognised by content, whatever the file's name, and gzip is undone first:
//!
//! * **CSV** (`io/csv`): a header row, a time column (or a rate given), leg or axis
//!   columns found by name (`io/names.rs`), in the unit their names state (`left_mV`) or
//!   the default; stamps to a grid by `io/grid`, a gap of more than 5 minutes stored as
//!   one sample (`io/grid/skips.rs`).
//! * **EDF / EDF+ / BDF / BDF+** (`io/edf`): leg signals found by label, scaled by each
//!   signal's ranges and physical dimension; EDF+D records placed at their onsets.
//!
//! Ankle accelerometer **device files** — Axivity `.cwa`, ActiGraph `.gt3x`, GENEActiv
//! `.bin`, ActiLife CSV — are read with [`DeviceFile`] (`io/device`, one file per
//! format), each on its own clock; [`ankle_night`] puts one or two of them on one grid for
//! a window of clock time (the pipeline's `AnkleNights` finds the nights and windows).
//!
//! The scoring context — a [`Hypnogram`], [`RespiratoryEvent`]s and arousals, together a
//! [`Context`] — and lists of scored leg movements are read from whichever file holds them,
//! recognised by content (`io/annotations/`, one file per format): an [`AnnotationFile`]
//! takes each part on demand, with the notes a report needs; [`read_hypnogram`],
//! [`read_respiratory`], [`read_arousals`], [`read_leg_movements`] and
//! [`read_annotations`] (and their `_from` forms for streams) are one-call shortcuts.
//!
//! | format | recognised by | times |
//! |---|---|---|
//! | CSV: `epoch_start_s,stage`, `onset_s,offset_s[,kind]`, `onset_s,offset_s,side` | anything else | s |
//! | NSRR XML (`*-nsrr.xml`; `EventType`, or `EventConcept` alone in `Name\|Label` or `SDO:`/`SRO:` terms) | root `PSGAnnotation` | s |
//! | Compumedics Profusion XML (`*-profusion.xml`) | root `CMPStudyConfig` | s |
//! | EDF+ / BDF+ annotations (Sleep-EDF, the night's own EDF+, PLMScoRe/Polyman `Limb movement@@LAT`) | the EDF header | s |
//! | Embla XML event export | root `EventExport` | clock |
//! | RemLogic event export (text; MATPLM and PLMScoRe read it) | `RemLogic Event Export`, or a `Time`/`Event`/`Duration[s]` tab table | clock |
//! | CAP Sleep Database scorer file (`.txt`) | that table with a `Sleep Stage` column, untitled | clock |
//! | SOMNOmedics DOMINO text export (profile or events) | `Signal ID:`, `Start Time:` + `Rate:` | clock |
//! | event list `Start⇥Type⇥Duration` (also MNE's `onset,duration,description`) | its first row | clock or s |
//!
//! Stage labels in CSV: `W`/`Wake`/`0`, `N1`/`S1`/`1`, `N2`/`S2`/`2`, `N3`/`S3`/`S4`/`3`/`4`,
//! `R`/`REM`/`5`, any of them after `Sleep stage `; unscored, movement-time and artifact
//! epochs — `?`, `U`, `Unscored`, `MT`, `Movement`, `A`, `6`–`9`, `-1` — have no stage and
//! are counted. In the exports, names are read by their words (`SLEEP-S2`, `APNEA-CENTRAL`,
//! `Arousal ()`, `right-LM`, `Limb Movement (Left)`, `SDO:HypopneaFinding`): apneas,
//! hypopneas and RERAs are respiratory events (not desaturations), anything named an
//! arousal is one, limb and leg movements with a side in the name or the channel are scored
//! LMs (each movement once). Events of other types are ignored whatever their content and
//! counted in a note; a malformed event of a used type is an error naming its line; an
//! export holding none of what is asked for is an error listing the names it has.
//!
//! Clock times are placed from [`AnnotationOptions::start`] (a [`ClockStart`]: the EDF
//! start, a `--start-time`, the night's date-time stamps), else from the start the file
//! states (DOMINO), else from its first stage epoch; times of day roll over midnight, and
//! events before t = 0 or after [`AnnotationOptions::end_s`] are dropped and counted.

//! Every fault of a file is a [`crate::Error`] naming the file and the place
//! (line and column, or byte) and the field.
//!
//! ```no_run
//! use plm_detect::io::{Night, Reader, Unit};
//!
//! let night = Reader::new().unit(Unit::Millivolt).read_path("night.edf")?;
//! match night {
//!     Night::Emg(recording) => println!("{} legs of EMG", recording.channels().len()),
//!     Night::Accel(recording) => println!("{} accelerometers", recording.legs().len()),
//! }
//! # Ok::<(), plm_detect::Error>(())
//! ```

mod accel_recording;
pub(crate) mod annotations;
pub(crate) mod context;
mod csv;
pub(crate) mod device;
mod edf;
pub(crate) mod frame;
pub(crate) mod grid;
mod gzip;
mod names;
mod recording;
mod unit;

use std::io::Read;
use std::path::Path;

pub use accel_recording::{AccelLeg, AccelRecording};
pub use annotations::{
    AnnotationFile, AnnotationOptions, ClockStart, Taken, read_annotations, read_arousals,
    read_arousals_from, read_hypnogram, read_hypnogram_from, read_leg_movements,
    read_leg_movements_from, read_respiratory, read_respiratory_from,
};
pub use context::{Context, Hypnogram, RespiratoryEvent, Stage};
pub use device::info::{DeviceInfo, SleepWindow, WindowSource, device_info};
pub use device::night::{Ankle, ankle_night, grid_rate_hz};
pub use device::{DeviceFile, DeviceFormat};
pub use grid::TimeBase;
pub use recording::{Channel, RATE_RANGE_HZ, Recording};
pub use unit::{SignalKind, Unit};

pub(crate) use csv::source::open_path;

use crate::error::{Error, Location, Result};

/// A night of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Night {
    /// Leg EMG.
    Emg(Recording),
    /// Leg accelerometers.
    Accel(AccelRecording),
}

impl Night {
    /// Wall-clock time of the first sample, when the file gave one (ISO 8601).
    #[must_use]
    pub fn start_time(&self) -> Option<&str> {
        match self {
            Night::Emg(r) => r.start_time(),
            Night::Accel(r) => r.start_time(),
        }
    }

    /// How the time grid was built ([`TimeBase::EdfRecords`] for an EDF file).
    #[must_use]
    pub fn time_base(&self) -> TimeBase {
        match self {
            Night::Emg(r) => r.time_base(),
            Night::Accel(r) => r.time_base(),
        }
    }

    /// Duration, s.
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        match self {
            Night::Emg(r) => r.duration_s(),
            Night::Accel(r) => r.duration_s(),
        }
    }
}

/// How to read a night (module docs), for one file or a cohort: a [`Reader`] is set once
/// and reads any number of files.
///
/// Every setting is optional: by default the legs (or axes) are found by name, the kind of
/// night (EMG or accelerometer) from the names, the rate from the time stamps, and the
/// unit is µV for EMG and g for accelerometers (EDF: each signal's physical dimension).
#[derive(Debug, Clone, Default)]
pub struct Reader {
    options: Options,
}

/// What a [`Reader`] was told.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Sample rate, Hz: required without a time column; with one, it overrides the
    /// estimate. Refused for EDF files, which state their rates.
    pub sample_rate_hz: Option<f64>,
    /// Header of the left-leg column, or label of the EDF signal (instead of the aliases).
    pub left: Option<String>,
    /// Header of the right-leg column, or label of the EDF signal.
    pub right: Option<String>,
    /// Unit of the signal columns; `None` = µV for EMG, g for accelerometers (EDF: each
    /// signal's physical dimension).
    pub unit: Option<Unit>,
    /// The x, y, z axis columns of the left-leg accelerometer (instead of the aliases).
    pub left_axes: Option<[String; 3]>,
    /// The x, y, z axis columns of the right-leg accelerometer.
    pub right_axes: Option<[String; 3]>,
    /// The kind of night, instead of telling it from the names.
    pub signal: Option<SignalKind>,
}

impl Reader {
    /// A reader with every setting at its default.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The sample rate, Hz, in [`RATE_RANGE_HZ`]: needed for a CSV file without a time
    /// column; with one, it must agree with the stamps (within 1 %, or place every stamp
    /// on its grid), and is then used for the grid. Refused for EDF files, which state
    /// their rates.
    #[must_use]
    pub fn sample_rate_hz(mut self, hz: f64) -> Self {
        self.options.sample_rate_hz = Some(hz);
        self
    }

    /// The left leg's EMG column (CSV header) or signal (EDF label), instead of the one
    /// found by name; with only [`Reader::right`] or only this one, one leg is read.
    #[must_use]
    pub fn left(mut self, name: impl Into<String>) -> Self {
        self.options.left = Some(name.into());
        self
    }

    /// The right leg's EMG column or signal (as [`Reader::left`]).
    #[must_use]
    pub fn right(mut self, name: impl Into<String>) -> Self {
        self.options.right = Some(name.into());
        self
    }

    /// The left leg's accelerometer axes (x, y, z columns or signals), instead of those
    /// found by name.
    #[must_use]
    pub fn left_axes(mut self, names: [String; 3]) -> Self {
        self.options.left_axes = Some(names);
        self
    }

    /// The right leg's accelerometer axes (as [`Reader::left_axes`]).
    #[must_use]
    pub fn right_axes(mut self, names: [String; 3]) -> Self {
        self.options.right_axes = Some(names);
        self
    }

    /// The unit of the signal columns (EDF: instead of each signal's physical dimension).
    #[must_use]
    pub fn unit(mut self, unit: Unit) -> Self {
        self.options.unit = Some(unit);
        self
    }

    /// The kind of night, instead of telling it from the names.
    #[must_use]
    pub fn signal(mut self, kind: SignalKind) -> Self {
        self.options.signal = Some(kind);
        self
    }

    /// Reads the night in the file at `path` (plain or gzip).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Config`] for a setting out of
    /// its range; [`Error::Parse`]/[`Error::Input`] naming the file, the place and the
    /// field for every fault of the file.
    pub fn read_path(&self, path: impl AsRef<Path>) -> Result<Night> {
        self.check()?;
        read_path(path.as_ref(), &self.options)
    }

    /// Reads the night of the bytes `input` gives (plain or gzip); `name` names it in
    /// messages.
    ///
    /// # Errors
    /// As [`Reader::read_path`].
    pub fn read_from(
        &self,
        input: impl Read + Send + 'static,
        name: Option<&Path>,
    ) -> Result<Night> {
        self.check()?;
        read_stream(Box::new(input), name, &self.options)
    }

    /// The settings checked against their ranges.
    fn check(&self) -> Result<()> {
        if let Some(fs) = self.options.sample_rate_hz {
            recording::check_rate(fs).map_err(|m| Error::config("sample_rate_hz", m))?;
        }
        Ok(())
    }
}

/// Bytes of a night's head looked at to tell a scoring export from a night.
const HEAD: u64 = 1 << 14;

/// The error for a night file that is a scoring export (`head`: its first bytes), if it is
/// one.
fn not_a_night(head: &[u8], name: Option<&Path>) -> Result<()> {
    if let Some(format) = device::device_named(head) {
        return Err(Error::input(
            Location::file(name),
            format!(
                "{format}: this file holds one ankle's accelerometer: give it with --left-ankle or --right-ankle (plm detect --left-ankle FILE), or read it with DeviceFile"
            ),
        ));
    }
    match annotations::export_named(head) {
        Some(format) => Err(Error::input(
            Location::file(name),
            format!(
                "{format}: this file holds scoring, not a night's signals: give it with --annotations, --hypnogram, --respiratory or --arousals, or to plm score"
            ),
        )),
        None => Ok(()),
    }
}

/// Reads the night at `path` (EDF by its first bytes after gzip, else CSV).
fn read_path(path: &Path, options: &Options) -> Result<Night> {
    let mut head = Vec::new();
    csv::source::open_path(path)?
        .take(HEAD)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(Some(path), e))?;
    if edf::looks_like_edf(&head[..head.len().min(8)]) {
        edf::read_night(
            csv::source::open_path(path)?,
            &Location::file(Some(path)),
            options,
        )
    } else {
        not_a_night(&head, Some(path))?;
        read_csv(csv::source::open_file(path)?, options)
    }
}

/// Reads the night of a stream (EDF by its first bytes after gzip, else CSV).
fn read_stream(
    input: Box<dyn Read + Send>,
    name: Option<&Path>,
    options: &Options,
) -> Result<Night> {
    let mut input = csv::source::ungzip(input).map_err(|e| Error::io(name, e))?;
    let mut head = Vec::new();
    (&mut input)
        .take(HEAD)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(name, e))?;
    let edf = edf::looks_like_edf(&head[..head.len().min(8)]);
    if !edf {
        not_a_night(&head, name)?;
    }
    let whole: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(input));
    if edf {
        edf::read_night(whole, &Location::file(name), options)
    } else {
        read_csv(csv::source::open_csv(name, whole)?, options)
    }
}

/// Reads an opened CSV night, EMG or accelerometer as its names say.
fn read_csv(src: csv::source::CsvSource, options: &Options) -> Result<Night> {
    let stems: Vec<String> = src.headers.iter().map(|h| unit::split_unit(h).0).collect();
    match names::kind_from_names(&stems, options) {
        SignalKind::Emg => csv::read_emg(src, options).map(Night::Emg),
        SignalKind::Accel => csv::read_accel(src, options).map(Night::Accel),
    }
}
