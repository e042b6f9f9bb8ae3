//! Runs `nats-server -js` as a child process: the embedded default of `dondoc up` and
//! the harness of every integration test.
//!
//! Owns: finding the pinned binary, writing its configuration, waiting until it serves,
//! and stopping it by PID. Invariants:
//! - the server listens on loopback only, on the port asked for or on one it picks
//!   itself (port -1), which it reports in a ports file: no port is ever guessed;
//! - the child never outlives us: it gets SIGTERM when its parent dies (Linux parent-death
//!   signal), `stop` sends SIGTERM and waits, `Drop` kills what is still running;
//! - JetStream syncs every write to disk unless the caller opts out (`sync_always`):
//!   by default nats-server acknowledges before it fsyncs, so an acknowledged event
//!   could be lost in a power cut;
//! - with `users`, the server admits nobody else (`authorization`); the config that
//!   holds their passwords is 0600, and the child runs under umask 077, so its store
//!   is its owner's alone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

mod supervisor;

pub use supervisor::{OnState, SupervisedServer};

/// The nats-server version the project installs and tests against (deploy/install-nats-server.sh).
pub const PINNED_NATS_SERVER_VERSION: &str = "2.15.1";

/// Where `deploy/install-nats-server.sh` puts the binary, relative to the workspace root.
pub const INSTALL_RELATIVE_PATH: &str = ".tools/nats-server/bin/nats-server";

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "nats-server not found: set DONDOC_NATS_SERVER, put nats-server on PATH, or run \
         deploy/install-nats-server.sh (looked in: {searched})"
    )]
    BinaryNotFound { searched: String },
    #[error("could not prepare {path}: {source}")]
    Prepare {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("nats-server exited before it was ready ({status}); see its log at {log}")]
    ExitedEarly { status: String, log: PathBuf },
    #[error("nats-server did not report its ports within {0:?}")]
    NotReady(Duration),
    #[error("could not signal nats-server pid {pid}: {source}")]
    Signal { pid: u32, source: nix::Error },
}

/// How to run the server.
#[derive(Clone, Debug)]
pub struct NatsServerOptions {
    pub binary: PathBuf,
    /// JetStream's store. Keep it to keep the events.
    pub store_dir: PathBuf,
    /// Where the configuration, the ports file and the log go.
    pub run_dir: PathBuf,
    /// `None`: the server picks a free port. `Some`: that port (to restart on the same
    /// address, as a client would expect after a NATS restart).
    pub port: Option<u16>,
    /// fsync every JetStream write before acknowledging it.
    pub sync_always: bool,
    /// The users it admits, with what each may publish and subscribe to. Empty: no
    /// authorization at all (only for the tests' own throwaway servers).
    pub users: Vec<NatsUser>,
}

/// One user of the server's `authorization` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatsUser {
    pub user: String,
    pub password: String,
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
}

impl NatsServerOptions {
    /// Options with the store and run files under `data_dir`, syncing every write.
    pub fn in_data_dir(binary: PathBuf, data_dir: &Path) -> Self {
        Self {
            binary,
            store_dir: data_dir.join("jetstream"),
            run_dir: data_dir.join("nats-run"),
            port: None,
            sync_always: true,
            users: Vec::new(),
        }
    }
}

/// A running nats-server child.
#[derive(Debug)]
pub struct NatsServer {
    /// `None` once the process has been reaped.
    child: Option<Child>,
    client_url: String,
    port: u16,
    log_path: PathBuf,
}

impl NatsServer {
    /// Starts the server and returns once it accepts clients (it writes its ports file
    /// only after its listeners and JetStream are up).
    pub fn start(options: &NatsServerOptions) -> Result<Self, EmbedError> {
        for dir in [&options.store_dir, &options.run_dir] {
            create_private_dir(dir).map_err(|source| EmbedError::Prepare {
                path: dir.clone(),
                source,
            })?;
        }
        let ports_dir = options.run_dir.join("ports");
        // Stale ports files from an earlier run would be mistaken for ours.
        let _ = fs::remove_dir_all(&ports_dir);
        fs::create_dir_all(&ports_dir).map_err(|source| EmbedError::Prepare {
            path: ports_dir.clone(),
            source,
        })?;
        let config_path = options.run_dir.join("nats-server.conf");
        let log_path = options.run_dir.join("nats-server.log");
        write_private(&config_path, &render_config(options, &ports_dir, &log_path)).map_err(
            |source| EmbedError::Prepare {
                path: config_path.clone(),
                source,
            },
        )?;

        let mut command = Command::new(&options.binary);
        command
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        set_parent_death_signal(&mut command);
        let child = command.spawn().map_err(|source| EmbedError::Spawn {
            binary: options.binary.clone(),
            source,
        })?;
        let mut server = Self {
            child: Some(child),
            client_url: String::new(),
            port: 0,
            log_path,
        };
        let (client_url, port) = server.wait_for_ports_file(&ports_dir)?;
        server.client_url = client_url;
        server.port = port;
        tracing::info!(pid = server.pid(), url = %server.client_url, "nats-server is ready");
        Ok(server)
    }

    pub fn client_url(&self) -> &str {
        &self.client_url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Blocks until the child exits (however it does); its exit status, as text.
    pub fn wait(&mut self) -> String {
        let Some(mut child) = self.child.take() else {
            return "not running".to_owned();
        };
        match child.wait() {
            Ok(status) => status.to_string(),
            Err(error) => error.to_string(),
        }
    }

    /// SIGTERM, then wait for a clean exit (SIGKILL if it takes longer than 15 s).
    pub fn stop(mut self) -> Result<(), EmbedError> {
        self.terminate(Signal::SIGTERM)
    }

    /// SIGKILL: the server dies without flushing anything, as in a crash.
    pub fn kill(mut self) -> Result<(), EmbedError> {
        self.terminate(Signal::SIGKILL)
    }

    fn terminate(&mut self, signal: Signal) -> Result<(), EmbedError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        if let Ok(None) = child.try_wait() {
            kill(Pid::from_raw(pid as i32), signal)
                .map_err(|source| EmbedError::Signal { pid, source })?;
            let deadline = Instant::now() + STOP_TIMEOUT;
            while let Ok(None) = child.try_wait() {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.wait();
        Ok(())
    }

    fn wait_for_ports_file(&mut self, ports_dir: &Path) -> Result<(String, u16), EmbedError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pause = Duration::from_millis(5);
        loop {
            if let Some(found) = read_client_url(ports_dir) {
                return Ok(found);
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(EmbedError::ExitedEarly {
                        status: status.to_string(),
                        log: self.log_path.clone(),
                    });
                }
            }
            if Instant::now() >= deadline {
                return Err(EmbedError::NotReady(READY_TIMEOUT));
            }
            // Polling a file the server writes once; bounded above by READY_TIMEOUT.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.terminate(Signal::SIGKILL);
    }
}

fn render_config(options: &NatsServerOptions, ports_dir: &Path, log_path: &Path) -> String {
    let port = options
        .port
        .map_or("-1".to_owned(), |port| port.to_string());
    let sync = if options.sync_always {
        "  sync_interval: always\n"
    } else {
        ""
    };
    format!(
        "# Written by dondoc on every start; edits are overwritten.\n\
         host: 127.0.0.1\n\
         port: {port}\n\
         ports_file_dir: {ports}\n\
         pid_file: {pid}\n\
         log_file: {log}\n\
         jetstream {{\n  store_dir: {store}\n{sync}}}\n{authorization}",
        ports = quote(ports_dir),
        pid = quote(&log_path.with_file_name("nats-server.pid")),
        log = quote(log_path),
        store = quote(&options.store_dir),
        authorization = render_authorization(&options.users),
    )
}

/// The `authorization` block: every user with its permissions (deny wins over allow).
fn render_authorization(users: &[NatsUser]) -> String {
    if users.is_empty() {
        return String::new();
    }
    let list = |subjects: &[String]| serde_json::to_string(subjects).unwrap_or_default();
    let entries: Vec<String> = users
        .iter()
        .map(|user| {
            format!(
                "    {{user: {}, password: {}, permissions: {{publish: {{allow: {}, deny: {}}}, \
                 subscribe: {{allow: {}}}}}}}",
                serde_json::to_string(&user.user).unwrap_or_default(),
                serde_json::to_string(&user.password).unwrap_or_default(),
                list(&user.publish_allow),
                list(&user.publish_deny),
                list(&user.subscribe_allow),
            )
        })
        .collect();
    format!(
        "authorization {{\n  users = [\n{}\n  ]\n}}\n",
        entries.join(",\n")
    )
}

fn quote(path: &Path) -> String {
    serde_json::to_string(&path.to_string_lossy()).unwrap_or_default()
}

/// Creates `dir` (and its parents) and makes it its owner's alone.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Writes `text` to `path` readable by its owner only (the config holds passwords).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode on open: set it.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())
}

/// Reads `{"nats": ["nats://127.0.0.1:PORT"], …}` from the ports file, if written.
fn read_client_url(ports_dir: &Path) -> Option<(String, u16)> {
    let entry = fs::read_dir(ports_dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|entry| entry.path().extension().is_some_and(|ext| ext == "ports"))?;
    let json: serde_json::Value = serde_json::from_slice(&fs::read(entry.path()).ok()?).ok()?;
    let url = json.get("nats")?.get(0)?.as_str()?.to_owned();
    let port = url.rsplit(':').next()?.parse().ok()?;
    Some((url, port))
}

/// Finds the nats-server binary: `DONDOC_NATS_SERVER`, then the project's install
/// (`.tools/nats-server/bin/nats-server` in this or any parent directory of the current
/// directory or of the running executable), then `PATH`.
pub fn locate_nats_server() -> Result<PathBuf, EmbedError> {
    let mut searched = Vec::new();
    if let Some(explicit) = std::env::var_os("DONDOC_NATS_SERVER") {
        let explicit = PathBuf::from(explicit);
        if explicit.is_file() {
            return Ok(explicit);
        }
        searched.push(explicit.display().to_string());
    }
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let candidate = dir.join(INSTALL_RELATIVE_PATH);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        searched.push(format!("{}/…/{INSTALL_RELATIVE_PATH}", start.display()));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("nats-server");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        searched.push("PATH".to_owned());
    }
    Err(EmbedError::BinaryNotFound {
        searched: searched.join(", "),
    })
}

#[allow(unsafe_code)] // reason: pre_exec is the only way to set PR_SET_PDEATHSIG in the child
fn set_parent_death_signal(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only makes the
    // async-signal-safe prctl(2) system call; it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(|| {
            // Everything the server writes (its store, its log) is its owner's alone.
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_quotes_paths_and_syncs_by_default() {
        let options = NatsServerOptions::in_data_dir("/bin/x".into(), Path::new("/tmp/a b"));
        let config = render_config(&options, Path::new("/tmp/a b/p"), Path::new("/tmp/l"));
        assert!(
            config.contains("store_dir: \"/tmp/a b/jetstream\""),
            "{config}"
        );
        assert!(config.contains("sync_interval: always"), "{config}");
        assert!(config.contains("port: -1"), "{config}");
        assert!(config.contains("host: 127.0.0.1"), "{config}");
    }

    #[test]
    fn opting_out_of_sync_leaves_the_server_default() {
        let mut options = NatsServerOptions::in_data_dir("/bin/x".into(), Path::new("/d"));
        options.sync_always = false;
        options.port = Some(4333);
        let config = render_config(&options, Path::new("/d/p"), Path::new("/d/l"));
        assert!(!config.contains("sync_interval"), "{config}");
        assert!(config.contains("port: 4333"), "{config}");
    }

    #[test]
    fn the_install_script_and_the_located_binary_are_the_pinned_version() {
        let script = include_str!("../../../deploy/install-nats-server.sh");
        assert!(
            script.contains(&format!("VERSION=\"{PINNED_NATS_SERVER_VERSION}\"")),
            "deploy/install-nats-server.sh installs another version than {PINNED_NATS_SERVER_VERSION}"
        );
        let binary = locate_nats_server().expect("nats-server: run deploy/install-nats-server.sh");
        let output = Command::new(&binary).arg("--version").output().unwrap();
        let version = String::from_utf8_lossy(&output.stdout);
        assert!(
            version.contains(&format!("v{PINNED_NATS_SERVER_VERSION}")),
            "{} is {version}, not the pinned {PINNED_NATS_SERVER_VERSION}",
            binary.display()
        );
    }

    #[test]
    fn a_supervised_server_comes_back_after_a_kill_and_stays_down_after_stop() {
        let binary = locate_nats_server().expect("nats-server: run deploy/install-nats-server.sh");
        let data_dir = tempfile::tempdir().unwrap();
        let (told, states) = std::sync::mpsc::channel();
        let server = SupervisedServer::start(
            NatsServerOptions::in_data_dir(binary, data_dir.path()),
            Box::new(move |up| {
                let _ = told.send(up);
            }),
        )
        .unwrap();
        let first = server.pid();
        kill(Pid::from_raw(first as i32), Signal::SIGKILL).unwrap();
        let bound = Duration::from_secs(30);
        assert_eq!(states.recv_timeout(bound), Ok(false), "told it went down");
        assert_eq!(states.recv_timeout(bound), Ok(true), "told it is back");
        let second = server.pid();
        assert_ne!(second, first);
        std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        server.stop();
        assert!(kill(Pid::from_raw(second as i32), None).is_err(), "stopped");
        assert!(states.try_recv().is_err(), "a stop is not a crash");
    }

    #[test]
    fn starts_serves_and_stops_a_real_server() {
        let Ok(binary) = locate_nats_server() else {
            panic!("nats-server is required: run deploy/install-nats-server.sh");
        };
        let data_dir = tempfile::tempdir().unwrap();
        let server =
            NatsServer::start(&NatsServerOptions::in_data_dir(binary, data_dir.path())).unwrap();
        assert!(server.client_url().starts_with("nats://127.0.0.1:"));
        let pid = server.pid();
        std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        server.stop().unwrap();
        // The process is gone: signalling it fails.
        assert!(kill(Pid::from_raw(pid as i32), None).is_err());
    }
}
