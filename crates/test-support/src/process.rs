//! Real dondoc processes: `DondocProcess` for the long-running ones (`dondoc up`,
//! `dondoc worker`), `Cli` for one-shot commands.
//!
//! A long-running process is waited for by the line it prints when ready (no sleeps);
//! its later stdout lines are kept for the test to wait on (`wait_for_line`), and it is
//! killed (SIGKILL) when its handle drops. Every process runs with `DONDOC_LOG=warn`, so
//! stderr carries only what a person should see.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dondoc_api::client::ApiChannel;
use dondoc_api::{AuditServiceClient, TaskServiceClient};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::sync::mpsc;

use crate::TestNats;

/// How long a process may take to print its ready line.
const START_BOUND: Duration = Duration::from_secs(120);
/// How the deadline worker's `--print-settled` lines begin.
const SETTLED: &str = "dondoc worker settled at ";
/// How long a clean shutdown may take before SIGKILL.
const STOP_BOUND: Duration = Duration::from_secs(20);

/// A running `dondoc up` or `dondoc worker`.
pub struct DondocProcess {
    child: Option<Child>,
    /// For `up`: `127.0.0.1:PORT`; empty for a worker.
    address: String,
    /// Its data directory: where its TLS certificate and operator token are.
    data_dir: Option<PathBuf>,
    /// The process's stdout lines after its ready line.
    lines: mpsc::UnboundedReceiver<String>,
    /// The stream sequence of the last "settled" line read (`wait_settled`).
    settled_through: u64,
}

impl DondocProcess {
    /// `dondoc up --listen 127.0.0.1:0 --nats URL --data-dir DIR ARGS…`, once it listens.
    pub fn up(binary: &Path, nats_url: &str, data_dir: &Path, args: &[&str]) -> Self {
        Self::up_listening(binary, nats_url, data_dir, "127.0.0.1:0", args)
    }

    /// `dondoc up` on `listen` (the address of one stopped before, to bring the server
    /// back where its clients expect it).
    pub fn up_listening(
        binary: &Path,
        nats_url: &str,
        data_dir: &Path,
        listen: &str,
        args: &[&str],
    ) -> Self {
        let mut command = Command::new(binary);
        command
            .args(["up", "--listen", listen, "--nats", nats_url, "--data-dir"])
            .arg(data_dir)
            .args(args);
        Self::spawn(command, "dondoc listening on ").in_dir(data_dir)
    }

    fn in_dir(mut self, data_dir: &Path) -> Self {
        self.data_dir = Some(data_dir.to_owned());
        self
    }

    /// `dondoc up` with its embedded nats-server (no `--nats`) in `data_dir`, once it
    /// listens: the default a user gets.
    pub fn up_embedded(binary: &Path, data_dir: &Path, args: &[&str]) -> Self {
        let mut command = Command::new(binary);
        command
            .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args);
        Self::spawn(command, "dondoc listening on ").in_dir(data_dir)
    }

    /// `dondoc worker --nats URL --data-dir DIR ARGS…`, once it runs.
    pub fn worker(binary: &Path, nats_url: &str, data_dir: &Path, args: &[&str]) -> Self {
        let mut command = Command::new(binary);
        command
            .args(["worker", "--nats", nats_url, "--data-dir"])
            .arg(data_dir)
            .args(args);
        Self::spawn(command, "dondoc worker running")
    }

    fn spawn(mut command: Command, ready: &str) -> Self {
        let mut child = command
            .env("DONDOC_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dondoc starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (lines_tx, lines) = mpsc::unbounded_channel();
        let ready = ready.to_owned();
        // Reads every line, so the child never blocks on a full pipe: the ready line to
        // the starter, the rest to the test. Ends when the child closes stdout (exits).
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line.strip_prefix(&ready) {
                    Some(rest) if ready_tx.is_some() => {
                        let _ = ready_tx.take().map(|tx| tx.send(rest.trim().to_owned()));
                    }
                    _ => {
                        let _ = lines_tx.send(line);
                    }
                }
            }
        });
        let address = match ready_rx.recv_timeout(START_BOUND) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().expect("dondoc exit status");
                panic!("dondoc was not ready within {START_BOUND:?}: {status}");
            }
        };
        Self {
            child: Some(child),
            address,
            data_dir: None,
            lines,
            settled_through: 0,
        }
    }

    /// The address `dondoc up` listens on (`127.0.0.1:PORT`).
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn endpoint(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Its data directory (for `up`).
    pub fn data_dir(&self) -> &Path {
        self.data_dir
            .as_deref()
            .expect("a dondoc up has a data directory")
    }

    /// How to reach it as its operator: the address, the CA of its certificate and
    /// the operator token it left in its data directory.
    pub fn connector(&self) -> Connector {
        let data_dir = self.data_dir();
        Connector {
            endpoint: self.endpoint(),
            ca_pem: std::fs::read(data_dir.join("tls/ca.crt")).ok(),
            token: std::fs::read_to_string(data_dir.join("auth/operator.token")).ok(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// A channel over TLS carrying the operator token.
    pub async fn channel(&self) -> ApiChannel {
        self.connector().connect().await
    }

    pub async fn client(&self) -> TaskServiceClient<ApiChannel> {
        TaskServiceClient::new(self.channel().await)
    }

    pub async fn audit_client(&self) -> AuditServiceClient<ApiChannel> {
        AuditServiceClient::new(self.channel().await)
    }

    /// Waits, at most `bound`, for a line of stdout that `matches`; skips the others.
    pub async fn wait_for_line(
        &mut self,
        what: &str,
        bound: Duration,
        mut matches: impl FnMut(&str) -> bool,
    ) -> String {
        let give_up = tokio::time::Instant::now() + bound;
        loop {
            match tokio::time::timeout_at(give_up, self.lines.recv()).await {
                Ok(Some(line)) if matches(&line) => return line,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{what}: dondoc exited first"),
                Err(_) => panic!("{what}: no such line within {bound:?}"),
            }
        }
    }

    /// Waits, at most `bound`, until the process's deadline worker (run with
    /// `--print-settled`) has done all the work due with every event `nats` holds seen,
    /// and returns how many events it holds then.
    pub async fn wait_settled(&mut self, nats: &TestNats, bound: Duration) -> u64 {
        let give_up = tokio::time::Instant::now() + bound;
        loop {
            if self.settled_through >= nats.last_sequence().await {
                return nats.event_count().await;
            }
            let left = give_up.saturating_duration_since(tokio::time::Instant::now());
            let line = self
                .wait_for_line("the deadline worker settles", left, |line| {
                    line.starts_with(SETTLED)
                })
                .await;
            self.settled_through = line
                .rsplit(' ')
                .next()
                .and_then(|sequence| sequence.parse().ok())
                .unwrap_or_else(|| panic!("a settled line ends with its sequence: {line}"));
        }
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL dondoc");
            child.wait().expect("reap dondoc");
        }
    }

    /// SIGTERM and wait: the clean shutdown path. Returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM dondoc");
        let give_up = Instant::now() + STOP_BOUND;
        loop {
            if let Some(status) = child.try_wait().expect("dondoc status") {
                return status.success();
            }
            if Instant::now() > give_up {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            // Polls the exit status; bounded by STOP_BOUND.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DondocProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// The address, certificate and token of a `dondoc up`: what a client needs to call
/// it, and can take into a task of its own.
#[derive(Clone, Debug)]
pub struct Connector {
    pub endpoint: String,
    pub ca_pem: Option<Vec<u8>>,
    pub token: Option<String>,
}

impl Connector {
    pub async fn connect(&self) -> ApiChannel {
        dondoc_api::client::connect(
            &self.endpoint,
            self.ca_pem.as_deref(),
            self.token.as_deref(),
        )
        .await
        .expect("connect to dondoc")
    }

    /// The same server with another token (`None`: none at all).
    pub fn with_token(&self, token: Option<&str>) -> Self {
        Self {
            token: token.map(str::to_owned),
            ..self.clone()
        }
    }
}

/// One-shot `dondoc` commands.
#[derive(Clone, Debug)]
pub struct Cli {
    binary: PathBuf,
    /// `--server` for client commands, when set.
    server: Option<String>,
    /// The data directory whose certificate and operator token client commands use.
    data_dir: Option<PathBuf>,
}

impl Cli {
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            server: None,
            data_dir: None,
        }
    }

    /// Client commands talk to `dondoc`, as its operator (its certificate and token).
    pub fn with_server(mut self, dondoc: &DondocProcess) -> Self {
        self.server = Some(dondoc.endpoint());
        self.data_dir = Some(dondoc.data_dir().to_owned());
        self
    }

    /// The command, ready for more arguments.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command.args(args).env("DONDOC_LOG", "warn");
        if let Some(server) = &self.server {
            command.args(["--server", server]);
        }
        if let Some(data_dir) = &self.data_dir {
            command.env("DONDOC_DATA_DIR", data_dir);
        }
        command
    }

    /// Runs it; whatever the outcome.
    pub fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("dondoc runs")
    }

    /// Runs it and returns stdout; panics with stderr if it fails.
    pub fn stdout(&self, args: &[&str]) -> String {
        let output = self.output(args);
        assert!(
            output.status.success(),
            "dondoc {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Runs it and parses stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let stdout = self.stdout(args);
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
    }
}
