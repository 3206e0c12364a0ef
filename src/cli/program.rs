//! `gemhole run-program`, hidden: how a confined server starts a program for a request. The
//! daemon's own rights (its certificates, its configuration, the capsules it writes) are more
//! than a program may have, and a confined process can only narrow its rights, never widen
//! them: so the program is started through this, which narrows them to the host's capsule
//! and `cgi.read` (read), `cgi.write` (write), then becomes the program.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::server::confine;

#[derive(Debug, Args)]
pub(super) struct RunProgramArgs {
    /// What the program may read and run; repeatable.
    #[arg(long = "read", value_name = "PATH")]
    read: Vec<PathBuf>,
    /// What the program may write; repeatable.
    #[arg(long = "write", value_name = "PATH")]
    write: Vec<PathBuf>,
    /// The program, run with this process's environment and folder.
    #[arg(last = true)]
    program: PathBuf,
}

pub(super) fn run_program(args: RunProgramArgs) -> anyhow::Result<()> {
    confine::confine_program(&args.read, &args.write)?;
    let error = std::process::Command::new(&args.program).exec();
    Err(error).with_context(|| format!("cannot run {}", args.program.display()))
}
