//! Reading a night of leg EMG from CSV (or EDF) into a [`Recording`].
//!
//! EDF and EDF+ files are recognised by their first bytes, whatever their name, and read by
//! [`crate::edf`] with the same leg and axis names; everything below is about CSV.
//!
//! Input: a CSV file (plain or gzip) with a header row; `,`, `;` or tab delimited; CRLF
//! and a UTF-8 BOM accepted; extra columns ignored; in a `;`- or tab-delimited file a
//! number may have a decimal comma (`-12,5`, European-locale exports). Output: a
//! [`Recording`] in µV on a uniform grid, `NaN` where a sample is missing.
//!
//! * **Time**: a column named `time_s`, `time`, `t`, `seconds`, `sec`, `timestamp`
//!   (seconds; numbers) or `time_ms` (milliseconds), or ISO-8601 date-times in any of
//!   them (`2024-03-01T22:15:00.125`, optional `Z`/offset, space instead of `T`). Without a
//!   time column, [`ReadOptions::sample_rate_hz`] is required and rows are consecutive
//!   samples.
//! * **Sample rate** from the time column: estimated from *all* time stamps (the summed
//!   sample count over the summed duration of gap-free stretches), never from the first two
//!   rows, since exported times are rounded (SCORING.md §8). Rows are then placed on the
//!   grid by rounding `t · rate`; if stamps are too irregular for that (jitter ≥ 0.45
//!   sample), values are linearly interpolated onto the grid instead. A jump longer than
//!   1.5 median steps is a gap, filled with `NaN` (2.5 median steps when the stamps are
//!   irregular enough to be resampled: there, jitter and a single dropped sample are
//!   interpolated over).
//! * **Legs** by name (case-insensitive, ignoring spaces, `_`, `-`, `.`): see
//!   [`LEFT_ALIASES`]/[`RIGHT_ALIASES`], or given with [`ReadOptions::left`]/`right`. One
//!   leg alone is allowed.
//! * **Coarse stamps**: stamps rounded coarser than the sample period repeat (2-decimal
//!   stamps at 200 Hz); the rows are then taken as consecutive samples when every stamp is
//!   within one rounding step of the uniform grid, and refused with an explanation when not.
//! * **Cells**: empty or `NaN` = gap; text or infinite values are errors naming the file,
//!   line, column and field; so are rows with missing fields and time going backwards.
//!
//! Parsing: unless it has quoted cells, the body is cut into newline-aligned chunks parsed
//! on all cores (`columns` module); values and error positions are those of a row-by-row
//! read. A large plain file is read from disk in blocks by each core; streams, gzip and
//! small files are read into memory first.
//!
//! Memory: a few MiB of text per core for a large plain file (the whole text otherwise,
//! freed before the grid is built), then one `f64` per leg sample; no `String` per cell.
//! Numeric stamps are checked against the grid they are expected on as they are read and
//! not kept when every row is on its own grid point (`GridCheck`); otherwise the body is
//! read again and they take one `f64` per row too.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::accel::{AccelLeg, AccelRecording};
use crate::error::{Error, Location, Result};
use crate::events::Side;
use crate::signal::{Recording, TimeBase};
use crate::{columns, edf, par, table};

/// What a night's signal columns hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    /// Leg EMG, one column per leg.
    Emg,
    /// Leg accelerometers, three axis columns per leg.
    Accel,
}

impl SignalKind {
    /// Parses `emg` or `accel` (`acc`, `accelerometer`).
    #[must_use]
    pub fn parse(s: &str) -> Option<SignalKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "emg" => Some(SignalKind::Emg),
            "accel" | "acc" | "accelerometer" | "acceleration" => Some(SignalKind::Accel),
            _ => None,
        }
    }
}

/// Unit of the signal columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Microvolts (EMG default).
    #[serde(rename = "uV")]
    Microvolt,
    /// Millivolts.
    #[serde(rename = "mV")]
    Millivolt,
    /// Volts.
    #[serde(rename = "V")]
    Volt,
    /// Standard gravity (accelerometer default).
    #[serde(rename = "g")]
    G,
    /// Thousandths of g.
    #[serde(rename = "mg")]
    MilliG,
    /// Metres per second squared (1 g = 9.80665 m/s²).
    #[serde(rename = "m/s2")]
    MetersPerSecondSquared,
}

impl Unit {
    /// Factor to the library's unit for `kind` (µV for EMG, g for accelerometers); `None`
    /// when the unit does not belong to that kind of signal.
    #[must_use]
    pub fn factor(self, kind: SignalKind) -> Option<f64> {
        match (kind, self) {
            (SignalKind::Emg, Unit::Microvolt) | (SignalKind::Accel, Unit::G) => Some(1.0),
            (SignalKind::Emg, Unit::Millivolt) => Some(1e3),
            (SignalKind::Emg, Unit::Volt) => Some(1e6),
            (SignalKind::Accel, Unit::MilliG) => Some(1e-3),
            (SignalKind::Accel, Unit::MetersPerSecondSquared) => Some(1.0 / 9.806_65),
            _ => None,
        }
    }

    /// The default unit of `kind`.
    #[must_use]
    pub fn default_for(kind: SignalKind) -> Unit {
        match kind {
            SignalKind::Emg => Unit::Microvolt,
            SignalKind::Accel => Unit::G,
        }
    }

    /// Parses `uV`/`µV`/`mV`/`V`/`g`/`mg`/`m/s2`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Unit> {
        match s.trim() {
            "uV" | "µV" | "uv" | "UV" | "microvolt" => Some(Unit::Microvolt),
            "mV" | "mv" | "millivolt" => Some(Unit::Millivolt),
            "V" | "v" | "volt" => Some(Unit::Volt),
            "g" | "G" => Some(Unit::G),
            "mg" | "mG" => Some(Unit::MilliG),
            "m/s2" | "m/s^2" | "m/s²" | "mps2" | "ms2" => Some(Unit::MetersPerSecondSquared),
            _ => None,
        }
    }
}

/// Header names (normalised: lower case, no spaces/`_`/`-`/`.`) recognised as the time.
pub const TIME_ALIASES: &[&str] = &[
    "times",
    "time",
    "t",
    "seconds",
    "sec",
    "secs",
    "timestamp",
    "timesec",
    "elapsed",
];
/// Recognised as time in milliseconds.
pub const TIME_MS_ALIASES: &[&str] = &["timems", "ms", "milliseconds"];
/// Recognised as the left leg.
pub const LEFT_ALIASES: &[&str] = &[
    "left",
    "leftuv",
    "l",
    "lat",
    "latuv",
    "legl",
    "lleg",
    "leftleg",
    "legleft",
    "tibl",
    "tibleft",
    "tibsx",
    "tibsin",
    "lefttib",
    "ltib",
    "emgl",
    "lemg",
    "leftemg",
    "tibialisl",
    "lta",
    "lefttibialis",
    "legsx",
    "plml",
    "lm1",
];
/// Recognised as the right leg.
pub const RIGHT_ALIASES: &[&str] = &[
    "right",
    "rightuv",
    "r",
    "rat",
    "ratuv",
    "legr",
    "rleg",
    "rightleg",
    "legright",
    "tibr",
    "tibright",
    "tibdx",
    "tibdex",
    "righttib",
    "rtib",
    "emgr",
    "remg",
    "rightemg",
    "tibialisr",
    "rta",
    "righttibialis",
    "legdx",
    "plmr",
    "lm2",
];

/// Options for [`read_night`] (builder style).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sample rate, Hz: required without a time column; with one, it overrides the estimate.
    /// Refused for EDF files, which state their rates.
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
    /// Force the signal kind instead of detecting it from the columns ([`read_any`]).
    pub signal: Option<SignalKind>,
}

impl ReadOptions {
    /// Default options: µV, columns by alias, rate from the time column.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the sample rate, Hz.
    #[must_use]
    pub fn sample_rate_hz(mut self, hz: f64) -> Self {
        self.sample_rate_hz = Some(hz);
        self
    }
    /// Names the left-leg column.
    #[must_use]
    pub fn left(mut self, name: impl Into<String>) -> Self {
        self.left = Some(name.into());
        self
    }
    /// Names the right-leg column.
    #[must_use]
    pub fn right(mut self, name: impl Into<String>) -> Self {
        self.right = Some(name.into());
        self
    }
    /// Sets the unit of the leg columns.
    #[must_use]
    pub fn unit(mut self, unit: Unit) -> Self {
        self.unit = Some(unit);
        self
    }
}

/// Reads a night of leg EMG from a CSV or EDF/EDF+ file (see the module docs and
/// [`crate::edf`]).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Parse`]/[`Error::Input`] naming
/// file, line, column and field for every malformed input listed in the module docs.
pub fn read_night(path: &Path, options: &ReadOptions) -> Result<Recording> {
    read_opened_emg(open_path(path)?, options)
}

/// [`read_night`] from any reader; `path` is only used in messages.
///
/// # Errors
/// As [`read_night`].
pub fn read_night_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
    options: &ReadOptions,
) -> Result<Recording> {
    read_opened_emg(open_stream(path, input)?, options)
}

/// The EMG front end on an opened CSV.
fn read_emg(mut src: table::CsvSource, options: &ReadOptions) -> Result<Recording> {
    let loc = src.loc.clone();
    if let Some(fs) = options.sample_rate_hz {
        if !(fs.is_finite() && fs > 0.0) {
            return Err(Error::config(
                "sample_rate_hz",
                format!("must be positive, got {fs}"),
            ));
        }
    }
    let by_name = |name: &str| table::column_named(&src, name);
    let left = match &options.left {
        Some(n) => Some(by_name(n)?),
        None if options.right.is_some() => None,
        None => table::find_column(&src.headers, LEFT_ALIASES),
    };
    let right = match &options.right {
        Some(n) => Some(by_name(n)?),
        None if options.left.is_some() => None,
        None => table::find_column(&src.headers, RIGHT_ALIASES),
    };
    if left.is_none() && right.is_none() {
        return Err(Error::input(
            loc.at_line(1),
            format!(
                "no leg column found in the header ({}); name them e.g. `left_uv,right_uv` or use --left/--right",
                table::shorten(&src.headers.join(", "))
            ),
        ));
    }
    if left.is_some() && left == right {
        return Err(Error::input(
            loc.at_line(1),
            "the same column was given for both legs",
        ));
    }
    let legs: Vec<(usize, Side)> = [(left, Side::Left), (right, Side::Right)]
        .into_iter()
        .filter_map(|(c, s)| c.map(|c| (c, s)))
        .collect();
    let cols: Vec<(usize, String)> = legs
        .iter()
        .map(|&(c, _)| (c, src.headers[c].clone()))
        .collect();
    let unit = options.unit.unwrap_or(Unit::default_for(SignalKind::Emg));
    let scale = unit
        .factor(SignalKind::Emg)
        .ok_or_else(|| Error::config("unit", format!("{unit:?} is not an EMG unit (uV, mV, V)")))?;
    let Grid {
        fs,
        time_base,
        values,
        start_time,
    } = read_columns(&mut src, options, &cols, scale)?;
    Recording::from_file(
        fs,
        legs.iter()
            .zip(values)
            .zip(cols)
            .map(|((&(_, side), samples), (_, name))| (side, name, samples)),
        start_time,
        time_base,
        &loc,
        // Cells are refused when infinite, and only resampling does arithmetic on them
        // (an interpolation between two huge values can overflow).
        time_base != TimeBase::Resampled,
    )
}

/// A night of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Night {
    /// Leg EMG.
    Emg(Recording),
    /// Leg accelerometers.
    Accel(AccelRecording),
}

/// Reads a night of EMG or accelerometry, detecting which from the columns (module docs)
/// unless [`ReadOptions::signal`] says.
///
/// # Errors
/// As [`read_night`] and [`read_accel`].
pub fn read_any(path: &Path, options: &ReadOptions) -> Result<Night> {
    read_opened(open_path(path)?, options)
}

/// [`read_any`] from any reader; `path` is only used in messages.
///
/// # Errors
/// As [`read_any`].
pub fn read_any_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
    options: &ReadOptions,
) -> Result<Night> {
    read_opened(open_stream(path, input)?, options)
}

/// [`read_any`] on an opened CSV.
fn any_from_source(src: table::CsvSource, options: &ReadOptions) -> Result<Night> {
    match kind_from_names(&src.headers, options) {
        SignalKind::Emg => read_emg(src, options).map(Night::Emg),
        SignalKind::Accel => read_accel_src(src, options).map(Night::Accel),
    }
}

/// The kind of night whose columns (or EDF signals) are named `names`: as
/// [`ReadOptions::signal`] says; else accelerometer when axes are named or found and no
/// leg EMG is; else EMG.
pub(crate) fn kind_from_names(names: &[String], options: &ReadOptions) -> SignalKind {
    options.signal.unwrap_or_else(|| {
        if options.left_axes.is_some() || options.right_axes.is_some() {
            SignalKind::Accel
        } else if options.left.is_some() || options.right.is_some() {
            SignalKind::Emg
        } else {
            let emg = table::find_column(names, LEFT_ALIASES).is_some()
                || table::find_column(names, RIGHT_ALIASES).is_some();
            let (l, r, g) = find_axes(names);
            if !emg && (l.is_some() || r.is_some() || g.is_some()) {
                SignalKind::Accel
            } else {
                SignalKind::Emg
            }
        }
    })
}

/// An opened input: EDF (a stream positioned at its start) or CSV.
enum Opened {
    Edf(Box<dyn Read + Send>, Location),
    Csv(table::CsvSource),
}

/// Opens `path` as EDF (by its first bytes, after gzip) or CSV.
fn open_path(path: &Path) -> Result<Opened> {
    let mut head = [0u8; 8];
    let n = table::open_path(path)?
        .read(&mut head)
        .map_err(|e| Error::io(Some(path), e))?;
    if edf::looks_like_edf(&head[..n]) {
        Ok(Opened::Edf(
            table::open_path(path)?,
            Location::file(Some(path)),
        ))
    } else {
        table::open_file(path).map(Opened::Csv)
    }
}

/// Opens a stream as EDF (by its first bytes) or CSV.
fn open_stream(path: Option<&Path>, mut input: Box<dyn Read + Send>) -> Result<Opened> {
    let mut head = Vec::with_capacity(8);
    (&mut input)
        .take(8)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let whole: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head.clone()).chain(input));
    if edf::looks_like_edf(&head) {
        Ok(Opened::Edf(whole, Location::file(path)))
    } else {
        table::open_csv(path, whole).map(Opened::Csv)
    }
}

/// Reads an opened input, EMG or accelerometer as its names say.
fn read_opened(opened: Opened, options: &ReadOptions) -> Result<Night> {
    match opened {
        Opened::Edf(input, loc) => edf::read(input, &loc, options),
        Opened::Csv(src) => any_from_source(src, options),
    }
}

/// Reads an opened input as EMG.
fn read_opened_emg(opened: Opened, options: &ReadOptions) -> Result<Recording> {
    match opened {
        Opened::Edf(input, loc) => edf::read_emg_night(input, &loc, options),
        Opened::Csv(src) => read_emg(src, options),
    }
}

/// Reads an opened input as accelerometry.
fn read_opened_accel(opened: Opened, options: &ReadOptions) -> Result<AccelRecording> {
    match opened {
        Opened::Edf(input, loc) => edf::read_accel_night(input, &loc, options),
        Opened::Csv(src) => read_accel_src(src, options),
    }
}

/// Reads an accelerometer night: per leg, three axis columns found by name (`left_x`,
/// `LeftAnkle_X`, `l_ax`, `lacc_x`, … and the right-leg counterparts; for one unlabelled
/// sensor `acc_x`, `ax`, `x` …, taken as the left leg) or given with
/// [`ReadOptions::left_axes`]/`right_axes`. Units g by default (`mg`, `m/s2`). Time, gaps,
/// rate estimation and irregular stamps are handled as for EMG (module docs).
///
/// # Errors
/// As [`read_night`], and when no complete x/y/z triplet is found.
pub fn read_accel(path: &Path, options: &ReadOptions) -> Result<AccelRecording> {
    read_opened_accel(open_path(path)?, options)
}

/// [`read_accel`] from any reader; `path` is only used in messages.
///
/// # Errors
/// As [`read_accel`].
pub fn read_accel_from(
    path: Option<&Path>,
    input: Box<dyn Read + Send>,
    options: &ReadOptions,
) -> Result<AccelRecording> {
    read_opened_accel(open_stream(path, input)?, options)
}

/// Sided prefixes of accelerometer axis columns (normalised).
const LEFT_PREFIXES: &[&str] = &[
    "left",
    "l",
    "lt",
    "leftankle",
    "lankle",
    "ankleleft",
    "leftleg",
    "lleg",
    "legleft",
    "leftfoot",
    "lfoot",
    "leftshin",
    "lshin",
];
const RIGHT_PREFIXES: &[&str] = &[
    "right",
    "r",
    "rt",
    "rightankle",
    "rankle",
    "ankleright",
    "rightleg",
    "rleg",
    "legright",
    "rightfoot",
    "rfoot",
    "rightshin",
    "rshin",
];
/// Prefixes of a single unlabelled sensor.
const GENERIC_PREFIXES: &[&str] = &["", "ankle", "leg", "foot", "shin", "sensor", "imu"];

/// Splits a normalised header into (prefix, axis): `leftx` → (`left`, 0), `lax` → (`l`, 0),
/// `leftaccy` → (`left`, 1), `accz` → (empty, 2).
fn split_axis(h: &str) -> Option<(&str, usize)> {
    let axis = match h.as_bytes().last()? {
        b'x' => 0,
        b'y' => 1,
        b'z' => 2,
        _ => return None,
    };
    let mut prefix = &h[..h.len() - 1];
    for suffix in ["accelerometer", "acceleration", "accel", "acc", "a"] {
        if let Some(p) = prefix.strip_suffix(suffix) {
            prefix = p;
            break;
        }
    }
    for lead in ["accelerometer", "acceleration", "accel", "acc"] {
        if let Some(p) = prefix.strip_prefix(lead) {
            prefix = p;
            break;
        }
    }
    Some((prefix, axis))
}

/// The x, y, z column indices of one accelerometer, if its three columns were found.
pub(crate) type Triplet = Option<[usize; 3]>;

/// The x, y, z column indices of the left, right and unlabelled accelerometers.
fn find_axes(headers: &[String]) -> (Triplet, Triplet, Triplet) {
    let mut found = [[None::<usize>; 3]; 3]; // left, right, generic
    for (i, h) in headers.iter().enumerate() {
        let norm = table::normalise(h);
        let Some((prefix, axis)) = split_axis(&norm) else {
            continue;
        };
        let which = if LEFT_PREFIXES.contains(&prefix) {
            0
        } else if RIGHT_PREFIXES.contains(&prefix) {
            1
        } else if GENERIC_PREFIXES.contains(&prefix) {
            2
        } else {
            continue;
        };
        found[which][axis].get_or_insert(i);
    }
    let complete = |t: [Option<usize>; 3]| match t {
        [Some(x), Some(y), Some(z)] => Some([x, y, z]),
        _ => None,
    };
    (complete(found[0]), complete(found[1]), complete(found[2]))
}

/// The left and right x, y, z axes among `names` (CSV headers or EDF labels): those
/// given in `options` (found with `by_name`), else found by name; a single unlabelled
/// sensor is the left leg.
pub(crate) fn choose_axes(
    names: &[String],
    options: &ReadOptions,
    by_name: impl Fn(&str) -> Result<usize>,
) -> Result<(Triplet, Triplet)> {
    let by_names = |axes: &[String; 3]| -> Result<[usize; 3]> {
        let mut out = [0; 3];
        for (o, name) in out.iter_mut().zip(axes) {
            *o = by_name(name)?;
        }
        Ok(out)
    };
    let (found_l, found_r, generic) = find_axes(names);
    let explicit = options.left_axes.is_some() || options.right_axes.is_some();
    let left = match &options.left_axes {
        Some(n) => Some(by_names(n)?),
        None if explicit => None,
        None => found_l.or(if found_r.is_none() { generic } else { None }),
    };
    let right = match &options.right_axes {
        Some(n) => Some(by_names(n)?),
        None if explicit => None,
        None => found_r,
    };
    Ok((left, right))
}

/// The accelerometer front end on an opened CSV.
fn read_accel_src(mut src: table::CsvSource, options: &ReadOptions) -> Result<AccelRecording> {
    let loc = src.loc.clone();
    let (left, right) = choose_axes(&src.headers, options, |name| {
        table::column_named(&src, name)
    })?;
    if left.is_none() && right.is_none() {
        return Err(Error::input(
            loc.at_line(1),
            format!(
                "no accelerometer axes found in the header ({}); name them e.g. `left_x,left_y,left_z` or use --left-axes/--right-axes",
                table::shorten(&src.headers.join(", "))
            ),
        ));
    }
    let legs: Vec<([usize; 3], Side)> = [(left, Side::Left), (right, Side::Right)]
        .into_iter()
        .filter_map(|(c, s)| c.map(|c| (c, s)))
        .collect();
    let cols: Vec<(usize, String)> = legs
        .iter()
        .flat_map(|(c, _)| c.iter().map(|&i| (i, src.headers[i].clone())))
        .collect();
    let mut seen = std::collections::HashSet::new();
    if !cols.iter().all(|(i, _)| seen.insert(*i)) {
        return Err(Error::input(
            loc.at_line(1),
            "the same column was given for two axes",
        ));
    }
    let unit = options.unit.unwrap_or(Unit::default_for(SignalKind::Accel));
    let scale = unit.factor(SignalKind::Accel).ok_or_else(|| {
        Error::config(
            "unit",
            format!("{unit:?} is not an accelerometer unit (g, mg, m/s2)"),
        )
    })?;
    let Grid {
        fs,
        time_base,
        values,
        start_time,
    } = read_columns(&mut src, options, &cols, scale)?;
    let mut values = values.into_iter();
    let mut names = cols.into_iter().map(|(_, n)| n);
    let mut out_legs = Vec::new();
    for (_, side) in legs {
        let mut next = || values.next().unwrap_or_default();
        let axes_g = [next(), next(), next()];
        let mut name = || names.next().unwrap_or_default();
        out_legs.push(AccelLeg {
            names: [name(), name(), name()],
            side,
            axes_g,
        });
    }
    let rec = AccelRecording {
        sample_rate_hz: fs,
        legs: out_legs,
        start_time,
        time_base,
    };
    rec.validate().map_err(|e| match e {
        Error::Input { message, .. } => Error::input(loc, message),
        other => other,
    })?;
    Ok(rec)
}

#[cfg(test)]
thread_local! {
    /// Whether [`read_columns`] checks numeric stamps against the grid as they are read
    /// ([`GridCheck`]) rather than storing them, in this test thread (tests compare both).
    static CHECK_STAMPS: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether [`read_columns`] checks numeric stamps against the grid as they are read
/// ([`GridCheck`]) rather than storing them: always, except in tests that compare both.
fn check_stamps() -> bool {
    #[cfg(test)]
    return CHECK_STAMPS.get();
    #[cfg(not(test))]
    true
}

/// Rows of the chosen value columns on a uniform grid.
struct Grid {
    fs: f64,
    time_base: TimeBase,
    values: Vec<Vec<f64>>,
    start_time: Option<String>,
}

/// Reads the time column (if any) and the value columns `cols` (index, header name) of
/// `src`, scaling values by `scale`, and places them on a uniform grid (module docs).
/// Numeric stamps are checked against the grid they are expected on as they are read, and
/// stored (the body read again) only when they are not on it ([`GridCheck`]).
fn read_columns(
    src: &mut table::CsvSource,
    options: &ReadOptions,
    cols: &[(usize, String)],
    scale: f64,
) -> Result<Grid> {
    let loc = src.loc.clone();
    let time = table::find_column(&src.headers, TIME_ALIASES)
        .map(|c| (c, 1.0))
        .or_else(|| table::find_column(&src.headers, TIME_MS_ALIASES).map(|c| (c, 1e-3)));
    if time.is_none() && options.sample_rate_hz.is_none() {
        return Err(Error::input(
            loc.at_line(1),
            "no time column (time_s, time, t, seconds, timestamp) and no sample rate given (--fs HZ)",
        ));
    }
    let time_name = time
        .as_ref()
        .map(|(c, _)| src.headers[*c].clone())
        .unwrap_or_default();
    let mut spec = columns::Spec {
        loc: &loc,
        header_len: src.headers.len(),
        time: None,
        time_name: &time_name,
        cols,
        scale,
        comma: src.comma_decimals(),
        stamps: if check_stamps() {
            columns::StampUse::Check {
                given_hz: options.sample_rate_hz,
            }
        } else {
            columns::StampUse::Store
        },
    };
    let (columns, start_time) = columns::read(src, &mut spec, time)?;
    // The text is no longer needed: free it before the grid is built.
    src.release();
    let columns::Columns {
        mut times,
        values,
        first_repeat,
        rate_hz,
    } = columns;
    let n_rows = values[0].len();
    if n_rows == 0 {
        return Err(Error::input(loc, "the file has a header but no data rows"));
    }
    if let Some(fs) = rate_hz {
        // Stamps checked on the grid as they were read: one row per grid point.
        return Ok(Grid {
            fs,
            time_base: TimeBase::TimeColumn,
            values,
            start_time,
        });
    }
    let (fs, time_base, values) = if times.is_empty() {
        (
            options.sample_rate_hz.unwrap_or(f64::NAN),
            TimeBase::GivenRate,
            values,
        )
    } else {
        let t0 = times[0];
        par::for_parts_mut(&mut times, |part| {
            for t in part {
                *t -= t0;
            }
        });
        if let Some((line, col)) = first_repeat {
            // Stamps rounded coarser than the sample period: rows are consecutive samples
            // if every stamp lies within the rounding step of a uniform grid.
            let at = loc.at_field(line, col, &time_name);
            let (fs, base) =
                coarse_stamps(&times, options.sample_rate_hz).map_err(|m| Error::parse(at, m))?;
            return Ok(Grid {
                fs,
                time_base: base,
                values,
                start_time,
            });
        }
        let fs = match options.sample_rate_hz {
            Some(fs) => fs,
            None => estimate_rate(&times).ok_or_else(|| {
                Error::input(
                    loc.clone(),
                    "cannot estimate the sample rate: fewer than two evenly spaced time stamps",
                )
            })?,
        };
        let (base, vals) = place_on_grid(&times, values, fs)?;
        (fs, base, vals)
    };
    Ok(Grid {
        fs,
        time_base,
        values,
        start_time,
    })
}

/// Stamps (from 0) that repeat because they are rounded coarser than the sample period:
/// the rate is rows per second over the whole span (or `given`), and the rows are accepted
/// as consecutive samples when every stamp is within one rounding step (the smallest
/// positive step) plus half a sample of that uniform grid. Otherwise (missing rows, or an
/// irregular clock hidden by the rounding) the message says what to do.
fn coarse_stamps(
    times: &[f64],
    given: Option<f64>,
) -> std::result::Result<(f64, TimeBase), String> {
    let n = times.len();
    let span = times.last().copied().unwrap_or(0.0);
    if span <= 0.0 || n < 3 {
        return Err("every time stamp is the same: give the sample rate (--fs) instead".into());
    }
    let fs = given.unwrap_or((n - 1) as f64 / span);
    let quantum = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    let tolerance = quantum + 0.5 / fs;
    let worst = times
        .iter()
        .enumerate()
        .map(|(i, t)| (t - i as f64 / fs).abs())
        .fold(0.0, f64::max);
    if worst <= tolerance {
        Ok((fs, TimeBase::TimeColumn))
    } else {
        Err(format!(
            "time stamps repeat (rounded to {quantum} s, coarser than the {:.4} s sample period) and drift {worst:.3} s from a uniform grid: rows may be missing; give the sample rate (--fs) and no time column, or export finer stamps",
            1.0 / fs
        ))
    }
}

/// Median of the positive steps between time stamps.
fn median_step(times: &[f64]) -> Option<f64> {
    if times.len() < 2 {
        return None;
    }
    // A strided sample of at most 100 000 steps is plenty for a median.
    let stride = (times.len() / 100_000).max(1);
    let mut steps: Vec<f64> = times
        .windows(2)
        .step_by(stride)
        .map(|w| w[1] - w[0])
        .collect();
    let mid = steps.len() / 2;
    let (_, m, _) = steps.select_nth_unstable_by(mid, f64::total_cmp);
    (*m > 0.0).then_some(*m)
}

/// Sample rate from all time stamps: rows per second over gap-free stretches (a step over
/// 1.5 median steps starts a new stretch). Rounded stamps only err at the stretch ends.
#[must_use]
pub fn estimate_rate(times: &[f64]) -> Option<f64> {
    let step = median_step(times)?;
    // Where stretches end (found on all cores), then their lengths summed in order.
    let ends = par::ranges(times.len(), |r| {
        r.filter(|&i| i > 0 && times[i] - times[i - 1] > 1.5 * step)
            .collect::<Vec<usize>>()
    });
    let (mut steps, mut span) = (0usize, 0.0f64);
    let mut start = 0;
    for i in ends.into_iter().flatten().chain([times.len()]) {
        if i - 1 > start {
            steps += i - 1 - start;
            span += times[i - 1] - times[start];
        }
        start = i;
    }
    (span > 0.0).then(|| steps as f64 / span)
}

/// Whether `x` is within 0.45 of the nearest integer: `|x − x.round()| < 0.45`, without
/// the library call `round` needs on baseline x86-64 (a night has millions of stamps).
/// For `0 ≤ x < 2⁵²`, the fraction `f = x − trunc(x)` is exact, `round` adds 1 to
/// `trunc(x)` exactly when `f ≥ 0.5`, and then `x − round(x) = f − 1` is exact too
/// (Sterbenz), so the two tests below are the same comparison; anything else (negative,
/// huge, `NaN`, infinite) takes the original expression.
#[inline]
fn near_integer(x: f64) -> bool {
    if (0.0..4.5e15).contains(&x) {
        // 0 ≤ x < 2⁵²: the conversion truncates without saturating.
        let f = x - (x as i64) as f64;
        f < 0.45 || 1.0 - f < 0.45
    } else {
        (x - x.round()).abs() < 0.45
    }
}

/// A night's stamps checked, as they are parsed, against the uniform grid they are
/// expected on, instead of stored for [`estimate_rate`] and [`place_on_grid`] (README,
/// Performance: a 59 MB column less per 8-hour night, and three passes over it).
///
/// The expectation is made from the first and last stamps and the number of lines before
/// the rows are parsed: the rate given, or the one [`estimate_rate`] finds on stamps with
/// no gap, `(rows − 1) / (t_last − t0)`. [`GridCheck::rate`] then gives that rate only when
/// reading every stamp would have given it and placed each row on its own grid point:
/// the same rows and last stamp, no step longer than 1.5 times the shortest (so none longer
/// than 1.5 median steps: no gap), every row within 0.45 sample of its own grid point (so
/// [`near_integer`] holds for every stamp) and as many grid points as rows. Otherwise it
/// gives `None`, and the stamps must be read again and stored (irregular, gapped or coarse
/// stamps, blank lines): a night is never placed differently, at worst read twice.
///
/// [`GridCheck::push`] is a few branch-free operations per row; a row's own grid point is
/// its index, counted from where its run of rows starts ([`GridCheck::starting_at`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GridCheck {
    /// The first row's stamp, from which the grid starts.
    t0: f64,
    /// The last row's stamp expected.
    t_last: f64,
    /// Rows expected.
    rows: usize,
    /// The rate checked against.
    fs: f64,
    /// Whether the rate was given (and so is not estimated from the stamps).
    given: bool,
    /// The index of the next row, as a float (exact below 2⁵³).
    index: f64,
    /// Every row seen so far is within 0.45 sample of its own grid point.
    on_grid: bool,
    /// The first and latest stamps seen, from `t0` (`NaN` before any).
    first: f64,
    last: f64,
    /// The shortest and longest steps between consecutive stamps seen (±∞ before any).
    min_step: f64,
    max_step: f64,
}

impl GridCheck {
    /// The expectation for `rows` rows stamped from `t0` to `t_last`, at the rate `given`
    /// or the rate of stamps with no gap; `None` when there is none to check (fewer than
    /// two rows, stamps not increasing).
    pub(crate) fn expect(given: Option<f64>, rows: usize, t0: f64, t_last: f64) -> Option<Self> {
        // What `estimate_rate` computes for one gap-free stretch of stamps shifted by `t0`:
        // `0.0 + ((t_last − t0) − 0.0)` over `rows − 1` steps, the same bits for a positive
        // span.
        let span = t_last - t0;
        let fs = given.unwrap_or(rows.saturating_sub(1) as f64 / span);
        let check = Self {
            t0,
            t_last,
            rows,
            fs,
            given: given.is_some(),
            ..Self::idle()
        };
        (rows >= 2 && span > 0.0 && fs.is_finite() && fs > 0.0).then_some(check)
    }

    /// Nothing expected and nothing seen: the state every check starts from, and a
    /// stand-in where nothing is checked.
    pub(crate) fn idle() -> Self {
        Self {
            t0: 0.0,
            t_last: 0.0,
            rows: 0,
            fs: 0.0,
            given: false,
            index: 0.0,
            on_grid: true,
            first: f64::NAN,
            last: f64::NAN,
            min_step: f64::INFINITY,
            max_step: f64::NEG_INFINITY,
        }
    }

    /// The same expectation with nothing seen, for a run of rows whose first is row `row`.
    pub(crate) fn starting_at(&self, row: usize) -> Self {
        Self {
            t0: self.t0,
            t_last: self.t_last,
            rows: self.rows,
            fs: self.fs,
            given: self.given,
            index: row as f64,
            ..Self::idle()
        }
    }

    /// Checks the next row's stamp `t` (seconds, as the column would store it).
    #[inline]
    pub(crate) fn push(&mut self, t: f64) {
        // The shift `read_columns` applies to the stored column, and the grid position
        // `place_on_grid` tests.
        let dt = t - self.t0;
        let x = dt * self.fs;
        // Within 0.45 of the integer `index` (the difference is exact: the two are within
        // a factor of two unless `index` is 0), so within 0.45 of the nearest integer.
        self.on_grid &= (x - self.index).abs() < 0.45;
        self.index += 1.0;
        // The first step is `NaN` (no previous stamp) and changes neither extreme.
        let step = dt - self.last;
        self.min_step = if step < self.min_step {
            step
        } else {
            self.min_step
        };
        self.max_step = if step > self.max_step {
            step
        } else {
            self.max_step
        };
        self.first = if self.first.is_nan() { dt } else { self.first };
        self.last = dt;
    }

    /// Extends this run of rows by `next`, the run that follows it.
    pub(crate) fn then(&mut self, next: &Self) {
        if next.first.is_nan() {
            return;
        }
        let step = next.first - self.last;
        self.min_step = self.min_step.min(step).min(next.min_step);
        self.max_step = self.max_step.max(step).max(next.max_step);
        if self.first.is_nan() {
            self.first = next.first;
        }
        self.last = next.last;
        self.index = next.index;
        self.on_grid &= next.on_grid;
    }

    /// Whether the rows seen so far can still be on the expected grid (a reader gives up
    /// early when not).
    pub(crate) fn holds(&self) -> bool {
        // Before two stamps the extremes are still ±∞.
        self.on_grid && (self.given || self.max_step <= 1.5 * self.min_step)
    }

    /// The rate when the `rows` rows read are on the expected grid, one row per grid
    /// point, exactly as the stored stamps would have put them (type docs); else `None`.
    pub(crate) fn rate(&self, rows: usize) -> Option<f64> {
        let span = self.last;
        let as_expected = self.first == 0.0 && self.min_step > 0.0 && self.holds();
        let same_rate = self.given || (rows == self.rows && span == self.t_last - self.t0);
        // `place_on_grid`'s direct placement with as many grid points as rows.
        let one_each = (span * self.fs).round() as usize + 1 == rows;
        (as_expected && same_rate && one_each).then_some(self.fs)
    }
}

/// Places rows on the uniform grid `k / fs` (see module docs).
fn place_on_grid(
    times: &[f64],
    values: Vec<Vec<f64>>,
    fs: f64,
) -> Result<(TimeBase, Vec<Vec<f64>>)> {
    let last = *times.last().unwrap_or(&0.0);
    let n_grid = (last * fs).round() as usize + 1;
    if n_grid > times.len().saturating_mul(4).max(1_000_000)
        && n_grid > 2_000_000_000 / values.len().max(1)
    {
        return Err(Error::input(
            Location::default(),
            format!("time stamps span {last} s: implausible for {fs} Hz"),
        ));
    }
    // Direct placement when every stamp is within 0.45 sample of a distinct grid point.
    let direct = par::ranges(times.len(), |r| {
        times[r].iter().all(|&t| near_integer(t * fs))
    })
    .into_iter()
    .all(|ok| ok);
    if direct && n_grid == times.len() {
        return Ok((TimeBase::TimeColumn, values));
    }
    if direct {
        let mut out = vec![vec![f64::NAN; n_grid]; values.len()];
        let mut prev = usize::MAX;
        let mut unique = true;
        for (i, &t) in times.iter().enumerate() {
            let k = (t * fs).round() as usize;
            if k == prev {
                unique = false;
                break;
            }
            prev = k;
            for (o, v) in out.iter_mut().zip(&values) {
                o[k] = v[i];
            }
        }
        if unique {
            return Ok((TimeBase::TimeColumn, out));
        }
    }
    // Irregular stamps: linear interpolation, no interpolation across a gap.
    // Irregular stamps: values are interpolated anyway, so a step of up to 2.5 median steps
    // (jitter, or one dropped sample) is bridged; anything longer is a gap.
    let gap = 2.5 * median_step(times).unwrap_or(1.0 / fs);
    let mut out = vec![vec![f64::NAN; n_grid]; values.len()];
    let mut j = 0;
    for k in 0..n_grid {
        let t = k as f64 / fs;
        while j + 1 < times.len() && times[j + 1] < t {
            j += 1;
        }
        if j + 1 >= times.len() {
            if (times[j] - t).abs() < 1e-9 {
                for (o, v) in out.iter_mut().zip(&values) {
                    o[k] = v[j];
                }
            }
            continue;
        }
        let (ta, tb) = (times[j], times[j + 1]);
        if tb - ta > gap || t < ta {
            continue;
        }
        let w = (t - ta) / (tb - ta);
        for (o, v) in out.iter_mut().zip(&values) {
            o[k] = v[j] + w * (v[j + 1] - v[j]);
        }
    }
    Ok((TimeBase::Resampled, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn read(text: &str, opts: &ReadOptions) -> Result<Recording> {
        read_night_from(
            Some(Path::new("n.csv")),
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            opts,
        )
    }

    fn rows(fs: f64, n: usize, decimals: usize) -> String {
        let mut s = String::from("time_s,left_uv,right_uv\n");
        for i in 0..n {
            let _ = writeln!(s, "{:.*},{},{}", decimals, i as f64 / fs, i, -(i as f64));
        }
        s
    }

    #[test]
    fn near_integer_is_the_rounding_test_it_replaces() {
        let reference = |x: f64| (x - x.round()).abs() < 0.45;
        let mut xs = vec![
            0.0,
            -0.0,
            0.45,
            0.55,
            0.5,
            0.5f64.next_down(),
            1.45,
            1.55,
            2.0f64.powi(52) - 0.5,
            4.5e15,
            1e300,
            -0.3,
            -1.6,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        for x in [0.45f64, 0.55, 0.5, 1.45, 1e6 + 0.45, 7_372_799.55] {
            xs.extend([x.next_down(), x.next_up()]);
        }
        // Stamps of a 256 Hz night written with 6 decimals, times rates near 256 Hz.
        for i in (0..7_372_800u64).step_by(997) {
            let t = (i as f64 / 256.0 * 1e6).round() / 1e6;
            xs.extend([t * 256.0, t * 256.01, t * 255.3]);
        }
        for x in xs {
            assert_eq!(near_integer(x), reference(x), "{x:e}");
        }
    }

    #[test]
    fn rate_from_rounded_time_stamps() {
        // 256 Hz rounded to ms: the first two rows say 0.004 s (250 Hz).
        let r = read(&rows(256.0, 5000, 3), &ReadOptions::new()).unwrap();
        assert!(
            (r.sample_rate_hz - 256.0).abs() < 0.01,
            "{}",
            r.sample_rate_hz
        );
        assert_eq!(r.len(), 5000);
        assert_eq!(r.time_base, TimeBase::TimeColumn);
        assert_eq!(r.channels[1].samples_uv[4999], -4999.0);
    }

    #[test]
    fn gaps_in_time_become_nan() {
        let mut s = String::from("t,L,R\n");
        for i in (0..100).filter(|i| !(40..50).contains(i)) {
            let _ = writeln!(s, "{:.4},{i},", f64::from(i) / 200.0);
        }
        let r = read(&s, &ReadOptions::new()).unwrap();
        assert_eq!(r.len(), 100);
        assert!((r.sample_rate_hz - 200.0).abs() < 1e-9);
        assert!(r.channels[0].samples_uv[45].is_nan());
        assert_eq!(r.channels[0].samples_uv[55], 55.0);
        assert!(r.channels[1].samples_uv.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn aliases_units_delimiters_and_iso_times() {
        let s = "\u{feff}Timestamp;Leg L;Leg R;SpO2\r\n2024-03-01T22:00:00.000;0.001;0.002;97\r\n2024-03-01T22:00:00.005;0.003;0.004;97\r\n2024-03-01T22:00:00.010;0.005;0.006;97\r\n";
        let r = read(s, &ReadOptions::new().unit(Unit::Millivolt)).unwrap();
        assert_eq!(r.channels.len(), 2);
        assert!((r.sample_rate_hz - 200.0).abs() < 1e-6);
        assert!((r.channels[1].samples_uv[2] - 6.0).abs() < 1e-9);
        assert!(
            r.start_time
                .as_deref()
                .unwrap()
                .starts_with("2024-03-01T22:00:00")
        );
        let s = "TIBL,other\n1\t\n";
        let r = read(
            "TIBL,other\n1,2\n3,4\n",
            &ReadOptions::new().sample_rate_hz(100.0),
        )
        .unwrap();
        assert_eq!(r.channels.len(), 1);
        assert_eq!(r.channels[0].side, Side::Left);
        assert!(
            read(s, &ReadOptions::new())
                .unwrap_err()
                .to_string()
                .contains("no time column")
        );
        let r = read("time,a,b\n0,1,2\n0.01,3,4\n", &ReadOptions::new().left("b")).unwrap();
        assert_eq!(r.channels[0].samples_uv, vec![2.0, 4.0]);
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let o = ReadOptions::new();
        let e = |s: &str| read(s, &o).unwrap_err().to_string();
        assert!(e("").contains("empty"));
        assert!(e("time_s,left_uv\n").contains("no data rows"));
        assert_eq!(
            e("time_s,left_uv\n0,1\n0.01,abc\n"),
            "n.csv, line 3, column 2 (left_uv): `abc` is not a number"
        );
        assert!(e("time_s,left_uv\n0,1\n0.01,inf\n").contains("line 3, column 2 (left_uv)"));
        assert!(e("time_s,left_uv,right_uv\n0,1,2\n0.01,1\n").contains("line 3: missing fields"));
        assert!(
            e("time_s,left_uv\n0,1\n0.02,1\n0.01,1\n")
                .contains("line 4, column 1 (time_s): time goes backwards")
        );
        assert!(e("time_s,foo\n0,1\n").contains("no leg column"));
        // Finite in the file, infinite once converted (V → µV): said where, not later.
        let volts = ReadOptions::new().unit(Unit::Volt);
        assert_eq!(
            read("time_s,left\n0,1\n0.01,1e305\n", &volts)
                .unwrap_err()
                .to_string(),
            "n.csv, line 3, column 2 (left): `1e305` is out of range in the unit asked for (× 1000000)"
        );
        assert!(e("time_s,left\nx,1\n").contains("line 2, column 1 (time_s)"));
        // Empty cells and NaN are gaps, not errors.
        let r = read("time_s,left_uv\n0,1\n0.01,\n0.02,NaN\n0.03,4\n", &o).unwrap();
        assert!(r.channels[0].samples_uv[1].is_nan() && r.channels[0].samples_uv[2].is_nan());
    }

    #[test]
    fn finds_accelerometer_axes_by_name_and_unit() {
        let any = |t: &str, o: &ReadOptions| {
            read_any_from(
                Some(Path::new("a.csv")),
                Box::new(std::io::Cursor::new(t.as_bytes().to_vec())),
                o,
            )
        };
        let t = "time_s,left_x,left_y,left_z,right_x,right_y,right_z\n0,0,0,1,0,1,0\n0.02,0,0,1,0,1,0\n";
        let Night::Accel(r) = any(t, &ReadOptions::new()).unwrap() else {
            panic!("not accel")
        };
        assert_eq!(r.legs.len(), 2);
        assert!((r.sample_rate_hz - 50.0).abs() < 1e-9);
        assert_eq!(r.legs[1].axes_g[1], vec![1.0, 1.0]);
        let t = "t,LeftAnkle_X,LeftAnkle_Y,LeftAnkle_Z\n0,0,0,1000\n0.04,0,0,1000\n";
        let Night::Accel(r) = any(t, &ReadOptions::new().unit(Unit::MilliG)).unwrap() else {
            panic!("not accel")
        };
        assert_eq!(r.legs[0].axes_g[2], vec![1.0, 1.0]);
        let t = "time,acc_x,acc_y,acc_z\n0,0,0,9.80665\n0.1,0,0,9.80665\n";
        let Night::Accel(r) =
            any(t, &ReadOptions::new().unit(Unit::MetersPerSecondSquared)).unwrap()
        else {
            panic!("not accel")
        };
        assert!((r.legs[0].axes_g[2][0] - 1.0).abs() < 1e-12);
        assert_eq!(r.legs[0].side, Side::Left);
        let t = "time,l_ax,l_ay,l_az,r_ax,r_ay,r_az\n0,1,2,3,4,5,6\n0.1,1,2,3,4,5,6\n";
        let Night::Accel(r) = any(t, &ReadOptions::new()).unwrap() else {
            panic!("not accel")
        };
        assert_eq!(r.legs[1].axes_g[0][0], 4.0);
        // EMG files stay EMG; explicit axes and kinds are obeyed; wrong units are errors.
        assert!(matches!(
            any("time_s,left_uv\n0,1\n0.01,2\n", &ReadOptions::new()).unwrap(),
            Night::Emg(_)
        ));
        let mut o = ReadOptions::new();
        o.right_axes = Some(["a".into(), "b".into(), "c".into()]);
        let Night::Accel(r) = any("time,a,b,c\n0,1,2,3\n0.1,1,2,3\n", &o).unwrap() else {
            panic!("not accel")
        };
        assert_eq!(r.legs[0].side, Side::Right);
        let e = any(
            "time,left_x,left_y\n0,1,2\n",
            &ReadOptions {
                signal: Some(SignalKind::Accel),
                ..ReadOptions::new()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("no accelerometer axes"), "{e}");
        let e = any(t, &ReadOptions::new().unit(Unit::Millivolt)).unwrap_err();
        assert!(e.to_string().contains("not an accelerometer unit"), "{e}");
    }

    #[test]
    fn stamps_rounded_coarser_than_the_period_are_consecutive_rows() {
        // 512 Hz with 2-decimal stamps: many repeats.
        let r = read(&rows(512.0, 3000, 2), &ReadOptions::new()).unwrap();
        assert_eq!(r.len(), 3000);
        // ±5 ms of rounding over a 5.86-s span: 0.1 % (over a night: 1e-7).
        assert!(
            (r.sample_rate_hz - 512.0).abs() < 0.6,
            "{}",
            r.sample_rate_hz
        );
        assert_eq!(r.channels[0].samples_uv[2999], 2999.0);
        // Rows missing in the middle: refused, with the reason.
        let mut text = String::new();
        for (i, l) in rows(512.0, 3000, 2).lines().enumerate() {
            if !(1000..1400).contains(&i) {
                text.push_str(l);
                text.push('\n');
            }
        }
        let e = read(&text, &ReadOptions::new()).unwrap_err().to_string();
        assert!(e.contains("rows may be missing"), "{e}");
        assert!(read("time_s,left\n0,1\n0,2\n0,3\n", &ReadOptions::new()).is_err());
    }

    #[test]
    fn jittery_stamps_are_resampled() {
        let mut s = String::from("time_s,left\n");
        for i in 0..2000 {
            // Up to 0.47 sample of jitter: too much to place rows directly.
            let jitter = 0.0047 * f64::from(i).sin();
            let _ = writeln!(s, "{:.5},{i}", f64::from(i) * 0.01 + jitter);
        }
        let r = read(&s, &ReadOptions::new()).unwrap();
        assert_eq!(r.time_base, TimeBase::Resampled);
        assert!((r.sample_rate_hz - 100.0).abs() < 0.1);
    }

    /// A night of `rows` rows at `fs` Hz from `start` s with stamps of `decimals` decimals,
    /// spoilt by `defect` (0–2 none; 3 one stamp moved by up to 0.6 sample; 4 rows missing;
    /// 5 a stamp repeated; 6 a blank line; 7 a gap in the values of the first or last row;
    /// 8 no line end after the last row; 9 two neighbouring stamps pulled apart by up to
    /// 0.88 sample, each within 0.45 of its grid point, so that their step may be a gap
    /// of more than 1.5 median steps; 10 a cell that is not a number; 11 a quoted cell) at
    /// a place drawn from `seed`.
    fn stamped_night(
        fs: f64,
        rows: usize,
        decimals: usize,
        start: f64,
        defect: u32,
        seed: u64,
        crlf: bool,
    ) -> String {
        let at = usize::try_from(seed % rows as u64).unwrap_or(0);
        let mut lines: Vec<String> = (0..rows)
            .map(|i| {
                let mut t = start + i as f64 / fs;
                if defect == 3 && i == at {
                    t += (seed % 61) as f64 / 100.0 / fs;
                }
                if defect == 5 && i == at && i > 0 {
                    t = start + (i - 1) as f64 / fs;
                }
                if defect == 9 && (i == at || i + 1 == at) {
                    let pull = (seed % 45) as f64 / 100.0 / fs;
                    t += if i == at { pull } else { -pull };
                }
                let gap = defect == 7 && (i == 0) == (seed % 2 == 0) && (i == 0 || i == rows - 1);
                let right = if gap {
                    String::new()
                } else if defect == 10 && i == at {
                    "x".to_owned()
                } else if defect == 11 && i == at {
                    format!("\"{}\"", -(i as f64))
                } else {
                    format!("{}", -(i as f64))
                };
                format!("{t:.decimals$},{}.25,{right}", i % 97)
            })
            .collect();
        if defect == 4 {
            let k = 1 + usize::try_from(seed % 5).unwrap_or(0);
            lines.drain(at..(at + k).min(rows - 1).max(at));
        }
        if defect == 6 {
            lines.insert(at, String::new());
        }
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("time_s,left_uv,right_uv{end}");
        for line in &lines {
            text.push_str(line);
            text.push_str(end);
        }
        if defect == 8 {
            text.truncate(text.len() - end.len());
        }
        text
    }

    /// What reading `text` gives (as comparable text) with stamps checked or stored, in
    /// `chunks` chunks read in `block`-byte blocks (or each at once), from memory or from
    /// a file.
    fn stamped_outcome(
        text: &str,
        opts: &ReadOptions,
        check: bool,
        (chunks, block, from_file): (usize, Option<usize>, bool),
    ) -> String {
        CHECK_STAMPS.set(check);
        columns::TEST_VIA.set(block.map_or(columns::Via::Lines(chunks), |size| {
            columns::Via::Blocks(chunks, size)
        }));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.csv");
        let src = if from_file {
            std::fs::write(&path, text).unwrap();
            table::open_file_backed_from(&path, 0)
        } else {
            table::open_csv(
                Some(Path::new("n.csv")),
                Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            )
        };
        let outcome = match src.and_then(|src| read_emg(src, opts)) {
            Ok(r) => format!(
                "{:x} {:?} {:?} {:?}",
                r.sample_rate_hz.to_bits(),
                r.time_base,
                r.start_time,
                r.channels
                    .iter()
                    .map(|c| c.samples_uv.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            ),
            Err(e) => format!("error: {e}"),
        };
        CHECK_STAMPS.set(true);
        columns::TEST_VIA.set(columns::Via::Auto);
        outcome.replace(&path.display().to_string(), "n.csv")
    }

    proptest::proptest! {
        #[test]
        fn stamps_checked_on_the_grid_read_as_stored_ones(
            fs in proptest::sample::select(vec![100.0, 128.0, 200.0, 250.0, 256.0, 500.0, 512.0, 1000.0]),
            rows in 2usize..300,
            decimals in 3usize..7,
            start in proptest::sample::select(vec![0.0, 12.5, 86_399.75]),
            defect in 0u32..12,
            seed: u64,
            crlf: bool,
            given in 0u32..4,
        ) {
            let text = stamped_night(fs, rows, decimals, start, defect, seed, crlf);
            let mut opts = ReadOptions::new();
            if given == 1 {
                opts = opts.sample_rate_hz(fs);
            } else if given == 2 {
                opts = opts.sample_rate_hz(fs * 1.001);
            }
            for how in [(1, None, false), (3, None, false), (2, Some(64), false), (2, Some(64), true)] {
                let stored = stamped_outcome(&text, &opts, false, how);
                let checked = stamped_outcome(&text, &opts, true, how);
                proptest::prop_assert_eq!(checked, stored, "chunks, block, file: {:?}", how);
            }
        }
    }
}
