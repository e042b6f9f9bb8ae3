//! Reading the log back for auditors: bounded replays and live watches, each event with
//! the exact bytes stored.
//!
//! Both read through ordered pull consumers (ephemeral, flow-controlled, recreated from
//! the last delivered sequence if the server loses them), so a slow reader holds back
//! the pulls instead of buffering the stream: memory stays bounded whatever the log's
//! size.
//!
//! Semantics:
//! - **Filter**: the whole log, one plan (`dondoc.events.task.<plan>.*`) or one task
//!   (`dondoc.events.task.*.<task>`), in stream order.
//! - **Start**: a stream sequence (inclusive), or an instant of the *server's store
//!   time* (`DeliverPolicy::ByStartTime`): the first event the server stored at or
//!   after it. Store time is when JetStream received the message, not the envelope's
//!   `occurred_at` (the application's clock when the command was decided, which
//!   `dondoc up --pretend-now` can put years away). This crate does not interpret
//!   envelopes, so selecting by `occurred_at` is the caller's to do on the events.
//! - **End** (inclusive): a stream sequence, or a store-time instant (the replay stops
//!   before the first event stored after it). Whatever the end, a replay never waits
//!   for new events: it stops at the stream's last sequence as of the moment it
//!   started (without an end, exactly there).
//! - **Watch**: from a stream sequence on, then each new event as it is stored; it does
//!   not end (it ends only with an error, after which the caller resumes from the last
//!   sequence it handled).

use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use bytes::Bytes;
use dondoc_domain::{EventEnvelope, PlanId, TaskId};
use futures::{Stream, StreamExt};
use time::OffsetDateTime;

use crate::{unavailable, EventLog, LogError, RecordedEvent, TASK_SUBJECT_PREFIX};

/// Which events a replay or a watch reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayFilter {
    /// Every event of every task.
    All,
    /// The events of one plan's tasks.
    Plan(PlanId),
    /// The events of one task (under whatever plan it belongs to).
    Task(TaskId),
}

impl ReplayFilter {
    /// The subject filter of the consumer.
    pub fn subject(&self) -> String {
        match self {
            Self::All => format!("{TASK_SUBJECT_PREFIX}.>"),
            Self::Plan(plan_id) => format!("{TASK_SUBJECT_PREFIX}.{plan_id}.*"),
            Self::Task(task_id) => format!("{TASK_SUBJECT_PREFIX}.*.{task_id}"),
        }
    }
}

/// Where a replay starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayStart {
    /// At this stream sequence (inclusive; 0 reads as 1).
    Sequence(u64),
    /// At the first event the server stored at or after this instant (store time, not
    /// `occurred_at`: see the module docs).
    StoredAt(OffsetDateTime),
}

impl Default for ReplayStart {
    fn default() -> Self {
        Self::Sequence(1)
    }
}

/// Where a replay ends (inclusive). Never later than the stream's last sequence when the
/// replay started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayEnd {
    /// After this stream sequence.
    Sequence(u64),
    /// After the last event stored at or before this instant (store time).
    StoredAt(OffsetDateTime),
}

/// An event as stored, with the exact bytes of its message: auditors verify hashes and
/// signatures over `payload`, never over a re-encoding of `envelope`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecordedEvent {
    pub sequence: u64,
    /// When the server stored it (JetStream's timestamp, not the envelope's
    /// `occurred_at`).
    pub stored_at: OffsetDateTime,
    pub envelope: EventEnvelope,
    /// The message payload exactly as stored: the JSON `envelope` was decoded from.
    pub payload: Bytes,
}

impl RawRecordedEvent {
    /// Decodes a stored payload.
    pub fn decode(
        sequence: u64,
        stored_at: OffsetDateTime,
        payload: Bytes,
    ) -> Result<Self, LogError> {
        let envelope = EventEnvelope::decode(&payload).map_err(|err| LogError::Unreadable {
            sequence,
            subject: String::new(),
            reason: err.to_string(),
        })?;
        Ok(Self {
            sequence,
            stored_at,
            envelope,
            payload,
        })
    }

    /// The payload as text (events are UTF-8 JSON; anything else could not have been
    /// decoded).
    pub fn payload_text(&self) -> &str {
        std::str::from_utf8(&self.payload).unwrap_or_default()
    }

    pub fn into_recorded(self) -> RecordedEvent {
        RecordedEvent {
            sequence: self.sequence,
            envelope: self.envelope,
            payload: self.payload,
        }
    }
}

/// Whether a replay goes on past an event, given its bounds (pure; see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// The last sequence to deliver: the end sequence or the stream's last, whichever
    /// is lower.
    pub last_sequence: u64,
    /// Store-time end, inclusive.
    pub stored_until: Option<OffsetDateTime>,
}

/// What to do with one delivered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Deliver it, and read on.
    Deliver,
    /// Deliver it; it is the last.
    DeliverLast,
    /// Past the end: stop without it.
    Stop,
}

impl Bounds {
    pub(crate) fn new(stream_last_sequence: u64, end: Option<ReplayEnd>) -> Self {
        match end {
            None => Self {
                last_sequence: stream_last_sequence,
                stored_until: None,
            },
            Some(ReplayEnd::Sequence(sequence)) => Self {
                last_sequence: sequence.min(stream_last_sequence),
                stored_until: None,
            },
            Some(ReplayEnd::StoredAt(instant)) => Self {
                last_sequence: stream_last_sequence,
                stored_until: Some(instant),
            },
        }
    }

    /// `pending`: how many events of the filter the server still held after this one
    /// when it delivered it. With none, nothing else can fall within the bounds: every
    /// event up to `last_sequence` was stored before the replay started.
    pub(crate) fn step(&self, sequence: u64, stored_at: OffsetDateTime, pending: u64) -> Step {
        if sequence > self.last_sequence || self.stored_until.is_some_and(|until| stored_at > until)
        {
            Step::Stop
        } else if sequence == self.last_sequence || pending == 0 {
            Step::DeliverLast
        } else {
            Step::Deliver
        }
    }
}

fn deliver_policy(start: ReplayStart) -> DeliverPolicy {
    match start {
        ReplayStart::Sequence(sequence) => DeliverPolicy::ByStartSequence {
            start_sequence: sequence.max(1),
        },
        ReplayStart::StoredAt(start_time) => DeliverPolicy::ByStartTime { start_time },
    }
}

/// The event of a delivered message, and how many of the filter's remain after it.
fn raw_event(
    result: Result<
        async_nats::jetstream::Message,
        async_nats::jetstream::consumer::pull::OrderedError,
    >,
    action: &'static str,
) -> Result<(RawRecordedEvent, u64), LogError> {
    let message = result.map_err(|err| unavailable(action)(&err))?;
    let (sequence, stored_at, pending) = {
        let info = message
            .info()
            .map_err(|err| unavailable("reading a message's stream sequence")(&*err))?;
        (info.stream_sequence, info.published, info.pending)
    };
    let event = RawRecordedEvent::decode(sequence, stored_at, message.payload.clone()).map_err(
        |error| match error {
            LogError::Unreadable {
                sequence, reason, ..
            } => LogError::Unreadable {
                sequence,
                subject: message.subject.to_string(),
                reason,
            },
            other => other,
        },
    )?;
    Ok((event, pending))
}

type Ordered = async_nats::jetstream::consumer::pull::Ordered;

struct Replaying {
    /// `None` once finished (or when there was nothing to read).
    messages: Option<Ordered>,
    bounds: Bounds,
}

impl EventLog {
    /// The events `filter` selects from `start` to `end` (inclusive), oldest first, each
    /// with its stored bytes; it stops at the stream's last sequence as of this call
    /// (module docs). An unreadable event ends the stream with `Unreadable`: nothing is
    /// skipped.
    pub async fn replay(
        &self,
        filter: &ReplayFilter,
        start: ReplayStart,
        end: Option<ReplayEnd>,
    ) -> Result<
        impl Stream<Item = Result<RawRecordedEvent, LogError>> + Send + Unpin + 'static,
        LogError,
    > {
        let bounds = Bounds::new(self.last_sequence().await?, end);
        let nothing = bounds.last_sequence == 0
            || matches!(start, ReplayStart::Sequence(sequence) if sequence > bounds.last_sequence);
        let messages = if nothing {
            None
        } else {
            let consumer = self
                .stream
                .create_consumer(OrderedConfig {
                    filter_subject: filter.subject(),
                    deliver_policy: deliver_policy(start),
                    ..Default::default()
                })
                .await
                .map_err(|err| unavailable("creating a replay consumer")(&err))?;
            if consumer.cached_info().num_pending == 0 {
                None
            } else {
                Some(
                    consumer
                        .messages()
                        .await
                        .map_err(|err| unavailable("starting a replay consumer")(&err))?,
                )
            }
        };
        let state = Replaying { messages, bounds };
        // Boxed: unfold's futures are not Unpin, and callers iterate with `next()`.
        Ok(futures::stream::unfold(state, |mut state| async move {
            let messages = state.messages.as_mut()?;
            let delivered = messages.next().await?;
            match raw_event(delivered, "replaying the event stream") {
                Err(err) => {
                    state.messages = None;
                    Some((Err(err), state))
                }
                Ok((event, pending)) => {
                    match state.bounds.step(event.sequence, event.stored_at, pending) {
                        Step::Stop => None,
                        Step::DeliverLast => {
                            state.messages = None;
                            Some((Ok(event), state))
                        }
                        Step::Deliver => Some((Ok(event), state)),
                    }
                }
            }
        })
        .boxed())
    }

    /// The stream sequence of the first event `filter` selects, if there is one (read
    /// from the stream leader).
    pub async fn first_sequence(&self, filter: &ReplayFilter) -> Result<Option<u64>, LogError> {
        let result = self
            .stream
            .raw_message_builder()
            .sequence(1)
            .next_by_subject(filter.subject())
            .send()
            .await;
        match result {
            Ok(message) => Ok(Some(message.sequence)),
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(err) => Err(unavailable("looking for a first event")(&err)),
        }
    }

    /// The events `filter` selects from stream sequence `start_sequence` on (0 reads as
    /// 1), then each new one as it is stored, with its stored bytes. It does not end: it
    /// ends only with an error (NATS lost, an unreadable event), after which the caller
    /// resumes from the last sequence it handled.
    pub async fn watch(
        &self,
        start_sequence: u64,
        filter: &ReplayFilter,
    ) -> Result<
        impl Stream<Item = Result<RawRecordedEvent, LogError>> + Send + Unpin + 'static,
        LogError,
    > {
        let consumer = self
            .stream
            .create_consumer(OrderedConfig {
                filter_subject: filter.subject(),
                deliver_policy: deliver_policy(ReplayStart::Sequence(start_sequence)),
                ..Default::default()
            })
            .await
            .map_err(|err| unavailable("creating a watch consumer")(&err))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|err| unavailable("starting a watch consumer")(&err))?;
        Ok(messages.map(|delivered| {
            raw_event(delivered, "watching the event stream").map(|(event, _)| event)
        }))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T: OffsetDateTime = datetime!(2024-03-25 09:00 +7);

    #[test]
    fn subjects_select_the_whole_log_a_plan_or_a_task() {
        assert_eq!(ReplayFilter::All.subject(), "dondoc.events.task.>");
        let plan = PlanId::parse("qng-189-2022").unwrap();
        assert_eq!(
            ReplayFilter::Plan(plan).subject(),
            "dondoc.events.task.qng-189-2022.*"
        );
        let task = TaskId::parse("186fbe83-3743-529f-ad92-59ff048a27bc").unwrap();
        assert_eq!(
            ReplayFilter::Task(task).subject(),
            "dondoc.events.task.*.186fbe83-3743-529f-ad92-59ff048a27bc"
        );
    }

    #[test]
    fn without_an_end_a_replay_stops_at_the_last_sequence_it_started_with() {
        let bounds = Bounds::new(10, None);
        assert_eq!(bounds.step(3, T, 7), Step::Deliver);
        assert_eq!(bounds.step(10, T, 5), Step::DeliverLast, "newer ones wait");
        assert_eq!(bounds.step(11, T, 0), Step::Stop);
        assert_eq!(
            bounds.step(4, T, 0),
            Step::DeliverLast,
            "nothing of the filter after it"
        );
    }

    #[test]
    fn an_end_sequence_is_inclusive_and_capped_at_the_stream() {
        let bounds = Bounds::new(10, Some(ReplayEnd::Sequence(6)));
        assert_eq!(bounds.step(6, T, 4), Step::DeliverLast);
        assert_eq!(bounds.step(7, T, 3), Step::Stop);
        let beyond = Bounds::new(10, Some(ReplayEnd::Sequence(60)));
        assert_eq!(
            beyond.last_sequence, 10,
            "a replay never waits for new events"
        );
    }

    #[test]
    fn an_end_instant_is_store_time_inclusive() {
        let bounds = Bounds::new(10, Some(ReplayEnd::StoredAt(T)));
        assert_eq!(bounds.step(2, T, 8), Step::Deliver, "stored exactly then");
        assert_eq!(
            bounds.step(3, T + time::Duration::nanoseconds(1), 7),
            Step::Stop
        );
        assert_eq!(bounds.step(10, T, 3), Step::DeliverLast);
    }
}
