//! The line path of [`super::columns`]: a body of plain lines cut into newline-aligned
//! chunks parsed on all cores.
//!
//! Each chunk is parsed into its own stretch of column buffers allocated once for the
//! whole file (lines counted first, in parallel, so no `Vec` grows and nothing is copied
//! between chunks; blank lines are squeezed out afterwards). A file-backed body is read
//! block by block into one reused buffer per thread. Rows of plain decimals take the fast
//! path of [`super::plain_row`]; any other row the general per-row code of
//! [`super::row::Spec`], so which path read a row never shows in the values or the
//! errors.
//!
//! Numeric stamps can be checked, as they are read, against the uniform grid the first
//! and last stamps and the line count let the reader expect ([`StampUse::Check`],
//! [`GridCheck`]), instead of stored: [`Columns::rate_hz`] is then the rate, and there is
//! no time column. When they are not on it, every chunk stops at its next block and the
//! body is read again with the stamps stored.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::plain_row::PlainRow;
use super::row::{Columns, Order, Spec, StampUse, TimeKind};
use super::source::Body;
use crate::error::{Error, Result};
use crate::io::grid::check::GridCheck;
use crate::par;

/// Bytes read at each end of the body for its first and last stamps.
const EDGE_BYTES: usize = 64 << 10;

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
pub(crate) fn read_lines(
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
