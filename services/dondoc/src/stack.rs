//! Opening and closing the stack, the one way every command that runs it does: the NATS
//! server (an embedded child, one at a URL, or the one a running `dondoc up` publishes),
//! the event log, a projection with its feeder, the tracker, the deadline worker.
//!
//! Shutdown runs the start backwards: whatever serves stops first (the caller's), then
//! the worker, then the feeder (which flushes sled), then an embedded nats-server gets
//! SIGTERM and is waited for, so nothing is left running.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use dondoc_agencies::AgencyDirectory;
use dondoc_app::{
    Checkpoints, Clock, DeadlineRules, DeadlineWorker, ProjectionFeeder, Settled, Signing, Tracker,
    TrackerParts,
};
use dondoc_domain::{DeploymentKey, TaskId};
use dondoc_eventlog::{
    connect_nats, EventLog, EventLogOptions, Identity, NatsAuth, ReminderChannel,
};
use dondoc_nats_embed::{locate_nats_server, NatsServerOptions, SupervisedServer};
use dondoc_projection::ProjectionStore;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::{DeadlineArgs, EmbeddedNatsArgs, SettledArg};
use crate::credentials::{read_auth, Credentials};

/// The file where a running `dondoc up` publishes its embedded nats-server's URL, so
/// that `dondoc worker` and `dondoc sweep` beside it find it without flags.
pub const NATS_URL_FILE: &str = "nats.url";

/// The NATS server this process uses, and the identities it connects as.
pub struct Nats {
    url: String,
    /// How the service (API, imports) connects.
    pub service_auth: NatsAuth,
    /// How the deadline worker connects.
    pub worker_auth: NatsAuth,
    /// The child started (and supervised) for this process, with the URL file it
    /// published (if any).
    embedded: Option<(SupervisedServer, Option<PathBuf>)>,
    /// Whether the server serves: false while a supervised child is being restarted.
    serving: watch::Receiver<bool>,
}

impl Nats {
    /// The server at `url` (authenticated by `creds`, when given), or else the data
    /// directory's own, started as a child with its store in `<data_dir>/nats`, its
    /// users those of `credentials.rs` (`agency_ids`: one reminder subscriber each). With
    /// `publish`, the child's URL is written to `<data_dir>/nats.url` while it runs.
    pub fn url_or_embedded(
        url: Option<&str>,
        creds: Option<&Path>,
        data_dir: &Path,
        embedded: &EmbeddedNatsArgs,
        agency_ids: &[String],
        publish: bool,
    ) -> anyhow::Result<Self> {
        if let Some(url) = url {
            let auth = given_auth(creds)?;
            return Ok(Self {
                url: url.to_owned(),
                service_auth: auth.clone(),
                worker_auth: auth,
                embedded: None,
                serving: watch::channel(true).1,
            });
        }
        let binary = match &embedded.nats_server_bin {
            Some(binary) => binary.clone(),
            None => locate_nats_server()?,
        };
        let credentials = Credentials::open(data_dir)?;
        let mut options = NatsServerOptions::in_data_dir(binary, &data_dir.join("nats"));
        options.sync_always = !embedded.no_fsync;
        options.users = credentials.users(agency_ids)?;
        if embedded.no_fsync {
            tracing::warn!(
                "JetStream fsync per write is off: acknowledged events can be lost on power failure"
            );
        }
        let store = options.store_dir.clone();
        let (serving_tx, serving) = watch::channel(true);
        let server = SupervisedServer::start(
            options,
            Box::new(move |up| {
                serving_tx.send_replace(up);
            }),
        )
        .context("starting the embedded nats-server")?;
        tracing::info!(url = server.client_url(), pid = server.pid(), store = %store.display(), "embedded nats-server running (supervised)");
        let url = server.client_url().to_owned();
        let url_file = if publish {
            let file = data_dir.join(NATS_URL_FILE);
            std::fs::write(&file, format!("{url}\n"))
                .with_context(|| format!("writing {}", file.display()))?;
            Some(file)
        } else {
            None
        };
        Ok(Self {
            url,
            service_auth: credentials.auth(&Identity::Service)?,
            worker_auth: credentials.auth(&Identity::Worker)?,
            embedded: Some((server, url_file)),
            serving,
        })
    }

    /// The server at `url` (authenticated by `creds`), or else the one the `dondoc up`
    /// running in `data_dir` published, as its deadline worker.
    pub fn url_or_published(
        url: Option<&str>,
        creds: Option<&Path>,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        let (url, auth) = match url {
            Some(url) => (url.to_owned(), given_auth(creds)?),
            None => {
                let file = data_dir.join(NATS_URL_FILE);
                let url = std::fs::read_to_string(&file).with_context(|| {
                    format!(
                        "no --nats given and {} is missing: is `dondoc up --data-dir {}` running?",
                        file.display(),
                        data_dir.display()
                    )
                })?;
                let auth = match creds {
                    Some(creds) => read_auth(creds)?,
                    None => Credentials::open(data_dir)?.auth(&Identity::Worker)?,
                };
                (url.trim().to_owned(), auth)
            }
        };
        Ok(Self {
            url,
            service_auth: auth.clone(),
            worker_auth: auth,
            embedded: None,
            serving: watch::channel(true).1,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the server serves (false while a supervised child is being restarted).
    pub fn serving(&self) -> watch::Receiver<bool> {
        self.serving.clone()
    }

    /// Stops an embedded server (supervision first, then SIGTERM, waited for) and
    /// removes its URL file.
    pub fn stop(self) -> anyhow::Result<()> {
        if let Some((server, url_file)) = self.embedded {
            if let Some(file) = url_file {
                let _ = std::fs::remove_file(file);
            }
            tracing::info!(pid = server.pid(), "stopping the embedded nats-server");
            server.stop();
        }
        Ok(())
    }
}

/// The credentials given with `--nats-creds`, or none.
fn given_auth(creds: Option<&Path>) -> anyhow::Result<NatsAuth> {
    creds.map_or(Ok(NatsAuth::None), read_auth)
}

/// What a stack is made of.
pub struct StackConfig<'a> {
    pub nats: &'a Nats,
    pub stream_replicas: usize,
    /// The sled projection's directory (each process has its own).
    pub projection_dir: &'a Path,
    /// Wipe the projection first: it is rebuilt from the stream.
    pub rebuild_projection: bool,
    pub clock: Arc<dyn Clock>,
    pub directory: AgencyDirectory,
    pub rules: DeadlineRules,
    /// The deployment key: put on record if the log has none, refused if another key
    /// is on record.
    pub signing_key: DeploymentKey,
    /// Append signed checkpoints of the chain heads this often (and at shutdown).
    pub checkpoint_every: Option<std::time::Duration>,
    /// Who this process is, on the records it signs.
    pub actor: &'static str,
}

/// A projection kept by its feeder from the event log, and the tracker over them.
pub struct Stack {
    pub tracker: Tracker,
    stream_replicas: usize,
    nats_url: String,
    worker_auth: NatsAuth,
    /// Changes from the feeder, subscribed before it started (for a deadline worker).
    changes: Option<broadcast::Receiver<TaskId>>,
    stop_feeder: watch::Sender<bool>,
    feeder: JoinHandle<()>,
}

impl Stack {
    pub async fn open(config: StackConfig<'_>) -> anyhow::Result<Self> {
        let nats_url = config.nats.url();
        let log = EventLog::connect(
            nats_url,
            &EventLogOptions {
                replicas: config.stream_replicas,
                auth: config.nats.service_auth.clone(),
            },
        )
        .await
        .with_context(|| format!("opening the event log at {nats_url}"))?;
        let dir = config.projection_dir;
        // The projection keeps the obligation statistics under the same directory and
        // rules as the tracker below (it derives them again if they changed).
        let statistics = dondoc_app::ObligationStatistics::new(&config.directory, &config.rules);
        let store = ProjectionStore::open_with(dir, Some(statistics))
            .with_context(|| format!("opening the projection at {}", dir.display()))?;
        if config.rebuild_projection {
            tracing::info!("wiping the projection; it is rebuilt from the stream");
            store.wipe().context("wiping the projection")?;
        }
        let signing = Signing::establish(
            &log,
            config.signing_key.clone(),
            config.actor,
            config.clock.now(),
        )
        .await
        .context("putting the deployment's signing key on record")?;
        let (mut feeder, progress) =
            ProjectionFeeder::new(log.clone(), store.clone()).context("starting the projection")?;
        if let Some(every) = config.checkpoint_every {
            feeder = feeder.with_checkpoints(Checkpoints::new(
                config.signing_key,
                config.clock.clone(),
                every,
                config.actor,
            ));
        }
        let changes = feeder.subscribe_changes();
        let (stop_feeder, feeder_stopped) = watch::channel(false);
        let feeder = tokio::spawn(feeder.run(feeder_stopped));
        let tracker = Tracker::new(TrackerParts {
            log: log.clone(),
            projection: store,
            progress,
            clock: config.clock,
            directory: config.directory,
            rules: config.rules,
            signing,
        });
        Ok(Self {
            tracker,
            stream_replicas: config.stream_replicas,
            nats_url: nats_url.to_owned(),
            worker_auth: config.nats.worker_auth.clone(),
            changes: Some(changes),
            stop_feeder,
            feeder,
        })
    }

    /// Starts the deadline worker on this stack's projection, publishing reminders on
    /// the reminder stream (created if missing).
    pub async fn start_worker(
        &mut self,
        deadlines: &DeadlineArgs,
        settled: &SettledArg,
    ) -> anyhow::Result<RunningWorker> {
        let worker = self.deadline_worker(deadlines).await?;
        if settled.print_settled {
            tokio::spawn(print_settled(worker.settled()));
        }
        let changes = self
            .changes
            .take()
            .context("a stack runs one deadline worker")?;
        let (stop, stopped) = watch::channel(false);
        tracing::info!(reminders = %self.tracker.rules().reminders, "deadline worker running");
        Ok(RunningWorker {
            stop,
            task: tokio::spawn(worker.run(changes, stopped)),
        })
    }

    /// A deadline worker on this stack, not started (for one pass: `dondoc sweep`).
    pub async fn deadline_worker(
        &self,
        deadlines: &DeadlineArgs,
    ) -> anyhow::Result<DeadlineWorker> {
        // Over a connection of its own, as the worker's identity: the service's may not
        // publish reminders.
        let client = connect_nats(&self.nats_url, &self.worker_auth, "dondoc-worker")
            .await
            .context("connecting as the deadline worker")?;
        let reminders = ReminderChannel::open(
            client,
            &deadlines.reminder_channel_options(self.stream_replicas),
        )
        .await
        .context("opening the reminder stream")?;
        Ok(self.tracker.deadline_worker(reminders))
    }

    /// Stops the feeder (which flushes the projection) and waits for it.
    pub async fn shutdown(self) {
        let _ = self.stop_feeder.send(true);
        let _ = self.feeder.await;
    }
}

/// Prints each time the worker settles (`--print-settled`), after a line on the work
/// done since the last line printed if there was any, until it is gone.
async fn print_settled(mut settled: watch::Receiver<Option<Settled>>) {
    let mut printed = dondoc_app::Pass::default();
    while settled.changed().await.is_ok() {
        let Some(Settled {
            clock,
            applied,
            worked,
        }) = *settled.borrow_and_update()
        else {
            continue;
        };
        let pass = worked.since(&printed);
        printed = worked;
        if pass.tasks > 0 {
            println!(
                "dondoc worker worked on {} tasks: {} marked, {} reminded, in {:.3} ms",
                pass.tasks,
                pass.marked,
                pass.reminded,
                pass.took.as_secs_f64() * 1e3
            );
        }
        println!(
            "dondoc worker settled at {} through sequence {applied}",
            dondoc_domain::rfc3339(clock)
        );
    }
}

/// A deadline worker running on a stack.
pub struct RunningWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningWorker {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: shutting down"),
        _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
    }
}
