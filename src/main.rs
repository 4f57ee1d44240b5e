//! `gw`: see `gw::main` (the command-line layer lives in the library, under `commands`).

fn main() -> std::process::ExitCode {
    gw::main()
}
