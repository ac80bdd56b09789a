//! Agreement of a detection with a reference scoring: an expert's leg movements (a
//! database's annotations) or a simulator's truth, as a validation study reports it.
//!
//! Input: a detection [`Report`] (its monolateral leg movements, its candidate movements'
//! `periodic` flags, its PLMS index), the reference's monolateral leg movements (s), each
//! with a `certain` flag, and the context and rules to score the reference with. Output: a
//! [`Comparison`]: LM and PLM sensitivity, positive predictive value and F1, onset and
//! offset errors of the matched LMs (s), and both PLMS indices (per hour of sleep).
//!
//! * **Matching** (the project's shared evaluation, `score.py`): a detected and a reference
//!   interval match when they overlap or the gap between them is at most `tolerance_s`
//!   (default 0.5 s, the gap below which WASM 2016 joins movements); pairs are taken
//!   greedily, largest overlap first (ties: later reference, then later detection first),
//!   each interval at most once. LMs are matched leg by leg; PLMs, which may be bilateral,
//!   regardless of leg.
//! * **Uncertain reference movements** (a simulator's barely visible ones, `certain = 0`)
//!   count neither way: a detection that matches one is left out of both counts.
//! * **Reference PLMs**: the reference movements, uncertain ones included, scored by
//!   [`score`](fn@crate::score) with the given rules and context over the whole
//!   recording — no excluded time, since the reference scorer saw all of it — so that the
//!   PLM figures measure detection, not scoring.
//! * **Edge errors**: over the matched LM pairs, the median and 90th percentile of
//!   |detected − reference| (the order statistics `score.py` takes: element ⌊n/2⌋ and
//!   ⌊0.9 (n − 1)⌋ of the sorted errors), and the mean signed error (positive: detected
//!   later).

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::{LegMovement, ReferenceMovement, Side};
use crate::io::Context;
use crate::pipeline::score;
use crate::report::Report;
use crate::score::{Rules, Span};

/// Counts of one matching, and the rates they give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Agreement {
    /// Reference intervals that count (certain ones).
    pub truth: usize,
    /// Detections that count (those matching an uncertain reference interval left out).
    pub detected: usize,
    /// Matched pairs.
    pub matched: usize,
}

impl Agreement {
    /// Matched / reference (1 when there is no reference interval).
    #[must_use]
    pub fn sensitivity(&self) -> f64 {
        ratio(self.matched, self.truth)
    }

    /// Matched / detected (1 when nothing was detected).
    #[must_use]
    pub fn ppv(&self) -> f64 {
        ratio(self.matched, self.detected)
    }

    /// Harmonic mean of sensitivity and PPV.
    #[must_use]
    pub fn f1(&self) -> f64 {
        let (s, p) = (self.sensitivity(), self.ppv());
        if s + p == 0.0 {
            0.0
        } else {
            2.0 * s * p / (s + p)
        }
    }

    /// The sum of two agreements (two legs, two nights).
    #[must_use]
    pub fn plus(self, other: Agreement) -> Agreement {
        Agreement {
            truth: self.truth + other.truth,
            detected: self.detected + other.detected,
            matched: self.matched + other.matched,
        }
    }
}

/// `num / den`, and 1 when there is nothing to find or nothing was found (`den` = 0): no
/// miss and no false alarm.
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// The outcome of [`match_intervals`].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Matching {
    /// The counts.
    pub agreement: Agreement,
    /// Matched pairs as (reference index, detection index) into the slices given.
    pub pairs: Vec<(usize, usize)>,
}

/// Matches `detected` intervals (s) against the `reference` ones, with detections that
/// match an `unsure` interval left out (see the module docs). Intervals are
/// `(onset_s, offset_s)`; neither list needs to be sorted. O((R + D) log(R + D)) plus the
/// overlapping pairs.
#[must_use]
pub(crate) fn match_intervals(
    reference: &[(f64, f64)],
    unsure: &[(f64, f64)],
    detected: &[(f64, f64)],
    tolerance_s: f64,
) -> Matching {
    let tol = tolerance_s;
    let by_onset = |list: &[(f64, f64)]| {
        let mut order: Vec<usize> = (0..list.len()).collect();
        order.sort_by(|&a, &b| {
            list[a]
                .0
                .total_cmp(&list[b].0)
                .then(list[a].1.total_cmp(&list[b].1))
        });
        order
    };
    // Detections touching an uncertain interval are dropped; the rest, in onset order.
    let unsure_order = by_onset(unsure);
    let longest_unsure = unsure.iter().map(|u| u.1 - u.0).fold(0.0, f64::max);
    let kept: Vec<usize> = by_onset(detected)
        .into_iter()
        .filter(|&j| {
            let (c, d) = detected[j];
            // Uncertain intervals starting after d + tol cannot touch; those starting
            // before c − tol − longest cannot either.
            let from = unsure_order.partition_point(|&u| unsure[u].0 < c - tol - longest_unsure);
            !unsure_order[from..]
                .iter()
                .take_while(|&&u| unsure[u].0 <= d + tol)
                .any(|&u| c - tol <= unsure[u].1 && d + tol >= unsure[u].0)
        })
        .collect();
    let longest_det = kept
        .iter()
        .map(|&j| detected[j].1 - detected[j].0)
        .fold(0.0, f64::max);
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, &(a, b)) in reference.iter().enumerate() {
        let from = kept.partition_point(|&j| detected[j].0 < a - tol - longest_det);
        for (k, &j) in kept.iter().enumerate().skip(from) {
            let (c, d) = detected[j];
            if c - tol > b {
                break;
            }
            if d + tol >= a {
                pairs.push((b.min(d) - a.max(c), i, k));
            }
        }
    }
    // Largest overlap first; ties as `score.py` sorts its tuples (descending).
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(y.1.cmp(&x.1)).then(y.2.cmp(&x.2)));
    let mut used_reference = vec![false; reference.len()];
    let mut used_detected = vec![false; kept.len()];
    let mut matched = Vec::new();
    for (_, i, k) in pairs {
        if !used_reference[i] && !used_detected[k] {
            used_reference[i] = true;
            used_detected[k] = true;
            matched.push((i, kept[k]));
        }
    }
    Matching {
        agreement: Agreement {
            truth: reference.len(),
            detected: kept.len(),
            matched: matched.len(),
        },
        pairs: matched,
    }
}

/// Median, 90th percentile and signed mean of edge errors, s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EdgeErrors {
    /// Median of |detected − reference|.
    pub median_abs_s: f64,
    /// 90th percentile of |detected − reference|.
    pub p90_abs_s: f64,
    /// Mean of detected − reference (positive: detected later).
    pub mean_s: f64,
}

impl EdgeErrors {
    /// `None` for no pairs.
    fn of(signed: &[f64]) -> Option<Self> {
        if signed.is_empty() {
            return None;
        }
        let mut abs: Vec<f64> = signed.iter().map(|e| e.abs()).collect();
        abs.sort_by(f64::total_cmp);
        let n = abs.len();
        Some(EdgeErrors {
            median_abs_s: abs[n / 2],
            p90_abs_s: abs[(9 * (n - 1)) / 10],
            mean_s: signed.iter().sum::<f64>() / n as f64,
        })
    }
}

/// A detection compared with a reference ([`compare`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Widening of both intervals before matching, s.
    pub tolerance_s: f64,
    /// Leg movements, both legs.
    pub lm: Agreement,
    /// Leg movements of the left leg.
    pub lm_left: Agreement,
    /// Leg movements of the right leg.
    pub lm_right: Agreement,
    /// Reference movements marked uncertain (in neither count).
    pub uncertain_reference: usize,
    /// Onset errors of the matched LMs (`None` without a match).
    pub onset_errors: Option<EdgeErrors>,
    /// Offset errors of the matched LMs.
    pub offset_errors: Option<EdgeErrors>,
    /// PLMs (candidate movements in a series), either leg.
    pub plm: Agreement,
    /// The detection's PLMS index, /h of sleep.
    pub plms_index: Option<f64>,
    /// The reference's PLMS index, /h of sleep.
    pub reference_plms_index: Option<f64>,
    /// Detected − reference PLMS index, /h.
    pub plms_index_difference: Option<f64>,
    /// The reference scored with the same rules and context.
    pub reference: Report,
}

/// Compares `detection` with the `reference` movements, scoring those with `rules` and
/// `context` over the detection's recording length (see the module docs).
///
/// # Errors
/// [`Error::Config`] for a tolerance that is negative or not finite; as
/// [`score`](fn@crate::score) for invalid reference movements, rules or context.
pub fn compare(
    detection: &Report,
    reference: &[ReferenceMovement],
    context: &Context,
    rules: &Rules,
    tolerance_s: f64,
) -> Result<Comparison> {
    if !(tolerance_s.is_finite() && tolerance_s >= 0.0) {
        return Err(Error::config(
            "tolerance_s",
            format!("must be ≥ 0 s, got {tolerance_s}"),
        ));
    }
    let all: Vec<LegMovement> = reference.iter().map(|r| r.lm).collect();
    let span = Span {
        duration_s: Some(detection.recording.duration_s),
        ..Span::default()
    };
    let scored = score(&all, context, rules, span)?;
    let (mut onset, mut offset) = (Vec::new(), Vec::new());
    let mut per_leg = |side: Side| {
        let pick = |certain: bool| -> Vec<(f64, f64)> {
            reference
                .iter()
                .filter(|r| r.certain == certain && r.lm.side == side)
                .map(|r| (r.lm.onset_s, r.lm.offset_s))
                .collect()
        };
        let sure = pick(true);
        let found: Vec<(f64, f64)> = detection
            .leg_movements
            .iter()
            .filter(|m| m.side == side)
            .map(|m| (m.onset_s, m.offset_s))
            .collect();
        let m = match_intervals(&sure, &pick(false), &found, tolerance_s);
        for &(i, j) in &m.pairs {
            onset.push(found[j].0 - sure[i].0);
            offset.push(found[j].1 - sure[i].1);
        }
        m.agreement
    };
    let (lm_left, lm_right) = (per_leg(Side::Left), per_leg(Side::Right));
    let periodic = |report: &Report| -> Vec<(f64, f64)> {
        report
            .candidate_movements
            .iter()
            .filter(|c| c.periodic)
            .map(|c| (c.onset_s, c.offset_s))
            .collect()
    };
    let plm = match_intervals(&periodic(&scored), &[], &periodic(detection), tolerance_s);
    let (index, reference_index) = (detection.summary.plms_index, scored.summary.plms_index);
    Ok(Comparison {
        tolerance_s,
        lm: lm_left.plus(lm_right),
        lm_left,
        lm_right,
        uncertain_reference: reference.iter().filter(|r| !r.certain).count(),
        onset_errors: EdgeErrors::of(&onset),
        offset_errors: EdgeErrors::of(&offset),
        plm: plm.agreement,
        plms_index: index,
        reference_plms_index: reference_index,
        plms_index_difference: index.zip(reference_index).map(|(d, r)| d - r),
        reference: scored,
    })
}

impl Comparison {
    /// A few lines for people: counts, rates, edge errors, indices.
    #[must_use]
    pub fn summary_text(&self) -> String {
        use std::fmt::Write as _;
        let rates = |a: &Agreement| {
            format!(
                "sensitivity {:.3}, PPV {:.3}, F1 {:.3}",
                a.sensitivity(),
                a.ppv(),
                a.f1()
            )
        };
        let uncertain = if self.uncertain_reference > 0 {
            format!(" (+{} uncertain)", self.uncertain_reference)
        } else {
            String::new()
        };
        let mut t = String::new();
        let _ = writeln!(
            t,
            "LMs         reference {}{uncertain}, detected {}, matched {}: {} (left F1 {:.3}, right F1 {:.3})",
            self.lm.truth,
            self.lm.detected,
            self.lm.matched,
            rates(&self.lm),
            self.lm_left.f1(),
            self.lm_right.f1(),
        );
        if let (Some(on), Some(off)) = (self.onset_errors, self.offset_errors) {
            let _ = writeln!(
                t,
                "edges       onset |error| median {:.3} s (p90 {:.3} s, mean {:+.3} s), offset median {:.3} s (p90 {:.3} s, mean {:+.3} s)",
                on.median_abs_s,
                on.p90_abs_s,
                on.mean_s,
                off.median_abs_s,
                off.p90_abs_s,
                off.mean_s
            );
        }
        let _ = writeln!(
            t,
            "PLMs        reference {}, detected {}, matched {}: {}",
            self.plm.truth,
            self.plm.detected,
            self.plm.matched,
            rates(&self.plm)
        );
        let index = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}/h"));
        let _ = write!(
            t,
            "PLMS index  reference {}, detected {}",
            index(self.reference_plms_index),
            index(self.plms_index),
        );
        if let Some(d) = self.plms_index_difference {
            let _ = write!(t, ", difference {d:+.1}/h");
        }
        t.push('\n');
        t
    }
}

/// Comparisons of several nights pooled, as a validation study reports them ([`pool`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pooled {
    /// Nights pooled.
    pub nights: usize,
    /// Leg movements, summed over the nights.
    pub lm: Agreement,
    /// PLMs, summed over the nights.
    pub plm: Agreement,
    /// Nights with both PLMS indices (those without sleep have none).
    pub indexed_nights: usize,
    /// Mean of detected − reference PLMS index (the bias), /h.
    pub plms_index_mean_difference: Option<f64>,
    /// Mean of |detected − reference| PLMS index, /h.
    pub plms_index_mean_abs_difference: Option<f64>,
    /// Pearson correlation of the detected and reference PLMS indices.
    pub plms_index_pearson_r: Option<f64>,
    /// Intraclass correlation ICC(2,1) (two-way random effects, absolute agreement, one
    /// rater; Shrout & Fleiss 1979) of the detected and reference PLMS indices.
    pub plms_index_icc: Option<f64>,
}

/// Pools per-night comparisons: agreement counts summed (so sensitivity, PPV and F1 are
/// over all movements), and the agreement of the nights' PLMS indices.
#[must_use]
pub fn pool(nights: &[Comparison]) -> Pooled {
    let lm = nights
        .iter()
        .fold(Agreement::default(), |a, c| a.plus(c.lm));
    let plm = nights
        .iter()
        .fold(Agreement::default(), |a, c| a.plus(c.plm));
    let pairs: Vec<(f64, f64)> = nights
        .iter()
        .filter_map(|c| c.plms_index.zip(c.reference_plms_index))
        .collect();
    let n = pairs.len() as f64;
    let mean = |f: &dyn Fn(&(f64, f64)) -> f64| {
        (!pairs.is_empty()).then(|| pairs.iter().map(f).sum::<f64>() / n)
    };
    Pooled {
        nights: nights.len(),
        lm,
        plm,
        indexed_nights: pairs.len(),
        plms_index_mean_difference: mean(&|&(d, r)| d - r),
        plms_index_mean_abs_difference: mean(&|&(d, r)| (d - r).abs()),
        plms_index_pearson_r: pearson(&pairs),
        plms_index_icc: icc_2_1(&pairs.iter().map(|&(d, r)| [d, r]).collect::<Vec<_>>()),
    }
}

/// Pearson's r of the pairs; `None` for fewer than 2 or no variance on a side.
fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// ICC(2,1) of `rows` (one row per subject, one column per rater): two-way random
/// effects, absolute agreement, single rater (Shrout & Fleiss 1979, case 2):
/// (MSR − MSE) / (MSR + (k − 1) MSE + k (MSC − MSE) / n). `None` for fewer than 2
/// subjects or a zero denominator.
#[must_use]
fn icc_2_1<const K: usize>(rows: &[[f64; K]]) -> Option<f64> {
    let (n, k) = (rows.len() as f64, K as f64);
    if rows.len() < 2 || K < 2 {
        return None;
    }
    let grand = rows.iter().flatten().sum::<f64>() / (n * k);
    let ssr = k * rows
        .iter()
        .map(|r| (r.iter().sum::<f64>() / k - grand).powi(2))
        .sum::<f64>();
    let ssc = n
        * (0..K)
            .map(|j| (rows.iter().map(|r| r[j]).sum::<f64>() / n - grand).powi(2))
            .sum::<f64>();
    let sst = rows
        .iter()
        .flatten()
        .map(|v| (v - grand).powi(2))
        .sum::<f64>();
    let (msr, msc) = (ssr / (n - 1.0), ssc / (k - 1.0));
    let mse = (sst - ssr - ssc) / ((n - 1.0) * (k - 1.0));
    let den = msr + (k - 1.0) * mse + k * (msc - mse) / n;
    (den != 0.0).then(|| (msr - mse) / den)
}

impl Pooled {
    /// A few lines for people.
    #[must_use]
    pub fn summary_text(&self) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        for (what, a) in [("LMs", &self.lm), ("PLMs", &self.plm)] {
            let _ = writeln!(
                t,
                "{what:<11} reference {}, detected {}, matched {}: sensitivity {:.3}, PPV {:.3}, F1 {:.3}",
                a.truth,
                a.detected,
                a.matched,
                a.sensitivity(),
                a.ppv(),
                a.f1()
            );
        }
        let f = |v: Option<f64>, digits: usize| {
            v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.digits$}"))
        };
        let _ = writeln!(
            t,
            "PLMS index  {} nights: mean difference {}/h, mean |difference| {}/h, r {}, ICC(2,1) {}",
            self.indexed_nights,
            f(self.plms_index_mean_difference, 2),
            f(self.plms_index_mean_abs_difference, 2),
            f(self.plms_index_pearson_r, 3),
            f(self.plms_index_icc, 3)
        );
        t
    }
}

/// Reads reference leg movements: a CSV list `onset_s,offset_s,side[,certain]` (a
/// simulated night's truth file, or hand-scored LMs), or any annotation export
/// ([`crate::io::AnnotationFile`]: its scored limb movements, all certain; clock times
/// placed from its first stage epoch — [`crate::io::AnnotationFile::reference_movements`]
/// places them from a given start), plain or gzip.
///
/// # Errors
/// As [`crate::io::read_leg_movements`], and for a `certain` cell other than 0 or 1.
pub fn read_reference(path: impl AsRef<Path>) -> Result<Vec<ReferenceMovement>> {
    let path = path.as_ref();
    read_reference_from(crate::io::open_path(path)?, Some(path))
}

/// [`read_reference`] from any reader; `name` is only used in messages.
///
/// # Errors
/// As [`read_reference`].
pub fn read_reference_from(
    input: impl Read + Send + 'static,
    name: Option<&Path>,
) -> Result<Vec<ReferenceMovement>> {
    let o = crate::io::AnnotationOptions::new(30.0);
    Ok(crate::io::AnnotationFile::read_from(input, name)?
        .reference_movements(&o)?
        .value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_is_one_to_one_largest_overlap_first() {
        let reference = [(10.0, 11.0), (20.0, 21.0)];
        let detected = [(10.2, 11.1), (10.5, 11.5), (30.0, 31.0), (40.0, 41.0)];
        let m = match_intervals(&reference, &[(40.0, 40.5)], &detected, 0.5);
        assert_eq!(
            m.agreement,
            Agreement {
                truth: 2,
                detected: 3,
                matched: 1
            }
        );
        // (10.2, 11.1) overlaps (10, 11) by 0.8 s, (10.5, 11.5) by 0.5 s.
        assert_eq!(m.pairs, vec![(0, 0)]);
        assert!((m.agreement.f1() - 0.4).abs() < 1e-12);
        // Widening: a gap of 0.4 s matches at a 0.5-s tolerance, not at 0.3 s.
        let gap = |tol| match_intervals(&[(0.0, 1.0)], &[], &[(1.4, 2.5)], tol).pairs;
        assert_eq!(gap(0.5), vec![(0, 0)]);
        assert!(gap(0.3).is_empty());
        // Nothing either side: perfect by convention.
        let none = match_intervals(&[], &[], &[], 0.5).agreement;
        assert_eq!((none.sensitivity(), none.ppv(), none.f1()), (1.0, 1.0, 1.0));
    }

    /// The plain all-pairs matching that `score.py` does, for comparison.
    fn all_pairs(
        reference: &[(f64, f64)],
        unsure: &[(f64, f64)],
        detected: &[(f64, f64)],
        tol: f64,
    ) -> Agreement {
        let mut det: Vec<(f64, f64)> = detected
            .iter()
            .copied()
            .filter(|&(c, d)| !unsure.iter().any(|&(a, b)| c - tol <= b && d + tol >= a))
            .collect();
        det.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
        let mut pairs = Vec::new();
        for (i, &(a, b)) in reference.iter().enumerate() {
            for (j, &(c, d)) in det.iter().enumerate() {
                if d + tol >= a && c - tol <= b {
                    pairs.push((b.min(d) - a.max(c), i, j));
                }
            }
        }
        pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(y.1.cmp(&x.1)).then(y.2.cmp(&x.2)));
        let (mut ut, mut ud, mut matched) =
            (vec![false; reference.len()], vec![false; det.len()], 0);
        for (_, i, j) in pairs {
            if !ut[i] && !ud[j] {
                ut[i] = true;
                ud[j] = true;
                matched += 1;
            }
        }
        Agreement {
            truth: reference.len(),
            detected: det.len(),
            matched,
        }
    }

    proptest::proptest! {
        /// The sweep finds the same matching as trying every pair, whatever the order and
        /// overlaps of the intervals.
        #[test]
        fn sweep_equals_all_pairs(
            reference in proptest::collection::vec((0.0f64..100.0, 0.1f64..12.0), 0..30),
            unsure in proptest::collection::vec((0.0f64..100.0, 0.1f64..3.0), 0..5),
            detected in proptest::collection::vec((0.0f64..100.0, 0.1f64..12.0), 0..30),
            tol in 0.0f64..1.0,
        ) {
            let iv = |v: &[(f64, f64)]| -> Vec<(f64, f64)> { v.iter().map(|&(a, l)| (a, a + l)).collect() };
            let (r, u, d) = (iv(&reference), iv(&unsure), iv(&detected));
            let m = match_intervals(&r, &u, &d, tol);
            proptest::prop_assert_eq!(m.agreement, all_pairs(&r, &u, &d, tol));
            // Pairs really overlap once widened, each index once.
            let mut seen_r = std::collections::HashSet::new();
            let mut seen_d = std::collections::HashSet::new();
            for &(i, j) in &m.pairs {
                proptest::prop_assert!(seen_r.insert(i) && seen_d.insert(j));
                proptest::prop_assert!(d[j].1 + tol >= r[i].0 && d[j].0 - tol <= r[i].1);
            }
        }
    }

    #[test]
    fn a_detection_missing_one_movement_of_a_series() {
        // Reference: six left LMs 20 s apart (one series of six PLMs) and one uncertain
        // right LM; detection: the same LMs 0.1 s late, minus the fourth, plus one on the
        // uncertain movement (counted neither way).
        let lm = |on: f64, side| LegMovement::new(on, on + 1.0, side);
        let mut reference: Vec<ReferenceMovement> = (0..6)
            .map(|k| ReferenceMovement {
                lm: lm(100.0 + 20.0 * f64::from(k), Side::Left),
                certain: true,
            })
            .collect();
        reference.push(ReferenceMovement {
            lm: lm(300.0, Side::Right),
            certain: false,
        });
        let mut found: Vec<LegMovement> = (0..6)
            .filter(|&k| k != 3)
            .map(|k| lm(100.1 + 20.0 * f64::from(k), Side::Left))
            .collect();
        found.push(lm(300.2, Side::Right));
        let (ctx, rules) = (Context::default(), Rules::wasm2016());
        let detection = score(
            &found,
            &ctx,
            &rules,
            Span {
                duration_s: Some(600.0),
                ..Span::default()
            },
        )
        .unwrap();
        let c = compare(&detection, &reference, &ctx, &rules, 0.5).unwrap();
        assert_eq!(
            (
                c.lm.truth,
                c.lm.detected,
                c.lm.matched,
                c.uncertain_reference
            ),
            (6, 5, 5, 1)
        );
        assert_eq!((c.lm_right.truth, c.lm_right.detected), (0, 0));
        let on = c.onset_errors.unwrap();
        assert!((on.median_abs_s - 0.1).abs() < 1e-9 && (on.mean_s - 0.1).abs() < 1e-9);
        // Without the fourth, the 40-s gap stays within 90 s: still one series, of five.
        assert_eq!((c.plm.truth, c.plm.detected, c.plm.matched), (6, 5, 5));
        assert!(c.plms_index_difference.unwrap() < 0.0);
        let text = c.summary_text();
        assert!(
            text.contains("reference 6 (+1 uncertain), detected 5, matched 5"),
            "{text}"
        );
        assert!(
            text.contains("PLMS index  reference 36.0/h, detected 30.0/h"),
            "{text}"
        );
        assert!(compare(&detection, &reference, &ctx, &rules, -1.0).is_err());
    }

    #[test]
    fn icc_equals_shrout_and_fleiss_example() {
        // Shrout & Fleiss (1979), Table 2: six targets, four judges; ICC(2,1) = 0.29.
        let rows = [
            [9.0, 2.0, 5.0, 8.0],
            [6.0, 1.0, 3.0, 2.0],
            [8.0, 4.0, 6.0, 8.0],
            [7.0, 1.0, 2.0, 6.0],
            [10.0, 5.0, 6.0, 9.0],
            [6.0, 2.0, 4.0, 7.0],
        ];
        assert!((icc_2_1(&rows).unwrap() - 0.2898).abs() < 5e-4);
        // Perfect agreement is 1; a constant offset lowers absolute agreement.
        let same = [[1.0, 1.0], [5.0, 5.0], [9.0, 9.0]];
        assert!((icc_2_1(&same).unwrap() - 1.0).abs() < 1e-12);
        let shifted = [[1.0, 3.0], [5.0, 7.0], [9.0, 11.0]];
        assert!(icc_2_1(&shifted).unwrap() < 1.0);
        assert!((pearson(&[(1.0, 3.0), (5.0, 7.0), (9.0, 11.0)]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(icc_2_1(&[[1.0, 2.0]]), None);
        assert_eq!(pearson(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn edge_errors_take_score_py_order_statistics() {
        let e = EdgeErrors::of(&[0.1, -0.3, 0.2, 0.0]).unwrap();
        // |errors| sorted: 0, 0.1, 0.2, 0.3: element 2 and element ⌊0.9 · 3⌋ = 2.
        assert_eq!((e.median_abs_s, e.p90_abs_s), (0.2, 0.2));
        assert!((e.mean_s - 0.0).abs() < 1e-12);
        assert_eq!(EdgeErrors::of(&[]), None);
    }
}
