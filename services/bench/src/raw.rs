//! The raw substrate's ceilings, measured in the same run as dondoc: JetStream
//! publishes with optimistic concurrency (expected last subject sequence and a message
//! id, as dondoc's appends carry), and a batched sled read-modify-write apply (what a
//! projection must do per event, with nothing else).
//!
//! Invariant: the raw side does the same durable work as dondoc's at the same
//! concurrency and fsync setting (the same nats-server), and no more.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use async_nats::jetstream;
use tokio::sync::Mutex;

use crate::measure::{run_clients, Measured};

/// A payload of the size of one of dondoc's signed event envelopes (about 1 KB).
fn payload(index: usize) -> bytes::Bytes {
    let filler = "x".repeat(900);
    bytes::Bytes::from(format!(
        "{{\"schema_version\":3,\"index\":{index},\"data\":\"{filler}\"}}"
    ))
}

/// The raw benchmark stream (its own, beside dondoc's).
pub async fn stream(js: &jetstream::Context) -> anyhow::Result<()> {
    js.get_or_create_stream(jetstream::stream::Config {
        name: "BENCH_RAW".to_owned(),
        subjects: vec!["bench.raw.>".to_owned()],
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .context("creating the raw benchmark stream")?;
    Ok(())
}

/// `clients` clients each publishing `per_client` messages with optimistic concurrency,
/// on `subjects_per_client` subjects of their own (1: every publish on one subject per
/// client, in turn), or all on the one subject `shared` when given.
pub async fn occ_publish(
    js: &jetstream::Context,
    label: &str,
    clients: usize,
    per_client: usize,
    subjects_per_client: usize,
    shared: Option<&str>,
) -> anyhow::Result<Measured> {
    stream(js).await?;
    let last: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let js = js.clone();
    let label = label.to_owned();
    let shared = shared.map(str::to_owned);
    Ok(run_clients(clients, per_client, move |client, index| {
        let (js, last, label, shared) = (js.clone(), last.clone(), label.clone(), shared.clone());
        async move {
            let subject = shared.unwrap_or_else(|| {
                format!(
                    "bench.raw.{label}.{client}.{}",
                    index % subjects_per_client.max(1)
                )
            });
            // On a shared subject, a lost race is re-tried with the sequence the server
            // has: that is what serial OCC on one subject costs.
            for _ in 0..64 {
                let expected = last.lock().await.get(&subject).copied().unwrap_or(0);
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(
                    "Nats-Expected-Last-Subject-Sequence",
                    expected.to_string().as_str(),
                );
                headers.insert("Nats-Msg-Id", format!("{label}-{client}-{index}").as_str());
                let published = js
                    .publish_with_headers(subject.clone(), headers, payload(index))
                    .await;
                let ack = match published {
                    Ok(ack) => ack,
                    Err(error) => return Err(error.to_string()),
                };
                match ack.await {
                    Ok(ack) => {
                        let mut last = last.lock().await;
                        let known = last.entry(subject.clone()).or_insert(0);
                        *known = (*known).max(ack.sequence);
                        return Ok(());
                    }
                    Err(_) => {
                        // Wrong last sequence: learn the subject's, then try again.
                        let stream = js
                            .get_stream("BENCH_RAW")
                            .await
                            .map_err(|error| error.to_string())?;
                        let message = stream
                            .get_last_raw_message_by_subject(&subject)
                            .await
                            .map_err(|error| error.to_string())?;
                        last.lock().await.insert(subject.clone(), message.sequence);
                    }
                }
            }
            Err("lost 64 races in a row".to_owned())
        }
    })
    .await)
}

/// Reads every message of the raw stream with an ordered consumer: messages/s.
pub async fn consume(js: &jetstream::Context) -> anyhow::Result<(f64, u64)> {
    use futures::StreamExt;
    let stream = js.get_stream("BENCH_RAW").await.context("the raw stream")?;
    let total = stream.cached_info().state.messages;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .context("an ordered consumer")?;
    let started = Instant::now();
    let mut messages = consumer.messages().await.context("consuming")?;
    let mut read = 0;
    while read < total {
        match messages.next().await {
            Some(Ok(_)) => read += 1,
            Some(Err(error)) => anyhow::bail!("consuming: {error}"),
            None => break,
        }
    }
    Ok((read as f64 / started.elapsed().as_secs_f64(), read))
}

/// Applies `events` events to `tasks` JSON views in a sled tree, reading each view,
/// appending to it and writing it back, one `sled::Batch` per 256 events: events/s.
pub fn sled_apply(events: usize, tasks: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let db = sled::open(dir.path().join("raw")).context("opening the raw sled")?;
    let tree = db.open_tree("views")?;
    let started = Instant::now();
    let mut pending: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    for event in 0..events {
        let key = format!("task-{:08}", event % tasks.max(1)).into_bytes();
        let mut view = match pending.get(&key) {
            Some(view) => view.clone(),
            None => tree
                .get(&key)?
                .map(|view| view.to_vec())
                .unwrap_or_default(),
        };
        view.extend_from_slice(
            format!("{{\"event\":{event},\"note\":\"Đã phối hợp\"}}").as_bytes(),
        );
        // A view keeps its last 2 KB: the size of a task's state, not its history.
        if view.len() > 2048 {
            view.drain(..view.len() - 2048);
        }
        pending.insert(key, view);
        if pending.len() >= 256 || event + 1 == events {
            let mut batch = sled::Batch::default();
            for (key, view) in pending.drain() {
                batch.insert(key, view);
            }
            tree.apply_batch(batch)?;
        }
    }
    db.flush()?;
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

/// Publishes `count` messages at `per_second`, one at a time, while an ordered consumer
/// applies each to a sled tree: per message, the time from its publish acknowledgement
/// until it is applied (what a reader waiting for its own write waits at the least).
pub async fn publish_to_applied(
    js: &jetstream::Context,
    count: usize,
    per_second: f64,
) -> anyhow::Result<Measured> {
    use futures::StreamExt;
    stream(js).await?;
    let stream = js.get_stream("BENCH_RAW").await.context("the raw stream")?;
    let start = stream.cached_info().state.last_sequence + 1;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: "bench.raw.ryw.>".to_owned(),
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await
        .context("an ordered consumer")?;
    let mut messages = consumer.messages().await.context("consuming")?;
    let dir = tempfile::tempdir()?;
    let db = sled::open(dir.path().join("raw-applied")).context("opening the raw sled")?;
    let tree = db.open_tree("views")?;
    let (applied_tx, mut applied) = tokio::sync::watch::channel(0u64);
    let applier = tokio::spawn(async move {
        while let Some(Ok(message)) = messages.next().await {
            let Ok(info) = message.info() else { continue };
            let sequence = info.stream_sequence;
            if tree
                .insert(message.subject.as_bytes(), message.payload.to_vec())
                .is_err()
            {
                break;
            }
            applied_tx.send_replace(sequence);
        }
    });
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs_f64(1.0 / per_second));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut measured = Measured::default();
    let started = Instant::now();
    for index in 0..count {
        ticker.tick().await;
        let ack = js
            .publish(format!("bench.raw.ryw.{}", index % 64), payload(index))
            .await
            .context("publishing")?
            .await
            .context("the publish acknowledgement")?;
        let acked = Instant::now();
        applied
            .wait_for(|sequence| *sequence >= ack.sequence)
            .await
            .context("the raw applier stopped")?;
        measured.latencies.push(acked.elapsed());
    }
    applier.abort();
    measured.finish(started, count);
    Ok(measured)
}
