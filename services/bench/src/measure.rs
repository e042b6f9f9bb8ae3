//! Timing many operations run by concurrent clients: throughput and latency
//! percentiles of one scenario.
//!
//! Invariant: every operation is timed from just before it is sent to just after its
//! answer, on the client; a failed operation counts as a failure, never as a sample.

use std::future::Future;
use std::time::{Duration, Instant};

/// What a run of operations measured.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub operations: usize,
    pub failures: usize,
    pub elapsed: Duration,
    /// Per successful operation, sorted.
    pub latencies: Vec<Duration>,
    /// Why the first failed operation failed.
    pub first_failure: Option<String>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds == 0.0 {
            return 0.0;
        }
        (self.operations - self.failures) as f64 / seconds
    }

    /// Counts a failed operation, keeping the first reason.
    pub fn fail(&mut self, why: String) {
        self.failures += 1;
        self.first_failure.get_or_insert(why);
    }

    /// Closes a run of `operations` that began at `started`: its duration, and the
    /// latencies sorted.
    pub fn finish(&mut self, started: Instant, operations: usize) {
        self.elapsed = started.elapsed();
        self.operations = operations;
        self.latencies.sort_unstable();
    }

    /// The `quantile` (0..=1) latency in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies.len() - 1) as f64 * quantile).round() as usize;
        self.latencies[index].as_secs_f64() * 1000.0
    }
}

/// A gRPC status as a failure reason.
pub fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// Runs `per_client` operations on each of `clients` concurrent clients: `operation`
/// gets the client's index and the operation's index within it, and answers whether it
/// succeeded (or why not).
pub async fn run_clients<F, Fut>(clients: usize, per_client: usize, operation: F) -> Measured
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let started = Instant::now();
    let mut handles = Vec::with_capacity(clients);
    for client in 0..clients {
        let operation = operation.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            let mut failures = 0;
            let mut first_failure = None;
            for index in 0..per_client {
                let sent = Instant::now();
                match operation(client, index).await {
                    Ok(()) => latencies.push(sent.elapsed()),
                    Err(why) => {
                        failures += 1;
                        first_failure.get_or_insert(why);
                    }
                }
            }
            (latencies, failures, first_failure)
        }));
    }
    let mut measured = Measured::default();
    for handle in handles {
        let (latencies, failures, first_failure) = handle.await.unwrap_or_default();
        measured.latencies.extend(latencies);
        measured.failures += failures;
        if measured.first_failure.is_none() {
            measured.first_failure = first_failure;
        }
    }
    measured.finish(started, clients * per_client);
    measured
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_failures_apart_and_sorts_latencies() {
        let measured = run_clients(4, 5, |client, index| async move {
            tokio::task::yield_now().await;
            if client == 0 && index == 0 {
                Err("the first".to_owned())
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(measured.operations, 20);
        assert_eq!(measured.failures, 1);
        assert_eq!(measured.latencies.len(), 19);
        assert_eq!(measured.first_failure.as_deref(), Some("the first"));
        assert!(measured.latencies.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(measured.per_second() > 0.0);
        assert!(measured.latency_ms(0.5) <= measured.latency_ms(0.99));
    }
}
