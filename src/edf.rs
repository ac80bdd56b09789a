//! EDF and EDF+ (and BDF, BDF+) input: leg EMG (or leg accelerometers) straight from
//! polysomnography files.
//!
//! Input: an EDF (Kemp et al. 1992) or EDF+ (Kemp & Olivan 2003; continuous `EDF+C` or
//! discontinuous `EDF+D`) file, or their 24-bit forms BDF and BDF+ (Biosemi; version field
//! `\xFF` `BIOSEMI`, samples of 3 bytes, `BDF+C`/`BDF+D`, a `BDF Annotations` signal;
//! otherwise the same layout), plain or gzip-compressed, read as a stream: the header,
//! then one data record at a time, keeping only the chosen signals. Memory is the chosen
//! samples as `f64` plus one data record. Output: a [`Recording`] (leg EMG, µV) or an
//! [`AccelRecording`] (g) — the same types the CSV readers return, so everything after
//! reading is shared.
//!
//! * **Which signals**: chosen by label with the CSV column rules of [`crate::input`]
//!   (case, spaces, `_`, `-` and `.` ignored; the same leg and axis aliases), also without
//!   an EDF+ signal-type prefix (`EMG LAT` → `LAT`) and, for a bipolar derivation, by its
//!   first electrode without its number (`LAT1-LAT2` → `LAT`, `Leg L1-Leg L2` → `Leg L`).
//!   [`ReadOptions::left`]/`right` (and `left_axes`/`right_axes`) name signals by label.
//!   The kind of night (EMG or accelerometer) is decided from the labels as for CSV
//!   headers, unless [`ReadOptions::signal`] says.
//! * **Values**: physical = physical minimum + (digital − digital minimum) × physical
//!   range / digital range, from each signal's header (EDF §2.1.3), then to µV (EMG) or
//!   g (accelerometer) by the signal's physical dimension (`uV`/`µV`, `mV`, `V`; `g`, `mg`,
//!   `m/s^2`), unless [`ReadOptions::unit`] overrides it. A signal without a recognised
//!   dimension needs [`ReadOptions::unit`].
//! * **Rate**: samples per data record / record duration. The chosen signals must share it
//!   (a polysomnogram often has legs at one rate and EEG at another; only the chosen
//!   signals matter). [`ReadOptions::sample_rate_hz`] is refused: the header states it.
//! * **Time**: EDF and EDF+C records follow each other without gaps. Each EDF+D record
//!   starts at the onset of its first time-keeping annotation (EDF+ §2.2.4), placed on the
//!   sample grid; time between records is a gap (`NaN`), which no leg movement crosses and
//!   which is reported as excluded. Records out of order or overlapping are errors.
//! * **Start time**: the header's start date and time (`dd.mm.yy`, `hh.mm.ss`; years 85–99
//!   are 19xx, others 20xx, the EDF clipping rule; EDF+'s `Startdate dd-MMM-yyyy` in the
//!   recording field gives the full year when present), as `YYYY-MM-DDThh:mm:ss` in the
//!   recording's local time (EDF has no time zone).
//! * **Annotations**: the signal readers use only the time-keeping ones; the scored
//!   stages and events are read by [`crate::context`]'s readers (a hypnogram, respiratory
//!   events, arousals or leg movements from an EDF+ or BDF+ file, via `scored_events`
//!   here).
//!
//! Errors name the file, the byte offset and the header field or signal.
//!
//! Written here rather than taken from a crate: the format is a fixed layout (a 256-byte
//! header, 256 bytes per signal, little-endian 16- or 24-bit samples), and the crates.io
//! readers do not fit: `edf-rs` calls itself early-stage with breaking changes to come,
//! `edf-reader` is built on `futures` 0.1 and positioned I/O (no gzip streams), and neither
//! reports header faults with their place or places EDF+D records on a time grid.

use std::io::Read;

use crate::accel::{AccelLeg, AccelRecording};
use crate::error::{Error, Location, Result};
use crate::events::Side;
use crate::input::{self, ReadOptions, SignalKind, Unit};
use crate::nsrr::ScoredEvent;
use crate::signal::{Recording, TimeBase};
use crate::table;

/// The first 8 bytes of an EDF or EDF+ file.
pub(crate) const MAGIC: &[u8; 8] = b"0       ";
/// The first 8 bytes of a BDF file.
const BDF_MAGIC: &[u8; 8] = b"\xffBIOSEMI";
/// The label of an EDF+ annotation signal (BDF+: `BDF Annotations`).
const ANNOTATIONS: &str = "EDF Annotations";
/// The label of a BDF+ annotation signal.
const BDF_ANNOTATIONS: &str = "BDF Annotations";
/// Latest EDF+D record onset accepted, s after the first (two days, twice the longest
/// recording the detector is meant for): a later one is a damaged annotation, and the gap
/// before it would fill memory.
const MAX_SPAN_S: f64 = 2.0 * 86_400.0;
/// Largest data record accepted, bytes (64 MiB; the EDF specification asks for at most
/// 61 440): a larger one is a damaged header, and would be allocated before reading.
const MAX_RECORD_BYTES: usize = 64 << 20;
/// Most signals a header may declare (a 256 MB header); beyond, the file is not EDF.
const MAX_SIGNALS: usize = 1 << 20;

/// EDF flavour, from the header's reserved field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// EDF (1992), or EDF+C: records follow each other.
    Contiguous,
    /// EDF+D: every record carries its own onset.
    Discontinuous,
}

/// One signal's header.
#[derive(Debug, Clone)]
struct Signal {
    label: String,
    dimension: String,
    physical_min: f64,
    physical_max: f64,
    digital_min: f64,
    digital_max: f64,
    samples_per_record: usize,
    /// Byte offset of the signal within a data record.
    offset: usize,
}

impl Signal {
    fn is_annotation(&self) -> bool {
        self.label == ANNOTATIONS || self.label == BDF_ANNOTATIONS
    }
}

/// The parsed header.
#[derive(Debug, Clone)]
struct Header {
    variant: Variant,
    /// Bytes per sample: 2 (EDF, 16-bit) or 3 (BDF, 24-bit); little-endian two's complement.
    width: usize,
    /// Number of data records; `None` when the header says -1 (unknown).
    records: Option<usize>,
    record_s: f64,
    signals: Vec<Signal>,
    /// Bytes per data record.
    record_bytes: usize,
    start_time: Option<String>,
}

/// Whether `head` (the first bytes of a file, decompressed) starts like an EDF file.
pub(crate) fn looks_like_edf(head: &[u8]) -> bool {
    head.starts_with(MAGIC) || head.starts_with(BDF_MAGIC)
}

/// Reads an EDF/EDF+ night from `input` (see the module docs), EMG or accelerometer as
/// the labels (or [`ReadOptions::signal`]) say.
pub(crate) fn read(
    mut input: impl Read,
    loc: &Location,
    options: &ReadOptions,
) -> Result<input::Night> {
    let header = open(&mut input, loc, options)?;
    let labels: Vec<String> = header.signals.iter().map(|s| s.label.clone()).collect();
    match input::kind_from_names(&search_names(&labels), options) {
        SignalKind::Emg => read_emg(input, loc, options, &header).map(input::Night::Emg),
        SignalKind::Accel => read_accel(input, loc, options, &header).map(input::Night::Accel),
    }
}

/// Reads the leg EMG of an EDF/EDF+ night from `input`.
pub(crate) fn read_emg_night(
    mut input: impl Read,
    loc: &Location,
    options: &ReadOptions,
) -> Result<Recording> {
    let header = open(&mut input, loc, options)?;
    read_emg(input, loc, options, &header)
}

/// Reads the leg accelerometers of an EDF/EDF+ night from `input`.
pub(crate) fn read_accel_night(
    mut input: impl Read,
    loc: &Location,
    options: &ReadOptions,
) -> Result<AccelRecording> {
    let header = open(&mut input, loc, options)?;
    read_accel(input, loc, options, &header)
}

/// The header, once the options are known to suit an EDF file.
fn open(input: &mut impl Read, loc: &Location, options: &ReadOptions) -> Result<Header> {
    let header = read_header(input, loc)?;
    if header.signals.iter().all(Signal::is_annotation) {
        return Err(Error::input(
            loc.clone(),
            "the EDF file holds annotations only, no signal (as context, give it with --hypnogram, --respiratory, --arousals or --annotations)",
        ));
    }
    if header.record_s <= 0.0 {
        return Err(Error::parse(
            loc.at_byte(244, "duration of a data record"),
            format!(
                "a data record lasts {} s: no signal can be read",
                header.record_s
            ),
        ));
    }
    if options.sample_rate_hz.is_some() {
        return Err(Error::config(
            "sample_rate_hz",
            "an EDF file states its sample rates; do not give one",
        ));
    }
    Ok(header)
}

/// The leg EMG of an EDF night.
fn read_emg(
    input: impl Read,
    loc: &Location,
    options: &ReadOptions,
    header: &Header,
) -> Result<Recording> {
    let pick = |name: &Option<String>, aliases: &[&str]| -> Result<Option<usize>> {
        match name {
            Some(n) => named(header, n, loc).map(Some),
            None => Ok(by_alias(header, aliases)),
        }
    };
    let explicit = options.left.is_some() || options.right.is_some();
    let left = if explicit && options.left.is_none() {
        None
    } else {
        pick(&options.left, input::LEFT_ALIASES)?
    };
    let right = if explicit && options.right.is_none() {
        None
    } else {
        pick(&options.right, input::RIGHT_ALIASES)?
    };
    if left.is_none() && right.is_none() {
        return Err(Error::input(
            loc.clone(),
            format!(
                "no leg EMG signal found among the EDF signals ({}); name them with --left/--right",
                table::shorten(&data_labels(header).join(", "))
            ),
        ));
    }
    if left.is_some() && left == right {
        return Err(Error::input(
            loc.clone(),
            "the same signal was given for both legs",
        ));
    }
    let legs: Vec<(usize, Side)> = [(left, Side::Left), (right, Side::Right)]
        .into_iter()
        .filter_map(|(c, s)| c.map(|c| (c, s)))
        .collect();
    let chosen: Vec<usize> = legs.iter().map(|l| l.0).collect();
    let (fs, values) = read_signals(input, loc, options, header, &chosen, SignalKind::Emg)?;
    Recording::from_file(
        fs,
        legs.iter()
            .zip(values)
            .map(|(&(i, side), samples)| (side, header.signals[i].label.clone(), samples)),
        header.start_time.clone(),
        TimeBase::EdfRecords,
        loc,
        // Scaled digital values overflow where a header's physical range is huge.
        false,
    )
}

/// The leg accelerometers of an EDF night.
fn read_accel(
    input: impl Read,
    loc: &Location,
    options: &ReadOptions,
    header: &Header,
) -> Result<AccelRecording> {
    let labels: Vec<String> = header.signals.iter().map(|s| s.label.clone()).collect();
    let (left, right) = input::choose_axes(&labels, options, |n| named(header, n, loc))?;
    if left.is_none() && right.is_none() {
        return Err(Error::input(
            loc.clone(),
            format!(
                "no accelerometer axes found among the EDF signals ({}); name them with --left-axes/--right-axes",
                table::shorten(&data_labels(header).join(", "))
            ),
        ));
    }
    let legs: Vec<([usize; 3], Side)> = [(left, Side::Left), (right, Side::Right)]
        .into_iter()
        .filter_map(|(c, s)| c.map(|c| (c, s)))
        .collect();
    let chosen: Vec<usize> = legs.iter().flat_map(|l| l.0).collect();
    let mut seen = std::collections::HashSet::new();
    if !chosen.iter().all(|i| seen.insert(*i)) {
        return Err(Error::input(
            loc.clone(),
            "the same signal was given for two axes",
        ));
    }
    let (fs, values) = read_signals(input, loc, options, header, &chosen, SignalKind::Accel)?;
    let mut values = values.into_iter();
    let mut out = Vec::new();
    for (idx, side) in legs {
        let mut next = || values.next().unwrap_or_default();
        let axes_g = [next(), next(), next()];
        out.push(AccelLeg {
            names: idx.map(|i| header.signals[i].label.clone()),
            side,
            axes_g,
        });
    }
    let rec = AccelRecording {
        sample_rate_hz: fs,
        legs: out,
        start_time: header.start_time.clone(),
        time_base: TimeBase::EdfRecords,
    };
    rec.validate().map_err(|e| relocate(e, loc))?;
    Ok(rec)
}

/// An unlocated input error from validation, placed in this file.
fn relocate(e: Error, loc: &Location) -> Error {
    match e {
        Error::Input { message, .. } => Error::input(loc.clone(), message),
        other => other,
    }
}

/// Labels of the data (non-annotation) signals.
fn data_labels(header: &Header) -> Vec<String> {
    header
        .signals
        .iter()
        .filter(|s| !s.is_annotation())
        .map(|s| s.label.clone())
        .collect()
}

/// The signal labelled `name` (compared as CSV headers are).
fn named(header: &Header, name: &str, loc: &Location) -> Result<usize> {
    let want = table::normalise(name);
    header
        .signals
        .iter()
        .position(|s| !s.is_annotation() && table::normalise(&s.label) == want)
        .ok_or_else(|| {
            Error::input(
                loc.clone(),
                format!(
                    "no EDF signal labelled `{name}` (signals: {})",
                    table::shorten(&data_labels(header).join(", "))
                ),
            )
        })
}

/// The forms a label is matched in, in order: as it is, without an EDF+ type prefix
/// (`EMG LAT` → `LAT`), and the first electrode of a derivation without its number
/// (`LAT1-LAT2` → `LAT`).
fn label_forms(label: &str) -> [String; 3] {
    let t = label.trim();
    let untyped = ["EMG ", "emg ", "Emg "]
        .iter()
        .find_map(|p| t.strip_prefix(p))
        .unwrap_or(t)
        .trim();
    let first = untyped.split('-').next().unwrap_or(untyped).trim();
    let electrode = first.trim_end_matches(|c: char| c.is_ascii_digit()).trim();
    [t.to_owned(), untyped.to_owned(), electrode.to_owned()]
}

/// All forms of all labels, for kind detection (annotation signals never match).
fn search_names(labels: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(3 * labels.len());
    for form in 0..3 {
        out.extend(labels.iter().map(|l| {
            if l == ANNOTATIONS {
                String::new()
            } else {
                label_forms(l)[form].clone()
            }
        }));
    }
    out
}

/// The first signal matching one of `aliases` (in alias order), trying the label forms of
/// [`label_forms`] in turn.
fn by_alias(header: &Header, aliases: &[&str]) -> Option<usize> {
    let labels: Vec<String> = header.signals.iter().map(|s| s.label.clone()).collect();
    let names = search_names(&labels);
    let n = labels.len();
    (0..3).find_map(|form| table::find_column(&names[form * n..(form + 1) * n], aliases))
}

/// The physical dimension's factor to the library's unit for `kind`, if recognised.
fn dimension_unit(dimension: &str) -> Option<Unit> {
    let d: String = dimension
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .replace(['µ', 'μ'], "u")
        .to_ascii_lowercase();
    Some(match d.as_str() {
        "uv" => Unit::Microvolt,
        "mv" => Unit::Millivolt,
        "v" => Unit::Volt,
        "g" => Unit::G,
        "mg" => Unit::MilliG,
        "m/s^2" | "m/s2" | "m/s/s" | "ms-2" | "ms^-2" => Unit::MetersPerSecondSquared,
        _ => return None,
    })
}

/// Reads the data records, keeping the signals `chosen` (header indices), scaled to the
/// library's unit for `kind`. Returns the common rate and one buffer per chosen signal.
fn read_signals(
    input: impl Read,
    loc: &Location,
    options: &ReadOptions,
    header: &Header,
    chosen: &[usize],
    kind: SignalKind,
) -> Result<(f64, Vec<Vec<f64>>)> {
    let first = &header.signals[chosen[0]];
    for &i in chosen {
        let s = &header.signals[i];
        if s.samples_per_record != first.samples_per_record {
            return Err(Error::input(
                loc.clone(),
                format!(
                    "signals `{}` ({} Hz) and `{}` ({} Hz) have different sample rates",
                    first.label,
                    first.samples_per_record as f64 / header.record_s,
                    s.label,
                    s.samples_per_record as f64 / header.record_s
                ),
            ));
        }
    }
    let (spr, width) = (first.samples_per_record, header.width);
    let fs = spr as f64 / header.record_s;
    // Digital → physical → library unit, per signal: value = a + b · digital.
    let mut maps = Vec::with_capacity(chosen.len());
    for &i in chosen {
        let s = &header.signals[i];
        let unit = match options.unit {
            Some(u) => u,
            None => dimension_unit(&s.dimension).ok_or_else(|| {
                Error::input(
                    loc.clone(),
                    format!(
                        "signal `{}` has physical dimension `{}`, not a unit of {}: give the unit (--unit)",
                        s.label,
                        s.dimension,
                        match kind {
                            SignalKind::Emg => "EMG (uV, mV, V)",
                            SignalKind::Accel => "acceleration (g, mg, m/s^2)",
                        }
                    ),
                )
            })?,
        };
        let factor = unit.factor(kind).ok_or_else(|| {
            Error::input(
                loc.clone(),
                format!(
                    "signal `{}` is in {unit:?}, not a unit of a{} signal",
                    s.label,
                    match kind {
                        SignalKind::Emg => "n EMG",
                        SignalKind::Accel => "n accelerometer",
                    }
                ),
            )
        })?;
        let gain = (s.physical_max - s.physical_min) / (s.digital_max - s.digital_min);
        maps.push((s.offset, s.physical_min, s.digital_min, gain, factor));
    }
    let annotation = header.signals.iter().find(|s| s.is_annotation());
    if header.variant == Variant::Discontinuous && annotation.is_none() {
        return Err(Error::parse(
            loc.at_byte(192, "reserved"),
            "an EDF+D (or BDF+D) file without an annotation signal: record onsets are unknown",
        ));
    }
    // Preallocated from the header up to 8 M samples (64 MB) a signal; beyond, the buffers
    // grow with the data actually read, so a header announcing absurd sizes costs nothing.
    let capacity = header.records.unwrap_or(0).saturating_mul(spr).min(1 << 23);
    let mut out: Vec<Vec<f64>> = chosen
        .iter()
        .map(|_| Vec::with_capacity(capacity))
        .collect();
    let mut first_onset: Option<f64> = None;
    for_each_record(input, header, loc, |k, at, record| {
        // Where this record starts on the grid.
        let start = match (header.variant, annotation) {
            (Variant::Discontinuous, Some(a)) => {
                let bytes = &record[a.offset..a.offset + width * a.samples_per_record];
                let onset = record_onset(bytes).ok_or_else(|| {
                    Error::parse(
                        loc.at_byte(at + a.offset as u64, &a.label),
                        format!("data record {} has no time-keeping annotation", k + 1),
                    )
                })?;
                let t0 = *first_onset.get_or_insert(onset);
                let pos = ((onset - t0) * fs).round();
                let filled = out[0].len();
                if !(pos.is_finite() && pos >= 0.0) || (pos as usize) < filled {
                    return Err(Error::parse(
                        loc.at_byte(at + a.offset as u64, &a.label),
                        format!(
                            "data record {} starts at {onset} s, before the previous one ends",
                            k + 1
                        ),
                    ));
                }
                if onset - t0 > MAX_SPAN_S {
                    return Err(Error::parse(
                        loc.at_byte(at + a.offset as u64, &a.label),
                        format!("data record {} starts at an implausible {onset} s", k + 1),
                    ));
                }
                pos as usize
            }
            _ => out[0].len(),
        };
        for (buf, &(offset, pmin, dmin, gain, factor)) in out.iter_mut().zip(&maps) {
            buf.resize(start, f64::NAN);
            let raw = &record[offset..offset + width * spr];
            let physical = |d: f64| (pmin + (d - dmin) * gain) * factor;
            if width == 3 {
                buf.extend(raw.chunks_exact(3).map(|b| {
                    // Sign-extended from the top byte.
                    physical(f64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8))
                }));
            } else {
                buf.extend(
                    raw.chunks_exact(2)
                        .map(|b| physical(f64::from(i16::from_le_bytes([b[0], b[1]])))),
                );
            }
        }
        Ok(())
    })?;
    if out[0].is_empty() {
        return Err(Error::input(
            loc.clone(),
            "the EDF file has no data records",
        ));
    }
    Ok((fs, out))
}

/// The scoring context in an EDF+ file's annotations, as the events of an NSRR XML file
/// ([`crate::nsrr`] then takes stages, respiratory events, arousals and leg movements
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

/// One annotation of an EDF+ file: a text of a time-stamped annotation list (TAL).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Annotation {
    /// Onset, s after the start of the first data record.
    pub onset_s: f64,
    /// Duration, s, when the TAL gives one.
    pub duration_s: Option<f64>,
    /// The annotation text (UTF-8, trimmed).
    pub text: String,
    /// Byte offset of its TAL in the file.
    pub byte: u64,
}

/// Every annotation of the `EDF Annotations` signals of an EDF+ file read from `input`,
/// in file order, time-keeping ones (the empty first annotation of each record) left out
/// (EDF+ §2.2). Onsets are counted from the first data record's time-keeping onset,
/// which is where the crate's signal readers put 0 s.
///
/// # Errors
/// [`Error::Parse`] naming the byte for a header fault, a file without an annotation
/// signal, a truncated record or a malformed onset or duration.
pub(crate) fn annotations(mut input: impl Read, loc: &Location) -> Result<Vec<Annotation>> {
    let header = read_header(&mut input, loc)?;
    let signals: Vec<&Signal> = header
        .signals
        .iter()
        .filter(|s| s.is_annotation())
        .collect();
    if signals.is_empty() {
        return Err(Error::input(
            loc.clone(),
            "an EDF file without an `EDF Annotations` (or `BDF Annotations`) signal: it holds no scored events",
        ));
    }
    let mut first_onset: Option<f64> = None;
    let mut out = Vec::new();
    for_each_record(input, &header, loc, |_, at, record| {
        for (i, s) in signals.iter().enumerate() {
            let bytes = &record[s.offset..s.offset + header.width * s.samples_per_record];
            let base = at + s.offset as u64;
            parse_tals(bytes, base, i == 0, loc, &mut first_onset, &mut out)?;
        }
        Ok(())
    })?;
    let t0 = first_onset.unwrap_or(0.0);
    for a in &mut out {
        a.onset_s -= t0;
    }
    Ok(out)
}

/// The TALs of one record's annotation signal `bytes` (at file offset `base`) into
/// `out`; `keeping`: the first TAL is the record's time keeping, whose onset (the first
/// record's) is kept in `first_onset`.
fn parse_tals(
    bytes: &[u8],
    base: u64,
    keeping: bool,
    loc: &Location,
    first_onset: &mut Option<f64>,
    out: &mut Vec<Annotation>,
) -> Result<()> {
    let mut i = 0;
    let mut first = keeping;
    while i < bytes.len() {
        if bytes[i] == 0 {
            i += 1;
            continue;
        }
        let end = memchr::memchr(0, &bytes[i..]).map_or(bytes.len(), |e| i + e);
        let tal = &bytes[i..end];
        let byte = base + i as u64;
        let mut parts = tal.split(|&b| b == 0x14);
        let stamp = parts.next().unwrap_or_default();
        let (onset, duration) = match stamp.iter().position(|&b| b == 0x15) {
            Some(p) => (&stamp[..p], Some(&stamp[p + 1..])),
            None => (stamp, None),
        };
        let seconds = |text: &[u8], what: &str, signed: bool| -> Result<f64> {
            let s = std::str::from_utf8(text).unwrap_or("");
            let ok = if signed {
                s.starts_with(['+', '-'])
            } else {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            };
            s.parse::<f64>()
                .ok()
                .filter(|v| ok && v.is_finite())
                .ok_or_else(|| {
                    Error::parse(
                        loc.at_byte(byte, ANNOTATIONS),
                        format!(
                            "malformed annotation {what} `{}`",
                            crate::table::shorten(&String::from_utf8_lossy(text))
                        ),
                    )
                })
        };
        let onset_s = seconds(onset, "onset", true)?;
        let duration_s = duration
            .map(|d| seconds(d, "duration", false))
            .transpose()?;
        if first {
            // The time-keeping annotation: empty, its onset the record's start.
            first_onset.get_or_insert(onset_s);
            first = false;
        }
        for t in parts {
            let text = String::from_utf8_lossy(t).trim().to_owned();
            if !text.is_empty() {
                out.push(Annotation {
                    onset_s,
                    duration_s,
                    text,
                    byte,
                });
            }
        }
        i = end + 1;
    }
    Ok(())
}

/// Reads the data records of `header` from `input` (positioned after the header) one at
/// a time into one buffer, calling `each(index, file offset, record)`; stops at the
/// announced count, or at the end of the file when the count is unknown (-1).
///
/// # Errors
/// A record cut short by the end of the file (naming its byte), I/O errors, and `each`'s.
fn for_each_record(
    mut input: impl Read,
    header: &Header,
    loc: &Location,
    mut each: impl FnMut(usize, u64, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut record = vec![0u8; header.record_bytes];
    let header_bytes = 256 * (header.signals.len() as u64 + 1);
    let mut k = 0usize;
    loop {
        if header.records.is_some_and(|n| k >= n) {
            return Ok(());
        }
        let at = header_bytes + k as u64 * header.record_bytes as u64;
        match read_full(&mut input, &mut record) {
            Ok(n) if n == record.len() => {}
            Ok(0) if header.records.is_none() => return Ok(()),
            Ok(n) => {
                let announced = header
                    .records
                    .map_or_else(String::new, |n| format!(" of the {n} announced"));
                return Err(Error::parse(
                    loc.at_byte(at + n as u64, "data record"),
                    format!("the file ends inside data record {}{announced}", k + 1),
                ));
            }
            Err(e) => return Err(Error::io(loc.path.as_deref(), e)),
        }
        each(k, at, &record)?;
        k += 1;
    }
}

/// Fills `buf` from `input` as far as it goes; the count read.
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(m) => n += m,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The onset (s) of a data record: the first time-stamped annotation list of its
/// annotation signal, `+onset\x14\x14\0` (EDF+ §2.2.4).
fn record_onset(bytes: &[u8]) -> Option<f64> {
    let end = bytes.iter().position(|&b| b == 0x14 || b == 0x15)?;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    if !text.starts_with(['+', '-']) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Reads and checks the header (256 bytes, then 256 per signal).
fn read_header(input: &mut impl Read, loc: &Location) -> Result<Header> {
    let io = |e| Error::io(loc.path.as_deref(), e);
    let mut fixed = [0u8; 256];
    let got = read_full(input, &mut fixed).map_err(io)?;
    let width = if fixed.starts_with(BDF_MAGIC) {
        3
    } else if fixed.starts_with(MAGIC) {
        2
    } else {
        return Err(Error::parse(
            loc.at_byte(0, "version"),
            "not an EDF or BDF file (the version field is neither `0` nor `\\xFFBIOSEMI`)",
        ));
    };
    if got < 256 {
        return Err(Error::parse(
            loc.at_byte(got as u64, "header"),
            format!("the file ends inside the 256-byte EDF header ({got} bytes)"),
        ));
    }
    let field = |at: usize, len: usize| -> String {
        // EDF headers are ASCII; a stray byte (e.g. Latin-1 µ) is kept as its character.
        fixed[at..at + len]
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let number = |at: usize, len: usize, name: &str| -> Result<f64> {
        let text = field(at, len);
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                Error::parse(
                    loc.at_byte(at as u64, name),
                    format!("`{text}` is not a number"),
                )
            })
    };
    let whole = |at: usize, len: usize, name: &str| -> Result<i64> {
        let text = field(at, len);
        text.parse::<i64>().map_err(|_| {
            Error::parse(
                loc.at_byte(at as u64, name),
                format!("`{text}` is not a whole number"),
            )
        })
    };
    let header_bytes = whole(184, 8, "number of bytes in header")?;
    let reserved = field(192, 44);
    let variant = if reserved.starts_with("EDF+D") || reserved.starts_with("BDF+D") {
        Variant::Discontinuous
    } else {
        Variant::Contiguous
    };
    let records = match whole(236, 8, "number of data records")? {
        -1 => None,
        n if n >= 0 => Some(n as usize),
        n => {
            return Err(Error::parse(
                loc.at_byte(236, "number of data records"),
                format!("{n} data records"),
            ));
        }
    };
    let record_s = number(244, 8, "duration of a data record")?;
    // 0 s is allowed (EDF+ §2.2.4: a file of annotations only); signals need more.
    if record_s.is_nan() || record_s < 0.0 {
        return Err(Error::parse(
            loc.at_byte(244, "duration of a data record"),
            format!("a data record lasts {record_s} s"),
        ));
    }
    let ns = whole(252, 4, "number of signals")?;
    let ns = usize::try_from(ns)
        .ok()
        .filter(|&n| (1..=MAX_SIGNALS).contains(&n))
        .ok_or_else(|| {
            Error::parse(
                loc.at_byte(252, "number of signals"),
                format!("{ns} signals"),
            )
        })?;
    if header_bytes != 256 * (ns as i64 + 1) {
        return Err(Error::parse(
            loc.at_byte(184, "number of bytes in header"),
            format!(
                "{header_bytes} header bytes, but {ns} signals need {}",
                256 * (ns + 1)
            ),
        ));
    }
    // Grown with the bytes actually there: a damaged count costs no memory.
    let mut per = Vec::new();
    let got = input
        .take(256 * ns as u64)
        .read_to_end(&mut per)
        .map_err(io)?;
    if got < 256 * ns {
        return Err(Error::parse(
            loc.at_byte(256 + got as u64, "signal headers"),
            format!(
                "the file ends inside the signal headers ({got} of {} bytes)",
                256 * ns
            ),
        ));
    }
    // Field-major layout: all labels, then all transducer types, ... (EDF §2.1.2).
    let widths = [16usize, 80, 8, 8, 8, 8, 8, 80, 8, 32];
    let names = [
        "label",
        "transducer type",
        "physical dimension",
        "physical minimum",
        "physical maximum",
        "digital minimum",
        "digital maximum",
        "prefiltering",
        "number of samples in each data record",
        "reserved",
    ];
    let mut starts = [0usize; 10];
    for f in 1..10 {
        starts[f] = starts[f - 1] + widths[f - 1] * ns;
    }
    let sfield = |f: usize, i: usize| -> (usize, String) {
        let at = starts[f] + widths[f] * i;
        let text = per[at..at + widths[f]]
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .trim()
            .to_owned();
        (256 + at, text)
    };
    let mut signals = Vec::with_capacity(ns);
    let mut offset = 0usize;
    for i in 0..ns {
        let label = sfield(0, i).1;
        let what = |f: usize| format!("{} of signal {} `{label}`", names[f], i + 1);
        let num = |f: usize| -> Result<f64> {
            let (at, text) = sfield(f, i);
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::parse(
                        loc.at_byte(at as u64, &what(f)),
                        format!("`{text}` is not a number"),
                    )
                })
        };
        let (physical_min, physical_max) = (num(3)?, num(4)?);
        let (digital_min, digital_max) = (num(5)?, num(6)?);
        let (at, text) = sfield(8, i);
        let samples_per_record = text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0 && n <= 1 << 24)
            .ok_or_else(|| {
                Error::parse(
                    loc.at_byte(at as u64, &what(8)),
                    format!("`{text}` is not a positive whole number of samples"),
                )
            })?;
        let signal = Signal {
            label: label.clone(),
            dimension: sfield(2, i).1,
            physical_min,
            physical_max,
            digital_min,
            digital_max,
            samples_per_record,
            offset,
        };
        if !signal.is_annotation() {
            let bits = 8 * width;
            let top = f64::from(1u32 << (bits - 1));
            if digital_max <= digital_min
                || !(-top..top).contains(&digital_min)
                || !(-top..top).contains(&digital_max)
            {
                return Err(Error::parse(
                    loc.at_byte(sfield(5, i).0 as u64, &what(5)),
                    format!(
                        "digital range {digital_min}..{digital_max} is not an increasing {bits}-bit range"
                    ),
                ));
            }
            if physical_max == physical_min {
                return Err(Error::parse(
                    loc.at_byte(sfield(3, i).0 as u64, &what(3)),
                    format!("physical minimum and maximum are both {physical_min}"),
                ));
            }
        }
        offset = offset.saturating_add(width * samples_per_record);
        signals.push(signal);
    }
    if offset > MAX_RECORD_BYTES {
        return Err(Error::parse(
            loc.at_byte(256 + starts[8] as u64, names[8]),
            format!("data records of {offset} bytes: not an EDF file this reader can hold"),
        ));
    }
    let start_time = start_time(&field(168, 8), &field(176, 8), &field(88, 80));
    Ok(Header {
        variant,
        width,
        records,
        record_s,
        signals,
        record_bytes: offset,
        start_time,
    })
}

/// `YYYY-MM-DDThh:mm:ss` from the header's `dd.mm.yy` and `hh.mm.ss`; the year from an
/// EDF+ recording field's `Startdate dd-MMM-yyyy` when it has one. `None` when malformed.
fn start_time(date: &str, time: &str, recording: &str) -> Option<String> {
    let parts = |s: &str| -> Option<[u32; 3]> {
        let mut it = s.split('.').map(|p| p.trim().parse::<u32>().ok());
        let v = [it.next()??, it.next()??, it.next()??];
        it.next().is_none().then_some(v)
    };
    let [day, month, yy] = parts(date)?;
    let [h, m, s] = parts(time)?;
    let full_year = recording
        .strip_prefix("Startdate ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|d| d.rsplit('-').next())
        .and_then(|y| y.parse::<u32>().ok())
        .filter(|y| (1985..=2999).contains(y) && y % 100 == yy);
    let year = full_year.unwrap_or(if (85..=99).contains(&yy) {
        1900 + yy
    } else {
        2000 + yy
    });
    let ok = (1..=12).contains(&month) && (1..=31).contains(&day) && h < 24 && m < 60 && s < 60;
    ok.then(|| format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test signal: label, dimension, physical minimum and maximum, samples per record,
    /// and the digital samples of every record in order.
    type TestSignal<'a> = (&'a str, &'a str, f64, f64, usize, Vec<i16>);

    /// A minimal EDF writer for tests.
    fn edf_bytes(
        reserved: &str,
        record_s: f64,
        signals: &[TestSignal<'_>],
        records: usize,
    ) -> Vec<u8> {
        let wide: Vec<WideSignal<'_>> = signals
            .iter()
            .map(|s| {
                (
                    s.0,
                    s.1,
                    s.2,
                    s.3,
                    s.4,
                    s.5.iter().map(|&d| i32::from(d)).collect(),
                )
            })
            .collect();
        file_bytes(2, reserved, record_s, &wide, records)
    }

    /// A signal of [`file_bytes`]: as [`TestSignal`], with samples of up to 24 bits.
    type WideSignal<'a> = (&'a str, &'a str, f64, f64, usize, Vec<i32>);

    /// An EDF (`width` 2) or BDF (`width` 3) file: the full digital range, `signals` as
    /// (label, dimension, physical min, physical max, samples per record, samples).
    fn file_bytes(
        width: usize,
        reserved: &str,
        record_s: f64,
        signals: &[WideSignal<'_>],
        records: usize,
    ) -> Vec<u8> {
        let pad = |s: &str, n: usize| format!("{s:<n$}").into_bytes()[..n].to_vec();
        let ns = signals.len();
        let mut h = Vec::new();
        if width == 3 {
            h.extend(BDF_MAGIC);
        } else {
            h.extend(pad("0", 8));
        }
        h.extend(pad("X X X X", 80));
        h.extend(pad("Startdate 01-MAR-2024 X X X", 80));
        h.extend(pad("01.03.24", 8));
        h.extend(pad("22.30.05", 8));
        h.extend(pad(&(256 * (ns + 1)).to_string(), 8));
        h.extend(pad(reserved, 44));
        h.extend(pad(&records.to_string(), 8));
        h.extend(pad(&record_s.to_string(), 8));
        h.extend(pad(&ns.to_string(), 4));
        for s in signals {
            h.extend(pad(s.0, 16));
        }
        for _ in signals {
            h.extend(pad("", 80));
        }
        for s in signals {
            h.extend(pad(s.1, 8));
        }
        for s in signals {
            h.extend(pad(&s.2.to_string(), 8));
        }
        for s in signals {
            h.extend(pad(&s.3.to_string(), 8));
        }
        let top = 1i32 << (8 * width - 1);
        for _ in signals {
            h.extend(pad(&(-top).to_string(), 8));
        }
        for _ in signals {
            h.extend(pad(&(top - 1).to_string(), 8));
        }
        for _ in signals {
            h.extend(pad("", 80));
        }
        for s in signals {
            h.extend(pad(&s.4.to_string(), 8));
        }
        for _ in signals {
            h.extend(pad("", 32));
        }
        for r in 0..records {
            for s in signals {
                for d in &s.5[r * s.4..(r + 1) * s.4] {
                    h.extend(&d.to_le_bytes()[..width]);
                }
            }
        }
        h
    }

    fn read_bytes(bytes: &[u8], opts: &ReadOptions) -> Result<input::Night> {
        read(
            bytes,
            &Location::file(Some(std::path::Path::new("n.edf"))),
            opts,
        )
    }

    fn emg(bytes: &[u8]) -> Result<Recording> {
        match read_bytes(bytes, &ReadOptions::new())? {
            input::Night::Emg(r) => Ok(r),
            input::Night::Accel(_) => panic!("read as accelerometer"),
        }
    }

    /// Two legs at 4 samples per 0.5-s record (8 Hz) plus an EEG at another rate.
    fn two_legs(reserved: &str, records: usize) -> Vec<u8> {
        let left: Vec<i16> = (0..4 * records).map(|i| i as i16 * 100).collect();
        let right: Vec<i16> = (0..4 * records).map(|i| -(i as i16)).collect();
        let eeg: Vec<i16> = vec![7; 2 * records];
        edf_bytes(
            reserved,
            0.5,
            &[
                ("EEG C3-A2", "uV", -500.0, 500.0, 2, eeg),
                ("EMG LAT1-LAT2", "uV", -3276.8, 3276.7, 4, left),
                ("Leg R", "mV", -32.768, 32.767, 4, right),
            ],
            records,
        )
    }

    #[test]
    fn reads_legs_by_label_scaled_to_microvolts() {
        let r = emg(&two_legs("", 3)).unwrap();
        assert_eq!(r.sample_rate_hz, 8.0);
        assert_eq!(r.time_base, TimeBase::EdfRecords);
        assert_eq!(r.start_time.as_deref(), Some("2024-03-01T22:30:05"));
        let l = &r.channel(Side::Left).unwrap().samples_uv;
        let rr = &r.channel(Side::Right).unwrap().samples_uv;
        assert_eq!(l.len(), 12);
        assert_eq!(r.channels[0].name, "EMG LAT1-LAT2");
        // Gain 0.1 µV per unit: digital 100·i → 10·i µV (to rounding).
        for (i, v) in l.iter().enumerate() {
            assert!((v - 10.0 * i as f64).abs() < 1e-9, "{i}: {v}");
        }
        // mV with gain 0.001 mV per unit → −i µV.
        for (i, v) in rr.iter().enumerate() {
            assert!((v + i as f64).abs() < 1e-9, "{i}: {v}");
        }
    }

    #[test]
    fn names_units_and_rates_are_checked() {
        let bytes = two_legs("", 2);
        let opts = ReadOptions::new().left("eeg c3-a2").right("Leg R");
        let e = read_bytes(&bytes, &opts).unwrap_err().to_string();
        assert!(e.contains("different sample rates"), "{e}");
        let opts = ReadOptions::new().left("nope");
        let e = read_bytes(&bytes, &opts).unwrap_err().to_string();
        assert!(e.starts_with("n.edf: no EDF signal labelled `nope`"), "{e}");
        let opts = ReadOptions::new().sample_rate_hz(8.0);
        assert!(read_bytes(&bytes, &opts).is_err());
        // One leg by name; the unit override replaces the dimensions.
        let opts = ReadOptions::new().right("leg r").unit(Unit::Microvolt);
        let input::Night::Emg(r) = read_bytes(&bytes, &opts).unwrap() else {
            panic!()
        };
        assert_eq!(r.channels.len(), 1);
        assert!((r.channels[0].samples_uv[3] + 0.003).abs() < 1e-12);
        // No leg at all.
        let eeg_only = edf_bytes("", 1.0, &[("EEG", "uV", -1.0, 1.0, 2, vec![0; 2])], 1);
        let e = emg(&eeg_only).unwrap_err().to_string();
        assert!(e.contains("no leg EMG signal found"), "{e}");
        // An unknown dimension needs --unit.
        let odd = edf_bytes("", 1.0, &[("LAT", "furlong", -1.0, 1.0, 2, vec![0; 2])], 1);
        assert!(emg(&odd).unwrap_err().to_string().contains("--unit"));
    }

    #[test]
    fn header_faults_name_their_byte_and_field() {
        let good = two_legs("", 2);
        let mut b = good.clone();
        b[252..256].copy_from_slice(b"x   ");
        assert_eq!(
            emg(&b).unwrap_err().to_string(),
            "n.edf, byte 252 (number of signals): `x` is not a whole number"
        );
        let mut b = good.clone();
        b[244..252].copy_from_slice(b"0       ");
        assert!(emg(&b).unwrap_err().to_string().contains("byte 244"));
        // Physical minimum of signal 2: field block starts at 256 + (16 + 80 + 8)·3.
        let mut b = good.clone();
        let at = 256 + (16 + 80 + 8) * 3 + 8;
        b[at..at + 8].copy_from_slice(b"abc     ");
        let e = emg(&b).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "byte {at} (physical minimum of signal 2 `EMG LAT1-LAT2`)"
            )),
            "{e}"
        );
        // Truncated data: names the record.
        let e = emg(&good[..good.len() - 3]).unwrap_err().to_string();
        assert!(
            e.contains("ends inside data record 2 of the 2 announced"),
            "{e}"
        );
        assert!(
            emg(&good[..100])
                .unwrap_err()
                .to_string()
                .contains("byte 100")
        );
        assert!(
            emg(&good[..300])
                .unwrap_err()
                .to_string()
                .contains("signal headers")
        );
        let mut b = good.clone();
        b[..8].copy_from_slice(b"1       ");
        assert!(
            emg(&b)
                .unwrap_err()
                .to_string()
                .contains("not an EDF or BDF file")
        );
        assert!(emg(b"time_s,left\n0,1\n").is_err());
        // -1 records: as many as the file holds.
        let mut b = good.clone();
        b[236..244].copy_from_slice(b"-1      ");
        assert_eq!(emg(&b).unwrap().channels[0].samples_uv.len(), 8);
    }

    #[test]
    fn discontinuous_records_are_placed_at_their_onsets() {
        // 1-s records of 4 samples (4 Hz); record onsets 0, 1, 3 s: a 1-s gap.
        let onsets = ["+0", "+1", "+3"];
        let mut tal = Vec::new();
        for o in onsets {
            let mut t = format!("{o}\x14\x14\0").into_bytes();
            t.resize(16, 0);
            tal.extend(t.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])));
        }
        let leg: Vec<i16> = (0..12).map(|i| i as i16).collect();
        let bytes = edf_bytes(
            "EDF+D",
            1.0,
            &[
                ("Tib L", "uV", -32768.0, 32767.0, 4, leg),
                ("EDF Annotations", "", -1.0, 1.0, 8, tal),
            ],
            3,
        );
        let r = emg(&bytes).unwrap();
        let x = &r.channels[0].samples_uv;
        assert_eq!(x.len(), 16);
        assert!(x[8..12].iter().all(|v| v.is_nan()));
        assert_eq!(x[12], 8.0);
        assert_eq!(x[7], 7.0);
        // Out of order: an error naming the record.
        let mut b = bytes.clone();
        let pos = b.windows(3).rposition(|w| w == b"+3\x14").unwrap();
        b[pos + 1] = b'0';
        let e = emg(&b).unwrap_err().to_string();
        assert!(e.contains("data record 3 starts at 0 s"), "{e}");
    }

    #[test]
    fn bdf_samples_are_24_bit_and_bdf_plus_annotations_are_read() {
        // BDF+D: 1-s records of 4 samples, record onsets 0, 1 and 3 s, a stage annotation;
        // samples across the 24-bit range, 1 digital unit = 1 µV.
        let mut tal = Vec::new();
        for t in [
            "+0\x14\x14\0+0\x1530\x14Sleep stage 2\x14\0",
            "+1\x14\x14\0",
            "+3\x14\x14\0",
        ] {
            let mut b = t.as_bytes().to_vec();
            b.resize(30, 0);
            tal.extend(
                b.chunks_exact(3)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], 0])),
            );
        }
        let digital = [
            -8_388_608, 8_388_607, -1, 0, 1, 65_536, -65_537, 1_234_567, -7_654_321, 255, -256, 42,
        ];
        let bytes = file_bytes(
            3,
            "BDF+D",
            1.0,
            &[
                (
                    "EMG Leg L",
                    "uV",
                    -8_388_608.0,
                    8_388_607.0,
                    4,
                    digital.to_vec(),
                ),
                ("BDF Annotations", "", -1.0, 1.0, 10, tal),
            ],
            3,
        );
        let r = emg(&bytes).unwrap();
        assert_eq!(r.sample_rate_hz, 4.0);
        let x = &r.channels[0].samples_uv;
        assert_eq!(x.len(), 16);
        for (k, d) in digital.iter().enumerate() {
            let at = if k < 8 { k } else { k + 4 };
            assert_eq!(x[at], f64::from(*d), "sample {k}");
        }
        assert!(x[8..12].iter().all(|v| v.is_nan()));
        let loc = Location::file(Some(std::path::Path::new("n.bdf")));
        let got = annotations(&bytes[..], &loc).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].onset_s, got[0].duration_s, got[0].text.as_str()),
            (0.0, Some(30.0), "Sleep stage 2")
        );
        // A 16-bit digital range check does not apply, a 24-bit one does.
        let wide = file_bytes(3, "", 1.0, &[("Leg L", "uV", -1.0, 1.0, 4, vec![0; 4])], 1);
        assert!(emg(&wide).is_ok());
        let mut b = wide.clone();
        let at = b.windows(8).position(|w| w == b"-8388608").unwrap();
        b[at..at + 8].copy_from_slice(b"-9000000");
        let e = emg(&b).unwrap_err().to_string();
        assert!(e.contains("not an increasing 24-bit range"), "{e}");
    }

    /// An annotation signal of `n` samples per record holding `tals` (record by record).
    fn tal_signal(records: &[&[&str]], n: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for tals in records {
            let mut b: Vec<u8> = tals.concat().into_bytes();
            assert!(b.len() <= 2 * n, "TALs too long for the signal");
            b.resize(2 * n, 0);
            out.extend(b.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])));
        }
        out
    }

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
        let input = || -> Box<dyn Read + Send> { Box::new(std::io::Cursor::new(bytes.clone())) };
        let h = crate::context::read_hypnogram_from(path, input(), 30.0).unwrap();
        assert_eq!(
            h.epochs,
            vec![
                (0.0, crate::Stage::W),
                (30.0, crate::Stage::N2),
                (60.0, crate::Stage::N2)
            ]
        );
        let r = crate::context::read_respiratory_from(path, input()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].onset_s, r[0].offset_s), (95.5, 107.5));
        assert_eq!(r[0].kind.as_deref(), Some("Obstructive Apnoea"));
        let a = crate::context::read_arousals_from(path, input()).unwrap();
        assert_eq!((a.len(), a[0].onset_s, a[0].offset_s), (1, 100.0, 103.0));
        let m = crate::context::read_leg_movements_from(path, input()).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].onset_s, m[0].offset_s, m[0].side),
            (101.0, 103.0, Side::Left)
        );
    }

    #[test]
    fn annotation_times_count_from_the_first_record_and_faults_name_their_byte() {
        // Records start 10 s into the file: an annotation at +12.5 s is 2.5 s into the signal.
        let tals = tal_signal(
            &[
                &["+10\x14\x14\0"],
                &["+11\x14\x14\0", "+12.5\x1520\x14Hypopnea\x14\0"],
            ],
            24,
        );
        let leg: Vec<i16> = vec![0; 8];
        let bytes = edf_bytes(
            "EDF+C",
            1.0,
            &[
                ("Tib L", "uV", -32768.0, 32767.0, 4, leg),
                ("EDF Annotations", "", -1.0, 1.0, 24, tals),
            ],
            2,
        );
        let loc = Location::file(Some(std::path::Path::new("n.edf")));
        let got = annotations(&bytes[..], &loc).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].onset_s, got[0].duration_s), (2.5, Some(20.0)));
        assert_eq!(got[0].text, "Hypopnea");
        // A malformed onset: an error naming the file and the byte of its list.
        let mut b = bytes.clone();
        let pos = b.windows(5).position(|w| w == b"+12.5").unwrap();
        b[pos] = b'x';
        let e = annotations(&b[..], &loc).unwrap_err().to_string();
        assert!(
            e.contains("n.edf") && e.contains(&format!("byte {pos}")),
            "{e}"
        );
        assert!(e.contains("malformed annotation onset `x12.5`"), "{e}");
        // A file without annotations holds no events.
        let plain = edf_bytes("", 1.0, &[("Tib L", "uV", -1.0, 1.0, 4, vec![0; 4])], 1);
        let e = annotations(&plain[..], &loc).unwrap_err().to_string();
        assert!(
            e.contains("without an `EDF Annotations` (or `BDF Annotations`) signal"),
            "{e}"
        );
        // A signal file still needs records that last.
        let zero = edf_bytes("", 0.0, &[("Tib L", "uV", -1.0, 1.0, 4, vec![0; 4])], 1);
        let e = emg(&zero).unwrap_err().to_string();
        assert!(e.contains("no signal can be read"), "{e}");
    }

    #[test]
    fn label_forms_and_start_times() {
        assert_eq!(
            label_forms(" EMG LAT1-LAT2 "),
            ["EMG LAT1-LAT2", "LAT1-LAT2", "LAT"]
        );
        assert_eq!(label_forms("Leg L1-Leg L2")[2], "Leg L");
        assert_eq!(
            start_time("31.12.99", "23.59.59", "").as_deref(),
            Some("1999-12-31T23:59:59")
        );
        assert_eq!(
            start_time("01.01.84", "00.00.00", "").as_deref(),
            Some("2084-01-01T00:00:00")
        );
        assert_eq!(
            start_time("01.01.84", "00.00.00", "Startdate 01-JAN-2184 X").as_deref(),
            Some("2184-01-01T00:00:00")
        );
        assert_eq!(start_time("1.1.1", "x", ""), None);
        assert_eq!(start_time("32.01.20", "00.00.00", ""), None);
        assert_eq!(dimension_unit("µV"), Some(Unit::Microvolt));
        assert_eq!(dimension_unit("m/s^2"), Some(Unit::MetersPerSecondSquared));
    }

    #[test]
    fn accelerometer_signals_by_label() {
        let axis = |v: i16| vec![v; 8];
        let bytes = edf_bytes(
            "EDF+C",
            1.0,
            &[
                ("Left X", "g", -8.0, 8.0, 4, axis(4096)),
                ("Left Y", "g", -8.0, 8.0, 4, axis(0)),
                ("Left Z", "mg", -8000.0, 8000.0, 4, axis(-4096)),
            ],
            2,
        );
        let input::Night::Accel(r) = read_bytes(&bytes, &ReadOptions::new()).unwrap() else {
            panic!("not read as accelerometer")
        };
        assert_eq!(r.legs.len(), 1);
        assert_eq!(r.legs[0].side, Side::Left);
        assert!((r.legs[0].axes_g[0][0] - 1.000_122).abs() < 1e-3);
        assert!((r.legs[0].axes_g[2][5] + 0.999_878).abs() < 1e-3);
    }
}
