//! Scoring rules: one typed, serde-serialisable configuration.
//!
//! [`Rules::default`] is the WASM 2016 standard (Ferri et al., Sleep Med 2016;26:86–95);
//! [`Rules::aasm`] is the AASM Manual's limb-movement rules. Every field documents its unit
//! and its source; the digest of the sources is in [`crate::score`](mod@crate::score), and the § numbers
//! below refer to it. Where published implementations disagree, the choice is a field, so a
//! user can reproduce the other reading.
//!
//! Units: seconds (`_s`), microvolts (`_uv`), counts (plain integers).
//!
//! A JSON config may give any subset of the fields; the others come from a preset
//! ([`Rules::from_json_over`]). Unknown fields are an error, so a typo never silently
//! falls back to a default.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How leg movements on the two legs combine into one candidate movement (rules digest §2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Bilateral {
    /// WASM 2016: walking the LMs of both legs in onset order, an LM joins the current
    /// movement when its onset is before the movement's (growing) offset + `gap_s`, i.e.
    /// the two overlap or are separated by less than `gap_s` (0.5 s).
    Gap {
        /// Largest offset-to-onset separation (exclusive), in seconds. WASM 2016: 0.5.
        gap_s: f64,
    },
    /// AASM: LMs on different legs whose onsets are less than `window_s` apart count as one
    /// movement. An LM joins when its onset is < `window_s` after the movement's onset and
    /// the movement has no part on that leg yet.
    Onsets {
        /// Largest onset-to-onset separation (exclusive), in seconds. AASM: 5.
        window_s: f64,
    },
}

/// What happens to a leg movement too long to be a candidate (rules digest §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LongMovement {
    /// WASM 2016: kept in the report as a nonCLM; it breaks any series and no IMI is
    /// computed across it.
    BreakSeries,
    /// AASM: not a leg movement at all; dropped before IMIs are computed.
    Discard,
}

/// How a CLM preceded by an IMI shorter than the minimum is treated (rules digest §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortImi {
    /// PLMScoRe (default): the short IMI ends the series; the CLM that closes it is not
    /// periodic itself but may start a new series.
    Restart,
    /// SOMAS: the short IMI ends the series and the CLM that closes it cannot start one;
    /// the next series can start at the following CLM.
    Break,
    /// WASM 2006: the CLM that closes a short IMI is "intervening": it is skipped, and the
    /// next IMI is measured from the last kept CLM.
    Intervening,
}

/// Which part of a respiratory event the association window is anchored to (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RespiratoryAnchor {
    /// WASM 2016 (Manconi et al., Sleep 2015): `[end − before_s, end + after_s]`.
    EventEnd,
    /// AASM: `[onset − before_s, end + after_s]`.
    WholeEvent,
}

/// The window in which a CLM counts as respiratory-related (CLMr), rules digest §4.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RespiratoryWindow {
    /// What the window is anchored to.
    pub anchor: RespiratoryAnchor,
    /// Seconds before the anchor's start. WASM 2016: 2.0; AASM: 0.5.
    pub before_s: f64,
    /// Seconds after the event's end. WASM 2016: 10.25; AASM: 0.5.
    pub after_s: f64,
}

/// The largest time (s) or level (µV) any rule may hold: 10 000. A value beyond would
/// only ask for work out of proportion to any night; [`Rules::validate`] refuses it.
pub(crate) const MAX_RULE_VALUE: f64 = 10_000.0;

/// The complete set of leg-movement and PLM scoring rules.
///
/// `Default` is [`Rules::wasm2016`]. Every time and level lies in [0, 10 000] s or µV
/// (the ones that must be positive in (0, 10 000]); `epoch_s` in [1, 600] s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Name of the rule set: `wasm2016`, `aasm`, or `custom` once a field was changed
    /// through a config file.
    pub name: String,

    // --- leg movement on one leg (§1) ---
    /// LM onset: amplitude rises this far above the resting level, µV. Both standards: 8.
    pub onset_above_rest_uv: f64,
    /// LM offset: amplitude at most this far above the resting level, µV. Both: 2.
    pub offset_above_rest_uv: f64,
    /// The offset is the start of the first period at least this long with the amplitude
    /// at most `offset_above_rest_uv` above rest, s. Both standards: 0.5.
    pub offset_quiet_s: f64,
    /// Shortest leg movement, s; shorter activity is not an LM. Both standards: 0.5.
    pub min_lm_s: f64,
    /// WASM 2016 computer-scoring morphology check (Skeba et al., Sleep Breath 2016): the
    /// running median of the rectified signal over `morphology_window_s` must exceed
    /// `offset_above_rest_uv` above rest somewhere inside the LM. WASM 2016: on; AASM: off.
    pub morphology_check: bool,
    /// Window of the morphology running median, s. WASM 2016: 0.5.
    pub morphology_window_s: f64,
    /// Same-leg joining: LMs on one leg whose next onset is less than this many seconds
    /// after the current offset are one LM. Follows from the offset rule: 0.5 (§2 step 1).
    pub same_leg_join_gap_s: f64,

    // --- candidate LMs (§2) ---
    /// Longest monolateral CLM, s (inclusive). Both standards: 10.
    pub max_monolateral_s: f64,
    /// How the two legs combine.
    pub bilateral: Bilateral,
    /// Longest bilateral CLM, s (inclusive); `null` = no limit. WASM 2016: 15; AASM: none.
    pub max_bilateral_s: Option<f64>,
    /// Most monolateral parts in a bilateral CLM; `null` = no limit. WASM 2016: 4; AASM: none.
    pub max_bilateral_parts: Option<usize>,
    /// What a movement too long to be a CLM does. WASM 2016: `break_series`; AASM: `discard`.
    pub long_movements: LongMovement,

    // --- IMI and series (§3) ---
    /// Shortest periodic IMI (onset to onset), s, inclusive. WASM 2016: 10; AASM: 5.
    pub imi_min_s: f64,
    /// Longest periodic IMI, s, inclusive. Both standards: 90.
    pub imi_max_s: f64,
    /// Fewest consecutive CLMs in a PLM series. Both standards: 4.
    pub min_series_len: usize,
    /// How a CLM closing a too-short IMI is treated. Default: PLMScoRe's reading.
    pub short_imi: ShortImi,

    // --- context (§4) ---
    /// Respiratory-event association window.
    pub respiratory_window: RespiratoryWindow,
    /// An LM and an arousal are associated when they overlap or less than this many seconds
    /// separate the end of one from the onset of the other, s. WASM 2016: 0.5.
    pub arousal_gap_s: f64,
    /// Length of a hypnogram epoch, s. Both standards: 30. Range: [1, 600] s.
    pub epoch_s: f64,

    // --- indices (§5) ---
    /// Periodicity index (Ferri et al., Sleep 2006): an IMI is "periodic" when
    /// `pi_imi_min_s < IMI <= pi_imi_max_s`, s. Ferri 2006: 10 (exclusive).
    pub pi_imi_min_s: f64,
    /// Upper bound of a periodic IMI for the periodicity index, s, inclusive. Ferri 2006: 90.
    pub pi_imi_max_s: f64,
    /// Fewest consecutive periodic IMIs that count towards the periodicity index. Ferri: 3.
    pub pi_min_run: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Self::wasm2016()
    }
}

impl Rules {
    /// WASM 2016 (Ferri et al., Sleep Med 2016), as implemented by PLMScoRe.
    #[must_use]
    pub fn wasm2016() -> Self {
        Self {
            name: "wasm2016".into(),
            onset_above_rest_uv: 8.0,
            offset_above_rest_uv: 2.0,
            offset_quiet_s: 0.5,
            min_lm_s: 0.5,
            morphology_check: true,
            morphology_window_s: 0.5,
            same_leg_join_gap_s: 0.5,
            max_monolateral_s: 10.0,
            bilateral: Bilateral::Gap { gap_s: 0.5 },
            max_bilateral_s: Some(15.0),
            max_bilateral_parts: Some(4),
            long_movements: LongMovement::BreakSeries,
            imi_min_s: 10.0,
            imi_max_s: 90.0,
            min_series_len: 4,
            short_imi: ShortImi::Restart,
            respiratory_window: RespiratoryWindow {
                anchor: RespiratoryAnchor::EventEnd,
                before_s: 2.0,
                after_s: 10.25,
            },
            arousal_gap_s: 0.5,
            epoch_s: 30.0,
            pi_imi_min_s: 10.0,
            pi_imi_max_s: 90.0,
            pi_min_run: 3,
        }
    }

    /// The AASM Manual's rules (v1 2007, kept by v2.x): bilateral when onsets are < 5 s
    /// apart, IMI 5–90 s, LMs > 10 s are not LMs, respiratory window ±0.5 s around the event.
    #[must_use]
    pub fn aasm() -> Self {
        Self {
            name: "aasm".into(),
            morphology_check: false,
            bilateral: Bilateral::Onsets { window_s: 5.0 },
            max_bilateral_s: None,
            max_bilateral_parts: None,
            long_movements: LongMovement::Discard,
            imi_min_s: 5.0,
            respiratory_window: RespiratoryWindow {
                anchor: RespiratoryAnchor::WholeEvent,
                before_s: 0.5,
                after_s: 0.5,
            },
            ..Self::wasm2016()
        }
    }

    /// The preset called `name` (`wasm2016`, `wasm` or `aasm`, case-insensitive).
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown name.
    pub fn preset(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "wasm2016" | "wasm" | "wasm-2016" => Ok(Self::wasm2016()),
            "aasm" => Ok(Self::aasm()),
            other => Err(Error::config(
                "rules",
                format!("unknown rule set `{other}` (expected wasm2016 or aasm)"),
            )),
        }
    }

    /// Parses a JSON object whose fields override `base` (fields it leaves out keep the
    /// base's values), then validates the result. The name becomes `custom` when the JSON
    /// changed any rule and gave no name.
    ///
    /// # Errors
    /// [`Error::Config`] for malformed JSON, unknown fields, wrong types or invalid values.
    pub fn from_json_over(base: &Rules, json: &str) -> Result<Self> {
        let overlay: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::config("rules", format!("not valid JSON: {e}")))?;
        let serde_json::Value::Object(overlay) = overlay else {
            return Err(Error::config(
                "rules",
                "the rules config must be a JSON object",
            ));
        };
        let mut merged =
            serde_json::to_value(base).map_err(|e| Error::config("rules", e.to_string()))?;
        let named = overlay.contains_key("name");
        if let serde_json::Value::Object(m) = &mut merged {
            for (k, v) in overlay {
                m.insert(k, v);
            }
        }
        let mut rules: Rules =
            serde_json::from_value(merged).map_err(|e| Error::config("rules", e.to_string()))?;
        if !named && rules != *base {
            rules.name = "custom".into();
        }
        rules.validate()?;
        Ok(rules)
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first invalid field.
    pub fn validate(&self) -> Result<()> {
        // Every time and level is at most `MAX_RULE_VALUE` (s or µV): beyond, a rule
        // would only ask for work out of proportion to any night.
        fn positive(field: &'static str, v: f64) -> Result<()> {
            Error::require_up_to(field, v, MAX_RULE_VALUE, "s or µV")
        }
        fn non_negative(field: &'static str, v: f64) -> Result<()> {
            Error::require_in(field, v, [0.0, MAX_RULE_VALUE], "s or µV")
        }
        positive("onset_above_rest_uv", self.onset_above_rest_uv)?;
        non_negative("offset_above_rest_uv", self.offset_above_rest_uv)?;
        if self.offset_above_rest_uv > self.onset_above_rest_uv {
            return Err(Error::config(
                "offset_above_rest_uv",
                format!(
                    "the offset level ({} µV) must not exceed the onset level ({} µV)",
                    self.offset_above_rest_uv, self.onset_above_rest_uv
                ),
            ));
        }
        positive("offset_quiet_s", self.offset_quiet_s)?;
        non_negative("min_lm_s", self.min_lm_s)?;
        positive("morphology_window_s", self.morphology_window_s)?;
        non_negative("same_leg_join_gap_s", self.same_leg_join_gap_s)?;
        positive("max_monolateral_s", self.max_monolateral_s)?;
        match self.bilateral {
            Bilateral::Gap { gap_s } => non_negative("bilateral.gap_s", gap_s)?,
            Bilateral::Onsets { window_s } => non_negative("bilateral.window_s", window_s)?,
        }
        if let Some(v) = self.max_bilateral_s {
            positive("max_bilateral_s", v)?;
        }
        if self.max_bilateral_parts == Some(0) {
            return Err(Error::config(
                "max_bilateral_parts",
                "must be at least 1 (or null for no limit)",
            ));
        }
        non_negative("imi_min_s", self.imi_min_s)?;
        positive("imi_max_s", self.imi_max_s)?;
        if self.imi_min_s > self.imi_max_s {
            return Err(Error::config(
                "imi_min_s",
                format!(
                    "the shortest IMI ({} s) exceeds the longest ({} s)",
                    self.imi_min_s, self.imi_max_s
                ),
            ));
        }
        if self.min_series_len < 2 {
            return Err(Error::config(
                "min_series_len",
                "a series needs at least 2 movements",
            ));
        }
        non_negative(
            "respiratory_window.before_s",
            self.respiratory_window.before_s,
        )?;
        non_negative(
            "respiratory_window.after_s",
            self.respiratory_window.after_s,
        )?;
        non_negative("arousal_gap_s", self.arousal_gap_s)?;
        Error::require_in("epoch_s", self.epoch_s, [1.0, 600.0], "s")?;
        non_negative("pi_imi_min_s", self.pi_imi_min_s)?;
        positive("pi_imi_max_s", self.pi_imi_max_s)?;
        if self.pi_min_run == 0 {
            return Err(Error::config("pi_min_run", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_wasm2016_with_the_exact_numbers() {
        let r = Rules::default();
        assert_eq!(r, Rules::wasm2016());
        assert_eq!(r.onset_above_rest_uv, 8.0);
        assert_eq!(r.offset_above_rest_uv, 2.0);
        assert_eq!(r.offset_quiet_s, 0.5);
        assert_eq!(r.min_lm_s, 0.5);
        assert_eq!(r.max_monolateral_s, 10.0);
        assert_eq!(r.bilateral, Bilateral::Gap { gap_s: 0.5 });
        assert_eq!(r.max_bilateral_s, Some(15.0));
        assert_eq!(r.max_bilateral_parts, Some(4));
        assert_eq!(
            (r.imi_min_s, r.imi_max_s, r.min_series_len),
            (10.0, 90.0, 4)
        );
        assert_eq!(r.respiratory_window.before_s, 2.0);
        assert_eq!(r.respiratory_window.after_s, 10.25);
        assert_eq!(r.arousal_gap_s, 0.5);
        assert_eq!(r.epoch_s, 30.0);
        r.validate().unwrap();
    }

    #[test]
    fn aasm_preset_differs_where_the_manual_does() {
        let r = Rules::aasm();
        assert_eq!(r.imi_min_s, 5.0);
        assert_eq!(r.bilateral, Bilateral::Onsets { window_s: 5.0 });
        assert_eq!(r.long_movements, LongMovement::Discard);
        assert_eq!(r.respiratory_window.anchor, RespiratoryAnchor::WholeEvent);
        r.validate().unwrap();
    }

    #[test]
    fn json_round_trip_and_partial_override() {
        let json = serde_json::to_string(&Rules::aasm()).unwrap();
        assert_eq!(
            Rules::from_json_over(&Rules::wasm2016(), &json).unwrap(),
            Rules::aasm()
        );
        let r = Rules::from_json_over(&Rules::wasm2016(), r#"{"imi_min_s": 5}"#).unwrap();
        assert_eq!(r.imi_min_s, 5.0);
        assert_eq!(r.name, "custom");
        assert_eq!(r.imi_max_s, 90.0);
    }

    #[test]
    fn bad_configs_name_the_field() {
        let e = Rules::from_json_over(&Rules::wasm2016(), r#"{"imi_minimum": 5}"#).unwrap_err();
        assert!(e.to_string().contains("imi_minimum"), "{e}");
        let e = Rules::from_json_over(&Rules::wasm2016(), r#"{"imi_min_s": 100}"#).unwrap_err();
        assert!(e.to_string().contains("imi_min_s"), "{e}");
        let e = Rules::from_json_over(&Rules::wasm2016(), "[1]").unwrap_err();
        assert!(e.to_string().contains("object"), "{e}");
        assert!(Rules::preset("foo").is_err());
        assert_eq!(Rules::preset("AASM").unwrap(), Rules::aasm());
    }
}
