//! `demo` and `test`: the two commands of the README's quick start.

use crate::{bundle, libtorch, venv};
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
/// Writes `out/demo/<class>_000.wav` (one one-shot per drum class) and
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

/// `cargo xtask test`: builds the bundles the host tests load, runs every Rust test (release
/// profile, shared with the bundle build) and the Python tests of `training/`.
pub fn test(root: &Path, extra: &[String]) -> Result<()> {
    let started = Instant::now();
    libtorch::ensure(root)?;
    let python = venv::ensure(root)?;
    bundle::bundle(root, vec!["ndm-plugin".into(), "--release".into()])?;
    // The CLI (the host tests compare the plugin with `ndm render`) and the standalone editor
    // (the Xvfb screenshot test).
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
    let mut failures = Vec::new();
    let rust = run(
        Command::new("cargo")
            .args(["test", "--release", "--workspace", "--exclude", "xtask"])
            .args(extra)
            .env("NDM_PYTHON", &python),
        "cargo test",
    );
    if let Err(err) = rust {
        failures.push(format!("{err:#}"));
    }
    if root.join("training/tests").is_dir() {
        let py = run(
            Command::new(&python)
                .args(["-m", "pytest", "-q", "training/tests"])
                .env("OMP_NUM_THREADS", "1"),
            "pytest training/tests",
        );
        if let Err(err) = py {
            failures.push(format!("{err:#}"));
        }
    }
    eprintln!("test: finished in {:.0} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        bail!("test failures:\n  {}", failures.join("\n  "));
    }
    Ok(())
}
