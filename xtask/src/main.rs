//! `cargo xtask`: project tasks that must run before LibTorch exists.
//!
//! This crate deliberately does not depend on `tch`, so it builds on a fresh machine.
//!
//! - `cargo xtask libtorch` — assemble the CPU-only LibTorch 2.13.0 into `libtorch/`.
//! - `cargo xtask demo`     — render one one-shot per class plus variations into `out/demo/`.
//! - `cargo xtask test`     — the whole test suite (Rust, Python, clap-validator, host tests)
//!   with a summary; non-zero on any failure or suite not run (`--allow-not-run` accepts those).
//! - `cargo xtask bundle ndm-plugin --release` — CLAP + VST3 bundles with LibTorch inside.
//! - `cargo xtask venv`     — create/refresh the training virtual environment.

mod bundle;
mod libtorch;
mod suites;
mod tasks;
mod venv;

use anyhow::{bail, Result};

const USAGE: &str =
    "usage: cargo xtask <libtorch | demo | test [--allow-not-run] [cargo test args] | bundle <package> [--release] | venv>";

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let root = tasks::workspace_root()?;
    std::env::set_current_dir(&root)?;
    match command.as_str() {
        "libtorch" => libtorch::ensure(&root).map(|_| ()),
        "venv" => venv::ensure(&root).map(|_| ()),
        "demo" => tasks::demo(&root),
        "test" => tasks::test(&root, &rest),
        "bundle" => bundle::bundle(&root, rest),
        "" | "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command '{other}'\n{USAGE}"),
    }
}
