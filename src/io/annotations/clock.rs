//! Clock times in scoring exports, and how they are placed on the recording's time axis.
//!
//! Embla XML, RemLogic, CAP and DOMINO exports give an event's time as a clock time: a full
//! date-time (`2013-07-26T01:03:20.150`) or only the time of day (`01:03:20`, `01.03.20`,
//! `01:03:20,150` with a decimal comma), sometimes with the date once in a header. Reading
//! such a file gives each event a [`Clock`] ([`DayRoll`] puts times of day on the right day:
//! each is taken on the day that puts it nearest the previous time, so a night rolls over
//! midnight and a block of stages followed by a block of events starting again at lights
//! off still reads right).
//!
//! Placing them needs the recording's clock at t = 0, a [`ClockStart`] (from the EDF
//! header, `--start-time`, the night's date-time stamps or the first stage epoch; the
//! caller chooses). When both sides know their date the difference is exact
//! ([`offsets`]); when either knows only the time of day, the file's earliest time is put
//! within twelve hours of the start, and the others keep their distance to it.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Nanoseconds in a day: clock times are kept in whole nanoseconds, so that millisecond
/// times (`23:53:09.110`) become exactly the seconds a CSV list writes (39.11 s after
/// 23:52:30, not 39.10999999999325).
const DAY_NS: i64 = 86_400_000_000_000;

/// A clock time read from a file: a day and the seconds into it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Clock {
    /// Days since 0001-01-01 when `dated`; else days since the file's first time.
    pub(crate) day: i64,
    /// Nanoseconds since midnight, [0, 86400 s).
    pub(crate) tod_ns: i64,
    /// Whether `day` is a calendar day.
    pub(crate) dated: bool,
}

impl Clock {
    /// Nanoseconds from `other` to `self` (saturating: dates ten thousand years apart
    /// do not fit, and such an event lies outside any night anyway).
    pub(crate) fn since_ns(&self, other: &Clock) -> i64 {
        (self.day.saturating_sub(other.day))
            .saturating_mul(DAY_NS)
            .saturating_add(self.tod_ns - other.tod_ns)
    }
}

/// The recording's clock at t = 0: a date-time, or only a time of day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockStart {
    clock: Clock,
}

impl ClockStart {
    /// Parses `2024-03-01T22:30:05` (also with a space, fractional seconds or an offset,
    /// which is ignored: exports write local time), `01.03.2024 22:30:05`, or a time of day
    /// `22:30:05` / `22:30`.
    #[must_use]
    pub fn parse(text: &str) -> Option<ClockStart> {
        let (date, tod_ns) = parse_clock(text)?;
        Some(ClockStart {
            clock: Clock {
                day: date.map_or(0, day_number),
                tod_ns,
                dated: date.is_some(),
            },
        })
    }

    pub(crate) fn from_clock(clock: Clock) -> Self {
        Self { clock }
    }

    /// Whether the date is known (not only the time of day).
    #[must_use]
    pub fn is_dated(&self) -> bool {
        self.clock.dated
    }

    /// Seconds since midnight.
    #[must_use]
    pub fn time_of_day_s(&self) -> f64 {
        self.clock.tod_ns as f64 / 1e9
    }

    /// The date and time, when the date is known.
    pub(crate) fn date_time(&self) -> Option<NaiveDateTime> {
        if !self.clock.dated {
            return None;
        }
        let date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(self.clock.day + 1).ok()?)?;
        let secs = u32::try_from(self.clock.tod_ns / 1_000_000_000).ok()?;
        let nanos = u32::try_from(self.clock.tod_ns % 1_000_000_000).ok()?;
        date.and_hms_nano_opt(secs / 3600, secs / 60 % 60, secs % 60, nanos)
    }
}

impl fmt::Display for ClockStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.clock.tod_ns / 1_000_000_000;
        let (h, m, s) = (whole / 3600, (whole % 3600) / 60, whole % 60);
        let ms = (self.clock.tod_ns % 1_000_000_000) / 1_000_000;
        if self.clock.dated {
            if let Some(d) = NaiveDate::from_num_days_from_ce_opt((self.clock.day + 1) as i32) {
                write!(f, "{}T", d.format("%Y-%m-%d"))?;
            }
        }
        write!(f, "{h:02}:{m:02}:{s:02}")?;
        if ms > 0 {
            write!(f, ".{ms:03}")?;
        }
        Ok(())
    }
}

/// Days since 0001-01-01.
fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 1
}

/// Nanoseconds since midnight of a date-time (a leap second's are folded into the second).
fn tod_of(t: &NaiveDateTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * 1_000_000_000
        + i64::from(t.nanosecond().min(999_999_999))
}

/// A date: `2013-07-26`, `26.07.2013`, `26/07/2013` (day first, as European exports write
/// it; `07/26/2013` is read month first only because 26 cannot be a month).
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    for fmt in [
        "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%m/%d/%Y", "%d.%m.%y", "%d/%m/%y",
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(t, fmt) {
            return Some(d);
        }
    }
    None
}

/// A clock cell: a date-time (ISO, or a date as [`parse_date`] reads it and a time of day)
/// or a time of day (`hh:mm:ss[.fff]`, `hh:mm:ss,fff`, `hh.mm.ss`, `hh:mm`).
pub(crate) fn parse_clock(text: &str) -> Option<(Option<NaiveDate>, i64)> {
    let t = text.trim();
    if let Some(dt) = crate::io::csv::row::parse_datetime(t.as_bytes()) {
        let naive = dt.naive_local();
        return Some((Some(naive.date()), tod_of(&naive)));
    }
    if let Some((date, time)) = t.split_once([' ', 'T']) {
        let date = parse_date(date)?;
        return Some((Some(date), parse_time_of_day(time)?));
    }
    Some((None, parse_time_of_day(t)?))
}

/// `hh:mm:ss[.fff]`, `hh:mm:ss,fff`, `hh.mm.ss[.fff]`, `hh:mm` → nanoseconds since
/// midnight.
pub(crate) fn parse_time_of_day(text: &str) -> Option<i64> {
    let t = text.trim();
    let (main, frac) = if t.contains(':') {
        // With colons, `.` or `,` starts the fraction.
        match t.find(['.', ',']) {
            Some(i) => (&t[..i], Some(&t[i + 1..])),
            None => (t, None),
        }
    } else {
        // `hh.mm.ss[.fff]`: the fourth part is the fraction.
        let mut parts = t.splitn(4, '.');
        let hms = [parts.next()?, parts.next()?, parts.next()?];
        let head = &t[..hms.iter().map(|p| p.len()).sum::<usize>() + 2];
        (head, parts.next())
    };
    let fields: Vec<&str> = main.split([':', '.']).collect();
    if !(2..=3).contains(&fields.len()) {
        return None;
    }
    let num = |s: &str, max: u32| -> Option<u32> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    let h = num(fields[0], 23)?;
    let m = num(fields[1], 59)?;
    let s = fields.get(2).map_or(Some(0), |s| num(s, 59))?;
    let frac_ns = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<i64>().ok()? * 10i64.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    Some(i64::from(h * 3600 + m * 60 + s) * 1_000_000_000 + frac_ns)
}

/// Seconds from `start` to `stop` (each as [`parse_clock`] reads it): exact when both
/// have dates, else the time of day from one to the other, over midnight if need be.
pub(crate) fn span_s(start: (Option<NaiveDate>, i64), stop: (Option<NaiveDate>, i64)) -> f64 {
    let ns = match (start.0, stop.0) {
        (Some(a), Some(b)) => (day_number(b) - day_number(a))
            .saturating_mul(DAY_NS)
            .saturating_add(stop.1 - start.1),
        _ => (stop.1 - start.1).rem_euclid(DAY_NS),
    };
    ns as f64 / 1e9
}

/// Puts the clock times of a file on days, in file order.
#[derive(Debug, Clone, Default)]
pub(crate) struct DayRoll {
    /// The date the file's header gives, if any.
    base: Option<NaiveDate>,
    /// The previous time placed.
    prev: Option<Clock>,
}

impl DayRoll {
    /// Times of day start on `base` (a header's recording date), else on an unknown day.
    pub(crate) fn new(base: Option<NaiveDate>) -> Self {
        Self { base, prev: None }
    }

    /// Places a time read as `(date, time of day)`: a date is kept; a time of day goes on
    /// the day nearest the previous time (the header's date, or the unknown day 0, for
    /// the first).
    pub(crate) fn place(&mut self, (date, tod_ns): (Option<NaiveDate>, i64)) -> Clock {
        let clock = match (date, self.prev) {
            (Some(d), _) => Clock {
                day: day_number(d),
                tod_ns,
                dated: true,
            },
            (None, Some(prev)) => {
                let gap = tod_ns - prev.tod_ns;
                let day = if gap < -DAY_NS / 2 {
                    prev.day + 1
                } else if gap > DAY_NS / 2 {
                    prev.day - 1
                } else {
                    prev.day
                };
                Clock {
                    day,
                    tod_ns,
                    ..prev
                }
            }
            (None, None) => Clock {
                day: self.base.map_or(0, day_number),
                tod_ns,
                dated: self.base.is_some(),
            },
        };
        self.prev = Some(clock);
        clock
    }
}

/// How clock times were placed ([`offsets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placing {
    /// By date and time.
    Dated,
    /// By time of day (one side had no date).
    TimeOfDay,
    /// By time of day, because the dates were more than a day apart.
    DatesDisagree,
}

/// Nanoseconds from `start` to each of `clocks`, and how they were placed (module docs).
pub(crate) fn offsets(clocks: &[Clock], start: &ClockStart) -> (Vec<i64>, Placing) {
    let s = start.clock;
    let Some(first) = clocks.iter().min_by_key(|c| (c.day, c.tod_ns)).copied() else {
        return (Vec::new(), Placing::Dated);
    };
    let dated = s.dated && clocks.iter().all(|c| c.dated);
    if dated && first.since_ns(&s).unsigned_abs() <= DAY_NS.unsigned_abs() {
        return (
            clocks.iter().map(|c| c.since_ns(&s)).collect(),
            Placing::Dated,
        );
    }
    let mut shift = (first.tod_ns - s.tod_ns).rem_euclid(DAY_NS);
    if shift >= DAY_NS / 2 {
        shift -= DAY_NS;
    }
    let placing = if dated {
        Placing::DatesDisagree
    } else {
        Placing::TimeOfDay
    };
    (
        clocks
            .iter()
            .map(|c| shift.saturating_add(c.since_ns(&first)))
            .collect(),
        placing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_clock_spellings() {
        let s = |t: &str| parse_time_of_day(t).map(|ns| ns as f64 / 1e9);
        assert_eq!(s("01:03:20.150"), Some(3800.15));
        assert_eq!(s("01:03:20,250"), Some(3800.25));
        assert_eq!(s("22.07.39"), Some(79659.0));
        assert_eq!(s("22:07"), Some(79620.0));
        for bad in [
            "24:00:00",
            "1:2:3:4",
            "aa:bb:cc",
            "",
            "12:60:00",
            "12:00:00.x",
        ] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
        let (d, t) = parse_clock("2013-07-26T01:03:20.150").unwrap();
        assert_eq!((d.unwrap().day(), t), (26, 3_800_150_000_000));
        let (d, t) = parse_clock("23.09.2020 01:00:00").unwrap();
        assert_eq!((d.unwrap().month(), t), (9, 3_600_000_000_000));
        assert_eq!(parse_date("26/07/2013").map(|d| d.month()), Some(7));
        assert_eq!(parse_date("07/26/2013").map(|d| d.day()), Some(26));
        assert_eq!(
            ClockStart::parse("2024-03-01 22:30:05")
                .unwrap()
                .to_string(),
            "2024-03-01T22:30:05"
        );
        assert_eq!(
            ClockStart::parse("22:30:05.5").unwrap().to_string(),
            "22:30:05.500"
        );
    }

    #[test]
    fn times_of_day_roll_over_midnight_and_back() {
        let mut roll = DayRoll::new(parse_date("26.07.2013"));
        let times = ["23:59:30", "00:00:10", "06:00:00", "23:00:00", "01:00:00"];
        let days: Vec<i64> = times
            .iter()
            .map(|t| roll.place((None, parse_time_of_day(t).unwrap())).day)
            .collect();
        let d0 = days[0];
        assert_eq!(days, vec![d0, d0 + 1, d0 + 1, d0, d0 + 1]);
    }

    #[test]
    fn dates_far_apart_saturate() {
        let c = |t: &str| ClockStart::parse(t).unwrap().clock;
        let (a, b) = (c("0001-01-01T00:00:00"), c("9999-12-31T23:59:59"));
        assert_eq!(b.since_ns(&a), i64::MAX);
        assert_eq!(a.since_ns(&b), i64::MIN);
        let (t, how) = offsets(&[b], &ClockStart { clock: a });
        assert_eq!(
            (t[0], how),
            (86_399_000_000_000 - DAY_NS, Placing::DatesDisagree)
        );
    }

    #[test]
    fn offsets_by_date_or_by_time_of_day() {
        const S: i64 = 1_000_000_000;
        let mut roll = DayRoll::new(parse_date("2013-07-26"));
        let clocks: Vec<Clock> = ["22:30:00", "23:59:59", "00:00:01"]
            .iter()
            .map(|t| roll.place((None, parse_time_of_day(t).unwrap())))
            .collect();
        let dated = ClockStart::parse("2013-07-26T22:00:00").unwrap();
        let (t, how) = offsets(&clocks, &dated);
        assert_eq!(
            (t, how),
            (vec![1800 * S, 7199 * S, 7201 * S], Placing::Dated)
        );
        let tod = ClockStart::parse("22:00:00").unwrap();
        assert_eq!(offsets(&clocks, &tod).0, vec![1800 * S, 7199 * S, 7201 * S]);
        // Lights off after the first event: it lies before t = 0.
        let late = ClockStart::parse("22:31:00").unwrap();
        assert_eq!(offsets(&clocks, &late).0[0], -60 * S);
        let other_day = ClockStart::parse("2014-01-01T22:00:00").unwrap();
        let (t, how) = offsets(&clocks, &other_day);
        assert_eq!((t[0], how), (1800 * S, Placing::DatesDisagree));
    }
}
