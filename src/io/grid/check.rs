//! The stamps of a night checked, as they are parsed, against the uniform grid they are
//! expected on, instead of stored for [`super::estimate_rate`] and
//! [`super::place_on_grid`] (a 59-MB column less per 8-hour night, and three passes over
//! it; `benches/README.md`).
//!
//! **What it computes.** From the first and last stamps and the number of lines, before
//! the rows are parsed, the grid the night is expected on; then, row by row, whether
//! reading every stamp would have given that rate and put each row on its own grid point.
//! **Tested against** storing the stamps and placing them (`crate::io::csv`'s property
//! test, with every kind of spoilt night: moved, missing, repeated stamps, blank lines,
//! gaps in the first or last row, text and quoted cells).

/// A night's stamps checked, as they are parsed, against the uniform grid they are
/// expected on (module docs).
///
/// The expectation is made from the first and last stamps and the number of lines before
/// the rows are parsed: the rate given, or the one [`super::estimate_rate`] finds on stamps with
/// no gap, `(rows − 1) / (t_last − t0)`. [`GridCheck::rate`] then gives that rate only when
/// reading every stamp would have given it and placed each row on its own grid point:
/// the same rows and last stamp, no step longer than 1.5 times the shortest (so none longer
/// than 1.5 median steps: no gap), every row within 0.45 sample of its own grid point (so
/// [`super::near_integer`] holds for every stamp) and as many grid points as rows. Otherwise it
/// gives `None`, and the stamps must be read again and stored (irregular, gapped or coarse
/// stamps, blank lines): a night is never placed differently, at worst read twice.
///
/// [`GridCheck::push`] is a few branch-free operations per row; a row's own grid point is
/// its index, counted from where its run of rows starts ([`GridCheck::starting_at`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GridCheck {
    /// The first row's stamp, from which the grid starts.
    t0: f64,
    /// The last row's stamp expected.
    t_last: f64,
    /// Rows expected.
    rows: usize,
    /// The rate checked against.
    fs: f64,
    /// Whether the rate was given (and so is not estimated from the stamps).
    given: bool,
    /// The index of the next row, as a float (exact below 2⁵³).
    index: f64,
    /// Every row seen so far is within 0.45 sample of its own grid point.
    on_grid: bool,
    /// The first and latest stamps seen, from `t0` (`NaN` before any).
    first: f64,
    last: f64,
    /// The shortest and longest steps between consecutive stamps seen (±∞ before any).
    min_step: f64,
    max_step: f64,
}

impl GridCheck {
    /// The expectation for `rows` rows stamped from `t0` to `t_last`, at the rate `given`
    /// or the rate of stamps with no gap; `None` when there is none to check (fewer than
    /// two rows, stamps not increasing).
    pub(crate) fn expect(given: Option<f64>, rows: usize, t0: f64, t_last: f64) -> Option<Self> {
        // What `estimate_rate` computes for one gap-free stretch of stamps shifted by `t0`:
        // `0.0 + ((t_last − t0) − 0.0)` over `rows − 1` steps, the same bits for a positive
        // span.
        let span = t_last - t0;
        let fs = given.unwrap_or(rows.saturating_sub(1) as f64 / span);
        let check = Self {
            t0,
            t_last,
            rows,
            fs,
            given: given.is_some(),
            ..Self::idle()
        };
        (rows >= 2 && span > 0.0 && fs.is_finite() && fs > 0.0).then_some(check)
    }

    /// Nothing expected and nothing seen: the state every check starts from, and a
    /// stand-in where nothing is checked.
    pub(crate) fn idle() -> Self {
        Self {
            t0: 0.0,
            t_last: 0.0,
            rows: 0,
            fs: 0.0,
            given: false,
            index: 0.0,
            on_grid: true,
            first: f64::NAN,
            last: f64::NAN,
            min_step: f64::INFINITY,
            max_step: f64::NEG_INFINITY,
        }
    }

    /// The same expectation with nothing seen, for a run of rows whose first is row `row`.
    pub(crate) fn starting_at(&self, row: usize) -> Self {
        Self {
            t0: self.t0,
            t_last: self.t_last,
            rows: self.rows,
            fs: self.fs,
            given: self.given,
            index: row as f64,
            ..Self::idle()
        }
    }

    /// Checks the next row's stamp `t` (seconds, as the column would store it).
    #[inline]
    pub(crate) fn push(&mut self, t: f64) {
        // The shift `read_columns` applies to the stored column, and the grid position
        // `place_on_grid` tests.
        let dt = t - self.t0;
        let x = dt * self.fs;
        // Within 0.45 of the integer `index` (the difference is exact: the two are within
        // a factor of two unless `index` is 0), so within 0.45 of the nearest integer.
        self.on_grid &= (x - self.index).abs() < 0.45;
        self.index += 1.0;
        // The first step is `NaN` (no previous stamp) and changes neither extreme.
        let step = dt - self.last;
        self.min_step = if step < self.min_step {
            step
        } else {
            self.min_step
        };
        self.max_step = if step > self.max_step {
            step
        } else {
            self.max_step
        };
        self.first = if self.first.is_nan() { dt } else { self.first };
        self.last = dt;
    }

    /// Extends this run of rows by `next`, the run that follows it.
    pub(crate) fn then(&mut self, next: &Self) {
        if next.first.is_nan() {
            return;
        }
        let step = next.first - self.last;
        self.min_step = self.min_step.min(step).min(next.min_step);
        self.max_step = self.max_step.max(step).max(next.max_step);
        if self.first.is_nan() {
            self.first = next.first;
        }
        self.last = next.last;
        self.index = next.index;
        self.on_grid &= next.on_grid;
    }

    /// Whether the rows seen so far can still be on the expected grid (a reader gives up
    /// early when not).
    pub(crate) fn holds(&self) -> bool {
        // Before two stamps the extremes are still ±∞.
        self.on_grid && (self.given || self.max_step <= 1.5 * self.min_step)
    }

    /// The rate when the `rows` rows read are on the expected grid, one row per grid
    /// point, exactly as the stored stamps would have put them (type docs); else `None`.
    pub(crate) fn rate(&self, rows: usize) -> Option<f64> {
        let span = self.last;
        let as_expected = self.first == 0.0 && self.min_step > 0.0 && self.holds();
        let same_rate = self.given || (rows == self.rows && span == self.t_last - self.t0);
        // `place_on_grid`'s direct placement with as many grid points as rows.
        let one_each = (span * self.fs).round() as usize + 1 == rows;
        (as_expected && same_rate && one_each).then_some(self.fs)
    }
}
