//! Readers stop on SIGINT: inside a hole of 2^62 bytes, `dump` and
//! `verify` notice the signal, exit with the interrupted code, and say
//! nothing of snapshots written (they wrote none).

use super::forged::forged;
use cairn_engine::codec::tree::Extent;
use cairn_tests::forge::{file, Forger};
use cairn_tests::Env;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Wait at most `secs` for `child`; kill it and fail if it is still running.
pub(super) fn wait_or_kill(mut child: Child, secs: u64, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait (at most 30 s) for the first output on `out`, and keep draining
/// it in the background so its writer never blocks on a full pipe. A
/// reader that has printed is past start-up (its signal handler is set)
/// and inside the work it prints about.
fn first_output(mut out: impl Read + Send + 'static, what: &str) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n @ 1..) = out.read(&mut buf) {
            let _ = tx.send(n);
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{what} printed nothing ({e})"));
}

fn sigint(child: &Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
}

/// A forged snapshot holding one file that is a single 2^62-byte hole,
/// recorded as such (consistent, just enormous).
fn enormous_hole(env: &Env) -> String {
    let f = Forger::open(env);
    forged(
        &f,
        vec![file("huge", 1 << 62, vec![Extent::Hole(1 << 62)])],
        1,
        0,
    )
}

#[test]
fn dump_and_verify_stop_on_sigint_inside_a_long_hole() {
    let env = Env::init();
    let id = enormous_hole(&env);
    // dump prints the hole's zeros; verify (-vv) names the file after its
    // last interrupt check before reading it, so the signal is noticed in
    // the hole.
    for args in [
        vec!["dump", &id[..10], "/huge"],
        vec!["-vv", "verify", &id[..10]],
    ] {
        let dump = args[0] == "dump";
        let pipe = |p: bool| if p { Stdio::piped() } else { Stdio::null() };
        let mut child = env
            .cmd(&args)
            .stdout(pipe(dump))
            .stderr(pipe(!dump))
            .spawn()
            .unwrap();
        match (child.stdout.take(), child.stderr.take()) {
            (Some(out), _) => first_output(out, "dump"),
            (_, Some(err)) => first_output(err, "verify -vv"),
            _ => unreachable!(),
        }
        sigint(&child);
        let st = wait_or_kill(child, 10, &format!("{args:?} after SIGINT"));
        assert_eq!(st.code(), Some(130), "{args:?}");
    }
}

#[test]
fn interrupted_dump_does_not_speak_of_snapshots_written() {
    let env = Env::init();
    // 100,000 holes of 1 GiB: an interrupt is noticed between extents.
    let f = Forger::open(&env);
    let n = 100_000u64;
    let id = forged(
        &f,
        vec![file(
            "holes",
            n << 30,
            vec![Extent::Hole(1 << 30); n as usize],
        )],
        1,
        0,
    );
    let mut child = env
        .cmd(&["dump", &id[..10], "/holes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    first_output(child.stdout.take().unwrap(), "dump");
    sigint(&child);
    let st = wait_or_kill(child, 10, "dump after SIGINT");
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    assert_eq!(st.code(), Some(130), "{text}");
    assert!(text.contains("interrupted"), "{text}");
    assert!(
        !text.contains("snapshot"),
        "backup wording in a reader: {text}"
    );
}
