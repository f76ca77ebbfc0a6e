//! A moto server of a test's own (for tests that change its state globally, such as IAM
//! enforcement), on a free port, killed on drop. `PIPEWRIGHT_MOTO_SERVER` names the
//! `moto_server` executable; else the pinned one `.ci/run` installs, else the one on PATH
//! (another moto version may answer differently: 5.2.1 refuses the SDK's signature of
//! object keys holding `=`).
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One moto at a time starts in this process: a port is picked (bound to 0 and released)
/// and held by the new server before the next test picks one, so two tests never pick the
/// same port and end up sharing one server.
static STARTING: Mutex<()> = Mutex::new(());

fn server() -> String {
    if let Ok(s) = std::env::var("PIPEWRIGHT_MOTO_SERVER") {
        return s;
    }
    let pinned = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.ci/.tools/venv/bin/moto_server"
    );
    if std::path::Path::new(pinned).is_file() {
        return pinned.into();
    }
    "moto_server".into()
}

impl Moto {
    /// Starts a server with these extra environment variables and waits until it answers.
    pub fn start(env: &[(&str, &str)]) -> Moto {
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let server = server();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {server} ({e}): set PIPEWRIGHT_MOTO_SERVER to moto_server")
            });
        let mut m = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            m.child.try_wait().unwrap().is_none(),
            "moto exited: port {port} answers, but not from this test's server"
        );
        m
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
