//! The `hbpc-gateway` command line: parsing here, every subcommand in `src/cli/`.

use clap::Parser;
use hbpc_gateway::cli::{self, Cli};
use std::process::ExitCode;

/// mimalloc: the gateway allocates many small JSON nodes per request, where glibc malloc
/// spent about 40 % of the workflow's instructions (callgrind, docs/performance.md).
#[global_allocator]
static ALLOCATOR: hbpc_gateway::allocator::Allocator = hbpc_gateway::allocator::Allocator;

fn main() -> ExitCode {
    cli::run(Cli::parse())
}
