//! `tocsin`: the one binary. Parses the command line, loads the
//! configuration, and hands over to the library crates; errors end here as one
//! line with its causes and a non-zero exit.

mod bench;
mod cli;
mod config;
mod demo;
mod feed;
mod hunt;
mod inventory;
mod serve;

use std::process::ExitCode;

// The pipeline allocates and frees many small strings per event on several
// threads; mimalloc measured faster than the system allocator there (see
// docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let config = match config::Config::load(&cli.global) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    init_tracing(&config.log.level);
    let result = match cli.command {
        cli::Command::Version => {
            println!("tocsin {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        cli::Command::Inventory(cmd) => {
            runtime().and_then(|rt| rt.block_on(inventory::run(cmd, &config)))
        }
        cli::Command::Serve => runtime().and_then(|rt| rt.block_on(serve::run(&config))),
        cli::Command::Demo(args) => runtime().and_then(|rt| rt.block_on(demo::run(args, &config))),
        cli::Command::Hunt(args) => hunt::run(args, &config),
        cli::Command::Bench(cli::BenchCmd::Ingest(args)) => bench::ingest(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    // One line: the error and its causes, outermost first.
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
