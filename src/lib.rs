#![doc = include_str!("../README.md")]

pub mod accel;
mod columns;
pub mod compare;
pub mod context;
pub mod detect;
pub mod detector;
pub mod edf;
pub mod envelope;
pub mod error;
pub mod events;
pub mod figure;
pub mod filter;
pub mod hum;
pub mod input;
pub mod nsrr;
mod par;
pub mod report;
pub mod rules;
pub mod scoring;
pub mod signal;
pub mod simulate;
mod table;

pub use accel::{AccelConfig, AccelRecording};
pub use compare::{Comparison, ReferenceMovement, compare};
pub use context::{Context, Hypnogram, RespiratoryEvent, Stage};
pub use detector::{Detector, DetectorConfig, MainsRemoval, NotchMode, Workspace, score_movements};
pub use error::{Error, Location, Result};
pub use events::{Interval, LegMovement, Side};
pub use input::{Night, ReadOptions, SignalKind, Unit, read_any, read_night};
pub use report::Report;
pub use rules::Rules;
pub use scoring::{CandidateMovement, MovementSide, Scored, Series, Span, Summary, score};
pub use signal::{Channel, Recording};
