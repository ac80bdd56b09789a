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
//! * **Which signals**: chosen by label with the CSV column rules of [`super::names`]
//!   (case, spaces, `_`, `-` and `.` ignored; the same leg and axis aliases), also without
//!   an EDF+ signal-type prefix (`EMG LAT` → `LAT`) and, for a bipolar derivation, by its
//!   first electrode without its number (`LAT1-LAT2` → `LAT`, `Leg L1-Leg L2` → `Leg L`).
//!   [`Options::left`]/`right` (and `left_axes`/`right_axes`) name signals by label.
//!   The kind of night (EMG or accelerometer) is decided from the labels as for CSV
//!   headers, unless [`Options::signal`] says.
//! * **Values**: physical = physical minimum + (digital − digital minimum) × physical
//!   range / digital range, from each signal's header (EDF §2.1.3), then to µV (EMG) or
//!   g (accelerometer) by the signal's physical dimension (`uV`/`µV`, `mV`, `V`; `g`, `mg`,
//!   `m/s^2`), unless [`Options::unit`] overrides it. A signal without a recognised
//!   dimension needs [`Options::unit`].
//! * **Rate**: samples per data record / record duration. The chosen signals must share it
//!   (a polysomnogram often has legs at one rate and EEG at another; only the chosen
//!   signals matter). [`Options::sample_rate_hz`] is refused: the header states it.
//! * **Time**: EDF and EDF+C records follow each other without gaps. Each EDF+D record
//!   starts at the onset of its first time-keeping annotation (EDF+ §2.2.4), placed on the
//!   sample grid; time between records is a gap (`NaN`), which no leg movement crosses and
//!   which is reported as excluded. Records out of order or overlapping are errors.
//! * **Start time**: the header's start date and time (`dd.mm.yy`, `hh.mm.ss`; years 85–99
//!   are 19xx, others 20xx, the EDF clipping rule; EDF+'s `Startdate dd-MMM-yyyy` in the
//!   recording field gives the full year when present), as `YYYY-MM-DDThh:mm:ss` in the
//!   recording's local time (EDF has no time zone).
//! * **Annotations**: the signal readers use only the time-keeping ones; the scored
//!   stages and events are read by [`super::annotations`]' readers (a hypnogram, respiratory
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

pub(crate) mod header;
pub(crate) mod records;
pub(crate) mod tal;
#[cfg(test)]
pub(crate) mod test_files;

use std::io::Read;

use super::Night;
use super::Options;
use super::accel_recording::AccelRecording;
use super::grid::TimeBase;
use super::names::{
    LEFT_ALIASES, RIGHT_ALIASES, choose_axes, find_unique, kind_from_names, normalise,
};
use super::recording::Recording;
use super::unit::SignalKind;
use crate::error::{Error, Location, Result, shorten};
use crate::events::Side;
pub(crate) use header::read_full;
use header::{ANNOTATIONS, Header, Signal, read_header};
pub(crate) use header::{MAGIC, looks_like_edf};
use records::read_signals;

/// Reads an EDF/EDF+ night from `input` (see the module docs), EMG or accelerometer as
/// the labels (or [`Options::signal`]) say.
pub(crate) fn read_night(mut input: impl Read, loc: &Location, options: &Options) -> Result<Night> {
    let header = open(&mut input, loc, options)?;
    let labels: Vec<String> = header.signals.iter().map(|s| s.label.clone()).collect();
    match kind_from_names(&search_names(&labels), options) {
        SignalKind::Emg => read_emg(input, loc, options, &header).map(Night::Emg),
        SignalKind::Accel => read_accel(input, loc, options, &header).map(Night::Accel),
    }
}

/// The header, once the options are known to suit an EDF file.
fn open(input: &mut impl Read, loc: &Location, options: &Options) -> Result<Header> {
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
    options: &Options,
    header: &Header,
) -> Result<Recording> {
    let pick = |name: &Option<String>, aliases: &[&str]| -> Result<Option<usize>> {
        match name {
            Some(n) => named(header, n, loc).map(Some),
            None => by_alias(header, aliases, loc),
        }
    };
    let explicit = options.left.is_some() || options.right.is_some();
    let left = if explicit && options.left.is_none() {
        None
    } else {
        pick(&options.left, LEFT_ALIASES)?
    };
    let right = if explicit && options.right.is_none() {
        None
    } else {
        pick(&options.right, RIGHT_ALIASES)?
    };
    if left.is_none() && right.is_none() {
        return Err(Error::input(
            loc.clone(),
            format!(
                "no leg EMG signal recognised among the EDF signals ({}); {}",
                shorten(&data_labels(header).join(", ")),
                crate::io::names::leg_fix(&data_labels(header))
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
    let (fs, values, skips) = read_signals(input, loc, options, header, &chosen, SignalKind::Emg)?;
    Recording::from_legs(
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
    .map(|r| r.with_skips(skips))
}

/// The leg accelerometers of an EDF night.
fn read_accel(
    input: impl Read,
    loc: &Location,
    options: &Options,
    header: &Header,
) -> Result<AccelRecording> {
    let labels: Vec<String> = header.signals.iter().map(|s| s.label.clone()).collect();
    let (left, right) = choose_axes(&labels, options, |n| named(header, n, loc))?;
    if left.is_none() && right.is_none() {
        return Err(Error::input(
            loc.clone(),
            format!(
                "no accelerometer axes found among the EDF signals ({}); name them with --left-axes/--right-axes",
                shorten(&data_labels(header).join(", "))
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
    let (fs, values, skips) =
        read_signals(input, loc, options, header, &chosen, SignalKind::Accel)?;
    let mut values = values.into_iter();
    let mut out = Vec::new();
    for (idx, side) in legs {
        let mut next = || values.next().unwrap_or_default();
        let axes_g = [next(), next(), next()];
        out.push((side, idx.map(|i| header.signals[i].label.clone()), axes_g));
    }
    AccelRecording::from_legs(
        fs,
        out,
        header.start_time.clone(),
        TimeBase::EdfRecords,
        loc,
    )
    .map(|r| r.with_skips(skips))
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
    let want = normalise(name);
    let matches: Vec<usize> = (0..header.signals.len())
        .filter(|&i| {
            let s = &header.signals[i];
            !s.is_annotation() && normalise(&s.label) == want
        })
        .collect();
    if let [a, b, ..] = matches[..] {
        return Err(Error::input(
            loc.clone(),
            format!(
                "two EDF signals are labelled `{}`: signals {} and {}",
                shorten(name),
                a + 1,
                b + 1
            ),
        ));
    }
    matches.first().copied().ok_or_else(|| {
        Error::input(
            loc.clone(),
            format!(
                "no EDF signal labelled `{name}` (signals: {})",
                shorten(&data_labels(header).join(", "))
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
fn by_alias(header: &Header, aliases: &[&str], loc: &Location) -> Result<Option<usize>> {
    let labels: Vec<String> = header.signals.iter().map(|s| s.label.clone()).collect();
    let names = search_names(&labels);
    let n = labels.len();
    for form in 0..3 {
        if let Some(i) = find_unique(&names[form * n..(form + 1) * n], &labels, aliases)
            .map_err(|m| Error::input(loc.clone(), m))?
        {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::header::start_time;
    use super::records::dimension_unit;
    use super::*;
    use crate::io::edf::test_files::*;
    use crate::io::{Reader, Unit};

    #[test]
    fn reads_legs_by_label_scaled_to_microvolts() {
        let r = emg(&two_legs("", 3)).unwrap();
        assert_eq!(r.sample_rate_hz(), 8.0);
        assert_eq!(r.time_base(), TimeBase::EdfRecords);
        assert_eq!(r.start_time(), Some("2024-03-01T22:30:05"));
        let l = &r.channel(Side::Left).unwrap().samples_uv();
        let rr = &r.channel(Side::Right).unwrap().samples_uv();
        assert_eq!(l.len(), 12);
        assert_eq!(r.channels()[0].name(), "EMG LAT1-LAT2");
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
        let opts = |r: Reader| r.left("eeg c3-a2").right("Leg R");
        let e = read_bytes(&bytes, opts).unwrap_err().to_string();
        assert!(e.contains("different sample rates"), "{e}");
        let opts = |r: Reader| r.left("nope");
        let e = read_bytes(&bytes, opts).unwrap_err().to_string();
        assert!(e.starts_with("n.edf: no EDF signal labelled `nope`"), "{e}");
        let opts = |r: Reader| r.sample_rate_hz(8.0);
        assert!(read_bytes(&bytes, opts).is_err());
        // One leg by name; the unit override replaces the dimensions.
        let opts = |r: Reader| r.right("leg r").unit(Unit::Microvolt);
        let Night::Emg(r) = read_bytes(&bytes, opts).unwrap() else {
            panic!()
        };
        assert_eq!(r.channels().len(), 1);
        assert!((r.channels()[0].samples_uv()[3] + 0.003).abs() < 1e-12);
        // No leg at all.
        let eeg_only = edf_bytes("", 1.0, &[("EEG", "uV", -1.0, 1.0, 2, vec![0; 2])], 1);
        let e = emg(&eeg_only).unwrap_err().to_string();
        assert!(e.contains("no leg EMG signal recognised"), "{e}");
        // An unknown dimension needs --unit.
        let odd = edf_bytes("", 1.0, &[("LAT", "furlong", -1.0, 1.0, 2, vec![0; 2])], 1);
        assert!(emg(&odd).unwrap_err().to_string().contains("--unit"));
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
        let Night::Accel(r) = read_bytes(&bytes, |r| r).unwrap() else {
            panic!("not read as accelerometer")
        };
        assert_eq!(r.legs().len(), 1);
        assert_eq!(r.legs()[0].side(), Side::Left);
        assert!((r.legs()[0].axes_g()[0][0] - 1.000_122).abs() < 1e-3);
        assert!((r.legs()[0].axes_g()[2][5] + 0.999_878).abs() < 1e-3);
    }
}
