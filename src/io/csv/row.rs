//! One row of a signal CSV: what to read from it ([`Spec`]), the general per-row code
//! every parser shares (so values and error messages do not depend on which parser read a
//! row), and what the rows read so far hold ([`Columns`], [`Order`]).

use chrono::{DateTime, FixedOffset};

use super::number::parse_number;
use crate::error::{Error, Location, Result, shorten};

/// How time stamps are read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TimeKind {
    /// Numbers, multiplied by this factor to give seconds.
    Seconds(f64),
    /// ISO-8601 date-times, as seconds after this first stamp.
    DateTime(DateTime<FixedOffset>),
}

/// What becomes of numeric stamps read on the line path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StampUse {
    /// Stored in [`Columns::times`].
    Store,
    /// Checked against the uniform grid expected at the rate given (or, without one, the
    /// rate of stamps with no gap) as they are read ([`crate::io::grid::check::GridCheck`]); stored only when they
    /// turn out not to be on it, by reading the body again.
    Check {
        /// The sample rate given, in Hz.
        given_hz: Option<f64>,
    },
}

/// What to read from each row.
pub(crate) struct Spec<'a> {
    /// The file, for messages.
    pub loc: &'a Location,
    /// Number of header fields, for messages.
    pub header_len: usize,
    /// The time column (index) and how to read it; `None` when rows are consecutive
    /// samples at a given rate.
    pub time: Option<(usize, TimeKind)>,
    /// The time column's header name.
    pub time_name: &'a str,
    /// Value columns: index and header name.
    pub cols: &'a [(usize, String)],
    /// Factor applied to every value.
    pub scale: f64,
    /// Whether a `,` in a cell is a decimal comma ([`super::source::CsvSource::comma_decimals`]).
    pub comma: bool,
    /// What becomes of numeric stamps.
    pub stamps: StampUse,
}

/// The columns read.
pub(crate) struct Columns {
    /// Time stamps in seconds (empty without a time column, or when `rate_hz` is known).
    pub times: Vec<f64>,
    /// The sample rate, when the stamps were checked instead of stored and every row is on
    /// its own point of the grid at this rate, as the stored stamps would have placed it
    /// ([`crate::io::grid::check::GridCheck::rate`]).
    pub rate_hz: Option<f64>,
    /// One buffer per value column, scaled, `NaN` for a gap.
    pub values: Vec<Vec<f64>>,
    /// The first line (and its time column, 1-based) whose stamp equals the previous one.
    pub first_repeat: Option<(u64, usize)>,
}

impl Spec<'_> {
    /// Fields a row must have.
    pub(crate) fn needed(&self) -> usize {
        self.cols
            .iter()
            .map(|c| c.0)
            .chain(self.time.map(|t| t.0))
            .max()
            .unwrap_or(0)
            + 1
    }

    /// The time of a row with `n_fields` fields (`cell(i)` is field `i`): `Ok(None)` for a
    /// blank row, `NaN` without a time column.
    pub(crate) fn row_time<'c>(
        &self,
        line: u64,
        n_fields: usize,
        cell: impl Fn(usize) -> &'c [u8],
    ) -> Result<Option<f64>> {
        if n_fields < self.needed() {
            if n_fields == 1 && cell(0).trim_ascii().is_empty() {
                return Ok(None);
            }
            return Err(Error::parse(
                self.loc.at_line(line),
                format!(
                    "missing fields: the row has {n_fields} field(s), the header {}",
                    self.header_len
                ),
            ));
        }
        let Some((c, kind)) = self.time else {
            return Ok(Some(f64::NAN));
        };
        let cell = cell(c);
        match kind {
            TimeKind::Seconds(k) => {
                match parse_number(cell, self.comma, self.loc, line, c + 1, self.time_name)? {
                    Some(v) => Ok(Some(v * k)),
                    None => Err(Error::parse(
                        self.loc.at_field(line, c + 1, self.time_name),
                        "empty time stamp",
                    )),
                }
            }
            TimeKind::DateTime(origin) => {
                let dt = parse_datetime(cell).ok_or_else(|| {
                    Error::parse(
                        self.loc.at_field(line, c + 1, self.time_name),
                        format!(
                            "`{}` is not an ISO-8601 date-time like the first row's",
                            shorten(&String::from_utf8_lossy(cell))
                        ),
                    )
                })?;
                Ok(Some(
                    (dt - origin)
                        .num_nanoseconds()
                        .map_or(f64::NAN, |ns| ns as f64 * 1e-9),
                ))
            }
        }
    }

    /// The scaled values of a row into `out` (one per value column).
    pub(crate) fn row_values<'c>(
        &self,
        line: u64,
        cell: impl Fn(usize) -> &'c [u8],
        out: &mut [f64],
    ) -> Result<()> {
        for ((c, name), o) in self.cols.iter().zip(out.iter_mut()) {
            *o = match parse_number(cell(*c), self.comma, self.loc, line, c + 1, name)? {
                None => f64::NAN,
                Some(v) if (v * self.scale).is_infinite() => {
                    return Err(Error::parse(
                        self.loc.at_field(line, c + 1, name),
                        format!(
                            "`{}` is out of range in the unit asked for (× {})",
                            shorten(&String::from_utf8_lossy(cell(*c).trim_ascii())),
                            self.scale
                        ),
                    ));
                }
                Some(v) => v * self.scale,
            };
        }
        Ok(())
    }

    /// The time column, 1-based (1 without one).
    pub(crate) fn time_column(&self) -> usize {
        self.time.map_or(0, |t| t.0) + 1
    }

    /// The "time goes backwards" error.
    pub(crate) fn backwards(&self, line: u64, t: f64, prev_t: f64) -> Error {
        Error::parse(
            self.loc.at_field(line, self.time_column(), self.time_name),
            format!("time goes backwards ({t} after {prev_t})"),
        )
    }
}

/// Order of the stamps within a run of rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Order {
    /// The first stamp and its line.
    pub(crate) first: Option<(f64, u64)>,
    /// The last stamp.
    pub(crate) last: f64,
    /// The first line whose stamp repeats the previous one.
    pub(crate) first_repeat: Option<u64>,
}

impl Order {
    pub(crate) fn new() -> Self {
        Order {
            first: None,
            last: f64::NEG_INFINITY,
            first_repeat: None,
        }
    }

    /// Accepts the next stamp, refusing time going backwards.
    pub(crate) fn push(&mut self, spec: &Spec<'_>, t: f64, line: u64) -> Result<()> {
        if spec.time.is_none() {
            return Ok(());
        }
        if self.first.is_none() {
            self.first = Some((t, line));
        }
        if t < self.last {
            return Err(spec.backwards(line, t, self.last));
        }
        if t == self.last && self.first_repeat.is_none() {
            self.first_repeat = Some(line);
        }
        self.last = t;
        Ok(())
    }
}

/// Parses an ISO-8601 date-time (with or without offset; `T` or space).
pub(crate) fn parse_datetime(cell: &[u8]) -> Option<DateTime<FixedOffset>> {
    let s = std::str::from_utf8(cell).ok()?.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.and_utc().fixed_offset());
        }
    }
    None
}
