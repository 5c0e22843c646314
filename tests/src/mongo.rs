//! A real MongoDB-wire server for the tests: SecantusDB (`secantusd-py`,
//! installed from PyPI by scripts/setup.sh into a venv). Each test starts
//! its own server on a free loopback port and stops it when dropped.

use mongodb::bson::doc;
use mongodb::sync::Client;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of `secantusd-py`: `$CAIRN_SECANTUSD` or the venv scripts/setup.sh makes.
pub fn secantusd() -> PathBuf {
    if let Some(p) = std::env::var_os("CAIRN_SECANTUSD") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let p = home.join(".cache/cairn-venv/bin/secantusd-py");
    assert!(
        p.exists(),
        "{} not found: run scripts/setup.sh (it installs SecantusDB) or set CAIRN_SECANTUSD",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running server; stopped (SIGTERM, then SIGKILL) on drop.
pub struct MongoServer {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its storage directory (kept across restarts).
    pub storage: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl MongoServer {
    /// Start a replica-set server with fresh storage.
    pub fn start() -> MongoServer {
        let dir = tempfile::Builder::new()
            .prefix("cairn-mongo-")
            .tempdir()
            .expect("tempdir");
        let storage = dir.path().join("data");
        let mut s = MongoServer {
            child: None,
            port: free_port(),
            storage,
            _dir: Some(dir),
        };
        s.launch(&[]);
        s
    }

    fn launch(&mut self, extra: &[&str]) {
        let log = std::fs::File::create(self.storage.with_extension("log")).expect("log");
        let child = Command::new(secantusd())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--storage-path",
            ])
            .arg(&self.storage)
            .args(["--log-level", "WARNING"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start secantusd-py");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "secantusd-py did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Restart with extra flags (e.g. `--auth`), keeping the data.
    pub fn restart(&mut self, extra: &[&str]) {
        self.stop();
        self.launch(extra);
    }

    /// Stop the server now (SIGKILL): for "server dies mid-backup" tests.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop gracefully.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `mongodb://127.0.0.1:PORT/` (optionally with a user).
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    /// A driver client, waiting until the server answers.
    pub fn client(&self) -> Client {
        self.client_for(&self.uri())
    }

    /// A driver client for `uri`.
    pub fn client_for(&self, uri: &str) -> Client {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let c = Client::with_uri_str(format!(
                "{uri}?serverSelectionTimeoutMS=2000&directConnection=true"
            ))
            .expect("client");
            match c.database("admin").run_command(doc! {"ping": 1}).run() {
                Ok(_) => return c,
                Err(e) => assert!(Instant::now() < deadline, "server not ready: {e}"),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        self.stop();
    }
}
