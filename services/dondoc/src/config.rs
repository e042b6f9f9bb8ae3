//! The command line's shared argument groups, flattened into the subcommands that take
//! them, so that one option means one thing everywhere: where NATS is, the agency
//! directory, the deadline rules, the clock, the server a client talks to, a scorecard's
//! filters. Also loading what they point at (the directory folder, the holiday file).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use dondoc_agencies::AgencyDirectory;
use dondoc_app::{Clock, DeadlineRules, ShiftedClock, SystemClock};
use dondoc_domain::{HolidayCalendar, ReminderOffsets};
use dondoc_eventlog::ReminderChannelOptions;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const SHIPPED_HOLIDAYS: &str = include_str!("../../../deploy/holidays/vn.json");

/// The server a client subcommand talks to.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArg {
    /// The server's gRPC address (`https://`; `http://` for a server run with
    /// --insecure).
    #[arg(
        long,
        env = "DONDOC_SERVER",
        default_value = "https://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// The bearer token to call with. Default: the operator token a `dondoc up` leaves
    /// in its data directory ($DONDOC_DATA_DIR, else `data`): auth/operator.token.
    #[arg(long, env = "DONDOC_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// The CA certificate to trust for the server (PEM). Default: the one `dondoc up`
    /// made for its own certificate in that data directory, tls/ca.crt, if there is one.
    #[arg(long, env = "DONDOC_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// Present this client certificate (PEM, from `dondoc auth cert`) instead of a
    /// token: the operator token file is then not used (an explicit --token still is).
    #[arg(
        long,
        env = "DONDOC_CLIENT_CERT",
        global = true,
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        env = "DONDOC_CLIENT_KEY",
        global = true,
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
}

impl ServerArg {
    /// The data directory the defaults come from.
    fn data_dir() -> PathBuf {
        std::env::var_os("DONDOC_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from)
    }

    /// A channel to the server carrying the token.
    pub async fn connect(&self) -> anyhow::Result<dondoc_api::client::ApiChannel> {
        let data_dir = Self::data_dir();
        let certificate = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some(dondoc_api::client::ClientCertificate {
                cert_pem: std::fs::read(cert)
                    .with_context(|| format!("reading {}", cert.display()))?,
                key_pem: std::fs::read(key)
                    .with_context(|| format!("reading {}", key.display()))?,
            }),
            _ => None,
        };
        let token = match &self.token {
            Some(token) => Some(token.clone()),
            None if certificate.is_some() => None,
            None => {
                let file = crate::access::default_token_file(&data_dir);
                std::fs::read_to_string(&file).ok()
            }
        };
        let ca_file = self
            .ca_cert
            .clone()
            .unwrap_or_else(|| crate::access::default_ca_file(&data_dir));
        let ca = match std::fs::read(&ca_file) {
            Ok(ca) => Some(ca),
            Err(_) if self.ca_cert.is_none() => None,
            Err(err) => return Err(err).with_context(|| format!("reading {}", ca_file.display())),
        };
        Ok(dondoc_api::client::connect_with(
            &self.server,
            ca.as_deref(),
            token.as_deref(),
            certificate.as_ref(),
        )
        .await?)
    }
}

/// Where the process keeps its files.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArg {
    /// Where the embedded JetStream store, the sled projection and run files live.
    #[arg(long, env = "DONDOC_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

/// Which NATS server holds the log.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// Use the NATS server at this URL (default: the embedded one, see each command).
    #[arg(long, env = "DONDOC_NATS_URL")]
    pub nats: Option<String>,
    /// Connect with these credentials: a NATS credentials file (JWT and seed) or one of
    /// the embedded server's (`<data-dir>/credentials/*.json`).
    #[arg(long, env = "DONDOC_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// Replicas of the streams when this process creates them (3 on a 3-node cluster).
    #[arg(long, env = "DONDOC_STREAM_REPLICAS", default_value_t = 1)]
    pub stream_replicas: usize,
}

/// How an embedded nats-server runs. The default: the located binary, fsync on.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EmbeddedNatsArgs {
    /// The nats-server binary for the embedded server (default: found by
    /// DONDOC_NATS_SERVER, .tools/nats-server/bin/nats-server, or PATH).
    #[arg(long)]
    pub nats_server_bin: Option<PathBuf>,
    /// Let the embedded JetStream acknowledge writes before fsync (faster; an
    /// acknowledged event can be lost on power failure).
    #[arg(long, env = "DONDOC_NO_FSYNC")]
    pub no_fsync: bool,
}

/// The agency directory.
#[derive(Debug, Clone, clap::Args)]
pub struct DirectoryArg {
    /// Replace the shipped agency directory with every *.json in this folder
    /// (format: deploy/agencies/README.md).
    #[arg(long, env = "DONDOC_AGENCIES")]
    pub agencies: Option<PathBuf>,
}

impl DirectoryArg {
    /// The province files shipped in deploy/agencies/ (compiled into dondoc-agencies),
    /// or every `*.json` in the folder named, which replaces them.
    pub fn load(&self) -> anyhow::Result<AgencyDirectory> {
        let Some(dir) = &self.agencies else {
            return dondoc_agencies::shipped().context("the shipped agency directory");
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading the agency directory folder {}", dir.display()))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        anyhow::ensure!(
            !files.is_empty(),
            "{} has no *.json agency files",
            dir.display()
        );
        let mut provinces = Vec::new();
        for file in files {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            provinces.push(
                AgencyDirectory::from_json(&json)
                    .with_context(|| format!("in {}", file.display()))?,
            );
        }
        AgencyDirectory::merged(provinces).context("merging the agency directories")
    }
}

/// The holiday calendar.
#[derive(Debug, Clone, clap::Args)]
pub struct HolidaysArg {
    /// The holiday calendar for the working-day rule (default: the shipped
    /// deploy/holidays/vn.json).
    #[arg(long, env = "DONDOC_HOLIDAYS")]
    pub holidays: Option<PathBuf>,
}

impl HolidaysArg {
    /// The holiday calendar named, or the shipped deploy/holidays/vn.json.
    pub fn load(&self) -> anyhow::Result<HolidayCalendar> {
        load_holidays(self.holidays.as_deref())
    }
}

fn load_holidays(path: Option<&Path>) -> anyhow::Result<HolidayCalendar> {
    let json = match path {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => SHIPPED_HOLIDAYS.to_owned(),
    };
    let source = path.map_or_else(
        || "deploy/holidays/vn.json".to_owned(),
        |path| path.display().to_string(),
    );
    HolidayCalendar::from_json(&json)
        .with_context(|| format!("reading the holiday calendar {source}"))
}

/// How deadlines are computed and reminded; shared by `up`, `worker` and `sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeadlineArgs {
    #[command(flatten)]
    pub holidays: HolidaysArg,
    /// When reminders go out before each deadline: days (d) or hours (h), comma
    /// separated; "none" sends none.
    #[arg(long, env = "DONDOC_REMINDERS", default_value = "7d,3d,1d")]
    pub reminders: String,
    /// How many days reminders stay in the DONDOC_REMINDERS stream (0: forever).
    #[arg(long, env = "DONDOC_REMINDER_RETENTION_DAYS", default_value_t = 90)]
    pub reminder_retention_days: u64,
}

impl DeadlineArgs {
    pub fn rules(&self) -> anyhow::Result<DeadlineRules> {
        let reminders = ReminderOffsets::parse(&self.reminders)
            .with_context(|| format!("--reminders {:?}", self.reminders))?;
        Ok(DeadlineRules::new(self.holidays.load()?).with_reminders(reminders))
    }

    pub fn reminder_channel_options(&self, replicas: usize) -> ReminderChannelOptions {
        ReminderChannelOptions {
            replicas,
            max_age: std::time::Duration::from_secs(self.reminder_retention_days * 24 * 60 * 60),
        }
    }
}

/// What the deadline worker says of itself.
#[derive(Debug, Clone, clap::Args)]
pub struct SettledArg {
    /// Print a line each time the deadline worker has done all the work due, for scripts
    /// that wait for it: "dondoc worker settled at <instant> through sequence <n>" (every
    /// event up to stream sequence n seen).
    #[arg(long)]
    pub print_settled: bool,
}

/// Where "now" comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct ClockArg {
    /// Run the clock from this instant (RFC 3339) instead of the real time: for drills and
    /// tests that need deadlines to pass on cue. Events are stamped with this clock.
    #[arg(long, value_parser = parse_instant)]
    pub pretend_now: Option<OffsetDateTime>,
}

impl ClockArg {
    pub fn clock(&self) -> Arc<dyn Clock> {
        match self.pretend_now {
            Some(start) => {
                tracing::warn!(%start, "the clock runs from a pretended instant, not the real time");
                Arc::new(ShiftedClock::starting_at(start))
            }
            None => Arc::new(SystemClock),
        }
    }
}

/// A scorecard's filters, live (`dondoc scorecard`) or rebuilt from the log (`dondoc
/// audit scorecard`).
#[derive(Debug, Clone, clap::Args)]
pub struct ScorecardArgs {
    /// One agency, by id or name (default: every agency that owes something).
    #[arg(long)]
    pub agency: Option<String>,
    /// The province the agency's name is read in ("Quảng Trị"), for a name several
    /// provinces know; an agency id needs none.
    #[arg(long)]
    pub province: Option<String>,
    #[arg(long)]
    pub plan: Option<String>,
    /// Exactly this period: "2024" (the yearly report only) or "2024-Q1".
    #[arg(long, conflicts_with = "year")]
    pub period: Option<String>,
    /// Every period of this year (its quarters and yearly report).
    #[arg(long)]
    pub year: Option<i32>,
    /// As of this instant (RFC 3339; default: now).
    #[arg(long, value_parser = instant_arg)]
    pub as_of: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

/// Parses an RFC 3339 instant ("2024-03-25T00:00:00+07:00").
pub fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    let instant = OffsetDateTime::parse(text, &Rfc3339).map_err(|err| {
        format!(
            "{} is not an RFC 3339 instant like 2024-03-25T00:00:00+07:00: {err}",
            dondoc_domain::quoted(text)
        )
    })?;
    dondoc_domain::check_instant("instant", instant).map_err(|error| error.message)
}

/// Checks an RFC 3339 instant on the command line, keeping the text as written (the
/// server parses it again and names the field if it disagrees).
pub fn instant_arg(text: &str) -> Result<String, String> {
    parse_instant(text).map(|_| text.to_owned())
}
