//! Column and signal names: the aliases by which the time, the legs and the accelerometer
//! axes are recognised in CSV headers and EDF signal labels, and how a night's kind (EMG
//! or accelerometer) is told from its names.
//!
//! Names are compared normalised: lower case, without spaces, `_`, `-` and `.`
//! ([`normalise`]: `Leg L` → `legl`, `time_s` → `times`).

use super::Options;
use super::unit::SignalKind;
use crate::error::Result;

/// Header names (normalised: lower case, no spaces/`_`/`-`/`.`) recognised as the time.
pub const TIME_ALIASES: &[&str] = &[
    "times",
    "time",
    "t",
    "seconds",
    "sec",
    "secs",
    "timestamp",
    "timesec",
    "elapsed",
];
/// Recognised as time in milliseconds.
pub const TIME_MS_ALIASES: &[&str] = &["timems", "ms", "milliseconds"];
/// Recognised as the left leg.
pub const LEFT_ALIASES: &[&str] = &[
    "left",
    "leftuv",
    "l",
    "lat",
    "latuv",
    "legl",
    "lleg",
    "leftleg",
    "legleft",
    "tibl",
    "tibleft",
    "tibsx",
    "tibsin",
    "lefttib",
    "ltib",
    "emgl",
    "lemg",
    "leftemg",
    "tibialisl",
    "lta",
    "lefttibialis",
    "legsx",
    "plml",
    "lm1",
];
/// Recognised as the right leg.
pub const RIGHT_ALIASES: &[&str] = &[
    "right",
    "rightuv",
    "r",
    "rat",
    "ratuv",
    "legr",
    "rleg",
    "rightleg",
    "legright",
    "tibr",
    "tibright",
    "tibdx",
    "tibdex",
    "righttib",
    "rtib",
    "emgr",
    "remg",
    "rightemg",
    "tibialisr",
    "rta",
    "righttibialis",
    "legdx",
    "plmr",
    "lm2",
];

/// The index of the first header (case-insensitive, ignoring spaces, `_`, `-` and `.`)
/// equal to one of `aliases` (given in that normalised form).
pub(crate) fn find_column(headers: &[String], aliases: &[&str]) -> Option<usize> {
    let norm: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
    aliases
        .iter()
        .find_map(|a| norm.iter().position(|h| h == a))
}

/// [`find_column`], refusing an ambiguous match: when two headers equal the alias that
/// matches first, the message names both (`headers[i]` is reported as `shown[i]`, the
/// label as the file has it, with its 1-based position).
pub(crate) fn find_unique(
    headers: &[String],
    shown: &[String],
    aliases: &[&str],
) -> std::result::Result<Option<usize>, String> {
    let Some(first) = find_column(headers, aliases) else {
        return Ok(None);
    };
    let want = normalise(&headers[first]);
    match headers
        .iter()
        .enumerate()
        .skip(first + 1)
        .find(|(_, h)| normalise(h) == want)
    {
        None => Ok(Some(first)),
        Some((second, _)) => Err(format!(
            "two signals could be the same leg: `{}` ({}) and `{}` ({}); name the one to use with --left/--right",
            crate::error::shorten(&shown[first]),
            first + 1,
            crate::error::shorten(&shown[second]),
            second + 1
        )),
    }
}

/// Headers among `headers` (other than `taken`) that look like a name of the leg whose
/// The fix to show when no leg was recognised among `labels`: `--left 'Leg 1' --right
/// 'Leg 2'` when exactly two labels look like leg channels (a pair such as `Leg 1`/`Leg 2`
/// is ambiguous, so it is never taken for left and right unasked), else the options.
pub(crate) fn leg_fix(labels: &[String]) -> String {
    let legs: Vec<&String> = labels
        .iter()
        .filter(|l| {
            let n = normalise(l);
            ["leg", "tib", "emg", "plm", "lm", "limb"]
                .iter()
                .any(|w| n.contains(w))
        })
        .collect();
    match legs.as_slice() {
        [a, b] => format!(
            "if they are the legs, say which is which: --left '{}' --right '{}'",
            crate::error::shorten(a),
            crate::error::shorten(b)
        ),
        _ => "name the legs with --left NAME and --right NAME".to_owned(),
    }
}

/// `aliases` found no column: within two edits of an alias of four letters or more, or
/// naming the side (`rihgt_uv`, `Right leg EMG`), so that a misspelt leg is not dropped
/// without a word.
pub(crate) fn look_alike(
    headers: &[String],
    taken: &[usize],
    aliases: &[&str],
    side_word: &str,
) -> Vec<String> {
    headers
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(i))
        .filter(|(_, h)| {
            let n = normalise(&super::unit::split_unit(h).0);
            n.contains(side_word)
                || aliases
                    .iter()
                    .any(|a| a.len() >= 4 && edit_distance(&n, a) <= 2)
        })
        .map(|(_, h)| h.clone())
        .collect()
}

/// Levenshtein distance between `a` and `b` (characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Lower-case with spaces, `_`, `-` and `.` removed: `Leg L` → `legl`, `time_s` → `times`.
pub(crate) fn normalise(h: &str) -> String {
    h.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The kind of night whose columns (or EDF signals) are named `names`: as
/// [`Options::signal`] says; else accelerometer when axes are named or found and no
/// leg EMG is; else EMG.
pub(crate) fn kind_from_names(names: &[String], options: &Options) -> SignalKind {
    options.signal.unwrap_or_else(|| {
        if options.left_axes.is_some() || options.right_axes.is_some() {
            SignalKind::Accel
        } else if options.left.is_some() || options.right.is_some() {
            SignalKind::Emg
        } else {
            let emg = find_column(names, LEFT_ALIASES).is_some()
                || find_column(names, RIGHT_ALIASES).is_some();
            let (l, r, g) = find_axes(names);
            if !emg && (l.is_some() || r.is_some() || g.is_some()) {
                SignalKind::Accel
            } else {
                SignalKind::Emg
            }
        }
    })
}

/// Sided prefixes of accelerometer axis columns (normalised).
const LEFT_PREFIXES: &[&str] = &[
    "left",
    "l",
    "lt",
    "leftankle",
    "lankle",
    "ankleleft",
    "leftleg",
    "lleg",
    "legleft",
    "leftfoot",
    "lfoot",
    "leftshin",
    "lshin",
];
const RIGHT_PREFIXES: &[&str] = &[
    "right",
    "r",
    "rt",
    "rightankle",
    "rankle",
    "ankleright",
    "rightleg",
    "rleg",
    "legright",
    "rightfoot",
    "rfoot",
    "rightshin",
    "rshin",
];
/// Prefixes of a single unlabelled sensor.
const GENERIC_PREFIXES: &[&str] = &["", "ankle", "leg", "foot", "shin", "sensor", "imu"];

/// Splits a normalised header into (prefix, axis): `leftx` → (`left`, 0), `lax` → (`l`, 0),
/// `leftaccy` → (`left`, 1), `accz` → (empty, 2).
fn split_axis(h: &str) -> Option<(&str, usize)> {
    let axis = match h.as_bytes().last()? {
        b'x' => 0,
        b'y' => 1,
        b'z' => 2,
        _ => return None,
    };
    let mut prefix = &h[..h.len() - 1];
    for suffix in ["accelerometer", "acceleration", "accel", "acc", "a"] {
        if let Some(p) = prefix.strip_suffix(suffix) {
            prefix = p;
            break;
        }
    }
    for lead in ["accelerometer", "acceleration", "accel", "acc"] {
        if let Some(p) = prefix.strip_prefix(lead) {
            prefix = p;
            break;
        }
    }
    Some((prefix, axis))
}

/// The x, y, z column indices of one accelerometer, if its three columns were found.
pub(crate) type Triplet = Option<[usize; 3]>;

/// The x, y, z column indices of the left, right and unlabelled accelerometers.
fn find_axes(headers: &[String]) -> (Triplet, Triplet, Triplet) {
    let mut found = [[None::<usize>; 3]; 3]; // left, right, generic
    for (i, h) in headers.iter().enumerate() {
        let norm = normalise(h);
        let Some((prefix, axis)) = split_axis(&norm) else {
            continue;
        };
        let which = if LEFT_PREFIXES.contains(&prefix) {
            0
        } else if RIGHT_PREFIXES.contains(&prefix) {
            1
        } else if GENERIC_PREFIXES.contains(&prefix) {
            2
        } else {
            continue;
        };
        found[which][axis].get_or_insert(i);
    }
    let complete = |t: [Option<usize>; 3]| match t {
        [Some(x), Some(y), Some(z)] => Some([x, y, z]),
        _ => None,
    };
    (complete(found[0]), complete(found[1]), complete(found[2]))
}

/// The left and right x, y, z axes among `names` (CSV headers or EDF labels): those
/// given in `options` (found with `by_name`), else found by name; a single unlabelled
/// sensor is the left leg.
pub(crate) fn choose_axes(
    names: &[String],
    options: &Options,
    by_name: impl Fn(&str) -> Result<usize>,
) -> Result<(Triplet, Triplet)> {
    let by_names = |axes: &[String; 3]| -> Result<[usize; 3]> {
        let mut out = [0; 3];
        for (o, name) in out.iter_mut().zip(axes) {
            *o = by_name(name)?;
        }
        Ok(out)
    };
    let (found_l, found_r, generic) = find_axes(names);
    let explicit = options.left_axes.is_some() || options.right_axes.is_some();
    let left = match &options.left_axes {
        Some(n) => Some(by_names(n)?),
        None if explicit => None,
        None => found_l.or(if found_r.is_none() { generic } else { None }),
    };
    let right = match &options.right_axes {
        Some(n) => Some(by_names(n)?),
        None if explicit => None,
        None => found_r,
    };
    Ok((left, right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_aliases_ignore_case_and_separators() {
        let h: Vec<String> = ["Time", "Leg L", "TIB_R"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(find_column(&h, &["legl"]), Some(1));
        assert_eq!(find_column(&h, &["tibr"]), Some(2));
        assert_eq!(find_column(&h, &["nothing"]), None);
        assert_eq!(
            (edit_distance("rihgt", "right"), edit_distance("", "abc")),
            (2, 3)
        );
        let heads: Vec<String> = ["time_s", "left_uv", "rihgt_uv", "spo2"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            look_alike(&heads, &[0, 1], RIGHT_ALIASES, "right"),
            ["rihgt_uv"]
        );
        assert!(look_alike(&heads, &[0, 1, 2], RIGHT_ALIASES, "right").is_empty());
    }
}
