//! Crate-private: mapping over a few items on scoped threads — the legs of a night, the
//! chunks of a CSV body, the parts of a night-long column. Results come back in item
//! order, exactly what a sequential loop gives; a panic in a worker is re-raised on the
//! caller.

use std::ops::Range;

/// Below this many elements a column is scanned on the calling thread alone: a thread
/// costs tens of µs, a scan of this many elements about as much.
const MIN_PART: usize = 1 << 16;

/// Consecutive ranges covering `0..n`, one per core (one alone for short columns).
fn parts(n: usize) -> Vec<Range<usize>> {
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get().min(8));
    let k = cores.min(n / MIN_PART).max(1);
    (0..k).map(|i| n * i / k..n * (i + 1) / k).collect()
}

/// `f` over consecutive ranges covering `0..n`, one per core, in order.
pub(crate) fn ranges<R: Send>(n: usize, f: impl Fn(Range<usize>) -> R + Sync) -> Vec<R> {
    map(parts(n), f)
}

/// `f` on consecutive parts of `x`, one per core, each modified in place.
pub(crate) fn for_parts_mut<T: Send>(x: &mut [T], f: impl Fn(&mut [T]) + Sync) {
    let ranges = parts(x.len());
    let mut pieces = Vec::with_capacity(ranges.len());
    let mut rest = x;
    for r in ranges {
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(r.len());
        pieces.push(piece);
        rest = tail;
    }
    map(pieces, f);
}

/// `f` over `items`: the first on the calling thread, each other on its own scoped thread.
pub(crate) fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let mut items = items.into_iter();
        let first = items.next();
        let handles: Vec<_> = items.map(|t| s.spawn(move || f(t))).collect();
        let mut out: Vec<R> = first.into_iter().map(f).collect();
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        );
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_item_order() {
        let got = super::map((0..7).collect(), |i: u64| {
            std::thread::sleep(std::time::Duration::from_millis(7 - i));
            i * i
        });
        assert_eq!(got, vec![0, 1, 4, 9, 16, 25, 36]);
        assert!(super::map(Vec::<u8>::new(), |x| x).is_empty());
    }

    #[test]
    fn parts_cover_a_column_in_order() {
        for n in [0, 1, 1000, super::MIN_PART * 3 + 7] {
            let got: Vec<_> = super::ranges(n, |r| r).into_iter().flatten().collect();
            assert_eq!(got, (0..n).collect::<Vec<_>>());
            let mut x: Vec<usize> = vec![0; n];
            super::for_parts_mut(&mut x, |p| p.iter_mut().for_each(|v| *v += 1));
            assert!(x.iter().all(|&v| v == 1));
        }
    }
}
