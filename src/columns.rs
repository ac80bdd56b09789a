//! Crate-private: the numeric body of a signal CSV, read into `f64` column buffers.
//!
//! Input: an opened [`CsvSource`] (header parsed, whole file in memory), the time column
//! and its kind, and the value columns with a scale factor. Output: [`Columns`] — one
//! `f64` per row for the time (seconds from the first row's clock, unshifted) and per value
//! column (scaled; `NaN` for a gap), plus the first line whose stamp repeats.
//!
//! A night is millions of short rows, so splitting records is the cost that matters, not
//! the arithmetic (README, Performance). When the body has no quote character and no lone
//! carriage return, every record is one line, so the body is cut into newline-aligned
//! chunks, one per core, and each chunk is split on the delimiter and parsed into its own
//! stretch of buffers allocated once for the whole file (rows counted first, so no `Vec`
//! grows and nothing is copied between chunks; blank lines are squeezed out afterwards).
//! Otherwise (quoted cells, old Mac line ends) the csv crate reads the body record by
//! record, which keeps its quoting rules. Both paths share the per-row code below, so cell
//! values and every error message — with its line, column and field — are identical, and
//! the error reported is the first one in file order. On the line path, a row whose cells
//! are all plain decimals (`-12.345`: no exponent, no spaces, at most 15 digits; nearly
//! every row of a recorded night) is read in one pass over its bytes with an exact
//! decimal conversion ([`table::plain_decimal`]); any other row takes the general per-row
//! code, so which path read a row never shows in the values or the errors.
//!
//! Numeric stamps on the line path can be checked, as they are read, against the uniform
//! grid the first and last stamps and the line count let the reader expect
//! ([`StampUse::Check`], [`GridCheck`]), instead of stored: [`Columns::rate_hz`] is then
//! the rate, and there is no time column. When they are not on it, every chunk stops at
//! its next block and the body is read again with the stamps stored.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, FixedOffset};

use crate::error::{Error, Location, Result};
use crate::input::GridCheck;
use crate::par;
use crate::table::{self, Body, CsvSource};

/// Bodies shorter than this are parsed on the calling thread.
const PARALLEL_MIN_BYTES: usize = 1 << 20;
/// At most this many chunks (threads).
const MAX_CHUNKS: usize = 8;
/// Bytes read at each end of the body for its first and last stamps.
const EDGE_BYTES: usize = 64 << 10;

/// How time stamps are read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TimeKind {
    /// Numbers, multiplied by this factor to give seconds.
    Seconds(f64),
    /// ISO-8601 date-times, as seconds after this first stamp.
    DateTime(DateTime<FixedOffset>),
}

/// What becomes of numeric stamps read on the line path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StampUse {
    /// Stored in [`Columns::times`].
    Store,
    /// Checked against the uniform grid expected at the rate given (or, without one, the
    /// rate of stamps with no gap) as they are read ([`GridCheck`]); stored only when they
    /// turn out not to be on it, by reading the body again.
    Check {
        /// The sample rate given, in Hz.
        given_hz: Option<f64>,
    },
}

/// What to read from each row.
pub(crate) struct Spec<'a> {
    /// The file, for messages.
    pub loc: &'a Location,
    /// Number of header fields, for messages.
    pub header_len: usize,
    /// The time column (index) and how to read it; `None` when rows are consecutive
    /// samples at a given rate.
    pub time: Option<(usize, TimeKind)>,
    /// The time column's header name.
    pub time_name: &'a str,
    /// Value columns: index and header name.
    pub cols: &'a [(usize, String)],
    /// Factor applied to every value.
    pub scale: f64,
    /// Whether a `,` in a cell is a decimal comma ([`CsvSource::comma_decimals`]).
    pub comma: bool,
    /// What becomes of numeric stamps.
    pub stamps: StampUse,
}

/// The columns read.
pub(crate) struct Columns {
    /// Time stamps in seconds (empty without a time column, or when `rate_hz` is known).
    pub times: Vec<f64>,
    /// The sample rate, when the stamps were checked instead of stored and every row is on
    /// its own point of the grid at this rate, as the stored stamps would have placed it
    /// ([`GridCheck::rate`]).
    pub rate_hz: Option<f64>,
    /// One buffer per value column, scaled, `NaN` for a gap.
    pub values: Vec<Vec<f64>>,
    /// The first line (and its time column, 1-based) whose stamp equals the previous one.
    pub first_repeat: Option<(u64, usize)>,
}

impl Spec<'_> {
    /// Fields a row must have.
    fn needed(&self) -> usize {
        self.cols
            .iter()
            .map(|c| c.0)
            .chain(self.time.map(|t| t.0))
            .max()
            .unwrap_or(0)
            + 1
    }

    /// The time of a row with `n_fields` fields (`cell(i)` is field `i`): `Ok(None)` for a
    /// blank row, `NaN` without a time column.
    fn row_time<'c>(
        &self,
        line: u64,
        n_fields: usize,
        cell: impl Fn(usize) -> &'c [u8],
    ) -> Result<Option<f64>> {
        if n_fields < self.needed() {
            if n_fields == 1 && cell(0).trim_ascii().is_empty() {
                return Ok(None);
            }
            return Err(Error::parse(
                self.loc.at_line(line),
                format!(
                    "missing fields: the row has {n_fields} field(s), the header {}",
                    self.header_len
                ),
            ));
        }
        let Some((c, kind)) = self.time else {
            return Ok(Some(f64::NAN));
        };
        let cell = cell(c);
        match kind {
            TimeKind::Seconds(k) => {
                match table::parse_number(cell, self.comma, self.loc, line, c + 1, self.time_name)?
                {
                    Some(v) => Ok(Some(v * k)),
                    None => Err(Error::parse(
                        self.loc.at_field(line, c + 1, self.time_name),
                        "empty time stamp",
                    )),
                }
            }
            TimeKind::DateTime(origin) => {
                let dt = parse_datetime(cell).ok_or_else(|| {
                    Error::parse(
                        self.loc.at_field(line, c + 1, self.time_name),
                        format!(
                            "`{}` is not an ISO-8601 date-time like the first row's",
                            table::shorten(&String::from_utf8_lossy(cell))
                        ),
                    )
                })?;
                Ok(Some(
                    (dt - origin)
                        .num_nanoseconds()
                        .map_or(f64::NAN, |ns| ns as f64 * 1e-9),
                ))
            }
        }
    }

    /// The scaled values of a row into `out` (one per value column).
    fn row_values<'c>(
        &self,
        line: u64,
        cell: impl Fn(usize) -> &'c [u8],
        out: &mut [f64],
    ) -> Result<()> {
        for ((c, name), o) in self.cols.iter().zip(out.iter_mut()) {
            *o = match table::parse_number(cell(*c), self.comma, self.loc, line, c + 1, name)? {
                None => f64::NAN,
                Some(v) if (v * self.scale).is_infinite() => {
                    return Err(Error::parse(
                        self.loc.at_field(line, c + 1, name),
                        format!(
                            "`{}` is out of range in the unit asked for (× {})",
                            table::shorten(&String::from_utf8_lossy(cell(*c).trim_ascii())),
                            self.scale
                        ),
                    ));
                }
                Some(v) => v * self.scale,
            };
        }
        Ok(())
    }

    /// The time column, 1-based (1 without one).
    fn time_column(&self) -> usize {
        self.time.map_or(0, |t| t.0) + 1
    }

    /// The "time goes backwards" error.
    fn backwards(&self, line: u64, t: f64, prev_t: f64) -> Error {
        Error::parse(
            self.loc.at_field(line, self.time_column(), self.time_name),
            format!("time goes backwards ({t} after {prev_t})"),
        )
    }
}

/// Order of the stamps within a run of rows.
#[derive(Debug, Clone, Copy)]
struct Order {
    /// The first stamp and its line.
    first: Option<(f64, u64)>,
    /// The last stamp.
    last: f64,
    /// The first line whose stamp repeats the previous one.
    first_repeat: Option<u64>,
}

impl Order {
    fn new() -> Self {
        Order {
            first: None,
            last: f64::NEG_INFINITY,
            first_repeat: None,
        }
    }

    /// Accepts the next stamp, refusing time going backwards.
    fn push(&mut self, spec: &Spec<'_>, t: f64, line: u64) -> Result<()> {
        if spec.time.is_none() {
            return Ok(());
        }
        if self.first.is_none() {
            self.first = Some((t, line));
        }
        if t < self.last {
            return Err(spec.backwards(line, t, self.last));
        }
        if t == self.last && self.first_repeat.is_none() {
            self.first_repeat = Some(line);
        }
        self.last = t;
        Ok(())
    }
}

/// Reads the body of `src` (from its current position) with `spec`. `time_col` is the
/// time column with its scale to seconds; whether it holds numbers or date-times is decided
/// from the first data row. Returns the columns and, for date-times, the first stamp
/// (RFC 3339).
pub(crate) fn read(
    src: &mut CsvSource,
    spec: &mut Spec<'_>,
    time_col: Option<(usize, f64)>,
) -> Result<(Columns, Option<String>)> {
    #[cfg(test)]
    let via = TEST_VIA.get();
    #[cfg(not(test))]
    let via = Via::Auto;
    read_via(src, spec, time_col, via)
}

#[cfg(test)]
thread_local! {
    /// The parser [`read`] uses in this test thread (tests of other modules choose it).
    pub(crate) static TEST_VIA: std::cell::Cell<Via> = const { std::cell::Cell::new(Via::Auto) };
}

/// Which parser [`read_via`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Lines in parallel when possible, else records.
    Auto,
    /// The csv crate's records.
    #[cfg_attr(not(test), allow(dead_code))]
    Records,
    /// Lines, in this many chunks.
    #[cfg_attr(not(test), allow(dead_code))]
    Lines(usize),
    /// Lines, in this many chunks, a file-backed body read in blocks of this many bytes.
    #[cfg(test)]
    Blocks(usize, usize),
}

/// [`read`] with a choice of parser (tests compare them).
fn read_via(
    src: &mut CsvSource,
    spec: &mut Spec<'_>,
    time_col: Option<(usize, f64)>,
    via: Via,
) -> Result<(Columns, Option<String>)> {
    let start = src.reader.position().clone();
    let needed = spec.needed();
    let stamp_kind =
        |src: &mut CsvSource| time_col.map(|(c, k)| (c, first_stamp_kind(src, c, needed, k)));
    spec.time = stamp_kind(src);
    let body = src.body_from(&start);
    let cores = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .clamp(1, MAX_CHUNKS);
    let chunks = match via {
        Via::Auto if body.len() >= PARALLEL_MIN_BYTES => Some(cores),
        Via::Auto => Some(1),
        Via::Lines(n) => Some(n.max(1)),
        #[cfg(test)]
        Via::Blocks(n, _) => Some(n.max(1)),
        Via::Records => None,
    };
    #[cfg(test)]
    let body = match via {
        Via::Blocks(_, size) => body.with_block(size),
        _ => body,
    };
    let lines = match chunks {
        Some(n) => read_lines(body, start.line(), src.delimiter, spec, n)?,
        None => None,
    };
    let columns = if let Some(columns) = lines {
        columns
    } else {
        if src.load_whole()? {
            // The first row is read again from the whole text.
            src.reader
                .seek(start.clone())
                .map_err(|e| table::csv_error(spec.loc, &e))?;
            spec.time = stamp_kind(src);
        }
        src.reader
            .seek(start)
            .map_err(|e| table::csv_error(spec.loc, &e))?;
        read_records(src, spec)?
    };
    let start_time = match spec.time {
        Some((_, TimeKind::DateTime(dt))) => Some(dt.to_rfc3339()),
        _ => None,
    };
    Ok((columns, start_time))
}

/// Whether the first data row's stamp is a number (or unreadable: the row parser then
/// reports it) or an ISO-8601 date-time. Leaves the reader wherever it stopped.
fn first_stamp_kind(src: &mut CsvSource, c: usize, needed: usize, k: f64) -> TimeKind {
    let mut record = csv::ByteRecord::new();
    while let Ok(true) = src.reader.read_byte_record(&mut record) {
        if record.len() == 1 && record.get(0).is_some_and(|c| c.trim_ascii().is_empty()) {
            continue; // blank line
        }
        if record.len() >= needed {
            let cell = record.get(c).unwrap_or_default().trim_ascii();
            if fast_float2::parse::<f64, _>(cell).is_err() {
                if let Some(dt) = parse_datetime(cell) {
                    return TimeKind::DateTime(dt);
                }
            }
        }
        break;
    }
    TimeKind::Seconds(k)
}

/// The csv crate's record loop (quoted cells or lone carriage returns).
fn read_records(src: &mut CsvSource, spec: &Spec<'_>) -> Result<Columns> {
    let mut times = Vec::new();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); spec.cols.len()];
    let mut row = vec![0.0; spec.cols.len()];
    let mut order = Order::new();
    let mut record = csv::ByteRecord::new();
    while let Some(line) = src.next_record(&mut record)? {
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let Some(t) = spec.row_time(line, record.len(), cell)? else {
            continue;
        };
        order.push(spec, t, line)?;
        spec.row_values(line, cell, &mut row)?;
        if spec.time.is_some() {
            times.push(t);
        }
        for (v, r) in values.iter_mut().zip(&row) {
            v.push(*r);
        }
    }
    Ok(Columns {
        times,
        values,
        first_repeat: order.first_repeat.map(|l| (l, spec.time_column())),
        rate_hz: None,
    })
}

/// One chunk's stretch of the time buffer (if any) and of each value buffer.
type Stretch<'b> = (Option<&'b mut [f64]>, Vec<&'b mut [f64]>);

/// What one chunk produced.
struct ChunkOut {
    rows: usize,
    order: Order,
    error: Option<Error>,
    /// The line after the last one read.
    next_line: u64,
    /// The stamps checked, when they are ([`StampUse::Check`]).
    check: Option<GridCheck>,
}

impl ChunkOut {
    /// Nothing parsed yet; the next line is `line`.
    fn start(line: u64) -> Self {
        ChunkOut {
            rows: 0,
            order: Order::new(),
            error: None,
            next_line: line,
            check: None,
        }
    }

    /// Extends this part (without an error) by `next`, the part that follows it: as if
    /// both had been parsed in one go. The stamps must stay ordered across the boundary.
    fn then(&mut self, spec: &Spec<'_>, next: ChunkOut) {
        if let Some((t, line)) = next.order.first {
            if let Err(e) = self.order.push(spec, t, line) {
                self.error = Some(e);
                return;
            }
            if let Some(l) = next.order.first_repeat {
                self.order.first_repeat.get_or_insert(l);
            }
            self.order.last = next.order.last;
        }
        self.rows += next.rows;
        self.error = next.error;
        self.next_line = next.next_line;
        match (&mut self.check, &next.check) {
            (Some(check), Some(next)) => check.then(next),
            (None, Some(next)) => self.check = Some(*next),
            _ => {}
        }
    }

    /// Whether its stamps, if checked, can still be on the expected grid.
    fn on_course(&self) -> bool {
        self.check.is_none_or(|c| c.holds())
    }
}

/// One record per line: `n_chunks` newline-aligned chunks parsed in parallel (a
/// file-backed body block by block); `None` when the body is not plain lines (quotes, lone
/// carriage returns): the csv crate reads it. With [`StampUse::Check`], numeric stamps are
/// checked against the grid the edge stamps and the line count give, and the body is
/// parsed again, storing them, only when they are not on it.
fn read_lines(
    body: Body<'_>,
    line0: u64,
    delimiter: u8,
    spec: &Spec<'_>,
    n_chunks: usize,
) -> Result<Option<Columns>> {
    // Chunk boundaries: just after a newline.
    let mut bounds = vec![0usize];
    for i in 1..n_chunks {
        let target = (body.len() * i / n_chunks).max(*bounds.last().unwrap_or(&0));
        bounds.push(body.line_start_after(target)?);
    }
    bounds.push(body.len());
    bounds.dedup();
    let chunks: Vec<Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();
    // Lines per chunk (an upper bound on its rows), counted in parallel, and whether the
    // chunk is plain lines: no quote (quoting rules need the csv crate) and no carriage
    // return other than in a CRLF line end (old Mac files). Chunks and blocks end just
    // after a newline, so a line end is never split between two.
    let counts: Vec<Result<Option<(usize, bool)>>> = par::map(chunks.clone(), |chunk| {
        let mut newlines = Some(0usize);
        let mut last = None;
        body.for_each_block(chunk, |block| {
            let plain = memchr::memchr2(b'"', b'\r', block).is_none()
                || (memchr::memchr(b'"', block).is_none()
                    && memchr::memchr_iter(b'\r', block)
                        .all(|p| p + 1 == block.len() || block[p + 1] == b'\n'));
            newlines = newlines
                .filter(|_| plain)
                .map(|n| n + memchr::memchr_iter(b'\n', block).count());
            last = block.last().copied().or(last);
            plain
        })?;
        Ok(newlines.map(|n| (n, last == Some(b'\n'))))
    });
    let Some(counts) = counts
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .collect::<Option<Vec<(usize, bool)>>>()
    else {
        return Ok(None);
    };
    // A chunk holds at most its newline count of rows, plus one for an unterminated last
    // line; exact in the common case, so no stretch has to be moved up afterwards.
    let caps: Vec<usize> = counts
        .iter()
        .map(|&(n, terminated)| n + usize::from(!terminated))
        .collect();
    let total: usize = caps.iter().sum();
    let mut first_lines = Vec::with_capacity(chunks.len());
    let mut line = line0;
    for (n, _) in &counts {
        first_lines.push(line);
        line += *n as u64;
    }
    let lines = Lines {
        body,
        chunks,
        caps,
        line_numbers: first_lines,
        delimiter,
        spec,
    };
    let mut values: Vec<Vec<f64>> = (0..spec.cols.len()).map(|_| vec![0.0; total]).collect();
    let check = match (spec.stamps, spec.time) {
        (StampUse::Check { given_hz }, Some((_, TimeKind::Seconds(_)))) => {
            edge_stamps(body, delimiter, spec)?
                .and_then(|(t0, t_last)| GridCheck::expect(given_hz, total, t0, t_last))
        }
        _ => None,
    };
    if let Some(check) = check {
        if let Some((rows, all)) = lines.parse(&mut [], &mut values, Some(check))? {
            if let Some(fs) = all.check.and_then(|c| c.rate(rows)) {
                for v in &mut values {
                    v.truncate(rows);
                }
                return Ok(Some(Columns {
                    times: Vec::new(),
                    values,
                    first_repeat: None,
                    rate_hz: Some(fs),
                }));
            }
        }
        // Not on the expected grid: read again, storing the stamps.
    }
    let mut times = if spec.time.is_some() {
        vec![0.0; total]
    } else {
        Vec::new()
    };
    let Some((rows, all)) = lines.parse(&mut times, &mut values, None)? else {
        // Never: only a check gives up (the record reader would read the body alike).
        return Ok(None);
    };
    times.truncate(rows.min(times.len()));
    for v in &mut values {
        v.truncate(rows);
    }
    Ok(Some(Columns {
        times,
        values,
        first_repeat: all.order.first_repeat.map(|l| (l, spec.time_column())),
        rate_hz: None,
    }))
}

/// A body of plain lines cut into chunks, each with its first line number and the rows
/// it can hold (its stretch of every column buffer).
struct Lines<'a, 's> {
    body: Body<'a>,
    chunks: Vec<Range<usize>>,
    caps: Vec<usize>,
    /// Each chunk's first line number.
    line_numbers: Vec<u64>,
    delimiter: u8,
    spec: &'a Spec<'s>,
}

impl Lines<'_, '_> {
    /// Parses the chunks in parallel into `times` (empty when stamps are not stored) and
    /// `values`, each chunk into its stretch, then squeezes out the stretches' unused
    /// tails: the rows read (the first ones of each buffer) and the merged outcome.
    /// `Ok(None)` when `check` was given and a chunk found the stamps off the expected grid
    /// (every chunk then stops at its next block); otherwise the first error in file order.
    fn parse(
        &self,
        times: &mut [f64],
        values: &mut [Vec<f64>],
        check: Option<GridCheck>,
    ) -> Result<Option<(usize, ChunkOut)>> {
        let spec = self.spec;
        let with_time = !times.is_empty();
        // Each chunk's stretch of every buffer.
        let mut parts: Vec<Stretch<'_>> = self.caps.iter().map(|_| (None, Vec::new())).collect();
        {
            let mut rest_t: &mut [f64] = times;
            let mut rest_v: Vec<&mut [f64]> = values.iter_mut().map(Vec::as_mut_slice).collect();
            for (part, &cap) in parts.iter_mut().zip(&self.caps) {
                if with_time {
                    let (a, b) = std::mem::take(&mut rest_t).split_at_mut(cap);
                    part.0 = Some(a);
                    rest_t = b;
                }
                for r in &mut rest_v {
                    let (a, b) = std::mem::take(r).split_at_mut(cap);
                    part.1.push(a);
                    *r = b;
                }
            }
        }
        // Each chunk's first row, when no line is blank.
        let first_rows = self.caps.iter().scan(0, |row, &cap| {
            let first = *row;
            *row += cap;
            Some(first)
        });
        let jobs: Vec<_> = self
            .chunks
            .iter()
            .cloned()
            .zip(self.line_numbers.iter().copied())
            .zip(first_rows)
            .zip(parts)
            .map(|(((chunk, line), row), part)| (chunk, line, row, part))
            .collect();
        let off_grid = AtomicBool::new(false);
        let outs: Vec<Result<ChunkOut>> = par::map(jobs, |(chunk, line, row, (mut t, mut v))| {
            let mut out = ChunkOut::start(line);
            self.body.for_each_block(chunk, |block| {
                let part = parse_chunk(
                    block,
                    out.next_line,
                    self.delimiter,
                    spec,
                    t.as_deref_mut().map(|t| &mut t[out.rows..]),
                    check.map(|c| c.starting_at(row + out.rows)),
                    v.iter_mut().map(|v| &mut v[out.rows..]).collect(),
                );
                out.then(spec, part);
                if !out.on_course() {
                    off_grid.store(true, Ordering::Relaxed);
                }
                out.error.is_none() && !off_grid.load(Ordering::Relaxed)
            })?;
            Ok(out)
        });
        if off_grid.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // Merge in file order: the first error wins; stamps must also be ordered across
        // chunk boundaries.
        let mut all = ChunkOut::start(self.line_numbers.first().copied().unwrap_or(0));
        let mut rows = Vec::with_capacity(outs.len());
        for out in outs {
            let out = out?;
            rows.push(out.rows);
            all.then(spec, out);
            if let Some(e) = all.error.take() {
                return Err(e);
            }
        }
        // Squeeze out the unused tail of each chunk's stretch (blank lines, last line).
        let mut at = 0usize;
        let mut offset = 0usize;
        for (&n, cap) in rows.iter().zip(&self.caps) {
            if offset != at {
                if with_time {
                    times.copy_within(offset..offset + n, at);
                }
                for v in values.iter_mut() {
                    v.copy_within(offset..offset + n, at);
                }
            }
            at += n;
            offset += cap;
        }
        Ok(Some((at, all)))
    }
}

/// The stamps of the body's first and last lines, when both are rows of plain decimals
/// (and the last line is within [`EDGE_BYTES`] of the end): what a [`GridCheck`] expects.
fn edge_stamps(body: Body<'_>, delimiter: u8, spec: &Spec<'_>) -> Result<Option<(f64, f64)>> {
    let mut plain = PlainRow::new(spec, delimiter);
    let mut row = vec![0.0; spec.cols.len()];
    let n = body.len();
    let mut first = None;
    body.for_each_block(0..n.min(EDGE_BYTES), |block| {
        // A whole line: one that ends within the block.
        first = plain
            .read(spec, block, &mut row)
            .filter(|&(_, used)| block[..used].ends_with(b"\n"))
            .map(|(t, _)| t);
        false
    })?;
    let Some(first) = first else {
        return Ok(None);
    };
    let from = n.saturating_sub(EDGE_BYTES);
    let mut tail = Vec::with_capacity(n - from);
    body.for_each_block(from..n, |block| {
        tail.extend_from_slice(block);
        true
    })?;
    let body_of_line = tail.strip_suffix(b"\n").unwrap_or(&tail);
    let start = match memchr::memrchr(b'\n', body_of_line) {
        Some(p) => p + 1,
        None if from == 0 => 0,
        None => return Ok(None),
    };
    let last_line = &tail[start..];
    Ok(plain
        .read(spec, last_line, &mut row)
        .filter(|&(_, used)| used == last_line.len())
        .map(|(t, _)| (first, t)))
}

/// Parses the lines of `chunk` (first line number `line0`) into `times`/`values`, the
/// stamps checked by `check` if given.
fn parse_chunk(
    chunk: &[u8],
    line0: u64,
    delimiter: u8,
    spec: &Spec<'_>,
    mut times: Option<&mut [f64]>,
    check: Option<GridCheck>,
    mut values: Vec<&mut [f64]>,
) -> ChunkOut {
    // The check's state in locals of this loop (an `Option` kept it in memory).
    let checking = check.is_some();
    let mut grid = check.unwrap_or_else(GridCheck::idle);
    let needed = spec.needed();
    let mut cells: Vec<(usize, usize)> = Vec::with_capacity(needed + 1);
    let mut row = vec![0.0; spec.cols.len()];
    let mut plain = PlainRow::new(spec, delimiter);
    let mut order = Order::new();
    let mut rows = 0usize;
    let mut line = line0;
    let mut rest = chunk;
    let error = loop {
        if rest.is_empty() {
            break None;
        }
        if let Some((t, used)) = plain.read(spec, rest, &mut row) {
            // Every cell read is a plain decimal: store it, or fall through to the
            // general path for the error message if the stamps go backwards.
            if order.push(spec, t, line).is_ok() {
                if let Some(times) = times.as_deref_mut() {
                    times[rows] = t;
                }
                if checking {
                    grid.push(t);
                }
                for (v, r) in values.iter_mut().zip(&row) {
                    v[rows] = *r;
                }
                rows += 1;
                line += 1;
                rest = &rest[used..];
                continue;
            }
        }
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let mut text = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        if let [head @ .., b'\r'] = text {
            text = head;
        }
        if text.is_empty() {
            line += 1;
            continue; // an empty line is not a record (as in the csv crate)
        }
        // Field boundaries up to the last needed field.
        cells.clear();
        let mut from = 0usize;
        for (i, &b) in text.iter().enumerate() {
            if b == delimiter {
                cells.push((from, i));
                from = i + 1;
                if cells.len() == needed {
                    break;
                }
            }
        }
        let n_fields = if cells.len() == needed {
            needed
        } else {
            cells.push((from, text.len()));
            cells.len()
        };
        let cell = |i: usize| cells.get(i).map_or(&[][..], |&(a, b)| &text[a..b]);
        let result = spec.row_time(line, n_fields, cell).and_then(|t| match t {
            None => Ok(false),
            Some(t) => {
                order.push(spec, t, line)?;
                spec.row_values(line, cell, &mut row)?;
                if let Some(times) = times.as_deref_mut() {
                    times[rows] = t;
                }
                if checking {
                    grid.push(t);
                }
                for (v, r) in values.iter_mut().zip(&row) {
                    v[rows] = *r;
                }
                Ok(true)
            }
        });
        match result {
            Ok(stored) => rows += usize::from(stored),
            Err(e) => break Some(e),
        }
        line += 1;
    };
    ChunkOut {
        rows,
        order,
        error,
        next_line: line,
        check: checking.then_some(grid),
    }
}

/// The fast path of the row parser: a row whose cells (the ones read) are all plain
/// decimals ([`table::plain_decimal`]) is read in one pass over its bytes, with no cell
/// list and no trimming. Any other row — a gap, spaces, an exponent, text, a missing field,
/// a value out of range once scaled — goes the general way, so values and error messages
/// do not depend on which path read a row.
struct PlainRow {
    /// Per field up to the last needed one: whether it is read.
    wanted: Vec<bool>,
    /// The values of the fields read, by field.
    cells: Vec<f64>,
    /// The delimiter, or `None` when it could be part of a number (never, for the
    /// delimiters sniffed; the general path then reads every row).
    delimiter: Option<u8>,
}

impl PlainRow {
    fn new(spec: &Spec<'_>, delimiter: u8) -> Self {
        let needed = spec.needed();
        let mut wanted = vec![false; needed];
        for &(c, _) in spec.cols {
            wanted[c] = true;
        }
        let delimiter = match spec.time {
            Some((_, TimeKind::DateTime(_))) => None,
            Some((c, TimeKind::Seconds(_))) => {
                wanted[c] = true;
                Some(delimiter)
            }
            None => Some(delimiter),
        };
        Self {
            wanted,
            cells: vec![0.0; needed],
            delimiter: delimiter.filter(|d| !matches!(d, b'0'..=b'9' | b'.' | b'+' | b'-')),
        }
    }

    /// The time of the line at the start of `text` (`NaN` without a time column) with
    /// its scaled values in `row`, and the length of the line with its line end; or
    /// `None` for the general path. The line is read where it lies, with no search for
    /// its end first: the last cell read ends at the line end (`\n`, `\r\n`, or the end
    /// of `text`) or at a delimiter, and only then are the fields after it skipped.
    #[allow(
        clippy::inline_always,
        reason = "left to itself the compiler stopped inlining it into the chunk parser's loop once the stamp check joined it: 8 ms more per 8-hour night"
    )]
    #[inline(always)]
    fn read(&mut self, spec: &Spec<'_>, text: &[u8], row: &mut [f64]) -> Option<(f64, usize)> {
        let delimiter = self.delimiter?;
        let mut at = 0usize;
        for (i, (&wanted, cell)) in self.wanted.iter().zip(&mut self.cells).enumerate() {
            if i > 0 {
                // The previous field ended at a delimiter.
                if text.get(at) != Some(&delimiter) {
                    return None;
                }
                at += 1;
            }
            let field = &text[at..];
            at += if wanted {
                let (v, len) = table::plain_decimal_prefix(field, spec.comma)?;
                *cell = v;
                len
            } else {
                // A field not read; it cannot be the last one needed, so it ends at a
                // delimiter on this line.
                field
                    .iter()
                    .position(|&b| b == delimiter || b == b'\n' || b == b'\r')
                    .unwrap_or(field.len())
            };
        }
        // The line end; fields after the last needed one are not read (as on the general
        // path).
        let used = match text.get(at) {
            None => at,
            Some(b'\n') => at + 1,
            Some(b'\r') => match text.get(at + 1) {
                Some(b'\n') => at + 2,
                None => at + 1,
                Some(_) => return None,
            },
            Some(&d) if d == delimiter => {
                memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p + 1)
            }
            Some(_) => return None,
        };
        let t = match spec.time {
            Some((c, TimeKind::Seconds(k))) => self.cells[c] * k,
            _ => f64::NAN,
        };
        for (&(c, _), r) in spec.cols.iter().zip(row.iter_mut()) {
            *r = self.cells[c] * spec.scale;
            if r.is_infinite() {
                return None;
            }
        }
        Some((t, used))
    }
}

/// Parses an ISO-8601 date-time (with or without offset; `T` or space).
pub(crate) fn parse_datetime(cell: &[u8]) -> Option<DateTime<FixedOffset>> {
    let s = std::str::from_utf8(cell).ok()?.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.and_utc().fixed_offset());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fmt::Write as _;
    use std::path::Path;

    /// Reads `text` (header `time_s,a,b`) with `via`; the outcome as comparable text.
    fn outcome(text: &[u8], via: Via) -> String {
        let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(text.to_vec()));
        match table::open_csv(Some(Path::new("n.csv")), input) {
            Ok(src) => outcome_of(src, via),
            Err(e) => format!("open: {e}"),
        }
    }

    /// [`outcome`] of `text` written to a file and read from it in blocks of `block` bytes
    /// (the file's name shown as `n.csv`).
    fn file_outcome(text: &[u8], chunks: usize, block: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.csv");
        std::fs::write(&path, text).unwrap();
        let shown = path.display().to_string();
        match table::open_file_backed_from(&path, 0) {
            Ok(src) => outcome_of(src, Via::Blocks(chunks, block)),
            Err(e) => format!("open: {e}"),
        }
        .replace(&shown, "n.csv")
    }

    /// What reading `src` with `via` gives, as comparable text.
    fn outcome_of(src: CsvSource, via: Via) -> String {
        outcome_cols(src, via, &[(1, "a".to_owned()), (2, "b".to_owned())])
    }

    /// [`outcome_of`] reading the value columns `cols`.
    fn outcome_cols(mut src: CsvSource, via: Via, cols: &[(usize, String)]) -> String {
        let loc = src.loc.clone();
        let mut spec = Spec {
            loc: &loc,
            header_len: src.headers.len(),
            time: None,
            time_name: "time_s",
            cols,
            scale: 2.0,
            comma: src.comma_decimals(),
            stamps: StampUse::Store,
        };
        match read_via(&mut src, &mut spec, Some((0, 1.0)), via) {
            Ok((c, start)) => format!(
                "{:?} {:?} {:?} {:?}",
                c.times.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                c.values
                    .iter()
                    .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
                c.first_repeat,
                start
            ),
            Err(e) => format!("error: {e}"),
        }
    }

    /// One line of a body: mostly good rows, sometimes each kind of defect.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (0u32..50, -500i32..500, 0u32..3).prop_map(|(t, v, w)| {
                format!("{}.{:02},{}.5,{}", t / 10, t % 10, v, -v * i32::try_from(w).unwrap_or(1))
            }),
            1 => Just(String::new()),
            1 => Just("   ".to_owned()),
            1 => Just("1.0,2".to_owned()),
            1 => Just("1.0,abc,3".to_owned()),
            1 => Just("1.0,,NaN".to_owned()),
            1 => Just(" 2.5 , 1e3 ,-0.0,extra".to_owned()),
            1 => Just(",1,2".to_owned()),
            // Cells at the edges of the plain-decimal fast path.
            1 => Just("9.,+2.,.25,x".to_owned()),
            1 => Just("9.5,-.5,1234567890123456".to_owned()),
            1 => Just("9.5,999999999999999,0.00000000000001".to_owned()),
            1 => Just("9.5,1..2,3".to_owned()),
            1 => Just("9.5,-,+".to_owned()),
        ]
    }

    proptest! {
        /// The parallel line parser and the csv crate's record loop agree on every body —
        /// values bit for bit, the repeated-stamp line, and the first error with its
        /// position — however the body is cut into chunks, with LF or CRLF line ends.
        #[test]
        fn chunked_lines_equal_csv_records(
            lines in proptest::collection::vec(line(), 0..40),
            crlf in any::<bool>(),
            chunks in 1usize..6,
            block in 1usize..48,
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("time_s,a,b{eol}");
            for l in &lines {
                text.push_str(l);
                text.push_str(eol);
            }
            let reference = outcome(text.as_bytes(), Via::Records);
            prop_assert_eq!(&outcome(text.as_bytes(), Via::Lines(chunks)), &reference);
            // Read from the file, or from memory, in blocks that cut lines anywhere.
            prop_assert_eq!(&file_outcome(text.as_bytes(), chunks, block), &reference);
            prop_assert_eq!(&outcome(text.as_bytes(), Via::Blocks(chunks, block)), &reference);
            // Without the final line end, too.
            let trimmed = text.trim_end_matches(['\r', '\n']);
            let reference = outcome(trimmed.as_bytes(), Via::Records);
            prop_assert_eq!(&outcome(trimmed.as_bytes(), Via::Lines(chunks)), &reference);
            prop_assert_eq!(&outcome(trimmed.as_bytes(), Via::Blocks(chunks, block)), &reference);
        }

        /// Fields that are not read — between the read ones and after the last — are
        /// skipped alike by both parsers, whatever they hold, with LF or CRLF line ends.
        #[test]
        fn unread_fields_are_skipped_alike(
            lines in proptest::collection::vec(
                (line(), "[a-z0-9 .+-]{0,6}", proptest::option::of("[a-z0-9 ,.]{0,8}")),
                0..40,
            ),
            crlf in any::<bool>(),
            chunks in 1usize..6,
            block in 1usize..48,
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("time_s,a,note,b,extra{eol}");
            for (l, note, extra) in &lines {
                // Put the unread note between the two value cells of the line.
                let mut cells: Vec<&str> = l.splitn(3, ',').collect();
                if cells.len() == 3 {
                    for cell in [cells[0], cells[1], note.as_str(), cells[2]] {
                        text.push_str(cell);
                        text.push(',');
                    }
                    text.pop();
                } else {
                    cells.push("");
                    text.push_str(&cells.join(","));
                }
                if let Some(x) = extra {
                    text.push(',');
                    text.push_str(x);
                }
                text.push_str(eol);
            }
            let cols = [(1, "a".to_owned()), (3, "b".to_owned())];
            let open = |t: &str| {
                let input: Box<dyn std::io::Read + Send> =
                    Box::new(std::io::Cursor::new(t.as_bytes().to_vec()));
                table::open_csv(Some(Path::new("n.csv")), input)
            };
            let read = |t: &str, via| match open(t) {
                Ok(src) => outcome_cols(src, via, &cols),
                Err(e) => format!("open: {e}"),
            };
            let reference = read(&text, Via::Records);
            prop_assert_eq!(&read(&text, Via::Lines(chunks)), &reference);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("n.csv");
            std::fs::write(&path, &text).unwrap();
            let shown = path.display().to_string();
            let from_file = match table::open_file_backed_from(&path, 0) {
                Ok(src) => outcome_cols(src, Via::Blocks(chunks, block), &cols),
                Err(e) => format!("open: {e}"),
            }
            .replace(&shown, "n.csv");
            prop_assert_eq!(&from_file, &reference);
        }

        /// The same bodies written the European way — `;` between cells, `,` for the
        /// decimal point — read alike on both paths, and where they read without error,
        /// to the same values as written with points.
        #[test]
        fn decimal_commas_read_like_points_in_semicolon_files(
            lines in proptest::collection::vec(line(), 0..40),
            chunks in 1usize..6,
        ) {
            let mut text = String::from("time_s,a,b\n");
            for l in &lines {
                text.push_str(l);
                text.push('\n');
            }
            let european = text.replace(',', ";").replace('.', ",");
            let reference = outcome(european.as_bytes(), Via::Records);
            prop_assert_eq!(&outcome(european.as_bytes(), Via::Lines(chunks)), &reference);
            if !reference.starts_with("error") {
                prop_assert_eq!(&outcome(text.as_bytes(), Via::Records), &reference);
            }
        }
    }

    #[test]
    fn plain_rows_take_the_fast_path_and_others_the_general_one() {
        let loc = Location::default();
        let cols = vec![(1, "a".to_owned()), (3, "b".to_owned())];
        let spec = Spec {
            loc: &loc,
            header_len: 4,
            time: Some((0, TimeKind::Seconds(1e-3))),
            time_name: "time_ms",
            cols: &cols,
            scale: 2.0,
            comma: false,
            stamps: StampUse::Store,
        };
        let mut plain = PlainRow::new(&spec, b',');
        let mut row = [0.0; 2];
        // The unread field 2 may hold anything; fields after the last needed one are not
        // read. A line is read where it lies: the length returned takes in its line end,
        // and the next line is left alone.
        assert_eq!(
            plain.read(&spec, b"1500,1.25,text,-3,extra", &mut row),
            Some((1.5, 23))
        );
        assert_eq!(row, [2.5, -6.0]);
        assert_eq!(
            plain.read(&spec, b"1500,1.25,text,-3,extra\n7,7,7,7\n", &mut row),
            Some((1.5, 24))
        );
        assert_eq!(row, [2.5, -6.0]);
        assert_eq!(
            plain.read(&spec, b"1500,.5,,+3.", &mut row),
            Some((1.5, 12))
        );
        assert_eq!(row, [1.0, 6.0]);
        assert_eq!(
            plain.read(&spec, b"2000,-0,,-0\n9", &mut row),
            Some((2.0, 12))
        );
        assert!(row.iter().all(|v| *v == 0.0 && v.is_sign_negative()));
        assert_eq!(plain.read(&spec, b"1,2,,3\r\n9", &mut row), Some((1e-3, 8)));
        assert_eq!(plain.read(&spec, b"1,2,,3\r", &mut row), Some((1e-3, 7)));
        for general in [
            &b"1500,1.25,x"[..],
            b"1500,1.25,x\n,3",
            b"1500, 1.25,x,3",
            b"1500,,x,3",
            b"1500,1e3,x,3",
            b"1500,1,x,3;4",
            b"1500,1,x,3\r4\n",
            b"1500,1,x,3 \n",
            b"15 00,1,x,3",
            b"\n1500,1,x,3",
            b"\r\n1500,1,x,3",
            b"1500,1.2.3,x,3",
            b"1500,1234567890123456,x,3",
        ] {
            assert_eq!(
                plain.read(&spec, general, &mut row),
                None,
                "{}",
                String::from_utf8_lossy(general)
            );
        }
        let origin = DateTime::parse_from_rfc3339("2024-03-01T22:00:00Z").unwrap();
        let dated = Spec {
            time: Some((0, TimeKind::DateTime(origin))),
            ..spec
        };
        let mut plain = PlainRow::new(&dated, b',');
        assert_eq!(plain.read(&dated, b"1500,1,x,3", &mut row), None);
    }

    #[test]
    fn date_times_and_quotes_use_the_right_reader() {
        let text = b"time,a,b\n2024-03-01T22:00:00Z,1,2\n2024-03-01T22:00:00.5Z,3,4\n";
        let lines = outcome(text, Via::Lines(2));
        assert_eq!(lines, outcome(text, Via::Records));
        assert!(lines.contains("2024-03-01T22:00:00+00:00"), "{lines}");
        // Quoted cells: the automatic choice falls back to the csv crate.
        let quoted = b"time,a,b\n0,\"1\",2\n0.5,\"3\",4\n";
        assert_eq!(outcome(quoted, Via::Auto), outcome(quoted, Via::Records));
        assert!(!outcome(quoted, Via::Auto).contains("error"));
    }

    #[test]
    fn file_backed_bodies_fall_back_to_records_and_report_a_shrunk_file() {
        use std::fmt::Write;
        // Quoted cells: the whole file is read after all, and the first row again.
        let quoted = b"time,a,b\n2024-03-01T22:00:00Z,\"1\",2\n2024-03-01T22:00:01Z,3,\"4\"\n";
        let reference = outcome(quoted, Via::Records);
        assert!(
            reference.contains("2024-03-01T22:00:00+00:00"),
            "{reference}"
        );
        for block in [1, 5, 64] {
            assert_eq!(file_outcome(quoted, 2, block), reference);
        }
        // A file cut short after it was opened: an I/O error naming it, no panic.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.csv");
        let mut text = String::from("time_s,a,b\n");
        for i in 0..500 {
            writeln!(text, "{i},1,2").unwrap();
        }
        std::fs::write(&path, &text).unwrap();
        let src = table::open_file_backed_from(&path, 0).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let got = outcome_of(src, Via::Blocks(2, 64));
        assert!(
            got.starts_with("error: ") && got.contains("cut.csv"),
            "{got}"
        );
    }

    #[test]
    fn stamps_on_the_grid_are_checked_and_others_stored() {
        // 256 Hz with 6-decimal stamps, 40 rows (lines 2–41); then the same with rows
        // 20–22 missing.
        let night = |skip: &[u32]| {
            let mut text = String::from("time_s,a,b\n");
            for i in (0..40u32).filter(|i| !skip.contains(i)) {
                let _ = writeln!(text, "{:.6},{i}.5,-{i}", f64::from(i) / 256.0 + 3.0);
            }
            text
        };
        let regular = night(&[]);
        let gapped = night(&[20, 21, 22]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.csv");
        let read = |text: &str, via: Via| {
            let src = match via {
                Via::Blocks(..) => {
                    std::fs::write(&path, text).unwrap();
                    table::open_file_backed_from(&path, 0).unwrap()
                }
                _ => {
                    table::open_csv(None, Box::new(std::io::Cursor::new(text.to_owned()))).unwrap()
                }
            };
            let mut src = src;
            let loc = src.loc.clone();
            let cols = [(1, "a".to_owned()), (2, "b".to_owned())];
            let mut spec = Spec {
                loc: &loc,
                header_len: 3,
                time: None,
                time_name: "time_s",
                cols: &cols,
                scale: 1.0,
                comma: false,
                stamps: StampUse::Check { given_hz: None },
            };
            read_via(&mut src, &mut spec, Some((0, 1.0)), via)
                .unwrap()
                .0
        };
        for via in [
            Via::Lines(1),
            Via::Lines(3),
            Via::Blocks(2, 64),
            Via::Blocks(1, 100),
        ] {
            let checked = read(&regular, via);
            assert!(checked.times.is_empty(), "{via:?}");
            let fs = checked
                .rate_hz
                .unwrap_or_else(|| panic!("{via:?}: not on the grid"));
            // The rate `estimate_rate` gives on the stored stamps: 39 steps over the span.
            let last: f64 = format!("{:.6}", 39.0 / 256.0 + 3.0).parse().unwrap();
            assert_eq!(fs.to_bits(), (39.0 / (last - 3.0)).to_bits(), "{via:?}");
            assert_eq!(checked.values[0].len(), 40);
            assert_eq!(checked.values[1][39], -39.0);
            let stored = read(&gapped, via);
            assert_eq!(stored.rate_hz, None, "{via:?}");
            assert_eq!(stored.times.len(), 37, "{via:?}");
            assert_eq!(stored.values[0][20], 23.5, "{via:?}");
        }
        // The last row cut short of its line end, and blank lines, are read as stored.
        let unterminated = regular.trim_end().to_owned();
        assert!(read(&unterminated, Via::Lines(2)).rate_hz.is_some());
        let blank = format!("{regular}\n");
        assert_eq!(read(&blank, Via::Lines(2)).rate_hz, None);
        assert_eq!(read(&blank, Via::Lines(2)).times.len(), 40);
    }

    #[test]
    fn errors_point_at_the_first_bad_line_across_chunks() {
        use std::fmt::Write;
        let mut text = String::from("time_s,a,b\n");
        for i in 0..1000 {
            writeln!(text, "{i},1,2").unwrap();
        }
        text.push_str("998.5,1,2\n"); // line 1002: backwards
        text.push_str("2000,x,2\n"); // line 1003: not a number
        for chunks in 1..5 {
            assert_eq!(
                outcome(text.as_bytes(), Via::Lines(chunks)),
                "error: n.csv, line 1002, column 1 (time_s): time goes backwards (998.5 after 999)"
            );
        }
    }
}
