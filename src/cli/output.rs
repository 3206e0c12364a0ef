//! What the commands write: their standard output (a closed pipe ends a command quietly), the
//! error line, log lines on stderr, and a certificate's origin and expiry as they are shown.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};
use crate::server::tls::Origin;

/// `println!` through [`out`]: a closed pipe ends the command quietly.
macro_rules! say {
    () => {
        $crate::cli::output::out("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::output::out(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(super) use say;

/// Writes to standard output. A reader that went away (`gemhole convert x.md | head`) ends
/// the command quietly, as a pipe's writer does, rather than in a panic.
pub(super) fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("gemhole: error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// The error and its causes on one line. The crate's errors name their cause in their own
/// message and also return it as their source (thiserror does both for a `source` field), so a
/// cause the line already ends with is not repeated.
pub(super) fn report(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.ends_with(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// Logs go to stderr; `RUST_LOG` wins over the config's level.
/// Logs to stderr in batches (see `logging`); the guard writes what is left when dropped.
/// With `log.format` unset, lines take journald's form when standard error is the journal.
#[must_use]
pub(super) fn init_logging(log: &LogConfig) -> crate::logging::FlushGuard {
    let mut directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| log.level.as_str().to_owned());
    // A client that sends an IP address or garbage as its SNI makes rustls warn, in hex: the
    // client's mistake, not the server's (the connection is answered by the default host).
    if !directives.contains("rustls") {
        directives.push_str(",rustls::msgs::handshake=error");
    }
    let filter =
        EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(log.level.as_str()));
    let journald = match log.format {
        Some(format) => format == LogFormat::Journald,
        None => crate::logging::journal_on_stderr(),
    };
    let (writer, guard) = crate::logging::BatchedStderr::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = if journald {
        builder
            .with_ansi(false)
            .event_format(crate::logging::JournaldFormat)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
    guard
}

/// How a certificate came to be, as `cert` prints it and `serve` logs it.
pub(super) fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Generated => "generated now",
        Origin::Stored => "existing",
        Origin::Operator => "from config",
    }
}

/// A time as RFC 3339 (`2027-03-01T12:00:00Z`), as certificates' expiry is shown.
pub(super) fn rfc3339(t: jiff::Timestamp) -> String {
    t.to_string()
}
