//! The scoring context of a night: its hypnogram, respiratory events and arousals
//! (rules digest §4) — everything besides the leg signals that scoring uses.
//!
//! Times are seconds from the start of the recording. The readers of the files these come
//! from are in [`super::annotations`]; how scoring uses them is [`crate::score`](mod@crate::score)'s.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::events::{Interval, validate_intervals};

/// A sleep stage (AASM names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Wake.
    W,
    /// NREM 1.
    N1,
    /// NREM 2.
    N2,
    /// NREM 3 (R&K S3 and S4).
    N3,
    /// REM.
    R,
}

impl Stage {
    /// Parses the labels listed in the module docs, also with a `Sleep stage ` prefix
    /// (`Sleep stage 2`, as EDF+ hypnograms write them).
    #[must_use]
    pub fn parse(label: &str) -> Option<Stage> {
        let upper = label.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SLEEP STAGE ").unwrap_or(&upper).trim();
        match bare {
            "W" | "WAKE" | "0" | "SW" | "STAGE W" => Some(Stage::W),
            "N1" | "S1" | "1" | "NREM1" | "STAGE 1" => Some(Stage::N1),
            "N2" | "S2" | "2" | "NREM2" | "STAGE 2" => Some(Stage::N2),
            "N3" | "S3" | "S4" | "3" | "4" | "NREM3" | "N4" | "STAGE 3" | "STAGE 4" => {
                Some(Stage::N3)
            }
            "R" | "REM" | "5" | "SR" | "STAGE R" => Some(Stage::R),
            _ => None,
        }
    }

    /// Whether `label` marks an epoch without a stage: unscored, movement time or
    /// artifact, in the spellings and codes of common exports (`?`, `U`, `Unscored`,
    /// `MT`, `Movement`, `A`, `Artifact`, R&K's 6 and the unscored codes 7, 8, 9 and -1).
    #[must_use]
    pub fn is_unstaged_label(label: &str) -> bool {
        let upper = label.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SLEEP STAGE ").unwrap_or(&upper).trim();
        matches!(
            bare,
            "?" | "U"
                | "UN"
                | "UNS"
                | "UNSCORED"
                | "NOT SCORED"
                | "NS"
                | "UNKNOWN"
                | "NA"
                | "N/A"
                | "-"
                | "X"
                | "M"
                | "MT"
                | "MOV"
                | "MOVEMENT"
                | "MOVEMENT TIME"
                | "A"
                | "ART"
                | "ARTIFACT"
                | "ARTEFACT"
                | "6"
                | "7"
                | "8"
                | "9"
                | "-1"
        )
    }

    /// `true` for N1, N2, N3 and REM.
    #[must_use]
    pub fn is_sleep(self) -> bool {
        self != Stage::W
    }

    /// `true` for N1, N2 and N3.
    #[must_use]
    pub fn is_nrem(self) -> bool {
        matches!(self, Stage::N1 | Stage::N2 | Stage::N3)
    }
}

/// A hypnogram: consecutive epochs with their stages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypnogram {
    epoch_s: f64,
    epochs: Vec<(f64, Stage)>,
    /// Epochs the file marked unscored, movement time or artifact (not in `epochs`).
    #[serde(skip)]
    unstaged: usize,
}

impl Hypnogram {
    /// A hypnogram of `epoch_s`-long epochs, each `(start s, stage)`.
    ///
    /// # Errors
    /// [`Error::Config`] for an epoch length that is not positive; [`Error::Input`] naming
    /// the first epoch whose start is not finite, negative, or less than one epoch after
    /// the previous one.
    pub fn new(epoch_s: f64, epochs: Vec<(f64, Stage)>) -> Result<Self> {
        let h = Self {
            epoch_s,
            epochs,
            unstaged: 0,
        };
        h.validate()?;
        Ok(h)
    }

    /// A hypnogram of consecutive epochs starting at 0 s.
    ///
    /// # Errors
    /// [`Error::Config`] for an epoch length that is not positive.
    pub fn from_stages(epoch_s: f64, stages: &[Stage]) -> Result<Self> {
        Self::new(
            epoch_s,
            stages
                .iter()
                .enumerate()
                .map(|(i, &s)| (i as f64 * epoch_s, s))
                .collect(),
        )
    }

    /// Epoch length, s.
    #[must_use]
    pub fn epoch_s(&self) -> f64 {
        self.epoch_s
    }

    /// Epochs the file marked unscored, movement time or artifact: they have no stage (an
    /// LM there is neither in sleep nor in wake) and are not among [`Hypnogram::epochs`].
    #[must_use]
    pub fn unstaged_epochs(&self) -> usize {
        self.unstaged
    }

    /// The same hypnogram, counting `n` epochs without a stage (a reader's).
    pub(crate) fn with_unstaged(mut self, n: usize) -> Self {
        self.unstaged = n;
        self
    }

    /// The epochs, `(start s, stage)`, sorted by start.
    #[must_use]
    pub fn epochs(&self) -> &[(f64, Stage)] {
        &self.epochs
    }

    /// Checks the epoch length, and that starts are finite, non-negative and increasing by
    /// at least one epoch.
    fn validate(&self) -> Result<()> {
        if !(self.epoch_s.is_finite() && self.epoch_s > 0.0) {
            return Err(Error::config(
                "epoch_s",
                format!("must be positive, got {}", self.epoch_s),
            ));
        }
        let mut prev: Option<f64> = None;
        for (i, &(start, _)) in self.epochs.iter().enumerate() {
            if !start.is_finite() || start < 0.0 {
                return Err(Error::input(
                    Location::default(),
                    format!("hypnogram epoch #{}: bad start {start} s", i + 1),
                ));
            }
            if let Some(p) = prev {
                if start < p + self.epoch_s - 1e-6 {
                    return Err(Error::input(
                        Location::default(),
                        format!(
                            "hypnogram epoch #{}: starts at {start} s, less than one epoch after the previous ({p} s)",
                            i + 1
                        ),
                    ));
                }
            }
            prev = Some(start);
        }
        Ok(())
    }

    /// The stage of the epoch containing `t_s`, or `None` outside every epoch.
    #[must_use]
    pub fn stage_at(&self, t_s: f64) -> Option<Stage> {
        let i = self.epochs.partition_point(|&(start, _)| start <= t_s);
        if i == 0 {
            return None;
        }
        let (start, stage) = self.epochs[i - 1];
        (t_s < start + self.epoch_s).then_some(stage)
    }

    /// Seconds of epochs matching `pred`, counting only the part inside `[0, end_s]`.
    #[must_use]
    pub fn time_s(&self, end_s: f64, pred: impl Fn(Stage) -> bool) -> f64 {
        self.epochs
            .iter()
            .filter(|(_, s)| pred(*s))
            .map(|&(start, _)| ((start + self.epoch_s).min(end_s) - start.max(0.0)).max(0.0))
            .sum::<f64>()
            // An empty sum is −0.0: reported as 0.
            + 0.0
    }

    /// End of the last epoch, s.
    #[must_use]
    pub fn end_s(&self) -> f64 {
        self.epochs.last().map_or(0.0, |&(s, _)| s + self.epoch_s)
    }
}

/// A respiratory event (apnea, hypopnea, RERA ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RespiratoryEvent {
    /// Onset, s.
    pub onset_s: f64,
    /// End, s.
    pub offset_s: f64,
    /// Kind as written in the file (`obstructive_apnea`, `hypopnea`, ...), if given.
    pub kind: Option<String>,
}

/// Everything besides the leg signals that scoring uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context {
    /// Sleep stages; without one, the whole recording counts as sleep.
    pub hypnogram: Option<Hypnogram>,
    /// Respiratory events.
    pub respiratory: Vec<RespiratoryEvent>,
    /// Arousals.
    pub arousals: Vec<Interval>,
}

impl Context {
    /// Validates the respiratory events and arousals (a [`Hypnogram`] is checked when it
    /// is built).
    ///
    /// # Errors
    /// [`Error::Input`] naming the first bad item.
    pub fn validate(&self) -> Result<()> {
        validate_intervals(
            "respiratory event",
            self.respiratory.iter().map(|e| (e.onset_s, e.offset_s)),
        )?;
        validate_intervals(
            "arousal",
            self.arousals.iter().map(|a| (a.onset_s, a.offset_s)),
        )
    }
}
