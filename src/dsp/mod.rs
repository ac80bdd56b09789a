//! Signal-processing kernels, free of units and of the scoring rules: they take samples
//! (µV, mg or anything else) and a rate in Hz, and return samples in the same unit.
//!
//! | file | computes |
//! |---|---|
//! | [`butterworth`] | Butterworth band-, low- and high-pass design as second-order sections; IIR notch (scipy's `butter`, `iirnotch`) |
//! | [`zero_phase`] | forward–backward filtering of each gap-free stretch (scipy's `sosfiltfilt`) |
//! | [`cascade`] | the pipelined cascade of sections inside it, with its sample-by-sample oracle |
//! | [`mains`] | which 50/60 Hz lines and harmonics stand out of a Welch spectrum |
//! | [`hum`] | a mains line subtracted as a sinusoid tracked by running medians |
//! | [`running_median`] | centred running median with gaps, with its simple oracle |
//! | [`smooth`] | block means of the rectified signal, centred moving average |
//! | [`select`] | order statistics by integer keys |
//!
//! Crate-private; benches and golden tests reach them through the non-default `internals`
//! feature.

pub mod butterworth;
pub mod cascade;
pub mod hum;
pub mod mains;
pub mod running_median;
pub mod select;
pub mod smooth;
pub mod zero_phase;
