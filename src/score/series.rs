//! Inter-movement intervals and PLM series (rules digest §3, step 5 of [`super`]).
//!
//! Input: the candidate movements, which of them to look at (all, or all but the
//! respiratory-related ones for the "nr" scoring), the [`Rules`] and the stretches
//! excluded from scoring (s). Output: each CLM's IMI, onset to onset (s), and the series
//! each belongs to. Series break at nonCLMs (when the rules say so), at excluded time
//! between two CLMs, and at short IMIs as [`ShortImi`] says.

use serde::{Deserialize, Serialize};

use super::candidates::CandidateMovement;
use super::rules::{LongMovement, Rules, ShortImi};
use crate::events::Interval;

/// A PLM series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// 1-based id, in time order.
    pub id: usize,
    /// Onset of its first movement, s.
    pub onset_s: f64,
    /// Offset of its last movement, s.
    pub offset_s: f64,
    /// Number of PLMs in it.
    pub count: usize,
    /// Number of its PLMs whose onset is in sleep.
    pub sleep_count: usize,
}

/// IMIs and series over the candidates for which `include` holds (step 5).
pub(crate) struct SeriesResult {
    /// Per candidate: its IMI in s; `None` for the first CLM after a break and for the
    /// candidates not looked at (not included, or not CLMs).
    pub imi: Vec<Option<f64>>,
    /// Per candidate: its series number (from 1), `None` outside a series.
    pub series_of: Vec<Option<usize>>,
    /// Series found.
    pub n_series: usize,
}

/// Step 5 over the candidates for which `include` holds: each CLM's IMI from the previous
/// CLM kept (`None` after a break), and the series of at least `min_series_len` CLMs with
/// IMIs within the rules' bounds, numbered from 1. Series break at nonCLMs (when the rules
/// say so), at excluded time between two CLMs, and at short IMIs as `short_imi` says.
pub(crate) fn periodic_series(
    cands: &[CandidateMovement],
    include: impl Fn(&CandidateMovement) -> bool,
    rules: &Rules,
    excluded: &[Interval],
) -> SeriesResult {
    let n = cands.len();
    let mut res = SeriesResult {
        imi: vec![None; n],
        series_of: vec![None; n],
        n_series: 0,
    };
    let mut run: Vec<usize> = Vec::new();
    let mut prev: Option<f64> = None; // onset of the previous kept CLM
    let close = |run: &mut Vec<usize>, res: &mut SeriesResult| {
        if run.len() >= rules.min_series_len {
            res.n_series += 1;
            for &k in run.iter() {
                res.series_of[k] = Some(res.n_series);
            }
        }
        run.clear();
    };
    for (k, c) in cands.iter().enumerate() {
        if !include(c) {
            continue;
        }
        if !c.clm {
            if rules.long_movements == LongMovement::BreakSeries {
                close(&mut run, &mut res);
                prev = None;
            }
            continue;
        }
        if prev.is_some_and(|p| crosses_excluded(excluded, p, c.onset_s)) {
            close(&mut run, &mut res);
            prev = None;
        }
        let imi = prev.map(|p| c.onset_s - p);
        res.imi[k] = imi;
        match imi {
            Some(i) if i >= rules.imi_min_s && i <= rules.imi_max_s => {
                run.push(k);
            }
            Some(i) if i < rules.imi_min_s => match rules.short_imi {
                ShortImi::Restart => {
                    close(&mut run, &mut res);
                    run.push(k);
                }
                ShortImi::Break => {
                    close(&mut run, &mut res);
                }
                ShortImi::Intervening => continue, // skipped: `prev` stays at the last kept CLM
            },
            _ => {
                // First CLM, or IMI > imi_max_s.
                close(&mut run, &mut res);
                run.push(k);
            }
        }
        prev = Some(c.onset_s);
    }
    close(&mut run, &mut res);
    res
}

/// Does any excluded stretch overlap the open interval `(a, b)`?
fn crosses_excluded(excluded: &[Interval], a: f64, b: f64) -> bool {
    let i = excluded.partition_point(|e| e.offset_s <= a);
    excluded.get(i).is_some_and(|e| e.onset_s < b)
}
