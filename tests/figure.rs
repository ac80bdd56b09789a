//! The report's SVG figure of a simulated night: one mark per event, well-formed, no
//! `NaN`, text escaped.

use plm_detect::{
    Context, Detector, DetectorConfig, Hypnogram, Report, Rules, Side, SimConfig, simulate,
};

fn night() -> (Report, Hypnogram) {
    let n = simulate(&SimConfig {
        duration_s: 3600.0,
        seed: 7,
        ..SimConfig::default()
    })
    .unwrap();
    let ctx = Context {
        hypnogram: Some(n.hypnogram.clone()),
        respiratory: vec![],
        arousals: vec![],
    };
    (
        Detector::new(Rules::wasm2016(), DetectorConfig::default())
            .unwrap()
            .run(&n.recording, &ctx)
            .unwrap(),
        n.hypnogram,
    )
}

#[test]
fn one_mark_per_event_and_no_nan() {
    let (report, hyp) = night();
    let svg = report.svg(&Context {
        hypnogram: Some(hyp),
        ..Context::default()
    });
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    let count = |class: &str| svg.matches(&format!("class=\"{class}\"")).count();
    let side = |s: Side| report.leg_movements.iter().filter(|m| m.side == s).count();
    assert_eq!(count("lm left"), side(Side::Left));
    assert_eq!(count("lm right"), side(Side::Right));
    let plms = report
        .candidate_movements
        .iter()
        .filter(|c| c.periodic)
        .count();
    assert!(plms > 0);
    assert_eq!(count("plm"), plms);
    assert_eq!(count("series"), report.series.len());
    assert_eq!(count("imi"), report.summary.imi_histogram.counts.len());
    assert_eq!(count("hypnogram"), 1);
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    // Every opened element is closed.
    for tag in ["rect", "title", "text"] {
        let open =
            svg.matches(&format!("<{tag} ")).count() + svg.matches(&format!("<{tag}>")).count();
        let closed = svg.matches(&format!("</{tag}>")).count();
        // Self-closed elements (the background, the legend's swatches).
        let selfclosed = svg
            .split(&format!("<{tag}"))
            .skip(1)
            .filter(|rest| rest.split('>').next().is_some_and(|t| t.ends_with('/')))
            .count();
        assert_eq!(open, closed + selfclosed, "{tag}");
    }
}

#[test]
fn empty_and_hypnogram_free_reports_draw() {
    let (mut report, _) = night();
    report.leg_movements.clear();
    report.candidate_movements.clear();
    report.series.clear();
    report.recording.start_time = Some("<a&b>".into());
    let svg = report.svg(&Context::default());
    assert!(!svg.contains("class=\"hypnogram\""));
    assert!(svg.contains("&lt;a&amp;b&gt;"));
    assert!(!svg.contains("NaN"));
}

/// The figure is well-formed XML without repeated attributes (which renderers refuse), with
/// a legend, named axes and, when the start is known, clock-time ticks.
#[test]
fn well_formed_with_legend_axes_and_clock_time() {
    let (mut report, hyp) = night();
    report.recording.start_time = Some("2024-03-01T23:20:00".into());
    let context = Context {
        hypnogram: Some(hyp),
        respiratory: vec![plm_detect::RespiratoryEvent {
            onset_s: 100.0,
            offset_s: 112.0,
            kind: Some("hypopnea".into()),
        }],
        arousals: vec![plm_detect::Interval {
            onset_s: 200.0,
            offset_s: 205.0,
        }],
    };
    let svg = report.svg(&context);
    let mut reader = quick_xml::Reader::from_str(&svg);
    loop {
        match reader.read_event().expect("well-formed SVG") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                for a in e.attributes().with_checks(true) {
                    a.expect("no repeated attribute");
                }
            }
            _ => {}
        }
    }
    assert_eq!(svg.matches(r#"class="legend""#).count(), 8);
    for text in [
        "clock time (recording from 2024-03-01T23:20:00)",
        ">23:30<",
        ">00:00<",
        ">IMI (s)<",
        ">count<",
    ] {
        assert!(svg.contains(text), "{text}");
    }
    assert_eq!(svg.matches(r#"class="arousal""#).count(), 1);
    assert_eq!(svg.matches(r#"class="respiratory""#).count(), 1);
    // Without a start: hours from it.
    report.recording.start_time = None;
    assert!(
        report
            .svg(&context)
            .contains("time from the start of the recording (min)")
    );
}
