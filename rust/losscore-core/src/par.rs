//! The crate's own thread pool.
//!
//! Sized by `LOSSCORE_NUM_THREADS`, else the CPU count; resized with [`set_num_threads`]. The pool
//! remembers the process id it was built in: after `fork()` its worker threads do not exist in the
//! child, so a child rebuilds the pool instead of waiting forever on the parent's.
//!
//! Work is always split at fixed offsets (see [`crate::reduce::BLOCK`]); the pool only decides who
//! computes which piece, never how results are combined, so results do not depend on thread count.

use crate::error::{invalid, LossError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

struct PoolState {
    pid: u32,
    threads: usize,
    pool: Arc<rayon::ThreadPool>,
}

static STATE: Mutex<Option<PoolState>> = Mutex::new(None);
/// The thread count in force; 0 until first read (then `LOSSCORE_NUM_THREADS` or the CPU count).
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Upper bound on `set_num_threads`, a guard against typos like `set_num_threads(10**9)`.
pub const MAX_THREADS: usize = 1024;

fn default_threads() -> usize {
    if let Ok(v) = std::env::var("LOSSCORE_NUM_THREADS") {
        if let Ok(n) = v.trim().parse::<usize>() {
            if (1..=MAX_THREADS).contains(&n) {
                return n;
            }
        }
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state inconsistent (it is replaced whole).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The number of threads kernels may use.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        // Reading the environment and the CPU count (cgroup files) costs microseconds: do it once.
        0 => {
            let n = default_threads();
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Sets the number of threads kernels may use (1 = run on the calling thread only).
pub fn set_num_threads(n: usize) -> Result<(), LossError> {
    if n == 0 || n > MAX_THREADS {
        return Err(invalid(
            "n",
            format!("number of threads must be between 1 and {MAX_THREADS}, got {n}"),
        ));
    }
    THREADS.store(n, Ordering::Relaxed);
    Ok(())
}

/// The pool for the current process and thread count, built (or rebuilt after fork) on demand.
fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    let pid = std::process::id();
    let mut state = lock(&STATE);
    if let Some(s) = state.as_ref() {
        if s.pid == pid && s.threads == threads {
            return Arc::clone(&s.pool);
        }
    }
    if let Some(old) = state.take() {
        if old.pid != pid {
            // Inherited through fork: its threads are gone. Dropping it would signal threads that
            // do not exist; leak it instead (one pool per fork, a few hundred bytes).
            std::mem::forget(old);
        }
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("losscore-{i}"))
        .build();
    let pool = match built {
        Ok(p) => Arc::new(p),
        // Thread creation failed (limits): fall back to a single worker.
        Err(_) => Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .expect("a one-thread pool"),
        ),
    };
    *state = Some(PoolState {
        pid,
        threads,
        pool: Arc::clone(&pool),
    });
    pool
}

/// Runs `f` on every task, in parallel when there is more than one task and more than one thread.
/// The result of each task must not depend on which thread runs it.
///
/// The calling thread works too: tasks are claimed from a shared counter by the caller and by
/// helper jobs on the pool. If the pool's threads are slow to wake (a busy machine), the caller
/// simply claims more tasks itself instead of waiting for them; it only ever waits for tasks a
/// helper has already started.
pub fn for_each<T, F>(tasks: Vec<T>, f: F)
where
    T: Send,
    F: Fn(T) + Sync + Send,
{
    let threads = num_threads();
    let n = tasks.len();
    if n <= 1 || threads <= 1 {
        tasks.into_iter().for_each(f);
        return;
    }
    let slots: Vec<Mutex<Option<T>>> = tasks.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let run_one = |i: usize| {
        if let Some(task) = lock(&slots[i]).take() {
            f(task);
        }
    };
    let work: &(dyn Fn(usize) + Sync) = &run_one;
    // SAFETY: only the lifetime is erased. Helpers call `work` only for a claimed index i < n,
    // and this function does not return before all n claimed calls have finished (see the
    // wait below), so `work` and everything it borrows outlive every call. A helper that runs
    // later finds the counter exhausted and never touches `work`.
    let work: WorkPtr = WorkPtr(unsafe {
        std::mem::transmute::<
            *const (dyn Fn(usize) + Sync + '_),
            *const (dyn Fn(usize) + Sync + 'static),
        >(work)
    });
    let claims = Arc::new(Claims {
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        panicked: std::sync::atomic::AtomicBool::new(false),
        n,
    });
    let pool = pool(threads);
    for _ in 0..(threads - 1).min(n - 1) {
        let claims = Arc::clone(&claims);
        pool.spawn(move || claims.work_through(work));
    }
    claims.work_through(work);
    let mut spins = 0u32;
    while claims.done.load(Ordering::Acquire) < n {
        if spins < 1 << 12 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
    if claims.panicked.load(Ordering::Relaxed) {
        panic!("a losscore kernel task panicked");
    }
}

/// A lifetime-erased pointer to the task runner of one [`for_each`] call.
#[derive(Clone, Copy)]
struct WorkPtr(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the pointee is `Sync` and [`for_each`] keeps it alive while any claimed call runs.
unsafe impl Send for WorkPtr {}

/// Shared progress of one [`for_each`] call (kept alive by the helpers' `Arc`s).
struct Claims {
    next: AtomicUsize,
    done: AtomicUsize,
    panicked: std::sync::atomic::AtomicBool,
    n: usize,
}

impl Claims {
    fn work_through(&self, work: WorkPtr) {
        loop {
            let i = self.next.fetch_add(1, Ordering::AcqRel);
            if i >= self.n {
                return;
            }
            let run = std::panic::AssertUnwindSafe(|| {
                // SAFETY: i < n, so the `for_each` call that owns `work` is still waiting.
                unsafe { (*work.0)(i) }
            });
            if std::panic::catch_unwind(run).is_err() {
                self.panicked.store(true, Ordering::Relaxed);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// How many pieces to cut `n` items into, given that a piece below `grain` items is not worth a
/// thread: at most one piece per `grain` items, at most a few pieces per thread.
pub fn pieces(n: usize, grain: usize) -> usize {
    let threads = num_threads();
    if threads <= 1 || n < 2 * grain.max(1) {
        return 1;
    }
    (n / grain.max(1)).clamp(1, 4 * threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_every_task_once() {
        let hits: Vec<AtomicUsize> = (0..100).map(|_| AtomicUsize::new(0)).collect();
        for_each((0..100).collect(), |i: usize| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn rejects_zero_threads() {
        assert!(set_num_threads(0).is_err());
        assert!(set_num_threads(MAX_THREADS + 1).is_err());
    }

    #[test]
    fn small_inputs_make_one_piece() {
        assert_eq!(pieces(10, 32768), 1);
        assert!(pieces(10_000_000, 32768) >= 1);
    }
}
