//! Where the bundles, binaries and test artifacts live.

use std::path::{Path, PathBuf};

pub const PLUGIN_NAME: &str = "Neural Drum Machine";
pub const CLAP_ID: &str = "org.neural-drum-machine.ndm";

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// `target/` of the workspace (honours `CARGO_TARGET_DIR` when it was set at build time or is
/// set now).
pub fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            workspace_root().join(dir)
        };
    }
    workspace_root().join("target")
}

/// `target/bundled/`, or `$NDM_BUNDLED_DIR` when set (to test other builds of the bundles).
pub fn bundled_dir() -> PathBuf {
    match std::env::var_os("NDM_BUNDLED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => target_dir().join("bundled"),
    }
}

fn require(path: PathBuf, what: &str) -> PathBuf {
    if !path.exists() {
        panic!(
            "the {what} was not found at {}\n\
             build the bundles first:  cargo xtask bundle ndm-plugin --release\n\
             (or run the whole suite with `cargo xtask test`, which does it for you)",
            path.display()
        );
    }
    path
}

/// `target/bundled/Neural Drum Machine.clap` (a shared object).
pub fn clap_bundle() -> PathBuf {
    require(
        bundled_dir().join(format!("{PLUGIN_NAME}.clap")),
        "CLAP bundle",
    )
}

/// `target/bundled/Neural Drum Machine.vst3` (the bundle directory).
pub fn vst3_bundle() -> PathBuf {
    let dir = require(
        bundled_dir().join(format!("{PLUGIN_NAME}.vst3")),
        "VST3 bundle",
    );
    require(
        dir.join("Contents/x86_64-linux")
            .join(format!("{PLUGIN_NAME}.so")),
        "VST3 bundle's shared object",
    );
    dir
}

/// `target/test-artifacts/` (created): WAVs and screenshots the tests leave for a human to check.
pub fn artifacts_dir() -> PathBuf {
    let dir = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

/// `target/release/ndm`, the CLI of `ndm-core`. Built with
/// `cargo build --release -p ndm-core --bin ndm` when it is missing.
pub fn ndm_cli() -> PathBuf {
    let path = target_dir().join("release/ndm");
    if path.exists() {
        return path;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!(
        "{} is missing: running `cargo build --release -p ndm-core --bin ndm`",
        path.display()
    );
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "ndm-core", "--bin", "ndm"])
        .current_dir(workspace_root())
        .status()
        .expect("run cargo build for the ndm CLI");
    assert!(
        status.success() && path.exists(),
        "could not build the ndm CLI: run `cargo build --release -p ndm-core --bin ndm`"
    );
    path
}

/// `target/release/ndm-standalone` if it was built
/// (`cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone`).
pub fn standalone() -> Option<PathBuf> {
    let path = target_dir().join("release/ndm-standalone");
    path.exists().then_some(path)
}
