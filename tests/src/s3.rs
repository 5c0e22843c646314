//! Real S3 servers for the tests, built by scripts/setup.sh into
//! `~/.cache/cairn-tools` (or `$CAIRN_TOOLS`):
//!
//! * [`S3sFs`]: s3s-fs, one process serving a directory; a bucket is a
//!   subdirectory and an object a plain file, so tests can damage objects
//!   "through the store's files".
//! * [`Garage`]: a 3-node Garage cluster on loopback, zones dc1–dc3,
//!   `replication_factor = 3`, whose nodes can be killed and restarted.
//! * [`FlakyProxy`]: a TCP proxy in front of a server that answers
//!   `503 Slow Down` to every new connection while told to.
//!
//! Every server listens on fresh loopback ports and stops when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The access key every test server accepts (a test credential, not a secret).
pub const ACCESS_KEY: &str = "GK0123456789abcdef01234567";
/// Its secret key.
pub const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The bucket every test server has.
pub const BUCKET: &str = "cairn-test";

/// `$CAIRN_TOOLS/NAME/bin/NAME`, or `~/.cache/cairn-tools/…`.
pub fn tool(name: &str) -> PathBuf {
    let root = std::env::var_os("CAIRN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/cairn-tools")
        });
    let p = root.join(name).join("bin").join(name);
    assert!(
        p.exists(),
        "{} not found: run scripts/setup.sh (it builds the S3 test servers and cargo-deb) or set CAIRN_TOOLS",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// What `cairn` needs to reach a store: the endpoint, region and keys.
pub trait Store {
    /// `http://127.0.0.1:PORT`.
    fn endpoint(&self) -> String;
    /// The region the store expects.
    fn region(&self) -> &'static str;
    /// The environment `cairn` runs with.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", self.region().to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            // Tests must not wait minutes on a store that is down for good.
            ("CAIRN_S3_RETRIES", "6".to_owned()),
        ]
    }
    /// Where an object's bytes are on disk, if the store keeps them as
    /// plain files.
    fn object_dir(&self, _prefix: &str) -> Option<PathBuf> {
        None
    }
}

/// A running s3s-fs with the bucket [`BUCKET`].
pub struct S3sFs {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl S3sFs {
    /// Start a server with an empty bucket.
    pub fn start() -> S3sFs {
        let dir = tempfile::Builder::new()
            .prefix("cairn-s3s-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("root").join(BUCKET)).expect("bucket");
        let mut s = S3sFs {
            child: None,
            port: free_port(),
            dir,
        };
        s.launch();
        s
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("s3s.log")).expect("log");
        let child = Command::new(tool("s3s-fs"))
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.dir.path().join("root"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        wait_for_port(self.port, "s3s-fs");
    }

    /// Stop the server (SIGKILL).
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// Start it again on the same port and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Store for S3sFs {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn region(&self) -> &'static str {
        "us-east-1"
    }
    fn object_dir(&self, prefix: &str) -> Option<PathBuf> {
        Some(self.dir.path().join("root").join(BUCKET).join(prefix))
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One Garage node.
struct Node {
    config: PathBuf,
    rpc: u16,
    child: Option<Child>,
}

/// A running 3-node Garage cluster with the bucket [`BUCKET`] and the key
/// [`ACCESS_KEY`].
pub struct Garage {
    nodes: Vec<Node>,
    s3_ports: Vec<u16>,
    dir: tempfile::TempDir,
}

impl Garage {
    /// Start the cluster, connect it, give it a layout over three zones,
    /// import the key and create the bucket.
    pub fn start() -> Garage {
        let dir = tempfile::Builder::new()
            .prefix("cairn-garage-")
            .tempdir()
            .expect("tempdir");
        let secret = blake3::hash(dir.path().as_os_str().as_encoded_bytes()).to_hex();
        let mut nodes = Vec::new();
        let mut s3_ports = Vec::new();
        for i in 1..=3 {
            let base = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&base).expect("mkdir");
            let (rpc, s3, admin) = (free_port(), free_port(), free_port());
            let config = base.join("garage.toml");
            let text = format!(
                "metadata_dir = \"{b}/meta\"\ndata_dir = \"{b}/data\"\ndb_engine = \"sqlite\"\n\
                 replication_factor = 3\nrpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
                 rpc_public_addr = \"127.0.0.1:{rpc}\"\nrpc_secret = \"{secret}\"\n\
                 [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n\
                 [admin]\napi_bind_addr = \"127.0.0.1:{admin}\"\n",
                b = base.display()
            );
            std::fs::write(&config, text).expect("config");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
            nodes.push(Node {
                config,
                rpc,
                child: None,
            });
            s3_ports.push(s3);
        }
        let mut g = Garage {
            nodes,
            s3_ports,
            dir,
        };
        for i in 0..3 {
            g.start_node(i);
        }
        let ids: Vec<String> = (0..3)
            .map(|i| g.cli(i, &["node", "id", "-q"]).trim().to_owned())
            .collect();
        for id in &ids[1..] {
            g.cli(0, &["node", "connect", id]);
        }
        for (i, id) in ids.iter().enumerate() {
            let short = &id[..16];
            let zone = format!("dc{}", i + 1);
            g.cli(0, &["layout", "assign", "-z", &zone, "-c", "1G", short]);
        }
        g.cli(0, &["layout", "apply", "--version", "1"]);
        g.cli(
            0,
            &[
                "key", "import", "--yes", "-n", "cairn", ACCESS_KEY, SECRET_KEY,
            ],
        );
        g.cli(0, &["bucket", "create", BUCKET]);
        g.cli(
            0,
            &[
                "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "cairn",
            ],
        );
        g
    }

    /// Run the `garage` CLI against node `i`; panics on failure, returns stdout.
    fn cli(&self, i: usize, args: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new(tool("garage"))
                .arg("-c")
                .arg(&self.nodes[i].config)
                .args(args)
                .env("RUST_LOG", "warn")
                .output()
                .expect("run garage");
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            // Right after start-up the nodes may not see each other yet.
            assert!(
                Instant::now() < deadline,
                "garage {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Start node `i` (0–2) again with its storage.
    pub fn start_node(&mut self, i: usize) {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node{}.log", i + 1)))
            .expect("log");
        let child = Command::new(tool("garage"))
            .arg("-c")
            .arg(&self.nodes[i].config)
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start garage");
        self.nodes[i].child = Some(child);
        wait_for_port(self.nodes[i].rpc, "garage");
        wait_for_port(self.s3_ports[i], "garage's S3 API");
    }

    /// Kill node `i` (SIGKILL).
    pub fn kill_node(&mut self, i: usize) {
        stop(&mut self.nodes[i].child);
    }

    /// How many data block files the nodes hold (grows as objects are
    /// stored: a way to see a backup is under way).
    pub fn stored_blocks(&self) -> usize {
        walkdir::WalkDir::new(self.dir.path())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_type().is_file() && e.path().components().any(|c| c.as_os_str() == "data")
            })
            .count()
    }

    /// The S3 endpoint of node `i`.
    pub fn endpoint_of(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.s3_ports[i])
    }
}

impl Store for Garage {
    fn endpoint(&self) -> String {
        self.endpoint_of(0)
    }
    fn region(&self) -> &'static str {
        "garage"
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            stop(&mut n.child);
        }
    }
}

/// A proxy to `upstream` that, while [`failing`](Self::set_failing),
/// answers every new connection with `503 Slow Down`, as a store under
/// load does. Connections made while it passes stay proxied.
pub struct FlakyProxy {
    /// Its port.
    pub port: u16,
    failing: Arc<AtomicBool>,
    region: &'static str,
}

impl FlakyProxy {
    /// Start a proxy in front of `upstream` (`127.0.0.1:PORT`).
    pub fn start(upstream: u16, region: &'static str) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let failing = Arc::new(AtomicBool::new(false));
        let f = failing.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                if f.load(Ordering::SeqCst) {
                    std::thread::spawn(move || refuse(conn));
                } else {
                    std::thread::spawn(move || pipe(conn, upstream));
                }
            }
        });
        FlakyProxy {
            port,
            failing,
            region,
        }
    }

    /// Answer 503 to new connections (`true`) or pass them on.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Store for FlakyProxy {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn region(&self) -> &'static str {
        self.region
    }
}

/// Read one request's head and answer 503 (with an S3 error body).
fn refuse(mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    let _ = write!(
        conn,
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Copy bytes both ways between `conn` and the upstream server.
fn pipe(conn: TcpStream, upstream: u16) {
    let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let (mut a, mut b) = (conn, up);
    let (Ok(mut a2), Ok(mut b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}

/// A unique key prefix for one repository in the shared bucket.
pub fn unique_prefix(tag: &str) -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
