//! The scoring rules on made-up lists of leg movements.

use super::*;
use crate::events::Side;
use crate::io::context::{Hypnogram, RespiratoryEvent};

fn lm(on: f64, off: f64, side: Side) -> LegMovement {
    LegMovement::new(on, off, side)
}

fn run(lms: &[LegMovement], rules: &Rules) -> Scored {
    score_night(lms, &Context::default(), rules, 3600.0, &[]).unwrap()
}

/// `n` left LMs of 1 s with onsets `start + k * imi`.
fn train(start: f64, imi: f64, n: usize) -> Vec<LegMovement> {
    (0..n)
        .map(|k| {
            lm(
                start + k as f64 * imi,
                start + k as f64 * imi + 1.0,
                Side::Left,
            )
        })
        .collect()
}

fn periodic(s: &Scored) -> Vec<bool> {
    s.candidate_movements.iter().map(|c| c.periodic).collect()
}

#[test]
fn imi_bounds_are_inclusive_at_10_and_90() {
    let r = Rules::wasm2016();
    assert_eq!(run(&train(100.0, 10.0, 4), &r).summary.plm_count, 4);
    assert_eq!(run(&train(100.0, 9.999, 4), &r).summary.plm_count, 0);
    assert_eq!(run(&train(100.0, 10.001, 4), &r).summary.plm_count, 4);
    assert_eq!(run(&train(100.0, 90.0, 4), &r).summary.plm_count, 4);
    assert_eq!(run(&train(100.0, 89.999, 4), &r).summary.plm_count, 4);
    assert_eq!(run(&train(100.0, 90.001, 4), &r).summary.plm_count, 0);
    assert_eq!(run(&train(100.0, 20.0, 3), &r).summary.plm_count, 0);
    // AASM: 5–90 s.
    assert_eq!(
        run(&train(100.0, 5.0, 4), &Rules::aasm()).summary.plm_count,
        4
    );
    assert_eq!(
        run(&train(100.0, 4.999, 4), &Rules::aasm())
            .summary
            .plm_count,
        0
    );
}

#[test]
fn bilateral_gap_below_half_a_second_merges() {
    let r = Rules::wasm2016();
    let s = run(
        &[lm(10.0, 11.0, Side::Left), lm(11.499, 12.0, Side::Right)],
        &r,
    );
    assert_eq!(s.candidate_movements.len(), 1);
    assert_eq!(s.candidate_movements[0].side, MovementSide::Bilateral);
    assert_eq!(s.candidate_movements[0].offset_s, 12.0);
    let s = run(
        &[lm(10.0, 11.0, Side::Left), lm(11.501, 12.1, Side::Right)],
        &r,
    );
    assert_eq!(s.candidate_movements.len(), 2);
    // Exactly 0.5 s is not "< 0.5 s".
    let s = run(
        &[lm(10.0, 11.0, Side::Left), lm(11.5, 12.1, Side::Right)],
        &r,
    );
    assert_eq!(s.candidate_movements.len(), 2);
}

#[test]
fn same_leg_join_then_short_lms_dropped() {
    let r = Rules::wasm2016();
    // 0.3 s + 0.3 s with a 0.2 s gap: joined into 0.8 s, kept.
    let s = run(
        &[lm(10.0, 10.3, Side::Left), lm(10.5, 10.8, Side::Left)],
        &r,
    );
    assert_eq!(s.leg_movements.len(), 1);
    assert!((s.leg_movements[0].duration_s() - 0.8).abs() < 1e-12);
    // Alone, a 0.3 s LM is not an LM.
    assert_eq!(
        run(&[lm(10.0, 10.3, Side::Left)], &r).leg_movements.len(),
        0
    );
    assert_eq!(
        run(&[lm(10.0, 10.5, Side::Left)], &r).leg_movements.len(),
        1
    );
}

#[test]
fn long_lm_is_a_nonclm_that_breaks_the_series() {
    let r = Rules::wasm2016();
    let mut lms = train(100.0, 20.0, 4);
    lms.push(lm(180.0, 190.01, Side::Right)); // 10.01 s
    lms.extend(train(200.0, 20.0, 3));
    let s = run(&lms, &r);
    let c = &s.candidate_movements;
    assert_eq!(c.len(), 8);
    assert!(!c[4].clm && c[4].imi_s.is_none());
    assert_eq!(c[5].imi_s, None, "no IMI across a nonCLM");
    assert_eq!(
        periodic(&s),
        vec![true, true, true, true, false, false, false, false]
    );
    // A 10 s LM is still a CLM; under AASM the long LM is discarded and does not break.
    let s = run(&lms, &Rules::aasm());
    assert_eq!(s.candidate_movements.len(), 7);
    assert_eq!(s.summary.plm_count, 7);
}

#[test]
fn five_part_bilateral_is_a_nonclm() {
    let r = Rules::wasm2016();
    let parts = [
        lm(10.0, 11.0, Side::Left),
        lm(10.8, 12.0, Side::Right),
        lm(12.2, 13.0, Side::Left),
        lm(12.9, 14.0, Side::Right),
    ];
    let s = run(&parts, &r);
    assert_eq!(s.candidate_movements.len(), 1);
    assert!(s.candidate_movements[0].clm);
    assert_eq!(s.candidate_movements[0].parts, 4);
    let mut five = parts.to_vec();
    five.push(lm(14.3, 15.0, Side::Left));
    let s = run(&five, &r);
    assert_eq!(s.candidate_movements.len(), 1);
    assert_eq!(s.candidate_movements[0].parts, 5);
    assert!(!s.candidate_movements[0].clm);
    // A bilateral over 15 s is a nonCLM too.
    let s = run(
        &[lm(10.0, 19.0, Side::Left), lm(18.0, 25.1, Side::Right)],
        &r,
    );
    assert!(!s.candidate_movements[0].clm);
}

#[test]
fn short_imi_restarts_a_series_per_plmscore() {
    // 3 periodic, a short IMI, then 3 more: the CLM after the short IMI starts a new
    // series of 4 (PLMScoRe); the first 3 are not enough.
    let mut lms = train(100.0, 20.0, 3);
    lms.extend(train(145.0, 20.0, 4)); // 145 - 140 = 5 s IMI
    let s = run(&lms, &Rules::wasm2016());
    assert_eq!(
        periodic(&s),
        vec![false, false, false, true, true, true, true]
    );
    assert_eq!(s.summary.series_count, 1);
    // SOMAS reading: the CLM after the short IMI cannot start a series.
    let mut r = Rules::wasm2016();
    r.short_imi = ShortImi::Break;
    assert_eq!(run(&lms, &r).summary.plm_count, 0);
    // WASM 2006: the intervening CLM is skipped and the next IMI (from 140) is 25 s.
    r.short_imi = ShortImi::Intervening;
    let s = run(&lms, &r);
    assert_eq!(
        periodic(&s),
        vec![true, true, true, false, true, true, true]
    );
    assert_eq!(s.candidate_movements[4].imi_s, Some(25.0));
}

#[test]
fn aasm_bilateral_uses_onsets_within_5_s() {
    let r = Rules::aasm();
    let s = run(
        &[lm(10.0, 11.0, Side::Left), lm(14.9, 16.0, Side::Right)],
        &r,
    );
    assert_eq!(s.candidate_movements.len(), 1);
    let s = run(
        &[lm(10.0, 11.0, Side::Left), lm(15.0, 16.0, Side::Right)],
        &r,
    );
    assert_eq!(s.candidate_movements.len(), 2);
    // Same leg never combines under AASM.
    let s = run(
        &[lm(10.0, 11.0, Side::Left), lm(13.0, 14.0, Side::Left)],
        &r,
    );
    assert_eq!(s.candidate_movements.len(), 2);
}

#[test]
fn respiratory_window_and_nr_rebuild() {
    let lms = train(100.0, 20.0, 6); // onsets 100,120,...,200
    // Event ending at 150: WASM window [148, 160.25] catches the LM at 160–161.
    let ctx = Context {
        respiratory: vec![RespiratoryEvent {
            onset_s: 130.5,
            offset_s: 150.0,
            kind: None,
        }],
        ..Context::default()
    };
    let s = score_night(&lms, &ctx, &Rules::wasm2016(), 3600.0, &[]).unwrap();
    let resp: Vec<bool> = s
        .candidate_movements
        .iter()
        .map(|c| c.respiratory)
        .collect();
    assert_eq!(resp, vec![false, false, false, true, false, false]);
    assert_eq!(
        s.summary.plms_count, 6,
        "plms_index keeps respiratory-related PLMs"
    );
    // nr: remove 160 → IMI 140→180 = 40 s, series of 5 remains.
    assert_eq!(s.summary.plmsnr_count, 5);
    // Edge: window end is inclusive-by-overlap: LM starting exactly at 160.25 counts.
    let ctx2 = Context {
        respiratory: vec![RespiratoryEvent {
            onset_s: 100.0,
            offset_s: 109.75,
            kind: None,
        }],
        ..Context::default()
    };
    let s = score_night(
        &[lm(120.0, 121.0, Side::Left)],
        &ctx2,
        &Rules::wasm2016(),
        3600.0,
        &[],
    )
    .unwrap();
    assert!(s.candidate_movements[0].respiratory);
}

#[test]
fn arousal_association_is_strictly_below_half_a_second() {
    let ctx = |on: f64, off: f64| Context {
        arousals: vec![Interval {
            onset_s: on,
            offset_s: off,
        }],
        ..Context::default()
    };
    let r = Rules::wasm2016();
    let one = [lm(100.0, 101.0, Side::Left)];
    assert!(
        score_night(&one, &ctx(101.499, 105.0), &r, 3600.0, &[])
            .unwrap()
            .candidate_movements[0]
            .arousal
    );
    assert!(
        !score_night(&one, &ctx(101.5, 105.0), &r, 3600.0, &[])
            .unwrap()
            .candidate_movements[0]
            .arousal
    );
    assert!(
        score_night(&one, &ctx(95.0, 99.6), &r, 3600.0, &[])
            .unwrap()
            .candidate_movements[0]
            .arousal
    );
    assert!(
        !score_night(&one, &ctx(95.0, 99.5), &r, 3600.0, &[])
            .unwrap()
            .candidate_movements[0]
            .arousal
    );
}

#[test]
fn stage_by_onset_and_indices_per_hour() {
    // 2 h: first hour wake, second hour N2.
    let mut stages = vec![Stage::W; 120];
    stages.extend(vec![Stage::N2; 120]);
    let ctx = Context {
        hypnogram: Some(Hypnogram::from_stages(30.0, &stages).unwrap()),
        ..Context::default()
    };
    // A series crossing the wake→sleep boundary at 3600 s: onsets 3540..3640 step 20.
    let lms = train(3540.0, 20.0, 6);
    let s = score_night(&lms, &ctx, &Rules::wasm2016(), 7200.0, &[]).unwrap();
    assert_eq!(s.summary.plm_count, 6);
    assert_eq!(s.summary.plmw_count, 3);
    assert_eq!(s.summary.plms_count, 3);
    assert!((s.summary.plms_index.unwrap() - 3.0).abs() < 1e-12);
    assert!((s.summary.plmw_index.unwrap() - 3.0).abs() < 1e-12);
    assert_eq!(s.summary.plms_rem_index, None);
    assert_eq!(s.summary.sleep_source, SleepSource::Hypnogram);
}

#[test]
fn periodicity_index_counts_runs_of_three() {
    // IMIs: 20,20,20 (run of 3) then 5 (breaks) then 20,20 (run of 2).
    let mut lms = train(100.0, 20.0, 4); // IMIs 20,20,20
    lms.extend(train(165.0, 20.0, 3)); // 165-160=5, then 20, 20
    let s = run(&lms, &Rules::wasm2016());
    assert_eq!(s.summary.imi_count, 6);
    assert!((s.summary.periodicity_index.unwrap() - 3.0 / 6.0).abs() < 1e-12);
    // IMI of exactly 10 s is not > 10: not periodic for the PI.
    let s = run(&train(100.0, 10.0, 5), &Rules::wasm2016());
    assert_eq!(s.summary.periodicity_index, Some(0.0));
    assert_eq!(s.summary.plm_clm_ratio, Some(1.0));
}

#[test]
fn excluded_stretch_breaks_series_and_shrinks_denominator() {
    let lms = train(100.0, 20.0, 6);
    let ex = [Interval {
        onset_s: 145.0,
        offset_s: 155.0,
    }];
    let s = score_night(&lms, &Context::default(), &Rules::wasm2016(), 3600.0, &ex).unwrap();
    assert_eq!(s.candidate_movements[3].imi_s, None);
    assert_eq!(s.summary.plm_count, 0);
    assert!((s.summary.scored_sleep_time_h - 3590.0 / 3600.0).abs() < 1e-12);
}

#[test]
fn histograms() {
    let s = run(&train(100.0, 20.0, 3), &Rules::wasm2016());
    assert_eq!(s.summary.imi_histogram.counts[10], 2);
    let ln20 = 20f64.ln();
    assert_eq!(s.summary.log_imi_histogram.counts[(ln20 / 0.1) as usize], 2);
    assert!((s.summary.log_imi_mean.unwrap() - ln20).abs() < 1e-12);
}

#[test]
fn bad_lists_are_errors_not_panics() {
    let e = score_night(
        &[lm(5.0, 4.0, Side::Left)],
        &Context::default(),
        &Rules::wasm2016(),
        3600.0,
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("leg movement #1"), "{e}");
    assert!(
        score_night(
            &[lm(f64::NAN, 4.0, Side::Left)],
            &Context::default(),
            &Rules::wasm2016(),
            3600.0,
            &[]
        )
        .is_err()
    );
    assert!(score_night(&[], &Context::default(), &Rules::wasm2016(), 0.0, &[]).is_err());
}
