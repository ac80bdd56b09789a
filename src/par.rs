//! Crate-private: mapping over a few items on scoped threads — the legs of a night, the
//! chunks of a CSV body. Results come back in item order, exactly what a sequential loop
//! gives; a panic in a worker is re-raised on the caller.

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
}
