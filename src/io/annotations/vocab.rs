//! The event names of scoring exports, and what scoring takes from each.
//!
//! Every reader hands an event's name (and, where the file has one, its channel or
//! location) to [`classify`]. Names are matched on their words, case-insensitively, so one
//! vocabulary serves the spellings of NSRR (`Obstructive apnea|Obstructive Apnea`, the
//! ontology terms `SDO:ObstructiveApneaFinding`, `SRO:Stage2Sleep`), Compumedics
//! (`Arousal ()`, `Limb Movement (Left)`), Embla and RemLogic (`SLEEP-S2`, `APNEA-CENTRAL`,
//! `right-LM`), CAP (`MCAP-A2`), DOMINO (`PLM Arousal (EEG)`) and EDF+ (`Sleep stage W`,
//! `Limb movement@@LAT`):
//!
//! * **stages**: `SLEEP-S0`…`S4`, `SLEEP-REM`, `Sleep stage X`, `Stage X`, the ontology's
//!   wake, NREM 1–3 (R&K 1–4) and REM terms, and the stage labels of [`Stage::parse`] where
//!   a format writes stages as bare labels; `SLEEP-UNSCORED`, `SLEEP-MT`, movement time and
//!   artifact epochs are stage events without a stage;
//! * **respiratory events**: apneas (obstructive, central, mixed), hypopneas (either
//!   spelling) and RERAs — the events the AASM and WASM association rules name (rules
//!   digest §4); desaturations, snores and periodic breathing are not;
//! * **arousals**: any other name with the word arousal (spontaneous, respiratory,
//!   limb-movement arousals: `AROUSAL-LM` is an arousal, not a movement);
//! * **leg movements**: limb or leg movements and PLMs (`LM`, `PLM`, `PLMS`, `right-LM`,
//!   `LM-LEFT`, `Limb Movement (Right)`); the side comes from the name's words (left,
//!   right, `L`, `R`) or else from the channel, read with the signal reader's leg-label
//!   aliases (`LAT`, `Leg R`, `EMG.Tibialis-Leg.Left`);
//! * **CAP phases**: `MCAP-A1`/`A2`/`A3`, arousals only when the caller asks.
//!
//! Everything else is not used by scoring; readers count such events by name.

use crate::events::Side;
use crate::io::context::Stage;
use crate::io::names::{LEFT_ALIASES, RIGHT_ALIASES, normalise};

/// What scoring takes an event for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A stage epoch (`None`: unscored, movement time or artifact).
    Stage(Option<Stage>),
    /// An apnea, hypopnea or RERA.
    Respiratory,
    /// An arousal.
    Arousal,
    /// A leg movement, with its side when the name or channel gives one.
    Movement(Option<Side>),
    /// A CAP A phase (subtype 1–3).
    CapPhase,
}

/// The words of a name, lower case: split at non-alphanumerics and at lower→upper case
/// changes (`ObstructiveApneaFinding` → obstructive apnea finding).
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The stage a stage name gives (`Some(None)`: a stage event without a stage), or `None`
/// when the name is not a stage. `bare_labels`: whether bare labels (`W`, `N2`, `R`,
/// `Unscored`) are stages, in formats whose event column holds them.
#[allow(clippy::option_option)] // `Some(None)`: a stage event without a stage.
pub(crate) fn stage(name: &str, bare_labels: bool) -> Option<Option<Stage>> {
    let t = name.trim();
    let upper = t.to_ascii_uppercase();
    if let Some(code) = upper.strip_prefix("SLEEP-") {
        return Some(match code {
            "S0" | "W" | "WAKE" => Some(Stage::W),
            "S1" | "N1" => Some(Stage::N1),
            "S2" | "N2" => Some(Stage::N2),
            "S3" | "S4" | "N3" | "N4" => Some(Stage::N3),
            "REM" | "R" => Some(Stage::R),
            _ => None,
        });
    }
    if let Some(x) = upper
        .strip_prefix("SLEEP STAGE ")
        .or_else(|| upper.strip_prefix("STAGE "))
    {
        return Some(Stage::parse(x));
    }
    let w = words(t);
    let has = |x: &str| w.iter().any(|v| v == x);
    // Ontology terms and long names.
    if w.first().is_some_and(|f| f == "sdo" || f == "sro") {
        let rest: String = w[1..].concat();
        let s = match rest.as_str() {
            "wakestate" | "wake" | "wakefulness" => Some(Stage::W),
            "nonrapideyemovementsleepn1" | "stage1sleep" | "nrem1sleep" => Some(Stage::N1),
            "nonrapideyemovementsleepn2" | "stage2sleep" | "nrem2sleep" => Some(Stage::N2),
            "nonrapideyemovementsleepn3"
            | "stage3sleep"
            | "stage4sleep"
            | "nrem3sleep"
            | "nonrapideyemovementsleepn4" => Some(Stage::N3),
            "rapideyemovementsleep" | "rapideyemovement" | "remsleep" => Some(Stage::R),
            "unscored" | "unscoredsleep" | "sleepstageunscored" | "movementtime" => None,
            _ => return None,
        };
        return Some(s);
    }
    if bare_labels && (Stage::parse(t).is_some() || Stage::is_unstaged_label(t)) {
        return Some(Stage::parse(t));
    }
    // Sleep-EDF's `Movement time` epochs, and unscored epochs in words.
    if (has("movement") && has("time") && w.len() == 2) || (has("unscored") && w.len() <= 2) {
        return Some(None);
    }
    if has("wake") && w.len() <= 2 {
        return Some(Some(Stage::W));
    }
    if (has("rem") || (has("rapid") && has("eye"))) && has("sleep") && !has("non") {
        return Some(Some(Stage::R));
    }
    None
}

/// A side in a name's words (`left`, `right`, `l`, `r`, `links`, `rechts`).
fn side_in_words(w: &[String]) -> Option<Side> {
    let left = w
        .iter()
        .any(|x| matches!(x.as_str(), "left" | "l" | "lt" | "links" | "sx"));
    let right = w
        .iter()
        .any(|x| matches!(x.as_str(), "right" | "r" | "rt" | "rechts" | "dx"));
    match (left, right) {
        (true, false) => Some(Side::Left),
        (false, true) => Some(Side::Right),
        _ => None,
    }
}

/// The leg a channel or location names, with the signal reader's leg-label aliases
/// (`LAT`, `Leg R`, `Tib L`), or its words (`EMG.Tibialis-Leg.Left`).
pub(crate) fn side_of_channel(channel: &str) -> Option<Side> {
    let n = normalise(channel);
    if LEFT_ALIASES.contains(&n.as_str()) {
        return Some(Side::Left);
    }
    if RIGHT_ALIASES.contains(&n.as_str()) {
        return Some(Side::Right);
    }
    side_in_words(&words(channel))
}

/// What scoring takes an event named `name` for (module docs), with its `channel` (an
/// EDF+ `@@` channel, a location column) when the file gives one. `bare_labels` as in
/// [`stage`].
pub(crate) fn classify(name: &str, channel: Option<&str>, bare_labels: bool) -> Option<Kind> {
    if let Some(s) = stage(name, bare_labels) {
        return Some(Kind::Stage(s));
    }
    let w = words(name);
    let has = |x: &str| w.iter().any(|v| v == x);
    let has_prefix = |x: &str| w.iter().any(|v| v.starts_with(x));
    // English and German spellings (DOMINO: `Obstruktive Apnoe`, `Hypopnoe`).
    if has_prefix("apnea")
        || has_prefix("apnoe")
        || has_prefix("hypopnea")
        || has_prefix("hypopnoe")
        || has("rera")
        || (has("effort") && has("related") && has("arousal"))
    {
        return Some(Kind::Respiratory);
    }
    if has("mcap") || w.first().is_some_and(|f| f == "cap") {
        return if w.iter().any(|x| matches!(x.as_str(), "a1" | "a2" | "a3")) {
            Some(Kind::CapPhase)
        } else {
            None
        };
    }
    if has_prefix("arousal") {
        return Some(Kind::Arousal);
    }
    let movement = has("lm")
        || has("lms")
        || has("plm")
        || has("plms")
        || has("plmw")
        || ((has("limb") || has("leg")) && has_prefix("movement"))
        || has_prefix("beinbeweg");
    if movement {
        let side = side_in_words(&w).or_else(|| channel.and_then(side_of_channel));
        return Some(Kind::Movement(side));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_every_export() {
        let c = |n: &str| classify(n, None, false);
        assert_eq!(
            words("SDO:ObstructiveApneaFinding"),
            ["sdo", "obstructive", "apnea", "finding"]
        );
        assert_eq!(c("SDO:HypopneaFinding"), Some(Kind::Respiratory));
        assert_eq!(c("SRO:CentralApnea"), Some(Kind::Respiratory));
        assert_eq!(c("APNEA-OBSTRUCTIVE"), Some(Kind::Respiratory));
        assert_eq!(c("RERA"), Some(Kind::Respiratory));
        assert_eq!(c("SpO2 desaturation"), None);
        assert_eq!(c("Snore"), None);
        assert_eq!(c("SDO:SleepArousalFinding"), Some(Kind::Arousal));
        assert_eq!(c("Arousal ()"), Some(Kind::Arousal));
        assert_eq!(c("AROUSAL-LM"), Some(Kind::Arousal));
        assert_eq!(c("PLM Arousal (EEG)"), Some(Kind::Arousal));
        assert_eq!(
            c("Respiratory effort related arousal"),
            Some(Kind::Respiratory)
        );
        assert_eq!(c("right-LM"), Some(Kind::Movement(Some(Side::Right))));
        assert_eq!(c("LM-LEFT"), Some(Kind::Movement(Some(Side::Left))));
        assert_eq!(
            c("Limb Movement (Left)"),
            Some(Kind::Movement(Some(Side::Left)))
        );
        assert_eq!(c("PLM-LM"), Some(Kind::Movement(None)));
        assert_eq!(
            classify("Limb movement", Some("LAT"), false),
            Some(Kind::Movement(Some(Side::Left)))
        );
        assert_eq!(
            classify("LM", Some("EMG.Tibialis-Leg.Right"), false),
            Some(Kind::Movement(Some(Side::Right)))
        );
        assert_eq!(c("MCAP-A2"), Some(Kind::CapPhase));
        assert_eq!(c("Obstruktive Apnoe"), Some(Kind::Respiratory));
        assert_eq!(c("Hypopnoe"), Some(Kind::Respiratory));
        assert_eq!(
            c("Beinbewegung links"),
            Some(Kind::Movement(Some(Side::Left)))
        );
        assert_eq!(c("Movement time"), Some(Kind::Stage(None)));
        assert_eq!(c("Lights off"), None);
        assert_eq!(c("Technician Notes"), None);
    }

    #[test]
    fn stage_names() {
        let s = |n: &str| stage(n, false);
        assert_eq!(s("SLEEP-S0"), Some(Some(Stage::W)));
        assert_eq!(s("SLEEP-S4"), Some(Some(Stage::N3)));
        assert_eq!(s("SLEEP-REM"), Some(Some(Stage::R)));
        assert_eq!(s("SLEEP-UNSCORED"), Some(None));
        assert_eq!(s("SLEEP-MT"), Some(None));
        assert_eq!(s("SDO:NonRapidEyeMovementSleep-N2"), Some(Some(Stage::N2)));
        assert_eq!(s("SDO:WakeState"), Some(Some(Stage::W)));
        assert_eq!(s("SRO:Stage2Sleep"), Some(Some(Stage::N2)));
        assert_eq!(s("SRO:RapidEyeMovement"), Some(Some(Stage::R)));
        assert_eq!(s("Sleep stage 3"), Some(Some(Stage::N3)));
        assert_eq!(s("Wake"), Some(Some(Stage::W)));
        assert_eq!(s("REM sleep"), Some(Some(Stage::R)));
        assert_eq!(s("N2"), None);
        assert_eq!(stage("N2", true), Some(Some(Stage::N2)));
        assert_eq!(stage("Unscored", true), Some(None));
        assert_eq!(s("Hypopnea"), None);
    }
}
