//! Shared helpers of the host integration tests in `tests/tests/*.rs`.
//!
//! These tests load the *bundled* plugin the way a host does (they do not link `ndm-core` or
//! LibTorch): `target/bundled/Neural Drum Machine.clap` through `clack-host`, the `.vst3` through
//! Spotify's pedalboard and in Ardour 7 (`tests/ardour/`), and the standalone under Xvfb. Build
//! the bundles first with `cargo xtask bundle ndm-plugin --release` (`cargo xtask test` does it
//! for you). A test whose host or tools are missing fails and is listed as *not run* by
//! `cargo xtask test` (see [`status`]).

pub mod audio;
pub mod clap;
pub mod drums;
pub mod paths;
pub mod rng;
pub mod status;

use std::sync::{Mutex, MutexGuard};

/// Serialises the plugin-heavy tests of one test binary: each plugin instance runs its own
/// inference worker, and readiness time-outs are only meaningful when instances do not compete
/// for the (two) cores with each other.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long to wait for the plugin's worker to produce a sound (after activation or a parameter
/// change), in seconds: `NDM_TEST_READY_TIMEOUT_S`, default 15 (model load and warm-up take up to
/// ~1 s on an idle machine, more on a loaded one).
pub fn ready_timeout() -> std::time::Duration {
    let secs = std::env::var("NDM_TEST_READY_TIMEOUT_S")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(15.0);
    std::time::Duration::from_secs_f64(secs)
}
