//! The command line: clap's [`Cli`] and its subcommands, `serve`, `cert`, `convert`, `check`,
//! `build`, `new`, `history` and `restore`, each in a file of its own with its arguments. This
//! file only parses and dispatches; what several subcommands share is in `output` (what they
//! write) and `hosts` (the hosts and capsule folders they work on).
//!
//! Parsing and reporting only: the work is done by `config`, `content`, `publish`, `server`
//! and `server::tls`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod build;
mod cert;
mod check;
mod convert;
mod history;
mod hosts;
/// The man pages checked against the command line and the config parser.
#[cfg(test)]
mod man;
mod new;
mod output;
mod program;
mod serve;

/// Serve a folder of posts as a Gemini capsule.
#[derive(Debug, Parser)]
#[command(name = "gemhole", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the capsule over Gemini (TLS), generating certificates on first start.
    Serve(serve::ServeArgs),
    /// Create missing certificates, then print each host's fingerprints and expiry date.
    Cert(cert::CertArgs),
    /// Convert a Markdown file to gemtext and print its body, without series navigation.
    ///
    /// The server adds navigation to a post in a series (a "Part N of M" line, the series'
    /// other posts, the previous and next parts), which one file cannot tell; `gemhole build
    /// --out DIR` writes every page as the server sends it.
    Convert(convert::ConvertArgs),
    /// Check the config and every post; exit non-zero if a post cannot be published.
    Check(check::CheckArgs),
    /// Write the whole capsule, generated pages included, as static files.
    Build(build::BuildArgs),
    /// Start a new post: posts/YYYY-MM-DD-<slug>.md with its front matter, as a draft.
    New(new::NewArgs),
    /// List the versions kept of what uploads replaced or deleted (in the capsule's
    /// .history/ folder, never served).
    History(history::HistoryArgs),
    /// Put a kept version of a file back in its place; the file it replaces is kept too.
    Restore(history::RestoreArgs),
    /// How a confined server starts a program: confined further, then the program.
    #[command(hide = true)]
    RunProgram(program::RunProgramArgs),
}

/// Runs the command line and turns an error into a message on stderr and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Cert(args) => cert::cert(args),
        Command::Convert(args) => convert::convert(args),
        Command::Check(args) => check::check(args),
        Command::Build(args) => build::build(args),
        Command::New(args) => new::new_post(args),
        Command::History(args) => history::history(args),
        Command::Restore(args) => history::restore(args),
        Command::RunProgram(args) => program::run_program(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemhole: error: {}", output::report(&e));
            ExitCode::FAILURE
        }
    }
}
