//! Who may do what on the NATS server that holds the log: the identities dondoc's
//! processes and an agency's reminder subscriber connect as, what each may publish and
//! subscribe to, and how a connection authenticates.
//!
//! Invariants (least privilege):
//! - **service** (the API, imports): appends to `dondoc.events.>` and uses the JetStream
//!   API it needs, but cannot delete, purge or reconfigure the log of record or the
//!   reminder stream, delete a message, or publish a reminder;
//! - **worker** (the deadline worker): the service's rights, and publishing reminders on
//!   `dondoc.reminders.>`;
//! - **operator**: everything, for maintenance by a person; no running process uses it;
//! - **agency `<id>`** (a reminder subscriber): reads `dondoc.reminders.<id>` only, on
//!   core NATS or through its one durable consumer `agency-<id>` filtered to it;
//! - each identity receives replies on an inbox of its own (`_INBOX_<identity>.>`), so
//!   none can read another's answers.

use std::path::PathBuf;

use crate::{reminders::REMINDER_STREAM_NAME, STREAM_NAME, STREAM_SUBJECTS};

/// What one identity may publish and subscribe to (NATS subject patterns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permissions {
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
}

/// An identity of the embedded server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Service,
    Worker,
    Operator,
    /// A reminder subscriber of the agency with this directory id.
    Agency(String),
}

impl Identity {
    /// The user name it connects as.
    pub fn user(&self) -> String {
        match self {
            Self::Service => "dondoc-service".to_owned(),
            Self::Worker => "dondoc-worker".to_owned(),
            Self::Operator => "dondoc-operator".to_owned(),
            Self::Agency(id) => format!("agency-{id}"),
        }
    }

    /// Where it receives replies: an inbox prefix of its own.
    pub fn inbox_prefix(&self) -> String {
        format!("_INBOX_{}", self.user())
    }

    /// What it may do (module docs).
    pub fn permissions(&self) -> Permissions {
        let inbox = format!("{}.>", self.inbox_prefix());
        let log_maintenance = |stream: &str| {
            [
                format!("$JS.API.STREAM.DELETE.{stream}"),
                format!("$JS.API.STREAM.PURGE.{stream}"),
                format!("$JS.API.STREAM.UPDATE.{stream}"),
                format!("$JS.API.STREAM.MSG.DELETE.{stream}"),
            ]
        };
        let service = || Permissions {
            publish_allow: vec![
                STREAM_SUBJECTS.to_owned(),
                "$JS.API.>".to_owned(),
                "$JS.ACK.>".to_owned(),
                "$JS.FC.>".to_owned(),
            ],
            publish_deny: log_maintenance(STREAM_NAME)
                .into_iter()
                .chain(log_maintenance(REMINDER_STREAM_NAME))
                .chain(["dondoc.reminders.>".to_owned()])
                .collect(),
            subscribe_allow: vec![inbox.clone()],
        };
        match self {
            Self::Service => service(),
            Self::Worker => {
                let mut permissions = service();
                permissions
                    .publish_deny
                    .retain(|subject| subject != "dondoc.reminders.>");
                permissions
                    .publish_allow
                    .push("dondoc.reminders.>".to_owned());
                permissions
            }
            Self::Operator => Permissions {
                publish_allow: vec![">".to_owned()],
                publish_deny: Vec::new(),
                subscribe_allow: vec![">".to_owned()],
            },
            Self::Agency(id) => {
                let consumer = agency_consumer(id);
                let subject = crate::reminders::reminder_subject(id)
                    .unwrap_or_else(|_| format!("dondoc.reminders.{id}"));
                let stream = REMINDER_STREAM_NAME;
                Permissions {
                    publish_allow: vec![
                        "$JS.API.INFO".to_owned(),
                        format!("$JS.API.STREAM.INFO.{stream}"),
                        format!("$JS.API.CONSUMER.CREATE.{stream}.{consumer}.{subject}"),
                        format!("$JS.API.CONSUMER.INFO.{stream}.{consumer}"),
                        format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"),
                        format!("$JS.ACK.{stream}.{consumer}.>"),
                    ],
                    publish_deny: Vec::new(),
                    subscribe_allow: vec![subject, inbox],
                }
            }
        }
    }
}

/// The one durable consumer an agency's subscriber may use on the reminder stream.
pub fn agency_consumer(agency_id: &str) -> String {
    format!("agency-{agency_id}")
}

/// How a connection authenticates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NatsAuth {
    /// No credentials (a server without authorization, as the tests' own).
    #[default]
    None,
    /// A user and password, replies on the identity's inbox prefix.
    Password {
        user: String,
        password: String,
        inbox_prefix: Option<String>,
    },
    /// A NATS credentials file (JWT and nkey seed), as an operator's server issues.
    CredsFile(PathBuf),
}

impl NatsAuth {
    /// The options of a connection that authenticates this way.
    pub async fn connect_options(&self) -> std::io::Result<async_nats::ConnectOptions> {
        let options = match self {
            Self::None => async_nats::ConnectOptions::new(),
            Self::Password {
                user,
                password,
                inbox_prefix,
            } => {
                let options = async_nats::ConnectOptions::with_user_and_password(
                    user.clone(),
                    password.clone(),
                );
                match inbox_prefix {
                    Some(prefix) => options.custom_inbox_prefix(prefix.clone()),
                    None => options,
                }
            }
            Self::CredsFile(path) => {
                async_nats::ConnectOptions::with_credentials_file(path).await?
            }
        };
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_cannot_erase_the_log_or_remind_and_the_worker_can_remind() {
        let service = Identity::Service.permissions();
        for denied in [
            "$JS.API.STREAM.DELETE.DONDOC_EVENTS",
            "$JS.API.STREAM.PURGE.DONDOC_EVENTS",
            "$JS.API.STREAM.UPDATE.DONDOC_EVENTS",
            "$JS.API.STREAM.MSG.DELETE.DONDOC_EVENTS",
            "dondoc.reminders.>",
        ] {
            assert!(service.publish_deny.iter().any(|d| d == denied), "{denied}");
        }
        let worker = Identity::Worker.permissions();
        assert!(worker
            .publish_allow
            .iter()
            .any(|a| a == "dondoc.reminders.>"));
        assert!(!worker
            .publish_deny
            .iter()
            .any(|d| d == "dondoc.reminders.>"));
        assert!(worker
            .publish_deny
            .iter()
            .any(|d| d == "$JS.API.STREAM.DELETE.DONDOC_EVENTS"));
    }

    #[test]
    fn an_agency_reads_its_own_subject_only() {
        let agency = Identity::Agency("quang-tri-so-tttt".into()).permissions();
        assert_eq!(
            agency.subscribe_allow,
            [
                "dondoc.reminders.quang-tri-so-tttt",
                "_INBOX_agency-quang-tri-so-tttt.>"
            ]
        );
        assert!(agency.publish_allow.contains(
            &"$JS.API.CONSUMER.CREATE.DONDOC_REMINDERS.agency-quang-tri-so-tttt.dondoc.reminders.quang-tri-so-tttt"
                .to_owned()
        ));
        assert!(!agency
            .publish_allow
            .iter()
            .any(|a| a.starts_with("dondoc.")));
    }
}
