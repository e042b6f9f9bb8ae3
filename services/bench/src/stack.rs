//! The system under test: a real nats-server (fsync per write or not) and a real
//! `dondoc up` on it, loaded with a synthetic plan through the API, and its gRPC
//! clients; what the scenarios measure on it.
//!
//! Invariant: every figure here goes through gRPC over loopback TLS with the operator
//! token, as an agency system's call would.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use dondoc_api::client::ApiChannel;
use dondoc_api::{pb, TaskServiceClient};
use dondoc_test_support::{DondocProcess, TestNats};

use crate::measure::{describe, run_clients, Measured};

/// The synthetic plan: `rows` tasks led by the Sở TT&TT with the Sở Nội vụ
/// coordinating, over `timeframe` (e.g. "2023-2025": they owe quarterly and yearly
/// reports in each of its years).
pub fn appendix(rows: usize, timeframe: &str) -> String {
    let mut text = String::from("TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\tThời gian\n");
    for row in 1..=rows {
        text.push_str(&format!(
            "{row}\tNhiệm vụ số {row}: triển khai nền tảng số\tSở TT&TT\tSở Nội vụ\t{timeframe}\n"
        ));
    }
    text
}

/// The timeframe of the synthetic plans, unless a scenario needs another.
pub const TIMEFRAME: &str = "2023-2025";

/// How `dondoc up` runs unless a scenario says otherwise: no samples, no deadline
/// worker (its marks would add events to what is measured).
const API_ONLY: &[&str] = &["--no-sample", "--no-worker"];

/// The most rows one synthetic plan has (10,000 rows are about 1 MB of appendix).
pub const PLAN_ROWS: usize = 10_000;

/// The command every command scenario sends: a coordination note of the Sở Nội vụ.
fn coordination(task: &str, request_id: String, index: usize) -> pb::RecordCoordinationRequest {
    pb::RecordCoordinationRequest {
        task_id: task.to_owned(),
        request_id,
        agency: "Sở Nội vụ".to_owned(),
        note: format!("Đã phối hợp, lần {index}"),
        expected_version: None,
    }
}

pub struct Stack {
    pub nats: TestNats,
    pub dondoc: DondocProcess,
    binary: PathBuf,
    data: tempfile::TempDir,
    channel: ApiChannel,
    /// The arguments `dondoc up` runs with (besides its NATS URL and data directory).
    up_args: Vec<String>,
}

impl Stack {
    pub async fn start(binary: &Path, fsync: bool) -> anyhow::Result<Self> {
        Self::start_with(
            binary,
            fsync,
            API_ONLY.iter().map(|arg| arg.to_string()).collect(),
        )
        .await
    }

    /// A stack whose `dondoc up` runs with `up_args`.
    pub async fn start_with(
        binary: &Path,
        fsync: bool,
        up_args: Vec<String>,
    ) -> anyhow::Result<Self> {
        let nats = if fsync {
            TestNats::start()
        } else {
            TestNats::start_without_fsync()
        };
        let data = tempfile::tempdir()?;
        let dondoc = DondocProcess::up(binary, &nats.url(), data.path(), &as_strs(&up_args));
        let channel = dondoc.connector().connect().await;
        Ok(Self {
            nats,
            dondoc,
            binary: binary.to_owned(),
            data,
            channel,
            up_args,
        })
    }

    pub fn client(&self) -> TaskServiceClient<ApiChannel> {
        TaskServiceClient::new(self.channel.clone())
    }

    /// Imports the synthetic plan `plan_id` with `rows` rows over `timeframe`: its task
    /// ids and how long the import took.
    pub async fn import(
        &self,
        plan_id: &str,
        rows: usize,
        timeframe: &str,
    ) -> anyhow::Result<(Vec<String>, Duration)> {
        let started = Instant::now();
        let response = self
            .client()
            .import_plan(pb::ImportPlanRequest {
                plan_id: plan_id.to_owned(),
                plan_year: 2023,
                source_name: format!("{plan_id}.tsv"),
                content: appendix(rows, timeframe),
                request_id: format!("import-{plan_id}"),
                province: "Quảng Ngãi".to_owned(),
                ..Default::default()
            })
            .await
            .with_context(|| format!("importing {rows} rows"))?
            .into_inner();
        Ok((response.task_ids, started.elapsed()))
    }

    /// Imports `rows` rows as plans of at most `PLAN_ROWS` (an import is one gRPC
    /// message, and the server takes at most 5 MB): `plan_id`, then `plan_id-2`, … All
    /// their task ids, and how long the imports took.
    pub async fn import_in_plans(
        &self,
        plan_id: &str,
        rows: usize,
        timeframe: &str,
    ) -> anyhow::Result<(Vec<String>, Duration)> {
        let mut tasks = Vec::with_capacity(rows);
        let mut took = Duration::ZERO;
        let mut left = rows;
        let mut plan = 1;
        while left > 0 {
            let these = left.min(PLAN_ROWS);
            let name = match plan {
                1 => plan_id.to_owned(),
                _ => format!("{plan_id}-{plan}"),
            };
            let (ids, elapsed) = self.import(&name, these, timeframe).await?;
            tasks.extend(ids);
            took += elapsed;
            left -= these;
            plan += 1;
        }
        Ok((tasks, took))
    }

    /// `clients` clients each recording `per_client` coordination notes, client `c` on
    /// task `tasks[c % len]` onward (its own tasks while there are enough).
    pub async fn commands(
        &self,
        tasks: &[String],
        clients: usize,
        per_client: usize,
        label: &str,
    ) -> Measured {
        let tasks = tasks.to_vec();
        let client = self.client();
        let label = label.to_owned();
        run_clients(clients, per_client, move |c, index| {
            let (mut client, tasks, label) = (client.clone(), tasks.clone(), label.clone());
            async move {
                let spread = (tasks.len() / clients.max(1)).max(1);
                let task = &tasks[(c * spread + index % spread) % tasks.len()];
                client
                    .record_coordination(coordination(task, format!("{label}-{c}-{index}"), index))
                    .await
                    .map(drop)
                    .map_err(|status| describe(&status))
            }
        })
        .await
    }

    /// Read-your-write at a fixed offered load: `count` coordination notes at
    /// `per_second`, one at a time, each followed by a GetTask with `min_version` at
    /// the version the command answered; the latencies are the GetTask's (the wait for
    /// the projection to hold the write, and the read).
    pub async fn read_your_write(
        &self,
        tasks: &[String],
        count: usize,
        per_second: f64,
        label: &str,
    ) -> Measured {
        let mut client = self.client();
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(1.0)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut measured = Measured::default();
        let started = Instant::now();
        for index in 0..count {
            ticker.tick().await;
            let task = tasks[index % tasks.len()].clone();
            let written = client
                .record_coordination(coordination(&task, format!("{label}-{index}"), index))
                .await;
            let version = match written {
                Ok(response) => response.into_inner().version,
                Err(status) => {
                    measured.fail(describe(&status));
                    continue;
                }
            };
            let sent = Instant::now();
            match client
                .get_task(pb::GetTaskRequest {
                    task_id: task,
                    min_version: version,
                })
                .await
            {
                Ok(_) => measured.latencies.push(sent.elapsed()),
                Err(status) => measured.fail(describe(&status)),
            }
        }
        measured.finish(started, count);
        measured
    }

    /// Replays the whole log through the audit service: how long, and how many events.
    pub async fn replay(&self) -> anyhow::Result<(Duration, u64)> {
        let mut audit = dondoc_api::AuditServiceClient::new(self.channel.clone());
        let started = Instant::now();
        let mut stream = audit
            .replay(pb::ReplayRequest::default())
            .await
            .context("replaying the log")?
            .into_inner();
        let mut events = 0;
        while stream
            .message()
            .await
            .context("the replay stream")?
            .is_some()
        {
            events += 1;
        }
        Ok((started.elapsed(), events))
    }

    /// Verifies the whole log through the audit service: how long it took.
    pub async fn verify(&self) -> anyhow::Result<Duration> {
        let mut audit = dondoc_api::AuditServiceClient::new(self.channel.clone());
        let started = Instant::now();
        audit
            .verify(pb::VerifyRequest::default())
            .await
            .context("verifying the log")?;
        Ok(started.elapsed())
    }

    /// GetTask `count` times, one client, over `tasks` in turn.
    pub async fn get_task(&self, tasks: &[String], count: usize) -> Measured {
        let (tasks, client) = (tasks.to_vec(), self.client());
        run_clients(1, count, move |_, index| {
            let (mut client, task) = (client.clone(), tasks[index % tasks.len()].clone());
            async move {
                client
                    .get_task(pb::GetTaskRequest {
                        task_id: task,
                        min_version: 0,
                    })
                    .await
                    .map(drop)
                    .map_err(|status| describe(&status))
            }
        })
        .await
    }

    /// One read `count` times, one client.
    pub async fn read<F, Fut>(&self, count: usize, read: F) -> Measured
    where
        F: Fn(TaskServiceClient<ApiChannel>) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send,
    {
        let client = self.client();
        run_clients(1, count, move |_, _| read.clone()(client.clone())).await
    }

    /// The dondoc process's resident memory, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.dondoc.pid()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// The sled projection's size on disk, in bytes.
    pub fn projection_bytes(&self) -> u64 {
        dir_size(&self.data.path().join("projection"))
    }

    /// Stops dondoc, wipes its projection, starts it again and waits until the read
    /// model has applied the whole stream: how long the rebuild took, and how many
    /// stream messages it applied.
    pub async fn rebuild(&mut self) -> anyhow::Result<(Duration, u64)> {
        self.restart(true).await
    }

    /// Stops dondoc and starts it again on its projection as it is (the steady state
    /// of a restart), waiting until it has caught up.
    pub async fn restart_kept(&mut self) -> anyhow::Result<Duration> {
        Ok(self.restart(false).await?.0)
    }

    /// As `restart_kept`, with `dondoc up` run with `up_args` from now on.
    pub async fn restart_with(&mut self, up_args: Vec<String>) -> anyhow::Result<Duration> {
        self.up_args = up_args;
        self.restart_kept().await
    }

    /// Stops dondoc, wipes its projection if asked, starts it again and waits until the
    /// read side has applied the whole stream: (how long, the last stream sequence).
    async fn restart(&mut self, wipe: bool) -> anyhow::Result<(Duration, u64)> {
        let last = self.nats.last_sequence().await;
        self.dondoc.terminate();
        if wipe {
            std::fs::remove_dir_all(self.data.path().join("projection"))
                .context("wiping the projection")?;
        }
        let started = Instant::now();
        self.dondoc = DondocProcess::up(
            &self.binary,
            &self.nats.url(),
            self.data.path(),
            &as_strs(&self.up_args),
        );
        self.channel = self.dondoc.connector().connect().await;
        loop {
            let caught_up = self
                .client()
                .list_tasks(pb::ListTasksRequest {
                    page_size: 1,
                    min_sequence: last,
                    ..Default::default()
                })
                .await;
            if caught_up.is_ok() {
                return Ok((started.elapsed(), last));
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(3600),
                "dondoc did not catch up within an hour of its start"
            );
        }
    }
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => dir_size(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}
