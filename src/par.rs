//! Work spread over the machine's cores where the items are independent (naming flows, writing
//! their records), with results in input order. Small inputs stay on the calling thread:
//! starting a thread costs more than a few thousand items.

use std::num::NonZeroUsize;

/// Threads worth starting: the cores available, at most `max`.
pub fn threads(max: usize) -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get).clamp(1, max.max(1))
}

/// The slice length that spreads `len` items over up to `threads` threads with at least
/// `min_chunk` items per slice; `None` when one slice (on the calling thread) is all it takes.
fn split(len: usize, threads: usize, min_chunk: usize) -> Option<usize> {
    let n = threads.clamp(1, len.div_ceil(min_chunk.max(1)).max(1));
    (n > 1).then(|| len.div_ceil(n))
}

/// `f` applied to consecutive slices of `items` on up to `threads` threads (this one included);
/// the results in the order of the slices. A slice holds at least `min_chunk` items.
pub fn map_chunks<'t, T: Sync, R: Send>(
    items: &'t [T],
    threads: usize,
    min_chunk: usize,
    f: impl Fn(&'t [T]) -> R + Sync,
) -> Vec<R> {
    let Some(chunk) = split(items.len(), threads, min_chunk) else {
        return vec![f(items)];
    };
    let f = &f;
    std::thread::scope(|scope| {
        let mut parts = items.chunks(chunk);
        let first = parts.next().unwrap_or(&[]);
        let others: Vec<_> = parts.map(|part| scope.spawn(move || f(part))).collect();
        let mut out = Vec::with_capacity(others.len() + 1);
        out.push(f(first));
        // A panic in a helper thread is a bug: carry it on as this thread's.
        out.extend(others.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))));
        out
    })
}

/// `make` applied to every part on `threads` threads of its own, and `each` given the results
/// on this thread in the order of the parts, as they come: consuming one (writing it into a
/// file, say) overlaps making the next. A thread holds at most one result waiting. Stops at
/// the first error of `each`.
pub fn make_in_order<P: Sync, R: Send, E>(
    parts: &[P],
    threads: usize,
    make: impl Fn(&P) -> R + Sync,
    mut each: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E> {
    if threads <= 1 || parts.len() <= 1 {
        return parts.iter().enumerate().try_for_each(|(i, p)| each(i, make(p)));
    }
    let make = &make;
    std::thread::scope(|scope| {
        let ready: Vec<_> = (0..threads)
            .map(|t| {
                let (send, ready) = std::sync::mpsc::sync_channel(0);
                scope.spawn(move || {
                    // A send fails once `each` stopped: then so does this thread.
                    let _ = parts.iter().skip(t).step_by(threads).try_for_each(|p| send.send(make(p)));
                });
                ready
            })
            .collect();
        // A thread that panicked sends nothing more; the scope carries its panic on.
        (0..parts.len()).map_while(|i| Some((i, ready[i % threads].recv().ok()?))).try_for_each(|(i, r)| each(i, r))
    })
}

/// Buffers that go round between the threads making parts and the one consuming them: fresh
/// ones would be fresh pages, faulted in and zeroed by the kernel for every megabyte made.
pub struct Spare<T>(std::sync::Mutex<Vec<T>>);

impl<T> Spare<T> {
    pub fn new() -> Self {
        Self(std::sync::Mutex::new(Vec::new()))
    }

    /// A buffer given back earlier, if any.
    pub fn take(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop()
    }

    /// `buf` kept for the next `take`; the caller clears it first.
    pub fn give(&self, buf: T) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(buf);
    }
}

impl<T> Default for Spare<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// `f` applied to consecutive slices of `items` on up to `threads` threads (this one included),
/// each writing the results of its slice to the same places of `out` (as long as `items`).
/// The results land where they stay: a vector of hundreds of thousands of results is never
/// held twice, as parts and then joined. A slice holds at least `min_chunk` items.
pub fn fill_chunks<T: Sync, R: Send>(
    items: &[T],
    out: &mut [R],
    threads: usize,
    min_chunk: usize,
    f: impl Fn(&[T], &mut [R]) + Sync,
) {
    assert_eq!(items.len(), out.len(), "fill_chunks: one result per item");
    let Some(chunk) = split(items.len(), threads, min_chunk) else {
        return f(items, out);
    };
    let f = &f;
    std::thread::scope(|scope| {
        let mut parts = items.chunks(chunk).zip(out.chunks_mut(chunk));
        let first = parts.next();
        let others: Vec<_> = parts.map(|(part, into)| scope.spawn(move || f(part, into))).collect();
        if let Some((part, into)) = first {
            f(part, into);
        }
        for h in others {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
}

/// `a()` and `b()`, on two threads when `parallel` (`a` on a new one), else one after the
/// other on this one.
pub fn join<RA: Send, RB>(parallel: bool, a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB) -> (RA, RB) {
    if !parallel {
        let ra = a();
        return (ra, b());
    }
    std::thread::scope(|scope| {
        let ha = scope.spawn(a);
        let rb = b();
        (ha.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), rb)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_made_on_threads_are_consumed_in_order_until_an_error() {
        let parts: Vec<u32> = (0..50).collect();
        for threads in 1..=4 {
            let mut got = Vec::new();
            let done: Result<(), ()> = make_in_order(
                &parts,
                threads,
                |p| p * 2,
                |i, r| {
                    got.push((i, r));
                    Ok(())
                },
            );
            assert_eq!(done, Ok(()));
            assert_eq!(got, (0..50).map(|i| (i as usize, i * 2)).collect::<Vec<_>>(), "{threads} threads");
            let mut seen = 0;
            let stopped = make_in_order(
                &parts,
                threads,
                |p| *p,
                |i, _| {
                    seen += 1;
                    if i == 7 {
                        Err(i)
                    } else {
                        Ok(())
                    }
                },
            );
            assert_eq!((stopped, seen), (Err(7), 8), "{threads} threads");
        }
    }

    #[test]
    fn results_come_in_order_and_cover_every_item() {
        let items: Vec<u32> = (0..10_007).collect();
        for (threads, min) in [(1, 1), (2, 1), (3, 100), (4, 5_000), (8, 20_000), (16, 1)] {
            let parts = map_chunks(&items, threads, min, |c| c.to_vec());
            let expected_parts = threads.min(items.len().div_ceil(min));
            assert_eq!(parts.len(), expected_parts, "threads {threads}, min {min}");
            assert_eq!(parts.concat(), items, "threads {threads}, min {min}");
        }
        let empty: [u32; 0] = [];
        assert_eq!(map_chunks(&empty, 4, 10, |c| c.len()), vec![0]);
    }

    #[test]
    fn fill_chunks_writes_every_result_in_its_place() {
        let items: Vec<u32> = (0..10_007).collect();
        for (threads, min) in [(1, 1), (2, 1), (3, 100), (4, 5_000), (16, 1)] {
            let mut out = vec![0u64; items.len()];
            fill_chunks(&items, &mut out, threads, min, |part, into| {
                for (i, o) in part.iter().zip(into) {
                    *o = u64::from(*i) * 3;
                }
            });
            assert!(out.iter().enumerate().all(|(i, &o)| o == i as u64 * 3), "threads {threads}, min {min}");
        }
        let mut none: [u8; 0] = [];
        fill_chunks(&[] as &[u8], &mut none, 4, 10, |p, o| assert!(p.is_empty() && o.is_empty()));
    }

    #[test]
    fn join_gives_both_results_either_way() {
        for parallel in [false, true] {
            let mut here = 0;
            let (a, ()) = join(parallel, || (1..=100u32).sum::<u32>(), || here += 1);
            assert_eq!((a, here), (5050, 1), "parallel {parallel}");
        }
    }

    #[test]
    fn threads_is_within_bounds() {
        assert_eq!(threads(1), 1);
        let t = threads(64);
        assert!((1..=64).contains(&t), "{t}");
    }
}
