//! The editor under Xvfb: `tests/screenshot.sh` runs the standalone, drags across the XY pad and
//! checks that the pad/waveform region changed. Screenshots land in `target/test-artifacts/`.
//!
//! Needs `target/release/ndm-standalone`
//! (`cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone`; `cargo
//! xtask test` builds it) and `apt-get install xvfb xauth xdotool imagemagick` (`.ci/run` does).
//! Without them the test FAILS and `cargo xtask test` lists the suite as *not run*
//! (`ndm_tests::status`); it never returns early as passed.

use ndm_tests::paths;
use ndm_tests::status::{missing_tools, not_run};
use std::time::Instant;

const SUITE: &str = "editor_screenshot";

#[test]
fn dragging_the_xy_pad_changes_the_editor() {
    let Some(standalone) = paths::standalone() else {
        not_run(
            SUITE,
            "target/release/ndm-standalone is not built (cargo build --release -p ndm-plugin \
             --features standalone --bin ndm-standalone)",
        );
    };
    let missing = missing_tools(&["bash", "Xvfb", "xdotool", "import", "compare", "convert"]);
    if !missing.is_empty() {
        not_run(
            SUITE,
            &format!(
                "{} missing: apt-get install xvfb xauth xdotool imagemagick",
                missing.join(", ")
            ),
        );
    }
    let script = paths::workspace_root().join("tests/screenshot.sh");
    let started = Instant::now();
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg(&standalone)
        .arg(paths::artifacts_dir())
        .output()
        .expect("run tests/screenshot.sh");
    eprintln!(
        "screenshot.sh finished in {:.1} s ({})\n{}{}",
        started.elapsed().as_secs_f64(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the editor screenshot test failed (see above)"
    );
}
