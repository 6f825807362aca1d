//! How a host test reports that its environment is missing: *not run*, never *passed*.
//!
//! Some suites need a host or tools outside Cargo: the pedalboard VST3 test (a Python with
//! `pedalboard`), the editor screenshot test (Xvfb, xdotool, ImageMagick, the standalone) and
//! the Ardour bounce test (Debian's `ardour`). CI installs all of them (`.ci/run`), so a missing
//! one is an error there, and a test that returned early would be counted as passed. The rule:
//!
//! - a test whose environment is missing calls [`not_run`]: it writes the reason to
//!   `target/test-status/<suite>.not-run` and then **panics** with the reason and the command
//!   that installs what is missing. Under plain `cargo test` the test fails; it never passes.
//! - `cargo xtask test` deletes `target/test-status/` before it runs the suites, runs each of
//!   these suites as its own `cargo test --test <suite>`, and lists a suite that left a marker as
//!   `not run (<reason>)` in its summary (not as `FAILED`, since nothing of the plugin was
//!   tested, and never as `passed`). A suite not run makes `cargo xtask test` exit non-zero
//!   unless `--allow-not-run` is given (for a machine that deliberately lacks, say, Ardour).
//!
//! `<suite>` is the test target's name (`vst3_pedalboard`, `editor_screenshot`,
//! `ardour_bounce`), which is how xtask finds the marker.

use std::path::{Path, PathBuf};

/// `target/test-status/` (see the module documentation).
pub fn status_dir() -> PathBuf {
    crate::paths::target_dir().join("test-status")
}

/// Records that `suite` could not run because of `reason`, then panics (the test fails).
/// `reason` should say what is missing and how to install it.
pub fn not_run(suite: &str, reason: &str) -> ! {
    let dir = status_dir();
    let marker = dir.join(format!("{suite}.not-run"));
    let written = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&marker, reason));
    if let Err(e) = written {
        eprintln!("could not write {}: {e}", marker.display());
    }
    panic!("NOT RUN {suite}: {reason}\n(this is a failure, not a skip: the environment of this test is missing)");
}

/// The first executable called `tool` on `PATH`.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The names in `tools` that are not on `PATH`.
pub fn missing_tools(tools: &[&str]) -> Vec<String> {
    tools
        .iter()
        .filter(|t| which(t).is_none())
        .map(|t| t.to_string())
        .collect()
}
