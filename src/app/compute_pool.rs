//! CPU-heavy request work (parsing, validating and indexing a body, evaluating a referral)
//! runs on a fixed set of threads of its own, off the HTTP workers: a few large requests
//! then cannot stop a worker from answering `/healthz` or a read. The thread count bounds the
//! CPU that request work takes; waiting work queues here, not on the workers.

use super::AppError;
use crate::store::StoreError;
use std::future::Future;
use std::sync::Arc;
use tokio::runtime::{Builder, Handle, Runtime};

#[derive(Clone)]
pub struct ComputePool {
    handle: Handle,
    _runtime: Arc<OwnedRuntime>,
}

/// A runtime dropped from async code must not block on its threads.
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl ComputePool {
    /// `threads`: 0 means one per core.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("hbpc-compute")
            .enable_all()
            .build()?;
        Ok(Self {
            handle: runtime.handle().clone(),
            _runtime: Arc::new(OwnedRuntime(Some(runtime))),
        })
    }

    /// Runs `work` on the pool and waits for its result.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: Future<Output = Result<T, AppError>> + Send + 'static,
        T: Send + 'static,
    {
        match self.handle.spawn(work).await {
            Ok(result) => result,
            Err(e) => {
                let cause = if e.is_panic() {
                    "panicked"
                } else {
                    "was cancelled"
                };
                tracing::error!(cause, "request work on the compute pool failed");
                Err(AppError::Store(StoreError::Backend(format!(
                    "the request's work {cause}"
                ))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_work_off_the_calling_thread() {
        let pool = ComputePool::new(1).expect("pool");
        let caller = std::thread::current().id();
        let ran_on = pool
            .run(async { Ok(std::thread::current().id()) })
            .await
            .expect("ran");
        assert_ne!(ran_on, caller);
        let failed: Result<(), AppError> = pool.run(async { panic!("boom") }).await;
        assert!(matches!(
            failed,
            Err(AppError::Store(StoreError::Backend(_)))
        ));
        drop(pool); // from async code: must not panic
    }
}
