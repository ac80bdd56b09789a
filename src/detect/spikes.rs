//! Spike clipping: isolated narrow transients in the block means — ECG QRS complexes,
//! electrode pops, a pop beside a QRS — are clipped before the amplitude's running median,
//! so a strong ECG cannot hold a leg movement open or lift the resting level.
//!
//! Input: the block means (µV or mg), the edge amplitude, a provisional resting level and
//! the level a transient must rise above it ([`Profile`]s), the longest spike and the
//! guard, in blocks. Output: the block means with each spike replaced by the quiet level
//! around it, and the spans clipped with the values they held.
//!
//! A spike is shorter than `spike_max_s` (0.3 s: pops are < 0.2 s, a QRS ≈ 0.1 s, a pop
//! beside a QRS widened by the filter's ringing up to ~0.3 s; anything that short is not a
//! leg movement, which lasts ≥ 0.5 s) with `spike_guard_s` of quiet on each side. A
//! sustained burst is longer and never isolated, so it is left alone.

use super::profile::{Profile, for_each_chunk};

/// Clips isolated narrow transients (ECG QRS complexes, electrode pops) in the block means
/// `means`: a cluster of blocks where the edge amplitude `fine` exceeds the provisional
/// resting level `rest` by more than `level_uv` (per block: `spike_level_uv`, or
/// `noise_factor` × the edge amplitude's resting fluctuation where larger; runs less than
/// `guard` apart count as one), at most `max_w` blocks long, with `guard` blocks on each side below that level, is replaced by the median of those guard blocks
/// (widened by one block each side for the filter's ringing). A sustained burst is longer than `max_w` and never
/// isolated, so it is left alone. Returns the clipped spans of blocks, ascending.
pub(crate) fn suppress_spikes(
    means: &mut [f64],
    rest: &Profile,
    fine: &[f64],
    max_w: usize,
    guard: usize,
    level_uv: &Profile,
) -> Vec<(usize, usize)> {
    const UNKNOWN: u8 = 0;
    const QUIET: u8 = 1;
    const HIGH: u8 = 2;
    let n = means.len();
    // Where each block's edge amplitude stands: above the level over rest, at or below it,
    // or unknown (no edge amplitude or resting level); evaluated once, in chunks.
    let mut standing: Vec<u8> = Vec::with_capacity(n);
    for_each_chunk([rest, level_uv], 0, |k0, [rest, level]| {
        let fine = &fine[k0..k0 + rest.len()];
        // Without branches: UNKNOWN (0) unless both are known, then QUIET (1) or HIGH (2).
        standing.extend(fine.iter().zip(rest).zip(level).map(|((&f, &r), &l)| {
            let known = f.is_finite() & r.is_finite();
            u8::from(known) * (QUIET + u8::from(f > r + l))
        }));
    });
    const { assert!(UNKNOWN == 0 && HIGH == QUIET + 1) };
    let side = |b: usize, high: bool| standing[b] == if high { HIGH } else { QUIET };
    let mut changed = Vec::new();
    let mut around: Vec<f64> = Vec::with_capacity(2 * guard);
    let mut k = 0;
    while k < n {
        if !side(k, true) {
            // Quiet stretches are passed over 32 blocks at a time.
            let high_in = |c: &[u8]| c.iter().fold(0, |h, &s| h | u8::from(s == HIGH)) != 0;
            while k + 32 <= n && !high_in(&standing[k..k + 32]) {
                k += 32;
            }
            while k < n && !side(k, true) {
                k += 1;
            }
            continue;
        }
        // A cluster: high runs separated by less than `guard` quiet blocks (a pop next to
        // a QRS is one transient).
        let start = k;
        let mut end;
        loop {
            while k < n && side(k, true) {
                k += 1;
            }
            end = k; // exclusive
            match (end..(end + guard).min(n)).find(|&b| side(b, true)) {
                Some(next) if next - start <= max_w => k = next,
                _ => break,
            }
        }
        if end - start > max_w || start < guard || end + guard > n {
            // Too long to be a spike: skip past the rest of this activity.
            while k < n && !side(k, false) {
                k += 1;
            }
            continue;
        }
        if (start - guard..start).all(|b| side(b, false))
            && (end..end + guard).all(|b| side(b, false))
        {
            // The quiet level around the spike: median of the guard blocks.
            around.clear();
            around.extend(
                (start - guard..start)
                    .chain(end..end + guard)
                    .map(|b| means[b])
                    .filter(|v| v.is_finite()),
            );
            if around.is_empty() {
                continue;
            }
            let mid = around.len() / 2;
            let level = *around.select_nth_unstable_by(mid, f64::total_cmp).1;
            let (a, b) = (start.saturating_sub(1), (end + 1).min(n));
            for m in &mut means[a..b] {
                *m = level;
            }
            changed.push((a, b));
        }
    }
    changed
}
