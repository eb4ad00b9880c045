//! The real `rookery` binary as a child process, for what only a process
//! shows: signals, `kill -9`, exit codes, file locks.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A `rookery serve` child process.
pub struct ChildServer {
    /// The process.
    pub child: Child,
    /// The address it serves, `host:port`.
    pub addr: String,
    /// Its log lines up to "... serving" (startup and replay).
    pub startup: Vec<String>,
    /// The "... serving" line itself.
    pub ready_line: String,
}

impl ChildServer {
    /// Starts `bin serve` on port 0 over `data_dir` with `extra` flags, and
    /// reads the bound address from its log.
    pub fn spawn(bin: &str, data_dir: &Path, extra: &[&str]) -> Self {
        Self::role(bin, "serve", data_dir, extra)
    }

    /// Starts `bin <role>` (serve, edge, writer) on port 0 over `data_dir`
    /// with `extra` flags, and reads the bound address from its log.
    pub fn role(bin: &str, role: &str, data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(bin)
            .args([
                role,
                "--listen",
                "127.0.0.1:0",
                "--ops-listen",
                "127.0.0.1:0",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("ROOKERY_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rookery");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut startup = Vec::new();
        let (addr, ready_line) = loop {
            let line = lines
                .next()
                .expect("rookery exited before serving")
                .expect("log line");
            let serving = line.contains(" serving");
            let addr = line.split("addr=").nth(1).filter(|_| serving);
            if let Some(rest) = addr {
                let addr = rest.split_whitespace().next().expect("address").to_owned();
                break (addr, line);
            }
            startup.push(line);
        };
        // Keep draining so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            addr,
            startup,
            ready_line,
        }
    }

    /// The value of `field=` on the ready line (e.g. a writer's `internal`).
    pub fn field(&self, field: &str) -> Option<String> {
        let rest = self.ready_line.split(&format!("{field}=")).nth(1)?;
        rest.split_whitespace().next().map(str::to_owned)
    }

    /// The operations listener (`/metrics`) of a `serve` or `edge` process;
    /// a writer serves them on [`ChildServer::addr`].
    pub fn ops_addr(&self) -> String {
        self.field("ops_addr").unwrap_or_else(|| self.addr.clone())
    }

    /// Sends `signal` (a `kill` name: TERM, KILL...).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
