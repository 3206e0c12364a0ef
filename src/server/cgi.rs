//! Running a program for a request: never through a shell, in its own folder and process
//! group, with the environment `respond::cgi` made and nothing of the server's; a cap on
//! programs at once, a time limit and an output limit, each ending the whole group; its
//! stderr logged under its name; and its answer passed on only when it starts with a Gemini
//! header.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::Semaphore;

use crate::config::CgiConfig;
use crate::protocol::status::Status;
use crate::respond::cgi::{Program, header_end};

/// A Gemini answer as the listener writes it.
type Response = crate::respond::gemini::Answer<std::fs::File>;

/// How long a request waits for a program's turn when `max_running` are running: a burst of
/// readers is answered in turn rather than told to come back, a flood is told `44`.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Lines of one program's stderr that reach the log; the rest is read and dropped.
const STDERR_LINES: usize = 64;

/// The programs running, every host together, and their limits.
#[derive(Debug)]
pub struct Programs {
    running: Arc<Semaphore>,
    timeout: Duration,
    max_output: usize,
    /// What a program may read and write beside its capsule when confined (`cgi.read`,
    /// `cgi.write`).
    read: Vec<std::path::PathBuf>,
    write: Vec<std::path::PathBuf>,
    /// This binary, which starts a program confined further when the daemon is confined.
    launcher: Option<std::path::PathBuf>,
}

impl Programs {
    pub fn new(config: &CgiConfig) -> Programs {
        Programs {
            running: Arc::new(Semaphore::new(config.max_running.get())),
            timeout: config.timeout.duration(),
            max_output: usize::try_from(config.max_output.bytes()).unwrap_or(usize::MAX),
            // Made absolute here: a program runs in its own folder.
            read: config.read.iter().map(absolute).collect(),
            write: config.write.iter().map(absolute).collect(),
            launcher: std::env::current_exe().ok(),
        }
    }

    /// The command that runs `program`: when the daemon is confined, through `gemhole
    /// run-program`, which narrows a program's rights to its capsule and `cgi.read` (read),
    /// `cgi.write` (write); a confined process cannot start one with more.
    fn command(&self, program: &Program) -> tokio::process::Command {
        match &self.launcher {
            Some(launcher) if super::confine::in_force() => {
                let mut command = tokio::process::Command::new(launcher);
                command.arg("run-program");
                for path in std::iter::once(&program.capsule).chain(&self.read) {
                    command.arg("--read").arg(path);
                }
                for path in &self.write {
                    command.arg("--write").arg(path);
                }
                command.arg("--").arg(&program.executable);
                command
            }
            _ => tokio::process::Command::new(&program.executable),
        }
    }

    /// Runs `program` and makes its answer: what it wrote (a header's line ending made CRLF)
    /// or, when it could not run, ran too long, wrote too much or wrote no Gemini header
    /// first, `42`. Past the cap on programs at once, a request waits its turn (first come,
    /// first served) for up to [`QUEUE_WAIT`], then gets `44`.
    pub async fn run(&self, program: Program, note: &mut &'static str) -> Response {
        let waiting = Arc::clone(&self.running).acquire_owned();
        let Ok(Ok(_permit)) = tokio::time::timeout(QUEUE_WAIT.min(self.timeout), waiting).await
        else {
            *note = "too many programs running";
            return Response::header(Status::SlowDown, "2");
        };
        let failed = |note_to: &mut &'static str, why: &'static str| {
            *note_to = why;
            Response::header(Status::CgiError, "The program could not answer")
        };
        let mut command = self.command(&program);
        command
            .env_clear()
            .envs(program.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&program.folder)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                tracing::warn!(target: "cgi", program = %program.name, %error, "cannot start program");
                return failed(note, "program could not start");
            }
        };
        let group = child.id();
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return failed(note, "program could not start");
        };
        let name = program.name.clone();
        let logging = tokio::spawn(log_stderr(name, stderr));
        let reading = read_bounded(stdout, self.max_output);
        let outcome = tokio::time::timeout(self.timeout, async {
            let output = reading.await;
            let status = child.wait().await;
            (output, status)
        })
        .await;
        // Whatever happened, nothing it started outlives the answer.
        if let Some(group) = group.and_then(|g| rustix::process::Pid::from_raw(g as i32)) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let (output, status) = match outcome {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!(target: "cgi", program = %program.name, timeout = ?self.timeout, "program ran too long: ended");
                let _ = child.kill().await;
                logging.abort();
                return failed(note, "program ran too long");
            }
        };
        // A descendant that keeps standard error open does not keep the task.
        let stop_logging = logging.abort_handle();
        if tokio::time::timeout(Duration::from_secs(1), logging)
            .await
            .is_err()
        {
            stop_logging.abort();
        }
        let output = match output {
            Ok(Some(output)) => output,
            Ok(None) => {
                tracing::warn!(target: "cgi", program = %program.name, max_output = self.max_output, "program wrote more than max_output: ended");
                return failed(note, "program wrote too much");
            }
            Err(error) => {
                tracing::warn!(target: "cgi", program = %program.name, %error, "cannot read program output");
                return failed(note, "program output unreadable");
            }
        };
        if let Ok(status) = status
            && !status.success()
        {
            tracing::info!(target: "cgi", program = %program.name, %status, "program ended with an error");
        }
        match header_end(&output) {
            Ok(end) => {
                let mut bytes = Vec::with_capacity(output.len() + 1);
                let line = output[..end].trim_ascii_end();
                bytes.extend_from_slice(line);
                bytes.extend_from_slice(b"\r\n");
                bytes.extend_from_slice(&output[end..]);
                Response::Kept(bytes.into())
            }
            Err(why) => {
                tracing::warn!(target: "cgi", program = %program.name, "program's answer refused: {why}");
                failed(note, "program wrote no Gemini header")
            }
        }
    }
}

/// A path from the server's working folder, made absolute.
fn absolute(path: &std::path::PathBuf) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.clone())
}

/// All of a program's output, or `None` when it passes `max` bytes (then reading stops).
async fn read_bounded(
    mut out: impl AsyncRead + Unpin,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = out.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Some(bytes));
        }
        if bytes.len() + n > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// Logs a program's stderr line by line under its name (lines cut at 1 KiB, at most
/// [`STDERR_LINES`]), then drains the rest so the program never blocks on it.
async fn log_stderr(name: String, stderr: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stderr.take(u64::MAX));
    let mut line = Vec::new();
    let mut logged = 0;
    loop {
        line.clear();
        match (&mut lines).take(1024).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if logged < STDERR_LINES {
            logged += 1;
            let text = String::from_utf8_lossy(&line);
            // Nothing a program writes may forge a log line or move a terminal's cursor.
            let text = crate::convert::printable(text.trim_end());
            tracing::warn!(target: "cgi", program = %name, "{text}");
        }
    }
}
