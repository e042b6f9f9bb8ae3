//! `SupervisedServer`: the embedded nats-server kept running. If the child exits (killed,
//! crashed), the supervisor says so, starts it again on the same port and store with a
//! bounded backoff, and says so again: clients reconnect to the same address by
//! themselves, and nothing acknowledged is lost (JetStream syncs every write).
//!
//! Why a thread of its own, alive as long as the server is supervised: the child's
//! parent-death signal is tied to the thread that forked it (Linux `PR_SET_PDEATHSIG`),
//! so every start, the first and each restart, happens on this one thread, never on a
//! pool thread that may exit and take the server with it.
//!
//! Invariant: `stop` ends the supervision before it stops the server, so a stop is never
//! mistaken for a crash.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{EmbedError, NatsServer, NatsServerOptions};

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Told `true` when the server serves (again), `false` when it has exited.
pub type OnState = Box<dyn Fn(bool) + Send + 'static>;

/// A nats-server child, restarted whenever it exits until `stop`.
pub struct SupervisedServer {
    client_url: String,
    port: u16,
    shared: Arc<Mutex<Shared>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    /// The running child's pid (0 while none runs).
    pid: u32,
    stopping: bool,
}

impl std::fmt::Debug for SupervisedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisedServer")
            .field("client_url", &self.client_url)
            .finish()
    }
}

impl SupervisedServer {
    /// Starts the server on the supervisor's thread and returns once it serves.
    pub fn start(options: NatsServerOptions, on_state: OnState) -> Result<Self, EmbedError> {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (ready, started) = mpsc::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("nats-supervisor".into())
            .spawn(move || supervise(options, &thread_shared, &ready, &on_state))
            .map_err(|source| EmbedError::Spawn {
                binary: "nats-supervisor thread".into(),
                source,
            })?;
        let (client_url, port) = started
            .recv()
            .map_err(|_| EmbedError::NotReady(Duration::ZERO))??;
        Ok(Self {
            client_url,
            port,
            shared,
            thread: Some(thread),
        })
    }

    pub fn client_url(&self) -> &str {
        &self.client_url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The running child's pid (0 while it is being restarted).
    pub fn pid(&self) -> u32 {
        lock(&self.shared).pid
    }

    /// Ends the supervision, then stops the server (SIGTERM, waited for).
    pub fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        let pid = {
            let mut shared = lock(&self.shared);
            shared.stopping = true;
            shared.pid
        };
        if pid != 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SupervisedServer {
    fn drop(&mut self) {
        self.end();
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The supervisor thread: start, wait for the child to exit, restart, until stopped.
fn supervise(
    mut options: NatsServerOptions,
    shared: &Mutex<Shared>,
    ready: &mpsc::Sender<Result<(String, u16), EmbedError>>,
    on_state: &OnState,
) {
    let mut server = match NatsServer::start(&options) {
        Ok(server) => server,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    // Restarts keep the address clients know.
    options.port = Some(server.port());
    lock(shared).pid = server.pid();
    let _ = ready.send(Ok((server.client_url().to_owned(), server.port())));
    let mut backoff = BACKOFF_MIN;
    loop {
        let status = server.wait();
        lock(shared).pid = 0;
        if lock(shared).stopping {
            return;
        }
        tracing::error!(%status, log = %server.log_path().display(), "the embedded nats-server exited; restarting it");
        on_state(false);
        loop {
            std::thread::sleep(backoff);
            if lock(shared).stopping {
                return;
            }
            match NatsServer::start(&options) {
                Ok(restarted) => {
                    server = restarted;
                    lock(shared).pid = server.pid();
                    tracing::warn!(
                        pid = server.pid(),
                        "the embedded nats-server is serving again"
                    );
                    on_state(true);
                    backoff = BACKOFF_MIN;
                    break;
                }
                Err(error) => {
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    tracing::error!(%error, retry_in = ?backoff, "restarting the embedded nats-server failed");
                }
            }
        }
        // A stop that raced the restart: the new child is ours to stop.
        if lock(shared).stopping {
            let _ = server.stop();
            return;
        }
    }
}
