//! `gw-admin`: workspace and account set-up for gw. Its commands arrive with issue [5/8].

use clap::Parser;

/// Set up a Databricks workspace and account for gw.
#[derive(Debug, Parser)]
#[command(name = "gw-admin", version)]
struct Cli {}

fn main() {
    Cli::parse();
}
