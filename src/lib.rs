//! Detect and score **periodic limb movements during sleep** (PLMS) in leg signals —
//! tibialis-anterior EMG from a polysomnogram, or ankle accelerometers — by the WASM 2016
//! standard (Ferri et al., Sleep Med 2016) or the AASM manual.
//!
//! A night goes through the stages the modules are named after:
//!
//! | stage | module | |
//! |---|---|---|
//! | read | [`io`] | CSV, EDF/EDF+, BDF/BDF+ nights; ankle device files (Axivity, ActiGraph, GENEActiv, ActiLife CSV); hypnograms, respiratory events, arousals and scored leg movements from CSV or a lab's export (NSRR and Profusion XML, EDF+, Embla, RemLogic, CAP, DOMINO) |
//! | detect | [`detect`] | per leg: band-pass, hum removal, envelope, resting level, leg movements — the method is in its docs |
//! | score | [`score`](mod@score) | legs combined, IMIs, PLM series, indices — the rules digest and its sources are in its docs |
//! | report | [`report`] | the [`Report`]: JSON, a CSV of movements, a text summary, an SVG figure, the review page, EDF+ and NSRR XML annotations |
//! | compare | [`compare`](mod@compare) | agreement with a reference scoring |
//! | simulate | [`sim`] | nights with known truth |
//!
//! [`Detector`] wires detection and scoring; [`score`](fn@score) scores leg movements
//! detected elsewhere; [`AnkleNights`] splits ankle device recordings into nights.
//!
//! ```
//! use plm_detect::{Context, Detector, DetectorConfig, Rules, SimConfig, simulate};
//!
//! // A night: here simulated; `io::Reader::new().read_path("night.edf")?` reads one.
//! let night = simulate(&SimConfig { duration_s: 600.0, ..SimConfig::default() })?;
//! let detector = Detector::new(Rules::wasm2016(), DetectorConfig::default())?;
//! let context = Context { hypnogram: Some(night.hypnogram), ..Context::default() };
//! let report = detector.run(&night.recording, &context)?;
//! println!("{} LMs, PLMS index {:?}/h", report.leg_movements.len(), report.summary.plms_index);
//! # Ok::<(), plm_detect::Error>(())
//! ```
//!
//! The library never panics on bad input and never prints: every fault is an [`Error`]
//! naming what is wrong and where. It is a research tool, not a medical device.

#![forbid(unsafe_code)]

pub mod compare;
pub mod detect;
mod dsp;
mod error;
mod events;
pub mod io;
mod par;
mod pipeline;
pub mod report;
pub mod score;
pub mod sim;

pub use compare::{Comparison, compare};
pub use detect::{AccelConfig, DetectorConfig, EnvelopeConfig, MainsRemoval, NotchMode};
pub use error::{Error, Location, Result};
pub use events::{Interval, LegMovement, ReferenceMovement, Side};
pub use io::{
    AccelRecording, AnnotationFile, AnnotationOptions, ClockStart, Context, DeviceFile, Hypnogram,
    Night, Reader, Recording, RespiratoryEvent, SignalKind, Stage, TimeBase, Unit,
};
pub use pipeline::ankles::{AnkleNight, AnkleNights, WindowChoice};
pub use pipeline::{Detector, Workspace, score};
pub use report::{ContextSource, Report};
pub use score::{Rules, Span};
pub use sim::{SimConfig, simulate};

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The kernels and per-leg stages, for benches and golden tests (the non-default
/// `internals` feature): not a stable interface.
#[cfg(feature = "internals")]
pub mod internals {
    pub use crate::detect::envelope::{Envelope, EnvelopeParts, envelope};
    pub use crate::detect::movements::{LmThresholds, detect, detect_with_cuts};
    pub use crate::dsp::butterworth::{Band, Section, butterworth, notch, response};
    pub use crate::dsp::running_median::{running_median, window_median};
    pub use crate::dsp::zero_phase::ZeroPhase;
    pub use crate::pipeline::lm_thresholds;
}
