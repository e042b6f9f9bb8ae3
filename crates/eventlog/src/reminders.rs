//! Deadline reminders delivered to agencies on NATS: one JetStream stream
//! (`DONDOC_REMINDERS`, subjects `dondoc.reminders.>`), one subject per agency,
//! `dondoc.reminders.<agency_token>`.
//!
//! Owns: the reminder stream's configuration, the agency subject names, and publishing a
//! reminder idempotently. It does not decide *which* reminders are due or record that one
//! was sent: the task event log ([`crate::EventLog`]) is the record of record, and a
//! reminder is only a notification of it, so reminders may age out of this stream.
//!
//! Invariants it keeps:
//! - an agency token is a single NATS subject token, 1..=128 characters of `[a-z0-9_-]`
//!   ([`reminder_subject`]); nothing else is ever turned into a subject, so one agency's
//!   name can never widen into a wildcard or another agency's subject;
//! - every reminder carries `Nats-Msg-Id = <message id>`, and the stream remembers ids
//!   for [`REMINDER_DUPLICATE_WINDOW`] (24 hours): within it, a message id is stored **at
//!   most once**; a repeat publish is acknowledged as a duplicate with the original's
//!   sequence and nothing new is stored;
//! - the publish is an ordinary NATS publish on the agency's subject, so core NATS
//!   subscribers on that subject also receive it. They see every publish *attempt*,
//!   repeats included (deduplication happens in the stream, not on the wire); a core
//!   subscriber that must not act twice dedupes on the `Nats-Msg-Id` header;
//! - an agency system that wants each reminder once, and the ones it missed while
//!   offline, consumes with a durable JetStream consumer on this stream filtered on its
//!   own subject (`filter_subject = "dondoc.reminders.<agency_token>"`).

use std::str::FromStr;
use std::time::Duration;

use async_nats::header::{HeaderName, HeaderValue};
use async_nats::jetstream::{
    self,
    message::PublishMessage,
    stream::{Config as StreamConfig, DiscardPolicy, StorageType},
};
use async_nats::HeaderMap;
use bytes::Bytes;

use crate::{unavailable, Appended, LogError};

/// The stream holding reminders.
pub const REMINDER_STREAM_NAME: &str = "DONDOC_REMINDERS";
/// Subjects of reminders: `dondoc.reminders.<agency_token>`.
pub const REMINDER_SUBJECT_PREFIX: &str = "dondoc.reminders";
/// Every subject the reminder stream captures.
pub const REMINDER_STREAM_SUBJECTS: &str = "dondoc.reminders.>";
/// The longest agency token accepted, in characters.
pub const MAX_AGENCY_TOKEN_LEN: usize = 128;

/// How long the stream remembers message ids to drop repeats.
///
/// 24 hours so that a reminder worker which crashed after publishing a reminder and
/// before recording that it did, and restarts within a day, republishes under the same
/// message id and the agency is not reminded twice. A restart after longer than this may
/// deliver the reminder again.
pub const REMINDER_DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// How long reminders are kept by default: 90 days. They are notifications; the record of
/// record is the task event log.
pub const DEFAULT_REMINDER_MAX_AGE: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// An agency token that cannot be a single NATS subject token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "agency token {token:?} is not a single NATS subject token of 1 to 128 characters \
     a-z, 0-9, '_' or '-': {reason}"
)]
pub struct InvalidAgencyToken {
    pub token: String,
    pub reason: String,
}

/// Why a reminder was not published or read.
#[derive(Debug, thiserror::Error)]
pub enum ReminderError {
    /// The agency token cannot name a subject.
    /// Handling: INVALID_ARGUMENT (a caller's mistake; retrying does not help).
    #[error(transparent)]
    InvalidAgencyToken(#[from] InvalidAgencyToken),

    /// The message id or a header cannot be sent as given (empty, control characters,
    /// or a `Nats-` header, which would change how JetStream stores the message).
    /// Handling: INVALID_ARGUMENT.
    #[error("reminder header {name:?} refused: {reason}")]
    InvalidHeader { name: String, reason: String },

    /// NATS or JetStream failed. Handling: as [`LogError`].
    #[error(transparent)]
    Log(#[from] LogError),
}

/// The subject of one agency's reminders: `dondoc.reminders.<agency_token>`.
///
/// The token must be 1..=128 characters of `[a-z0-9_-]`: no dots (which would split it
/// into several tokens), no `*` or `>` wildcards, no whitespace, no upper case, no
/// non-ASCII (map agency names such as "Sở Nội vụ" to a token first).
pub fn reminder_subject(agency_token: &str) -> Result<String, InvalidAgencyToken> {
    let refuse = |reason: String| InvalidAgencyToken {
        token: agency_token.to_owned(),
        reason,
    };
    if agency_token.is_empty() {
        return Err(refuse("it is empty".to_owned()));
    }
    let length = agency_token.chars().count();
    if length > MAX_AGENCY_TOKEN_LEN {
        return Err(refuse(format!("it is {length} characters long")));
    }
    if let Some(bad) = agency_token
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
    {
        return Err(refuse(format!("it contains {bad:?}")));
    }
    Ok(format!("{REMINDER_SUBJECT_PREFIX}.{agency_token}"))
}

/// Reminder stream settings chosen by the operator.
#[derive(Clone, Debug)]
pub struct ReminderChannelOptions {
    /// 1 for a single server; 3 on a 3-node cluster.
    pub replicas: usize,
    /// How long a reminder is kept. `Duration::ZERO` keeps them forever. A non-zero age
    /// shorter than [`REMINDER_DUPLICATE_WINDOW`] is raised to it (the server refuses a
    /// duplicate window longer than the age, and a shorter window would weaken the
    /// at-most-once guarantee).
    pub max_age: Duration,
}

impl Default for ReminderChannelOptions {
    fn default() -> Self {
        Self {
            replicas: 1,
            max_age: DEFAULT_REMINDER_MAX_AGE,
        }
    }
}

/// Publishes reminders to agency subjects and reads them back.
#[derive(Clone, Debug)]
pub struct ReminderChannel {
    jetstream: jetstream::Context,
    stream: jetstream::stream::Stream,
}

impl ReminderChannel {
    /// Opens the reminder stream over an existing connection, creating it if missing:
    /// file storage, the given replicas and age limit, oldest reminders discarded first,
    /// and a 24-hour duplicate window ([`REMINDER_DUPLICATE_WINDOW`]).
    ///
    /// An existing stream is used as it is configured; a warning is logged if its
    /// duplicate window is shorter than 24 hours.
    pub async fn open(
        client: async_nats::Client,
        options: &ReminderChannelOptions,
    ) -> Result<Self, LogError> {
        let jetstream = jetstream::new(client);
        let max_age = if options.max_age.is_zero() {
            Duration::ZERO
        } else if options.max_age < REMINDER_DUPLICATE_WINDOW {
            tracing::warn!(
                requested = ?options.max_age,
                used = ?REMINDER_DUPLICATE_WINDOW,
                "reminder max_age is shorter than the duplicate window; raised to it"
            );
            REMINDER_DUPLICATE_WINDOW
        } else {
            options.max_age
        };
        let config = StreamConfig {
            name: REMINDER_STREAM_NAME.to_owned(),
            description: Some(
                "dondoc deadline reminders to agencies: notifications, not the record".to_owned(),
            ),
            subjects: vec![REMINDER_STREAM_SUBJECTS.to_owned()],
            storage: StorageType::File,
            num_replicas: options.replicas,
            max_age,
            max_messages: -1,
            max_bytes: -1,
            discard: DiscardPolicy::Old,
            allow_direct: true,
            duplicate_window: REMINDER_DUPLICATE_WINDOW,
            ..Default::default()
        };
        let stream = jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|err| unavailable("opening the reminder stream")(&err))?;
        let existing = stream.cached_info().config.duplicate_window;
        if existing < REMINDER_DUPLICATE_WINDOW {
            tracing::warn!(
                stream = REMINDER_STREAM_NAME,
                duplicate_window = ?existing,
                "the existing reminder stream forgets message ids within a day; a worker \
                 restarting later than that may remind an agency twice"
            );
        }
        Ok(Self { jetstream, stream })
    }

    /// Publishes one reminder on the agency's subject with `Nats-Msg-Id = message_id` and
    /// waits for the stream's acknowledgement.
    ///
    /// Within the 24-hour duplicate window a repeated `message_id` stores nothing and
    /// returns `duplicate: true` with the original's sequence. Give each reminder an id
    /// that names what it reminds of (e.g. `<task>/<deadline>/<kind>`), never a random
    /// one, or a retry is a second reminder.
    ///
    /// `headers` are added as given (a repeated name keeps every value); names starting
    /// with `Nats-` are refused, as they would change how the stream stores the message.
    pub async fn publish(
        &self,
        agency_token: &str,
        message_id: &str,
        payload: Bytes,
        headers: &[(&str, &str)],
    ) -> Result<Appended, ReminderError> {
        let subject = reminder_subject(agency_token)?;
        let message = PublishMessage::build()
            .payload(payload)
            .headers(header_map(headers)?)
            .message_id(checked_message_id(message_id)?);
        let ack = self
            .jetstream
            .send_publish(subject, message)
            .await
            .map_err(|err| unavailable("sending a reminder")(&err))?
            .await
            .map_err(|err| unavailable("awaiting the reminder's acknowledgement")(&err))?;
        Ok(Appended {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// How many reminders the stream holds (aged-out ones excluded).
    pub async fn count(&self) -> Result<u64, LogError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|err| unavailable("reading the reminder stream state")(&err))?;
        Ok(info.state.messages)
    }

    /// Every reminder still stored on the agency's subject, oldest first, as
    /// `(stream sequence, payload)`, read from the stream leader. For tests and tools;
    /// agency systems consume with a durable consumer instead.
    pub async fn read_subject(
        &self,
        agency_token: &str,
    ) -> Result<Vec<(u64, Bytes)>, ReminderError> {
        let subject = reminder_subject(agency_token)?;
        let messages =
            crate::messages_on(&self.stream, &subject, 0, "reading an agency's reminders").await?;
        Ok(messages
            .into_iter()
            .map(|message| (message.sequence, message.payload))
            .collect())
    }
}

fn checked_message_id(message_id: &str) -> Result<&str, ReminderError> {
    let refuse = |reason: &str| ReminderError::InvalidHeader {
        name: "Nats-Msg-Id".to_owned(),
        reason: reason.to_owned(),
    };
    if message_id.trim().is_empty() {
        return Err(refuse(
            "the message id is empty, so repeats could not be recognised",
        ));
    }
    if message_id.contains(['\r', '\n']) {
        return Err(refuse("the message id contains a line break"));
    }
    Ok(message_id)
}

fn header_map(headers: &[(&str, &str)]) -> Result<HeaderMap, ReminderError> {
    let mut map = HeaderMap::new();
    for &(name, value) in headers {
        let refuse = |reason: &str| ReminderError::InvalidHeader {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        if name.is_empty() {
            return Err(refuse("the name is empty"));
        }
        if name
            .get(..5)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("nats-"))
        {
            return Err(refuse(
                "Nats- headers are reserved for JetStream; the message id is set by publish",
            ));
        }
        let header_name = HeaderName::from_str(name)
            .map_err(|_| refuse("the name must be printable ASCII without ':' or spaces"))?;
        let header_value =
            HeaderValue::from_str(value).map_err(|_| refuse("the value contains a line break"))?;
        map.append(header_name, header_value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_token_per_agency() {
        assert_eq!(
            reminder_subject("so-noi-vu_2").unwrap(),
            "dondoc.reminders.so-noi-vu_2"
        );
        let longest = "a".repeat(MAX_AGENCY_TOKEN_LEN);
        assert!(reminder_subject(&longest).is_ok());
        let too_long = "a".repeat(MAX_AGENCY_TOKEN_LEN + 1);
        assert!(reminder_subject(&too_long).is_err());
        for bad in ["", "a.b", "a>", "*", "Sở Nội vụ", "A", "a b", "a\tb"] {
            let err = reminder_subject(bad).unwrap_err();
            assert_eq!(err.token, bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        for (name, value) in [
            ("Nats-Msg-Id", "x"),
            ("nats-expected-stream", "x"),
            ("", "x"),
            ("a:b", "x"),
            ("a b", "x"),
            ("Ok", "line\nbreak"),
        ] {
            assert!(
                matches!(
                    header_map(&[(name, value)]),
                    Err(ReminderError::InvalidHeader { .. })
                ),
                "{name:?}: {value:?}"
            );
        }
        let map = header_map(&[("Dondoc-Kind", "a"), ("Dondoc-Kind", "b"), ("N", "")]).unwrap();
        assert_eq!(map.get_all("Dondoc-Kind").count(), 2);
        assert!(checked_message_id("").is_err());
        assert!(checked_message_id(" ").is_err());
        assert!(checked_message_id("task/1\r\n").is_err());
        assert_eq!(checked_message_id("task/1").unwrap(), "task/1");
    }
}
