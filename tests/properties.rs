//! Property tests: scoring equals an independent transcription of PLMScoRe's algorithm on
//! any leg-movement list; readers and the detector never panic; events are sorted, inside
//! the recording, and series obey the rules.

use plm_detect::internals::{
    Envelope, EnvelopeParts, LmThresholds, detect, detect_with_cuts, lm_thresholds,
};
use plm_detect::io::{
    read_arousals_from, read_hypnogram_from, read_leg_movements_from, read_respiratory_from,
};
use plm_detect::{
    Context, Detector, DetectorConfig, LegMovement, Night, Reader, Recording, Rules, Side, Span,
    score,
};
use proptest::prelude::*;
use std::fmt::Write as _;

/// PLMScoRe's order of operations (the rules digest in `plm_detect::score`), written
/// independently of it: returns (CLM count, PLM count, periodic flag per candidate).
fn plmscore(lms: &[(f64, f64, Side)]) -> (usize, usize, Vec<bool>) {
    struct G {
        on: f64,
        off: f64,
        parts: Vec<(f64, f64, Side)>,
    }

    // 1. join per leg (next onset < offset + 0.5), 2. drop < 0.5 s.
    let mut legs: Vec<(f64, f64, Side)> = Vec::new();
    for side in [Side::Left, Side::Right] {
        let mut v: Vec<(f64, f64)> = lms
            .iter()
            .filter(|m| m.2 == side)
            .map(|m| (m.0, m.1))
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mut joined: Vec<(f64, f64)> = Vec::new();
        for (on, off) in v {
            if let Some(last) = joined.last_mut() {
                if on < last.1 + 0.5 {
                    last.1 = last.1.max(off);
                    continue;
                }
            }
            joined.push((on, off));
        }
        legs.extend(
            joined
                .into_iter()
                .filter(|(a, b)| b - a >= 0.5)
                .map(|(a, b)| (a, b, side)),
        );
    }
    legs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.2.cmp(&b.2)));
    // 3–4. walk both legs; a group absorbs LMs starting before its offset + 0.5.
    let mut groups: Vec<G> = Vec::new();
    for m in legs {
        match groups.last_mut() {
            Some(g) if m.0 < g.off + 0.5 => {
                g.off = g.off.max(m.1);
                g.parts.push(m);
            }
            _ => groups.push(G {
                on: m.0,
                off: m.1,
                parts: vec![m],
            }),
        }
    }
    let clm: Vec<bool> = groups
        .iter()
        .map(|g| {
            // As the evaluation's reference: one side → 0.5–10 s; both → ≤ 15 s, ≤ 4 parts,
            // no part over 10 s.
            let bilateral = g.parts.iter().any(|p| p.2 != g.parts[0].2);
            let dur = g.off - g.on;
            if bilateral {
                dur <= 15.0 && g.parts.len() <= 4 && g.parts.iter().all(|p| p.1 - p.0 <= 10.0)
            } else {
                (0.5..=10.0).contains(&dur)
            }
        })
        .collect();
    // 5. series: IMI in [10, 90]; short IMI restarts; nonCLM breaks.
    let mut periodic = vec![false; groups.len()];
    let mut run: Vec<usize> = Vec::new();
    let mut prev: Option<f64> = None;
    let flush = |run: &mut Vec<usize>, periodic: &mut Vec<bool>| {
        if run.len() >= 4 {
            for &k in run.iter() {
                periodic[k] = true;
            }
        }
        run.clear();
    };
    for (k, g) in groups.iter().enumerate() {
        if !clm[k] {
            flush(&mut run, &mut periodic);
            prev = None;
            continue;
        }
        match prev.map(|p| g.on - p) {
            Some(imi) if (10.0..=90.0).contains(&imi) => run.push(k),
            _ => {
                flush(&mut run, &mut periodic);
                run.push(k);
            }
        }
        prev = Some(g.on);
    }
    flush(&mut run, &mut periodic);
    let clms = clm.iter().filter(|c| **c).count();
    let plms = periodic.iter().filter(|p| **p).count();
    (clms, plms, periodic)
}

/// The span the property tests score over: 2000 s, nothing excluded.
fn span() -> Span<'static> {
    Span {
        duration_s: Some(2000.0),
        ..Span::default()
    }
}

/// The detector with the default rules and settings.
fn detector() -> Detector {
    Detector::new(Rules::wasm2016(), DetectorConfig::default()).unwrap()
}

/// Leg movements on a coarse time grid so that gaps of exactly 0.5 s, IMIs of exactly 10
/// and 90 s and durations of exactly 0.5 and 10 s occur often.
fn lm_list() -> impl Strategy<Value = Vec<(f64, f64, Side)>> {
    let lm = (
        0u32..4000,
        prop_oneof![1u32..=4, 5u32..=40, 95u32..=105, 140u32..=160],
        any::<bool>(),
    )
        .prop_map(|(start, dur, left)| {
            let on = f64::from(start) * 0.25;
            (
                on,
                on + f64::from(dur) * 0.1,
                if left { Side::Left } else { Side::Right },
            )
        });
    prop::collection::vec(lm, 0..120)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn scoring_equals_plmscore_on_any_list(list in lm_list()) {
        let lms: Vec<LegMovement> = list.iter().map(|&(a, b, s)| LegMovement::new(a, b, s)).collect();
        let s = score(&lms, &Context::default(), &Rules::wasm2016(), span()).unwrap();
        let (clms, plms, periodic) = plmscore(&list);
        prop_assert_eq!(s.summary.clm_count, clms);
        prop_assert_eq!(s.summary.plm_count, plms);
        let ours: Vec<bool> = s.candidate_movements.iter().map(|c| c.periodic).collect();
        prop_assert_eq!(ours, periodic);
    }

    #[test]
    fn scored_events_are_sorted_and_series_obey_the_rules(list in lm_list(), aasm in any::<bool>()) {
        let rules = if aasm { Rules::aasm() } else { Rules::wasm2016() };
        let lms: Vec<LegMovement> = list.iter().map(|&(a, b, s)| LegMovement::new(a, b, s)).collect();
        let s = score(&lms, &Context::default(), &rules, span()).unwrap();
        let c = &s.candidate_movements;
        prop_assert!(c.windows(2).all(|w| w[0].onset_s <= w[1].onset_s));
        prop_assert!(s.leg_movements.iter().all(|m| m.duration_s() >= rules.min_lm_s));
        for series in &s.series {
            let members: Vec<_> = c.iter().filter(|m| m.series == Some(series.id)).collect();
            prop_assert!(members.len() >= rules.min_series_len);
            prop_assert!(members.iter().all(|m| m.clm && m.periodic));
            for w in members.windows(2) {
                let imi = w[1].onset_s - w[0].onset_s;
                prop_assert!(imi >= rules.imi_min_s && imi <= rules.imi_max_s, "IMI {} in series {}", imi, series.id);
            }
        }
        if let Some(pi) = s.summary.periodicity_index {
            prop_assert!((0.0..=1.0).contains(&pi));
        }
    }

    #[test]
    fn night_reader_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Reader::new().read_from(std::io::Cursor::new(bytes.clone()), None);
        let _ = read_hypnogram_from(std::io::Cursor::new(bytes.clone()), None, 30.0);
        let _ = read_leg_movements_from(std::io::Cursor::new(bytes), None);
    }

    #[test]
    fn night_reader_never_panics_on_mutated_csv(
        rows in prop::collection::vec((any::<i16>(), any::<i16>(), 0u8..8), 1..60),
        fs in prop_oneof![Just(None), (1.0f64..1000.0).prop_map(Some)],
    ) {
        let mut text = String::from("time_s,left_uv,right_uv\n");
        for (i, (a, b, mutation)) in rows.iter().enumerate() {
            let t = i as f64 * 0.004;
            let _ = match mutation {
                0 => writeln!(text, "{t},{a},"),
                1 => writeln!(text, "{t},NaN,{b}"),
                2 => writeln!(text, "{},{a},{b}", t - 0.01),
                3 => writeln!(text, "{t},{a}"),
                4 => writeln!(text, "{t};{a};{b}"),
                _ => writeln!(text, "{t},{a},{b}"),
            };
        }
        let mut reader = Reader::new();
        if let Some(fs) = fs {
            reader = reader.sample_rate_hz(fs);
        }
        if let Ok(Night::Emg(rec)) = reader.read_from(std::io::Cursor::new(text.into_bytes()), None) {
            let _ = detector().run(&rec, &Context::default());
        }
    }

    /// NSRR XML annotations with bytes overwritten and cut anywhere: errors or lists,
    /// never a panic.
    #[test]
    fn nsrr_xml_readers_never_panic_on_damaged_files(
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(&b"<>/&;\"0123456789.-|x \n"[..])), 0..8),
        cut in prop_oneof![Just(None), any::<prop::sample::Index>().prop_map(Some)],
    ) {
        context_readers_hold(&damaged("data/context/emg-256hz-15min-nsrr.xml", &edits, cut))?;
    }

    /// Every other export the annotation layer reads (Profusion, SDO-only NSRR, Embla,
    /// RemLogic, an event list, DOMINO, CAP, PLMScoRe-style EDF+), bytes overwritten and
    /// cut anywhere: errors or context lists, never a panic.
    #[test]
    fn export_readers_never_panic_on_damaged_files(
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(&b"<>/&;:,.\t\r\n0123456789-|x @\x00\x14\x15"[..])), 0..8),
        cut in prop_oneof![Just(None), any::<prop::sample::Index>().prop_map(Some)],
        which in prop::sample::select(&[
            "profusion.xml", "sdo-nsrr.xml", "embla.xml", "remlogic.txt", "lms.txt",
            "domino-profile.txt", "domino-events.txt", "cap.txt", "plmscore.edf",
        ][..]),
    ) {
        let file = format!("data/context/emg-256hz-15min-{which}");
        context_readers_hold(&damaged(&file, &edits, cut))?;
    }

    /// An EDF+ annotation file (Sleep-EDF style) and a BDF+ night with annotations, bytes
    /// overwritten and cut anywhere: errors or context lists, never a panic.
    #[test]
    fn edf_annotation_readers_never_panic_on_damaged_files(
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(&b"\x00\x14\x15+-.0123456789eE x"[..])), 0..8),
        cut in prop_oneof![Just(None), any::<prop::sample::Index>().prop_map(Some)],
        bdf in any::<bool>(),
    ) {
        let file = if bdf { "tests/golden/edf/legs-bdfplus.bdf" } else { "data/context/emg-256hz-15min-hypnogram.edf" };
        context_readers_hold(&damaged(file, &edits, cut))?;
    }

    /// A real EDF+ or BDF+ file (written by pyedflib) with bytes overwritten anywhere —
    /// header fields, signal headers, samples, annotations — and cut anywhere: an error or
    /// a recording, never a panic; a recording read is well formed.
    #[test]
    fn edf_reader_never_panics_on_damaged_files(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 1usize..9), 0..6),
        header_edits in prop::collection::vec((0usize..1280, prop::sample::select(&b"0123456789-+. eE"[..])), 0..6),
        cut in prop_oneof![Just(None), any::<prop::sample::Index>().prop_map(Some)],
        as_any in any::<bool>(),
        bdf in any::<bool>(),
    ) {
        let file = if bdf { "legs-bdfplus.bdf" } else { "psg-edfplus.edf" };
        let mut bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/edf").join(file)).unwrap();
        for (at, b, len) in edits {
            let i = at.index(bytes.len());
            let end = (i + len).min(bytes.len());
            bytes[i..end].fill(b);
        }
        for (i, b) in header_edits {
            bytes[i] = b;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        let reader = if as_any { Reader::new() } else { Reader::new().signal(plm_detect::SignalKind::Emg) };
        let read = reader.read_from(std::io::Cursor::new(bytes), None);
        if let Ok(Night::Emg(rec)) = read {
            prop_assert!(rec.sample_rate_hz() > 0.0 && !rec.is_empty());
            prop_assert!(rec.channels().iter().all(|c| c.samples_uv().iter().all(|v| !v.is_infinite())));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random signals with random gaps: no panic, and every event is sorted, inside the
    /// recording, outside gaps, and at least 0.5 s long.
    #[test]
    fn detector_events_are_sorted_and_within_bounds(
        seed in any::<u64>(),
        fs in prop_oneof![Just(200.0), Just(256.0), Just(500.0)],
        seconds in 3.0f64..90.0,
        gaps in prop::collection::vec((0.0f64..1.0, 0.0f64..3.0), 0..4),
        bursts in prop::collection::vec((0.0f64..1.0, 0.1f64..12.0, 1.0f64..200.0), 0..12),
    ) {
        let n = (seconds * fs) as usize;
        let mut state = seed | 1;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut x: Vec<f64> = (0..n).map(|_| 4.0 * noise()).collect();
        for (at, len, amp) in &bursts {
            let i0 = (at * n as f64) as usize;
            for v in x.iter_mut().skip(i0).take((len * fs) as usize) {
                *v += amp * noise();
            }
        }
        for (at, len) in &gaps {
            let i0 = (at * n as f64) as usize;
            for v in x.iter_mut().skip(i0).take((len * fs) as usize) {
                *v = f64::NAN;
            }
        }
        let rec = Recording::from_slices(fs, Some(&x), Some(&x.iter().map(|v| -v).collect::<Vec<_>>())).unwrap();
        let Ok(report) = detector().run(&rec, &Context::default()) else { return Ok(()) };
        let dur = rec.duration_s();
        let lms = &report.leg_movements;
        prop_assert!(lms.windows(2).all(|w| w[0].onset_s <= w[1].onset_s));
        for m in lms {
            prop_assert!(m.onset_s >= 0.0 && m.offset_s <= dur + 1e-9 && m.duration_s() >= 0.5, "{:?}", m);
            let (a, b) = ((m.onset_s * fs) as usize, ((m.offset_s * fs) as usize).min(n));
            prop_assert!(x[a..b].iter().all(|v| !v.is_nan()), "LM {:?} crosses a gap", m);
        }
        prop_assert!(report.candidate_movements.windows(2).all(|w| w[0].onset_s <= w[1].onset_s));
        prop_assert!(report.recording.excluded_s >= 0.0 && report.recording.excluded_s <= dur + 1e-9);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Movements bounded by cuts (the accelerometer's turns): no panic, sorted, at least
    /// 0.5 s, inside the signal, and never over a cut block.
    #[test]
    fn movements_never_span_a_cut(
        n in 50usize..3000,
        bursts in prop::collection::vec((0.0f64..1.0, 1usize..600, 0.0f64..40.0), 0..12),
        cuts in prop::collection::vec((0.0f64..1.0, 1usize..80), 0..5),
        extrapolation in prop::option::of(0.0f64..2.0),
    ) {
        let mut levels = vec![1.0; n];
        for (at, len, level) in &bursts {
            let a = (at * n as f64) as usize;
            levels[a..(a + len).min(n)].fill(*level);
        }
        let mut cut = vec![false; n];
        for (at, len) in &cuts {
            let a = (at * n as f64) as usize;
            cut[a..(a + len).min(n)].fill(true);
        }
        let parts = EnvelopeParts {
            amplitude: levels.clone(),
            rest: vec![1.0; n],
            block_mean: levels.clone(),
            margin: vec![2.0; n],
            fine: levels,
            fine_margin: vec![2.0; n],
        };
        let env = Envelope::from_parts(100.0, 1, n, 25, parts).expect("consistent parts");
        let rules = LmThresholds {
            flank_extrapolation_s: extrapolation,
            ..lm_thresholds(&Rules::wasm2016())
        };
        let lms = detect_with_cuts(&env, Side::Left, &rules, &[], &cut);
        if cuts.is_empty() {
            prop_assert_eq!(&lms, &detect(&env, Side::Left, &rules, &[]));
        }
        prop_assert!(lms.windows(2).all(|w| w[0].onset_s <= w[1].onset_s));
        for m in &lms {
            prop_assert!(m.onset_s >= 0.0 && m.offset_s <= env.duration_s() && m.duration_s() >= 0.5, "{:?}", m);
            let (a, b) = ((m.onset_s * 100.0).ceil() as usize, ((m.offset_s * 100.0).floor() as usize).min(n));
            prop_assert!(!cut[a..b].iter().any(|&c| c), "LM {:?} spans a cut", m);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The running median (tracked by rank where its window is finite, a sorted window
    /// elsewhere) equals the median of each window taken directly, on values with many
    /// ties, gaps and infinities, for any window width.
    #[test]
    fn running_median_equals_each_window_median(
        x in prop::collection::vec(
            prop_oneof![
                8 => (0u8..6).prop_map(f64::from),
                4 => -50.0f64..50.0,
                1 => Just(f64::NAN),
                1 => Just(f64::INFINITY),
            ],
            0..300,
        ),
        w in 1usize..60,
    ) {
        let mut out = vec![0.0; x.len()];
        plm_detect::internals::running_median(&x, w, &mut out);
        let mut buf = Vec::new();
        for (i, o) in out.iter().enumerate() {
            let m = plm_detect::internals::window_median(&x, i, w / 2, &mut buf);
            prop_assert!(o.to_bits() == m.to_bits() || (o.is_nan() && m.is_nan()), "i {} w {}: {} vs {}", i, w, o, m);
        }
    }
}

/// The file `path` (from the crate root) with `edits` written over it and cut at `cut`.
fn damaged(
    path: &str,
    edits: &[(prop::sample::Index, u8)],
    cut: Option<prop::sample::Index>,
) -> Vec<u8> {
    let mut bytes =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    for (at, b) in edits {
        let i = at.index(bytes.len());
        bytes[i] = *b;
    }
    if let Some(c) = cut {
        bytes.truncate(c.index(bytes.len()));
    }
    bytes
}

/// Every context reader on `bytes`: an error or a well-formed list, never a panic.
fn context_readers_hold(bytes: &[u8]) -> Result<(), TestCaseError> {
    let input = || std::io::Cursor::new(bytes.to_vec());
    if let Ok(h) = read_hypnogram_from(input(), None, 30.0) {
        let e = h.epochs();
        prop_assert!(e.iter().all(|(t, _)| t.is_finite() && *t >= 0.0));
        prop_assert!(e.windows(2).all(|w| w[1].0 >= w[0].0 + h.epoch_s() - 1e-6));
    }
    if let Ok(r) = read_respiratory_from(input(), None) {
        prop_assert!(
            r.iter()
                .all(|e| e.onset_s >= 0.0 && e.offset_s >= e.onset_s)
        );
    }
    if let Ok(a) = read_arousals_from(input(), None) {
        prop_assert!(
            a.iter()
                .all(|e| e.onset_s >= 0.0 && e.offset_s >= e.onset_s)
        );
    }
    let _ = read_leg_movements_from(input(), None);
    Ok(())
}
