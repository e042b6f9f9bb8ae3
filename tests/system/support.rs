//! Support for the cross-process tests: a real nats-server on a free loopback port with
//! a temporary store, and the real `dondoc` binary started as a child process.
//!
//! Invariants: nothing listens on a fixed port (nats-server picks its own and reports it
//! in a ports file; dondoc binds port 0 and prints its address); every process started
//! here is stopped by PID when its handle drops, and temporary directories go with it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dondoc_api::pb;
use dondoc_api::TaskServiceClient;
use dondoc_nats_embed::{locate_nats_server, NatsServer, NatsServerOptions};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tonic::transport::Channel;

/// The workspace root (this test target belongs to `services/dondoc`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Seed 004's text: from `../shared/seeds` when it is beside the checkout (as in CI),
/// else the identical copy shipped in `deploy/samples`.
pub fn seed_004_text() -> String {
    let shared = workspace_root().join("../shared/seeds/004_09303d0239868285.txt");
    let path = if shared.exists() {
        shared
    } else {
        workspace_root().join("deploy/samples/qng-189-kh-ubnd-2022.txt")
    };
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

/// A nats-server with JetStream in a temporary directory.
pub struct TestNats {
    server: Option<NatsServer>,
    options: NatsServerOptions,
    _dir: tempfile::TempDir,
}

impl TestNats {
    pub fn start() -> Self {
        let binary = locate_nats_server().expect("nats-server: run deploy/install-nats-server.sh");
        let dir = tempfile::tempdir().expect("temporary directory");
        let options = NatsServerOptions::in_data_dir(binary, dir.path());
        let server = NatsServer::start(&options).expect("nats-server starts");
        Self {
            server: Some(server),
            options,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        self.server
            .as_ref()
            .expect("nats-server is running")
            .client_url()
            .to_owned()
    }

    /// Stops the server (SIGTERM) and keeps its store, for `restart`.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().expect("nats-server stops");
        }
    }

    /// Starts the server again on the same port and store.
    pub fn restart(&mut self, port: u16) {
        self.stop();
        let mut options = self.options.clone();
        options.port = Some(port);
        self.server = Some(NatsServer::start(&options).expect("nats-server restarts"));
    }

    pub fn port(&self) -> u16 {
        self.server.as_ref().expect("nats-server is running").port()
    }

    /// A JetStream context for inspecting the stream directly.
    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(self.url())
            .await
            .expect("connect to nats");
        async_nats::jetstream::new(client)
    }

    /// Number of messages in the event stream.
    pub async fn event_count(&self) -> u64 {
        self.stream_state().await.messages
    }

    /// Stream sequence of the newest event.
    pub async fn last_sequence(&self) -> u64 {
        self.stream_state().await.last_sequence
    }

    async fn stream_state(&self) -> async_nats::jetstream::stream::State {
        let mut stream = self
            .jetstream()
            .await
            .get_stream("DONDOC_EVENTS")
            .await
            .expect("event stream exists");
        stream.info().await.expect("stream info").state.clone()
    }
}

/// The `dondoc` binary cargo built for this test run.
pub fn dondoc_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dondoc"))
}

/// A `dondoc up` process against a test NATS, with its own data directory.
pub struct Dondoc {
    child: Option<Child>,
    address: String,
}

impl Dondoc {
    /// Starts `dondoc up --nats URL` in `data_dir` (no sample plan, no deadline worker:
    /// the tests count events) and waits for its
    /// "listening" line.
    pub fn start(nats_url: &str, data_dir: &Path) -> Self {
        Self::start_with(nats_url, data_dir, &["--no-sample", "--no-worker"])
    }

    pub fn start_with(nats_url: &str, data_dir: &Path, extra_args: &[&str]) -> Self {
        Self::start_listening(nats_url, data_dir, "127.0.0.1:0", extra_args)
    }

    /// Starts `dondoc up` on `listen` (the address of one stopped before, to bring the
    /// server back where its clients expect it).
    pub fn start_listening(
        nats_url: &str,
        data_dir: &Path,
        listen: &str,
        extra_args: &[&str],
    ) -> Self {
        let mut child = Command::new(dondoc_binary())
            .args(["up", "--listen", listen, "--nats", nats_url, "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .env("DONDOC_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dondoc starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        // Blocks until the line arrives or the process exits (stdout closes): no sleeps.
        let address = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(address) = line.strip_prefix("dondoc listening on ") {
                        break address.trim().to_owned();
                    }
                }
                _ => {
                    let status = child.wait().expect("dondoc exit status");
                    panic!("dondoc exited before listening: {status}");
                }
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child: Some(child),
            address,
        }
    }

    /// The address it listens on (`127.0.0.1:PORT`).
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub async fn client(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::connect(self.endpoint())
            .await
            .expect("connect to dondoc")
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.endpoint())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to dondoc")
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
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("dondoc status") {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dondoc {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Imports seed 004's appendix as plan `plan_id`.
pub async fn import_seed_004(
    client: &mut TaskServiceClient<Channel>,
    plan_id: &str,
) -> pb::ImportPlanResponse {
    client
        .import_plan(pb::ImportPlanRequest {
            plan_id: plan_id.to_owned(),
            plan_year: 2023,
            source_name: "004_09303d0239868285.txt".to_owned(),
            content: seed_004_text(),
            request_id: format!("import-{plan_id}"),
            actor: "test".to_owned(),
            province: "Quảng Ngãi".to_owned(),
            ..Default::default()
        })
        .await
        .expect("import succeeds")
        .into_inner()
}

/// Every task of a plan, following page tokens.
pub async fn list_all(
    client: &mut TaskServiceClient<Channel>,
    plan_id: &str,
    min_sequence: u64,
) -> Vec<pb::Task> {
    let mut tasks = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_tasks(pb::ListTasksRequest {
                plan_id: plan_id.to_owned(),
                page_size: 20,
                page_token: page_token.clone(),
                min_sequence,
                ..Default::default()
            })
            .await
            .expect("list tasks")
            .into_inner();
        tasks.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return tasks;
        }
        page_token = page.next_page_token;
    }
}

/// A report request for a 2023 quarter.
pub fn report(
    task_id: &str,
    request_id: &str,
    quarter: u8,
    expected_version: Option<u64>,
) -> pb::SubmitReportRequest {
    pb::SubmitReportRequest {
        task_id: task_id.to_owned(),
        request_id: request_id.to_owned(),
        agency: "Sở TT&TT".to_owned(),
        period: format!("2023-Q{quarter}"),
        content: format!("Báo cáo quý {quarter}"),
        expected_version,
    }
}
