//! One-call readers of one part of the context, for callers that need neither the notes
//! nor a clock start: each reads the file as an [`AnnotationFile`] and takes the part with
//! [`AnnotationOptions::new`] (clock times are placed from the start the file states, else
//! from its own first stage epoch).

use std::io::Read;
use std::path::Path;

use super::{AnnotationFile, AnnotationOptions};
use crate::error::Result;
use crate::events::{Interval, LegMovement};
use crate::io::context::{Context, Hypnogram, RespiratoryEvent};

/// Epoch length for the parts that are not a hypnogram (unused by them), s.
const ANY_EPOCH_S: f64 = 30.0;

/// Reads a hypnogram whose epochs are `epoch_s` long (the rules' `epoch_s`, 30 s) from a
/// file of any format ([`AnnotationFile`]).
///
/// # Errors
/// As [`AnnotationFile::read`] and [`AnnotationFile::hypnogram`].
pub fn read_hypnogram(path: impl AsRef<Path>, epoch_s: f64) -> Result<Hypnogram> {
    let o = AnnotationOptions::new(epoch_s);
    Ok(AnnotationFile::read(path)?.hypnogram(&o)?.value)
}

/// [`read_hypnogram`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_hypnogram`].
pub fn read_hypnogram_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
    epoch_s: f64,
) -> Result<Hypnogram> {
    let o = AnnotationOptions::new(epoch_s);
    Ok(AnnotationFile::read_from(input, name)?.hypnogram(&o)?.value)
}

/// Reads respiratory events (CSV `onset_s,offset_s[,kind]`, or an export's apneas,
/// hypopneas and RERAs) from a file.
///
/// # Errors
/// As [`AnnotationFile::read`] and [`AnnotationFile::respiratory`].
pub fn read_respiratory(path: impl AsRef<Path>) -> Result<Vec<RespiratoryEvent>> {
    let o = AnnotationOptions::new(ANY_EPOCH_S);
    Ok(AnnotationFile::read(path)?.respiratory(&o)?.value)
}

/// [`read_respiratory`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_respiratory`].
pub fn read_respiratory_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
) -> Result<Vec<RespiratoryEvent>> {
    let o = AnnotationOptions::new(ANY_EPOCH_S);
    Ok(AnnotationFile::read_from(input, name)?
        .respiratory(&o)?
        .value)
}

/// Reads arousals (CSV `onset_s,offset_s`, or an export's arousals) from a file.
///
/// # Errors
/// As [`AnnotationFile::read`] and [`AnnotationFile::arousals`].
pub fn read_arousals(path: impl AsRef<Path>) -> Result<Vec<Interval>> {
    let o = AnnotationOptions::new(ANY_EPOCH_S);
    Ok(AnnotationFile::read(path)?.arousals(&o)?.value)
}

/// [`read_arousals`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_arousals`].
pub fn read_arousals_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
) -> Result<Vec<Interval>> {
    let o = AnnotationOptions::new(ANY_EPOCH_S);
    Ok(AnnotationFile::read_from(input, name)?.arousals(&o)?.value)
}

/// Reads the whole context — stages, respiratory events and arousals — from one export,
/// parsing it once. The hypnogram's epochs are `epoch_s` long.
///
/// # Errors
/// As [`AnnotationFile::context`] (a file without scored stages, or a CSV file, is an
/// error).
pub fn read_annotations(path: impl AsRef<Path>, epoch_s: f64) -> Result<Context> {
    let o = AnnotationOptions::new(epoch_s);
    Ok(AnnotationFile::read(path)?.context(&o)?.value)
}

/// Reads a list of monolateral leg movements — CSV `onset_s,offset_s,side` (side
/// `left`/`right` or `L`/`R`; extra columns ignored), e.g. hand-scored LMs to score like
/// PLMScoRe, or the scored limb movements of an export — from a file.
///
/// # Errors
/// As [`AnnotationFile::read`] and [`AnnotationFile::leg_movements`].
pub fn read_leg_movements(path: impl AsRef<Path>) -> Result<Vec<LegMovement>> {
    let o = AnnotationOptions::new(ANY_EPOCH_S);
    Ok(AnnotationFile::read(path)?.leg_movements(&o)?.value)
}

/// [`read_leg_movements`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_leg_movements`].
pub fn read_leg_movements_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
) -> Result<Vec<LegMovement>> {
    let o = AnnotationOptions::new(ANY_EPOCH_S);
    Ok(AnnotationFile::read_from(input, name)?
        .leg_movements(&o)?
        .value)
}
