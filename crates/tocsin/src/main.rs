//! `tocsin`: the one binary. Parses the command line and hands over to
//! `tocsin-app`; errors end here as one line with their causes and a
//! non-zero exit.

mod cli;

use std::process::ExitCode;

// The pipeline allocates and frees many small strings per event on several
// threads; mimalloc measured faster than the system allocator there (see
// docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tocsin_app::Config;

fn main() -> ExitCode {
    tocsin_app::private_files();
    let cli = cli::Cli::parse();
    let config = match Config::load(&cli.global.overrides()) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    init_tracing(&config.log.level);
    match cli.command.run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    // One line: the error and its causes, outermost first.
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
