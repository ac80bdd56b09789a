//! The report's text summary: what `plm detect` prints — the recording, rules, context,
//! counts, the main indices and the report's notes.
//!
//! Input: a [`Report`]. Output: a few lines of text: the recording's length in hours, and
//! indices per hour of the matching denominator (rules digest §5), `n/a` where there is
//! none.

use std::fmt::Write as _;

use super::{Modality, Report};
use crate::score::SleepSource;

impl Report {
    /// A short human summary: recording, rules, counts, indices, caveats.
    #[must_use]
    pub fn summary_text(&self) -> String {
        let s = &self.summary;
        let r = &self.recording;
        let idx = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1}/h"));
        let mut t = String::new();
        let hours = r.duration_s / 3600.0;
        let kind = match self.modality {
            Modality::Emg => "EMG",
            Modality::Accelerometer => "accelerometer",
            Modality::LegMovementList => "leg-movement list",
        };
        let _ = write!(t, "recording   {hours:.2} h {kind}");
        if let Some(fs) = r.sample_rate_hz {
            let _ = write!(t, ", {fs:.2} Hz");
        }
        if !r.channels.is_empty() {
            let legs: Vec<String> = r
                .channels
                .iter()
                .map(|c| {
                    let notch = if c.notch_hz.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", notch {}",
                            c.notch_hz
                                .iter()
                                .map(|f| format!("{f:.0}"))
                                .collect::<Vec<_>>()
                                .join("/")
                        )
                    };
                    if self.modality == Modality::Accelerometer {
                        format!(
                            "{} `{}` (≤ {:.0} Hz, {} posture changes)",
                            c.side.as_str(),
                            c.name,
                            c.band_hz[1],
                            c.posture_changes.unwrap_or(0)
                        )
                    } else {
                        format!(
                            "{} `{}` ({:.0}–{:.0} Hz{notch})",
                            c.side.as_str(),
                            c.name,
                            c.band_hz[0],
                            c.band_hz[1]
                        )
                    }
                })
                .collect();
            let _ = write!(t, ", {}", legs.join(", "));
        }
        t.push('\n');
        if r.excluded_s > 0.0 {
            let _ = writeln!(
                t,
                "excluded    {:.1} s ({:.1}% of the recording)",
                r.excluded_s,
                100.0 * r.excluded_s / r.duration_s
            );
        }
        let _ = writeln!(
            t,
            "rules       {} (IMI {}–{} s, ≥ {} CLMs)",
            self.rules.name, self.rules.imi_min_s, self.rules.imi_max_s, self.rules.min_series_len
        );
        let sleep = match s.sleep_source {
            SleepSource::Hypnogram => {
                format!("sleep {:.2} h from the hypnogram", s.total_sleep_time_h)
            }
            SleepSource::WholeRecording => {
                "no hypnogram: whole recording counted as sleep".to_owned()
            }
        };
        let _ = writeln!(
            t,
            "context     {sleep}; {} respiratory events, {} arousals",
            self.context.respiratory_events, self.context.arousals
        );
        let _ = writeln!(
            t,
            "movements   {} LMs, {} candidates ({} CLM, {} nonCLM), {} PLM in {} series",
            s.lm_count, s.candidate_count, s.clm_count, s.nonclm_count, s.plm_count, s.series_count
        );
        let _ = writeln!(
            t,
            "PLMS index  {}   (CLMS {}, PLMSnr {}, PLMS-arousal {}, PLMW {})",
            idx(s.plms_index),
            idx(s.clms_index),
            idx(s.plmsnr_index),
            idx(s.plms_arousal_index),
            idx(s.plmw_index)
        );
        let pi = s
            .periodicity_index
            .map_or("n/a".to_owned(), |v| format!("{v:.2}"));
        let ratio = s
            .plm_clm_ratio
            .map_or("n/a".to_owned(), |v| format!("{v:.2}"));
        let _ = writeln!(
            t,
            "periodicity index {pi} (Ferri 2006), PLM/CLM ratio {ratio}"
        );
        for n in &self.notes {
            let _ = writeln!(t, "note: {n}");
        }
        t
    }
}
