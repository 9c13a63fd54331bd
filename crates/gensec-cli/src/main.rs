//! `gensec`: the embedded runner. Reads a security profile and a service
//! request, runs the pipeline stages in-process, writes the package to a
//! directory and tracks requests in SQLite.

mod init_cmd;
mod inputs;
mod kb_cmd;
mod library_cmd;
mod library_view;
mod output;
mod refresh;
mod remediate_cmd;
mod requests_cmd;
mod run_cmd;

use clap::{Parser, Subcommand};
use gensec_core::ErrorKind;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: a run allocates and frees many small
/// strings and JSON values, and over twelve services it executed a fifth
/// fewer instructions this way (README, Benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "gensec",
    version,
    about = "Verified security packages for AWS services"
)]
struct Cli {
    /// Knowledge base file to use instead of the embedded baseline.
    #[arg(long, global = true, env = "GENSEC_KB", value_name = "FILE")]
    kb: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Produce the security package for one service request.
    Run(run_cmd::RunArgs),
    /// Write the example profile, an example request and a short guide to DIR for editing.
    Init(init_cmd::InitArgs),
    /// Inspect the knowledge base.
    Kb {
        #[command(subcommand)]
        command: kb_cmd::KbCommand,
    },
    /// Show tracked service requests.
    Requests(requests_cmd::RequestsArgs),
    /// Review the Security Control Library: list, show, approve, reject, decide on a service, export.
    Library(library_cmd::LibraryArgs),
    /// Security Hub findings to remediation e-mails (Terraform fix, risk, manual steps), once per finding.
    Remediate(remediate_cmd::RemediateArgs),
}

/// Exit codes: 0 ok, 2 bad input, 1 any other failure.
fn exit_code(kind: ErrorKind) -> ExitCode {
    match kind {
        ErrorKind::InvalidInput => ExitCode::from(2),
        ErrorKind::Retryable | ErrorKind::Fatal => ExitCode::from(1),
    }
}

/// The kind of the first gensec error in the chain; anything else is fatal.
fn kind_of(err: &anyhow::Error) -> ErrorKind {
    for cause in err.chain() {
        if let Some(error) = cause.downcast_ref::<gensec_core::Error>() {
            return error.kind();
        }
        if cause.downcast_ref::<gensec_core::InputError>().is_some() {
            return ErrorKind::InvalidInput;
        }
        if let Some(error) = cause.downcast_ref::<gensec_core::pipeline::PipelineError>() {
            return error.kind();
        }
    }
    ErrorKind::Fatal
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GENSEC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(cli.kb.as_deref(), args).await,
        Command::Init(args) => init_cmd::run(args),
        Command::Kb { command } => kb_cmd::run(cli.kb.as_deref(), command),
        Command::Requests(args) => requests_cmd::run(args).await,
        Command::Library(args) => library_cmd::run(args).await,
        Command::Remediate(args) => remediate_cmd::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gensec: error: {err:#}");
            exit_code(kind_of(&err))
        }
    }
}
