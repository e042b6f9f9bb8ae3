//! `dondoc.v1.AuditService`: replays, past states and scorecards rebuilt from the log,
//! and a live watch (`proto/dondoc/v1/audit.proto`).
//!
//! Streams are produced by a task per call into a bounded channel
//! (`STREAM_BUFFER` events): a slow client fills it and the producer waits, which holds
//! back the log consumer's pulls, so memory stays bounded; when the client goes away
//! the channel closes and the producer stops, even while waiting for a new event.
//! When the server shuts down, watches end with UNAVAILABLE (clients resume elsewhere or
//! later from their last sequence) so that they do not hold the shutdown up; replays
//! are bounded and run to their end.
//!
//! Errors, on top of `to_status` (status.rs):
//!
//! | error | code |
//! |---|---|
//! | a field that does not parse, two filters, two starts or two ends, a range that ends before it starts | INVALID_ARGUMENT naming the field |
//! | a task with no event in the log, or none yet at the instant asked about | NOT_FOUND |
//! | NATS unreachable (before or during a stream) | UNAVAILABLE: resume from the last `stream_sequence` received |
//! | a stored event this build cannot read, a task whose versions skip one | INTERNAL |

use std::pin::pin;

use dondoc_app::Agencies;
use dondoc_app::{
    audit_scope, AppError, AuditPoint, AuditRange, AuditScope, Auditor, ErrorKind, ReadScope,
    StoredEvent, TaskAsOf, TaskSnapshot,
};
use dondoc_domain::{InvalidInput, PlanId, TaskId};
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::convert::{self, exact_instant};
use crate::fields::{instant, invalid, optional, optional_target, scorecard_query};
use crate::pb;
use crate::status::to_status;

/// Events buffered per stream between the log and a client.
pub const STREAM_BUFFER: usize = 64;

/// The audit service's status for an application error (module docs).
pub fn audit_status(error: AppError) -> Status {
    match error.kind() {
        ErrorKind::Unavailable => Status::unavailable(format!(
            "{error}; retry (a watch resumes from the last stream_sequence received)"
        )),
        _ => to_status(error),
    }
}

#[derive(Clone, Debug)]
pub struct AuditApi {
    auditor: Auditor,
    /// The read model: what it quarantined is part of a verification's answer.
    queries: dondoc_app::Queries,
    /// Turns true when the server starts shutting down.
    stopping: watch::Receiver<bool>,
}

impl AuditApi {
    /// `stopping` turns true when the server shuts down: watches then end.
    pub fn new(
        auditor: Auditor,
        queries: dondoc_app::Queries,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Self {
            auditor,
            queries,
            stopping,
        }
    }
}

/// How long a watch that is ending tries to tell its client why.
const FAREWELL_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// At most one of the given filters; the error names the second one given.
fn at_most_one(given: &[(&'static str, bool)]) -> Result<(), Status> {
    let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
    match given.iter().filter(|(_, set)| *set).nth(1) {
        Some((second, _)) => Err(invalid(InvalidInput::new(
            *second,
            format!("give at most one of {}", names.join(", ")),
        ))),
        None => Ok(()),
    }
}

/// One end of a range: a sequence (0: none) or an instant (empty: none), not both.
fn point(
    sequence_field: &'static str,
    sequence: u64,
    time_field: &'static str,
    time: &str,
) -> Result<Option<AuditPoint>, Status> {
    at_most_one(&[
        (sequence_field, sequence != 0),
        (time_field, !time.trim().is_empty()),
    ])?;
    if sequence != 0 {
        return Ok(Some(AuditPoint::Sequence(sequence)));
    }
    Ok(instant(time_field, time)?.map(AuditPoint::Instant))
}

fn replay_scope(agencies: &Agencies, request: &pb::ReplayRequest) -> Result<AuditScope, Status> {
    at_most_one(&[
        ("plan_id", !request.plan_id.trim().is_empty()),
        ("task_id", !request.task_id.trim().is_empty()),
        ("agency", !request.agency.trim().is_empty()),
    ])?;
    if let Some(plan_id) = optional(&request.plan_id, PlanId::parse)? {
        return Ok(AuditScope::Plan(plan_id));
    }
    if let Some(task_id) = optional(&request.task_id, TaskId::parse)? {
        return Ok(AuditScope::Task(task_id));
    }
    if let Some(agency) =
        optional_target(agencies, "agency", &request.agency, Some(&request.province))?
    {
        return Ok(AuditScope::Agency(agency));
    }
    Ok(AuditScope::All)
}

fn replay_range(request: &pb::ReplayRequest) -> Result<AuditRange, Status> {
    let range = AuditRange {
        from: point(
            "from_sequence",
            request.from_sequence,
            "from_time",
            &request.from_time,
        )?,
        to: point(
            "to_sequence",
            request.to_sequence,
            "to_time",
            &request.to_time,
        )?,
    };
    range.validate().map_err(invalid)?;
    Ok(range)
}

fn watch_scope(request: &pb::WatchRequest) -> Result<AuditScope, Status> {
    at_most_one(&[
        ("plan_id", !request.plan_id.trim().is_empty()),
        ("task_id", !request.task_id.trim().is_empty()),
    ])?;
    if let Some(plan_id) = optional(&request.plan_id, PlanId::parse)? {
        return Ok(AuditScope::Plan(plan_id));
    }
    if let Some(task_id) = optional(&request.task_id, TaskId::parse)? {
        return Ok(AuditScope::Task(task_id));
    }
    Ok(AuditScope::All)
}

pub(crate) fn audit_event(event: &StoredEvent) -> pb::AuditEvent {
    let envelope = &event.envelope;
    pb::AuditEvent {
        stream_sequence: event.sequence,
        event_id: envelope.event_id.to_string(),
        task_id: envelope.task_id.to_string(),
        plan_id: envelope.plan_id.to_string(),
        version: envelope.version,
        r#type: envelope.event.type_name().to_owned(),
        occurred_at: exact_instant(envelope.occurred_at),
        actor: envelope.actor.clone(),
        request_id: envelope.request_id.to_string(),
        schema_version: envelope.schema_version,
        json: event.payload_text().to_owned(),
        stored_at: exact_instant(event.stored_at),
    }
}

fn task_as_of_response(
    agencies: &Agencies,
    found: TaskAsOf,
) -> Result<pb::GetTaskAsOfResponse, Status> {
    if found.state.version == 0 {
        return Err(Status::not_found(format!(
            "task {} had no events as of {}: its first occurred at {}",
            found.task_id,
            exact_instant(found.as_of),
            exact_instant(found.first_occurred_at)
        )));
    }
    let state_json = serde_json::to_string(&found.state)
        .map_err(|error| Status::internal(format!("encoding the task's state: {error}")))?;
    let snapshot = TaskSnapshot {
        task_id: found.task_id,
        plan_id: found.plan_id,
        state: found.state,
        stream_sequence: found.last_sequence,
        through_groups: Vec::new(),
    };
    Ok(pb::GetTaskAsOfResponse {
        task_id: snapshot.task_id.to_string(),
        plan_id: snapshot.plan_id.to_string(),
        as_of: exact_instant(found.as_of),
        version: snapshot.state.version,
        stream_sequence: snapshot.stream_sequence,
        occurred_at: found
            .last_occurred_at
            .map(exact_instant)
            .unwrap_or_default(),
        state_json,
        task: Some(convert::task(agencies, &snapshot)),
    })
}

/// Sends `events` to a client through `sender` until they end, fail (the error is sent
/// last), the client goes away or, with `stopping`, the server shuts down.
async fn forward(
    events: impl Stream<Item = Result<StoredEvent, AppError>>,
    sender: mpsc::Sender<Result<pb::AuditEvent, Status>>,
    mut stopping: Option<watch::Receiver<bool>>,
) {
    let mut events = pin!(events);
    let mut last_sequence = None;
    loop {
        let server_stops = async {
            match stopping.as_mut() {
                Some(stopping) => {
                    // An error means the server is gone: stopping as well.
                    let _ = stopping.wait_for(|stopping| *stopping).await;
                }
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            // The client went away while the log had nothing new (a quiet watch).
            () = sender.closed() => return,
            () = server_stops => {
                let resume = last_sequence
                    .map_or_else(String::new, |sequence| format!(" after sequence {sequence}"));
                let farewell = Status::unavailable(format!(
                    "the server is shutting down; watch again{resume}"
                ));
                let _ = tokio::time::timeout(FAREWELL_WAIT, sender.send(Err(farewell))).await;
                return;
            }
            next = events.next() => next,
        };
        let Some(next) = next else { return };
        let item = match next {
            Ok(event) => {
                last_sequence = Some(event.sequence);
                Ok(audit_event(&event))
            }
            Err(error) => Err(audit_status(error)),
        };
        let failed = item.is_err();
        // Waits while the channel is full: the client's pace is the producer's.
        if sender.send(item).await.is_err() || failed {
            return;
        }
    }
}

type EventStream = ReceiverStream<Result<pb::AuditEvent, Status>>;

/// The events of `events` of the plans `readable` admits (errors pass).
fn readable_only(
    events: impl Stream<Item = Result<StoredEvent, AppError>> + Send + 'static,
    readable: ReadScope,
) -> impl Stream<Item = Result<StoredEvent, AppError>> + Send + 'static {
    events.filter(move |event| {
        let keep = match event {
            Ok(event) => readable.admits(&event.envelope.plan_id),
            Err(_) => true,
        };
        std::future::ready(keep)
    })
}

fn stream_response(
    events: impl Stream<Item = Result<StoredEvent, AppError>> + Send + 'static,
    stopping: Option<watch::Receiver<bool>>,
) -> Response<EventStream> {
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(forward(events, sender, stopping));
    Response::new(ReceiverStream::new(receiver))
}

#[tonic::async_trait]
impl pb::audit_service_server::AuditService for AuditApi {
    type ReplayStream = EventStream;
    type WatchStream = EventStream;
    type ExportStream = ReceiverStream<Result<pb::LogRecord, Status>>;

    async fn export(
        &self,
        request: Request<pb::ExportRequest>,
    ) -> Result<Response<Self::ExportStream>, Status> {
        let scope = audit_scope(&crate::auth::caller(&request)?).map_err(to_status)?;
        let request = request.into_inner();
        let plan = optional(request.plan_id.trim(), PlanId::parse)?;
        scope.require(plan.as_ref()).map_err(to_status)?;
        let records = self.auditor.records(plan).await.map_err(audit_status)?;
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(crate::integrity::forward_records(records, sender));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn replay(
        &self,
        request: Request<pb::ReplayRequest>,
    ) -> Result<Response<Self::ReplayStream>, Status> {
        let readable = audit_scope(&crate::auth::caller(&request)?).map_err(to_status)?;
        let request = request.into_inner();
        let scope = replay_scope(self.auditor.agencies(), &request)?;
        let range = replay_range(&request)?;
        let events = self
            .auditor
            .replay(&scope, range)
            .await
            .map_err(audit_status)?;
        Ok(stream_response(readable_only(events, readable), None))
    }

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let readable = audit_scope(&crate::auth::caller(&request)?).map_err(to_status)?;
        let request = request.into_inner();
        let scope = watch_scope(&request)?;
        let events = self
            .auditor
            .watch(request.after_sequence, &scope)
            .await
            .map_err(audit_status)?;
        Ok(stream_response(
            readable_only(events, readable),
            Some(self.stopping.clone()),
        ))
    }

    async fn get_task_as_of(
        &self,
        request: Request<pb::GetTaskAsOfRequest>,
    ) -> Result<Response<pb::GetTaskAsOfResponse>, Status> {
        let readable = audit_scope(&crate::auth::caller(&request)?).map_err(to_status)?;
        let request = request.into_inner();
        let task_id = TaskId::parse(&request.task_id).map_err(invalid)?;
        let as_of = instant("as_of", &request.as_of)?;
        let found = self
            .auditor
            .task_state_as_of(task_id, as_of)
            .await
            .map_err(audit_status)?;
        readable.require(Some(&found.plan_id)).map_err(to_status)?;
        Ok(Response::new(task_as_of_response(
            self.auditor.agencies(),
            found,
        )?))
    }

    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, Status> {
        let readable = audit_scope(&crate::auth::caller(&request)?).map_err(to_status)?;
        let request = request.into_inner();
        let plan = optional(request.plan_id.trim(), PlanId::parse)?;
        readable.require(plan.as_ref()).map_err(to_status)?;
        let verification = self.auditor.verify(plan).await.map_err(audit_status)?;
        let quarantined = self.queries.quarantined().map_err(audit_status)?;
        Ok(Response::new(crate::integrity::verify_response(
            verification,
            quarantined,
        )))
    }

    async fn get_scorecard_as_of(
        &self,
        request: Request<pb::GetScorecardAsOfRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        let readable = audit_scope(&crate::auth::caller(&request)?).map_err(to_status)?;
        let request = request.into_inner();
        let query = scorecard_query(
            self.auditor.agencies(),
            (&request.agency, Some(&request.province)),
            &request.plan_id,
            &request.period,
            request.year,
            &request.as_of,
        )?;
        let scorecard = self
            .auditor
            .scorecard_as_of(&readable, &query)
            .await
            .map_err(audit_status)?;
        Ok(Response::new(convert::scorecard(&scorecard)))
    }
}

#[cfg(test)]
mod tests {
    use dondoc_domain::rfc3339;
    use time::OffsetDateTime;
    use tonic::Code;

    use super::*;

    fn agencies() -> Agencies {
        Agencies::new(dondoc_agencies::shipped().unwrap())
    }

    fn assert_invalid(result: Result<impl std::fmt::Debug, Status>, field: &str) {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(&format!("invalid {field}")),
            "names {field}: {}",
            status.message()
        );
    }

    #[test]
    fn a_replay_takes_at_most_one_filter_and_one_of_each_end() {
        let request = |edit: fn(&mut pb::ReplayRequest)| {
            let mut request = pb::ReplayRequest::default();
            edit(&mut request);
            request
        };
        assert_eq!(
            replay_scope(&agencies(), &request(|_| {})).unwrap(),
            AuditScope::All
        );
        assert_eq!(
            replay_scope(&agencies(), &request(|r| r.plan_id = "qng".into())).unwrap(),
            AuditScope::Plan(PlanId::parse("qng").unwrap())
        );
        assert_invalid(
            replay_scope(
                &agencies(),
                &request(|r| {
                    r.plan_id = "qng".into();
                    r.agency = "Sở Y tế".into();
                }),
            ),
            "agency",
        );
        assert_invalid(
            replay_scope(&agencies(), &request(|r| r.task_id = "not-a-uuid".into())),
            "task_id",
        );
        assert_invalid(
            replay_scope(&agencies(), &request(|r| r.plan_id = "QNG 2022".into())),
            "plan_id",
        );
        assert_invalid(
            replay_range(&request(|r| {
                r.from_sequence = 3;
                r.from_time = "2024-01-01T00:00:00+07:00".into();
            })),
            "from_time",
        );
        assert_invalid(
            replay_range(&request(|r| r.to_time = "yesterday".into())),
            "to_time",
        );
        assert_invalid(
            replay_range(&request(|r| {
                r.from_sequence = 9;
                r.to_sequence = 3;
            })),
            "to_sequence",
        );
        let range = replay_range(&request(|r| {
            r.from_sequence = 3;
            r.to_time = "2024-01-01T00:00:00Z".into();
        }))
        .unwrap();
        assert_eq!(range.from, Some(AuditPoint::Sequence(3)));
        let Some(AuditPoint::Instant(to)) = range.to else {
            panic!("{range:?}")
        };
        assert_eq!(rfc3339(to), "2024-01-01T07:00:00+07:00");
    }

    #[test]
    fn a_watch_takes_a_plan_or_a_task() {
        let scope = watch_scope(&pb::WatchRequest {
            after_sequence: 7,
            task_id: "186fbe83-3743-529f-ad92-59ff048a27bc".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(scope, AuditScope::Task(_)));
        assert_invalid(
            watch_scope(&pb::WatchRequest {
                plan_id: "qng".into(),
                task_id: "186fbe83-3743-529f-ad92-59ff048a27bc".into(),
                ..Default::default()
            }),
            "task_id",
        );
    }

    fn event(sequence: u64) -> StoredEvent {
        let json = serde_json::json!({
            "schema_version": 1,
            "event_id": "0b7c4f0e-6c1e-4a53-9d59-0b1c2d3e4f03",
            "task_id": "186fbe83-3743-529f-ad92-59ff048a27bc",
            "plan_id": "qng",
            "version": sequence,
            "occurred_at": "2024-03-20T09:15:00+07:00",
            "actor": "Sở Y tế",
            "request_id": format!("r{sequence}"),
            "type": "coordination_recorded",
            "data": {"agency": "Sở Y tế", "note": "Đã phối hợp"},
        });
        let payload = prost::bytes::Bytes::from(serde_json::to_vec(&json).unwrap());
        StoredEvent {
            sequence,
            stored_at: OffsetDateTime::UNIX_EPOCH,
            envelope: dondoc_domain::EventEnvelope::decode(&payload).unwrap(),
            payload,
        }
    }

    /// An endless stream of events that counts how many were taken from it.
    fn counted() -> (
        impl Stream<Item = Result<StoredEvent, AppError>> + Send + 'static,
        std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) {
        let taken = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = taken.clone();
        let events = futures::stream::iter(1..).map(move |sequence| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(event(sequence))
        });
        (events, taken)
    }

    #[tokio::test]
    async fn a_slow_client_holds_the_producer_back_and_a_gone_one_stops_it() {
        let (events, taken) = counted();
        let (sender, mut receiver) = mpsc::channel(STREAM_BUFFER);
        let producer = tokio::spawn(forward(events, sender, None));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let read = taken.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            read <= STREAM_BUFFER as u64 + 1,
            "{read} events read for a client that reads none"
        );
        let first = receiver.recv().await.unwrap().unwrap();
        assert_eq!(first.stream_sequence, 1);
        assert!(first.json.contains("Đã phối hợp"));
        drop(receiver);
        tokio::time::timeout(std::time::Duration::from_secs(5), producer)
            .await
            .expect("the producer stops when the client goes away")
            .unwrap();
    }

    #[tokio::test]
    async fn a_quiet_watch_ends_when_the_client_goes_or_the_server_stops() {
        let quiet = || futures::stream::pending::<Result<StoredEvent, AppError>>();
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let producer = tokio::spawn(forward(quiet(), sender, None));
        drop(receiver);
        tokio::time::timeout(std::time::Duration::from_secs(5), producer)
            .await
            .expect("stops without an event to send")
            .unwrap();

        let (stop, stopping) = watch::channel(false);
        let (sender, mut receiver) = mpsc::channel(STREAM_BUFFER);
        let producer = tokio::spawn(forward(quiet(), sender, Some(stopping)));
        stop.send(true).unwrap();
        let farewell = receiver.recv().await.unwrap().unwrap_err();
        assert_eq!(farewell.code(), Code::Unavailable);
        assert!(receiver.recv().await.is_none(), "then the stream ends");
        producer.await.unwrap();
    }

    #[test]
    fn unavailable_says_how_to_resume() {
        let status = audit_status(AppError::NotCaughtUp("timed out".into()));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.message().contains("resume"), "{}", status.message());
        let status = audit_status(AppError::TaskNotFound(
            TaskId::parse("186fbe83-3743-529f-ad92-59ff048a27bc").unwrap(),
        ));
        assert_eq!(status.code(), Code::NotFound);
    }
}
