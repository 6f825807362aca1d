//! `demo` and `test`: the two commands of the README's quick start.

use crate::{bundle, libtorch, suites, venv};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The workspace root: the directory above this crate's manifest.
pub fn workspace_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask manifest has no parent directory")
}

/// Runs `cmd`, failing with `what` when it does not exit with status 0.
pub fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("could not start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// `cargo xtask demo`: the main job on the shipped model.
///
/// Writes `out/demo/<class>_000.wav` (one one-shot per drum class), `out/demo/gm-kit/pNN_<note>_<class>.wav`
/// (the plugin's default 16-pad kit at 48 kHz, exactly as the plugin plays it) and
/// `out/demo/variations/<file>_var_NN.wav` (variations of the snare, through the encoder).
pub fn demo(root: &Path) -> Result<()> {
    libtorch::ensure(root)?;
    let started = Instant::now();
    run(
        Command::new("cargo").args(["build", "--release", "-p", "ndm-core", "--bin", "ndm"]),
        "cargo build --release --bin ndm",
    )?;
    eprintln!("demo: CLI built ({:.1} s)", started.elapsed().as_secs_f64());
    let ndm = root.join("target/release/ndm");
    let out = root.join("out/demo");
    let _ = std::fs::remove_dir_all(&out);
    run(Command::new(&ndm).arg("info"), "ndm info")?;
    run(
        Command::new(&ndm)
            .args(["kit", "--per-class", "1", "--seed", "1", "--out-dir"])
            .arg(&out),
        "ndm kit",
    )?;
    run(
        Command::new(&ndm).args(["gm-kit", "--rate", "48000", "--out-dir"]).arg(out.join("gm-kit")),
        "ndm gm-kit",
    )?;
    run(
        Command::new(&ndm)
            .arg("vary")
            .arg(out.join("snare_000.wav"))
            .args(["--count", "4", "--amount", "0.5", "--seed", "7", "--out-dir"])
            .arg(out.join("variations")),
        "ndm vary",
    )?;
    eprintln!(
        "demo: done in {:.1} s; listen to the WAV files in {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// `cargo xtask test [--allow-not-run] [CARGO TEST ARGS]`: builds the bundles the host tests
/// load, runs every suite and prints a summary of them (see [`crate::suites`]). Exits non-zero
/// when a suite failed, or when one could not run (its environment is missing) unless
/// `--allow-not-run` is given.
pub fn test(root: &Path, extra: &[String]) -> Result<()> {
    let started = Instant::now();
    let allow_not_run = extra.iter().any(|a| a == "--allow-not-run");
    let extra: Vec<String> = extra.iter().filter(|a| *a != "--allow-not-run").cloned().collect();
    libtorch::ensure(root)?;
    let python = venv::ensure(root)?;
    bundle::bundle(root, vec!["ndm-plugin".into(), "--release".into()])?;
    // The CLI (the host tests compare the plugin with `ndm render` / `ndm gm-kit`) and the
    // standalone editor (the Xvfb screenshot test).
    run(
        Command::new("cargo").args(["build", "--release", "-p", "ndm-core", "--bin", "ndm"]),
        "cargo build --bin ndm",
    )?;
    run(
        Command::new("cargo").args([
            "build", "--release", "-p", "ndm-plugin", "--features", "standalone", "--bin", "ndm-standalone",
        ]),
        "cargo build --bin ndm-standalone",
    )?;
    let results = suites::run_all(root, &python, &extra)?;
    suites::print_summary(&results, started.elapsed().as_secs_f64());
    let failed: Vec<&str> = results.iter().filter(|r| r.outcome.is_failed()).map(|r| r.name).collect();
    let not_run: Vec<&str> = results.iter().filter(|r| r.outcome.is_not_run()).map(|r| r.name).collect();
    if !failed.is_empty() {
        bail!("test failures: {}", failed.join(", "));
    }
    if !not_run.is_empty() && !allow_not_run {
        bail!(
            "not run: {} (their environment is missing, see the summary; `.ci/run` installs it; \
             `cargo xtask test --allow-not-run` accepts this)",
            not_run.join(", ")
        );
    }
    Ok(())
}
