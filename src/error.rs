//! The crate's one error type.
//!
//! Every fallible function in `plm_detect` returns [`Error`]. Messages name *what* is wrong
//! and *where*: the file, the 1-based line and column, and the field, whenever the problem
//! comes from a file. The library never panics on bad input and never prints.
//!
//! [`Error::is_input_error`] separates problems with the caller's data (the `plm` binary
//! exits with code 2) from other failures such as I/O (exit code 1).

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file a problem was found. Line and column are 1-based; `column` counts
/// fields (CSV columns), not characters. In binary files (EDF) the place is a 0-based byte
/// offset and the field is the header field or signal there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file, when the data came from one.
    pub path: Option<PathBuf>,
    /// 1-based line number.
    pub line: Option<u64>,
    /// 1-based field (column) number.
    pub column: Option<usize>,
    /// The header name of the column, when known. In a binary file (EDF), without line
    /// and column: the 0-based byte offset and the header field or signal there, as
    /// `byte 252 (number of signals)`.
    pub field: Option<String>,
}

impl Location {
    /// A location in `path` with no line information yet.
    #[must_use]
    pub fn file(path: Option<&Path>) -> Self {
        Self {
            path: path.map(Path::to_path_buf),
            ..Self::default()
        }
    }

    /// The same location at `line`.
    #[must_use]
    pub fn at_line(&self, line: u64) -> Self {
        Self {
            line: Some(line),
            ..self.clone()
        }
    }

    /// The same location at `line`, field number `column` (1-based) named `field`.
    #[must_use]
    pub fn at_field(&self, line: u64, column: usize, field: &str) -> Self {
        Self {
            line: Some(line),
            column: Some(column),
            field: Some(field.to_owned()),
            path: self.path.clone(),
        }
    }

    /// This file at byte `byte` of a binary file, in the header field or signal `field`.
    #[must_use]
    pub fn at_byte(&self, byte: u64, field: &str) -> Self {
        Self {
            path: self.path.clone(),
            field: Some(format!("byte {byte} ({field})")),
            ..Self::default()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = &self.path {
            parts.push(p.display().to_string());
        }
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let (None, Some(place)) = (self.column, &self.field) {
            parts.push(place.clone());
        }
        if let Some(c) = self.column {
            match &self.field {
                Some(name) => parts.push(format!("column {c} ({name})")),
                None => parts.push(format!("column {c}")),
            }
        }
        if parts.is_empty() {
            write!(f, "<input>")
        } else {
            write!(f, "{}", parts.join(", "))
        }
    }
}

/// Everything that can go wrong in `plm_detect`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed at the operating-system level.
    Io {
        /// The file being read or written.
        path: Option<PathBuf>,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The content of an input file (or in-memory table) is malformed.
    Parse {
        /// Where the problem is.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// The input is well-formed but cannot be analysed (too short, no leg channel, ...).
    Input {
        /// Where the problem is, when it comes from a file.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A configuration value is out of its valid range.
    Config {
        /// The configuration field, e.g. `imi_min_s`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// `true` when the error is about the caller's data or configuration (the binary exits
    /// with code 2), `false` for I/O and other failures (exit code 1).
    #[must_use]
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Error::Io { .. })
    }

    /// The same error, with `path` as its file when it has no file yet (for errors about
    /// data that came from `path` but were found after reading, e.g. "too short to
    /// filter").
    #[must_use]
    pub fn in_file(self, path: &Path) -> Self {
        let fill = |mut l: Location| {
            if l.path.is_none() {
                l.path = Some(path.to_path_buf());
            }
            l
        };
        match self {
            Error::Parse { location, message } => Error::Parse {
                location: fill(location),
                message,
            },
            Error::Input { location, message } => Error::Input {
                location: fill(location),
                message,
            },
            Error::Io { path: None, source } => Error::Io {
                path: Some(path.to_path_buf()),
                source,
            },
            other => other,
        }
    }

    /// An input error found without a place (by a validation of data already read),
    /// placed at `loc`; other errors unchanged.
    pub(crate) fn located(self, loc: &Location) -> Self {
        match self {
            Error::Input { message, .. } => Error::input(loc.clone(), message),
            other => other,
        }
    }

    /// `Ok` when `v` is a finite number > 0, else a config error naming `field`.
    pub(crate) fn require_positive(field: &'static str, v: f64) -> Result<()> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(Error::config(field, format!("must be positive, got {v}")))
        }
    }

    /// `Ok` when `0 < v ≤ max`, else a config error naming `field`, its value and the
    /// range in `unit` (a plausible range: larger values would only make a stage ask for
    /// memory or time out of proportion to any night).
    pub(crate) fn require_up_to(field: &'static str, v: f64, max: f64, unit: &str) -> Result<()> {
        if v.is_finite() && v > 0.0 && v <= max {
            Ok(())
        } else {
            Err(Error::config(
                field,
                format!("must be in (0, {max}]{}, got {}", spaced(unit), num(v)),
            ))
        }
    }

    /// `Ok` when `min ≤ v ≤ max`, else a config error naming `field`, its value and the
    /// range in `unit`.
    pub(crate) fn require_in(
        field: &'static str,
        v: f64,
        [min, max]: [f64; 2],
        unit: &str,
    ) -> Result<()> {
        if (min..=max).contains(&v) {
            Ok(())
        } else {
            Err(Error::config(
                field,
                format!("must be in [{min}, {max}]{}, got {}", spaced(unit), num(v)),
            ))
        }
    }

    pub(crate) fn parse(location: Location, message: impl Into<String>) -> Self {
        Error::Parse {
            location,
            message: message.into(),
        }
    }

    pub(crate) fn input(location: Location, message: impl Into<String>) -> Self {
        Error::Input {
            location,
            message: message.into(),
        }
    }

    pub(crate) fn config(field: &'static str, message: impl Into<String>) -> Self {
        Error::Config {
            field,
            message: message.into(),
        }
    }

    /// An error reading `path`; a [`BadData`] carried by `source` (a damaged gzip
    /// stream) is a parse error at its byte instead.
    pub(crate) fn io(path: Option<&Path>, source: std::io::Error) -> Self {
        if let Some(bad) = source.get_ref().and_then(|e| e.downcast_ref::<BadData>()) {
            return Error::parse(
                Location::file(path).at_byte(bad.byte, bad.field),
                bad.message.clone(),
            );
        }
        Error::Io {
            path: path.map(Path::to_path_buf),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every message is one line, whatever a file's text put into it.
        let text = match self {
            Error::Io {
                path: Some(p),
                source,
            } => format!("{}: {source}", p.display()),
            Error::Io { path: None, source } => format!("I/O error: {source}"),
            Error::Parse { location, message } | Error::Input { location, message } => {
                if *location == Location::default() {
                    message.clone()
                } else {
                    format!("{location}: {message}")
                }
            }
            Error::Config { field, message } => {
                format!("invalid configuration `{field}`: {message}")
            }
        };
        write_one_line(f, &text)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Bad input found while a stream was being read (a damaged gzip stream), carried
/// inside a `std::io::Error` through `Read`, so that [`Error::io`] reports it as a parse
/// error at `byte` rather than as a failure of the file system.
#[derive(Debug)]
pub(crate) struct BadData {
    /// Byte of the file where the fault was found.
    pub byte: u64,
    /// The part of the file (`gzip stream`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl BadData {
    /// As an I/O error, for a `Read` implementation to return.
    pub(crate) fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, self)
    }
}

impl fmt::Display for BadData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {} ({}): {}", self.byte, self.field, self.message)
    }
}

impl std::error::Error for BadData {}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// At most 40 characters of `s`, for messages, with control characters escaped (`\n`,
/// `\u{7}`), so that a quoted cell never breaks a message's line.
pub(crate) fn shorten(s: &str) -> String {
    let mut t = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 40 {
            t.push('…');
            break;
        }
        push_escaped(&mut t, c);
    }
    t
}

/// `v` for a message: as Rust writes it when moderate, in scientific notation when huge
/// or tiny (a damaged field of `1e308` is not echoed as 309 digits).
pub(crate) fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e9).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// ` unit`, or nothing for a unitless range.
fn spaced(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}

/// `c`, or its escape when it is a control character.
fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// Writes `s` on one line: control characters (a newline in a quoted cell, a tab, a
/// bell) escaped.
fn write_one_line(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if !s.chars().any(char::is_control) {
        return f.write_str(s);
    }
    let mut t = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut t, c);
    }
    f.write_str(&t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_formats_file_line_column_field() {
        let loc = Location::file(Some(Path::new("night.csv"))).at_field(12, 3, "right_uv");
        let e = Error::parse(loc, "`abc` is not a number");
        assert_eq!(
            e.to_string(),
            "night.csv, line 12, column 3 (right_uv): `abc` is not a number"
        );
        assert!(e.is_input_error());
        let loc = Location::file(Some(Path::new("n.edf"))).at_byte(252, "number of signals");
        assert_eq!(
            Error::parse(loc, "`x` is not a whole number").to_string(),
            "n.edf, byte 252 (number of signals): `x` is not a whole number"
        );
    }

    #[test]
    fn in_file_fills_a_missing_path_only() {
        let e = Error::input(Location::default(), "too short").in_file(Path::new("n.csv"));
        assert_eq!(e.to_string(), "n.csv: too short");
        let e =
            Error::input(Location::file(Some(Path::new("a.csv"))), "x").in_file(Path::new("b.csv"));
        assert_eq!(e.to_string(), "a.csv: x");
        assert_eq!(
            Error::input(Location::default(), "bare").to_string(),
            "bare"
        );
    }

    #[test]
    fn messages_are_one_line_and_quoted_cells_short() {
        let cell = "a\nb\u{7}c".to_owned() + &"9".repeat(100);
        let short = shorten(&cell);
        assert_eq!(short.chars().filter(|&c| c == '9').count(), 35);
        assert!(
            short.starts_with("a\\nb\\u{7}c") && short.ends_with('…'),
            "{short}"
        );
        let e = Error::parse(Location::default(), "line one\nline two\r\n");
        assert_eq!(e.to_string(), "line one\\nline two\\r\\n");
        let e = Error::require_in("notch_q", 0.5, [1.0, 1000.0], "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration `notch_q`: must be in [1, 1000], got 0.5"
        );
        assert!(Error::require_up_to("block_s", 2.0, 1.0, "s").is_err());
        let e = Error::require_up_to("rest_half_window_s", 1e308, 3600.0, "s").unwrap_err();
        assert!(
            e.to_string().ends_with("must be in (0, 3600] s, got 1e308"),
            "{e}"
        );
        assert_eq!(
            (num(0.25), num(-3e-7), num(f64::NAN)),
            ("0.25".into(), "-3e-7".into(), "NaN".into())
        );
        assert!(Error::require_up_to("block_s", f64::NAN, 1.0, "s").is_err());
        assert!(Error::require_up_to("block_s", 1.0, 1.0, "s").is_ok());
    }

    #[test]
    fn io_errors_are_not_input_errors() {
        let e = Error::io(Some(Path::new("x.csv")), std::io::Error::other("boom"));
        assert!(!e.is_input_error());
        assert_eq!(e.to_string(), "x.csv: boom");
    }
}
