//! Waiting for something to become true: poll it with a bound, report what was last
//! seen when the bound passes. The pause between polls only paces the polling; nothing
//! waits a fixed time for readiness.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long to pause between two polls.
const PAUSE: Duration = Duration::from_millis(20);

/// Polls `probe` until it returns `Some`, for at most `bound`; panics naming `what` and
/// the last value seen otherwise.
pub async fn eventually<T, F, Fut>(what: &str, bound: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let give_up = Instant::now() + bound;
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(seen) if Instant::now() >= give_up => {
                panic!("{what}: not within {bound:?}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(PAUSE).await,
        }
    }
}

/// `eventually` for code that is not async.
pub fn eventually_blocking<T>(
    what: &str,
    bound: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let give_up = Instant::now() + bound;
    loop {
        match probe() {
            Ok(found) => return found,
            Err(seen) if Instant::now() >= give_up => {
                panic!("{what}: not within {bound:?}; last seen: {seen}")
            }
            Err(_) => std::thread::sleep(PAUSE),
        }
    }
}
