#![doc = include_str!("../README.md")]

pub mod context;
pub mod error;
pub mod filter;
pub mod events;
pub mod rules;
pub mod scoring;
mod table;

pub use context::{Context, Hypnogram, RespiratoryEvent, Stage};
pub use error::{Error, Location, Result};
pub use events::{Interval, LegMovement, Side};
pub use rules::Rules;
pub use scoring::{CandidateMovement, MovementSide, Scored, Series, Span, Summary, score};
