//! A bounded pool for CPU-heavy work (password hashing, route solving), so it
//! never runs on the async executor's threads.
//!
//! argon2 takes tens of milliseconds and a dispatch plan seconds; run inline
//! they hold an executor thread the whole time, and a burst of sign-ins or
//! one large plan stalls every other request, door terminals included. Here
//! the work runs on tokio's blocking threads, at most one job per core at
//! once (a semaphore); the rest queue in the order they asked.

use crate::error::{AppError, AppResult};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Runs closures on blocking threads, at most `size` at once. Clones share
/// the same limit.
#[derive(Debug, Clone)]
pub struct BlockingPool {
    permits: Arc<Semaphore>,
    size: usize,
}

impl BlockingPool {
    /// A pool running at most `size` closures at once (at least one).
    pub fn new(size: usize) -> BlockingPool {
        let size = size.max(1);
        BlockingPool {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// One closure per core the process may use: more would only take turns
    /// on the same cores while holding more memory.
    pub fn sized_to_cores() -> BlockingPool {
        BlockingPool::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many closures may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `work` on a blocking thread once a place is free, and returns
    /// its result. Needs a tokio runtime (every caller is inside one).
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("the blocking pool is closed".into()))?;
        // The place goes with the closure, not with this future: a caller
        // that gives up (a client that hangs up) cannot stop a closure that
        // has started, and its place stays taken until the closure ends.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|error| AppError::Internal(format!("blocking work failed: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_runs_more_closures_at_once_than_its_size() {
        const SIZE: usize = 3;
        const N_JOBS: usize = 4 * SIZE;
        let pool = BlockingPool::new(SIZE);
        let running = Arc::new(AtomicUsize::new(0));
        let running_max = Arc::new(AtomicUsize::new(0));
        // Each closure waits until SIZE closures are inside at once: that
        // shows the pool does run SIZE in parallel, and any pool letting in
        // more would be caught by the count (N_JOBS is a multiple of SIZE,
        // so a right pool always fills the barrier).
        let barrier = Arc::new(std::sync::Barrier::new(SIZE));
        let mut jobs = tokio::task::JoinSet::new();
        for job_idx in 0..N_JOBS {
            let pool = pool.clone();
            let running = running.clone();
            let running_max = running_max.clone();
            let barrier = barrier.clone();
            jobs.spawn(async move {
                pool.run(move || {
                    let now_running = running.fetch_add(1, Ordering::SeqCst) + 1;
                    running_max.fetch_max(now_running, Ordering::SeqCst);
                    barrier.wait();
                    running.fetch_sub(1, Ordering::SeqCst);
                    job_idx
                })
                .await
            });
        }
        let mut done: Vec<usize> = jobs
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        done.sort();
        assert_eq!(done, (0..N_JOBS).collect::<Vec<_>>(), "every job ran once");
        assert_eq!(running_max.load(Ordering::SeqCst), SIZE);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_keeps_its_place_until_its_closure_ends() {
        let pool = BlockingPool::new(1);
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let caller = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    entered_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .await
            }
        });
        entered_rx.await.unwrap();
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        assert_eq!(
            pool.permits.available_permits(),
            0,
            "the closure still runs, so its place is still taken"
        );
        release_tx.send(()).unwrap();
        // The place comes back when the closure ends, so the next one runs.
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
