//! The editor under Xvfb: `tests/screenshot.sh` runs the standalone, drags across the XY pad and
//! checks that the pad/waveform region changed. Screenshots land in `target/test-artifacts/`.
//!
//! Skipped (with a notice) when `target/release/ndm-standalone` has not been built:
//! `cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone`.

use ndm_tests::paths;
use std::time::Instant;

#[test]
fn dragging_the_xy_pad_changes_the_editor() {
    let Some(standalone) = paths::standalone() else {
        eprintln!(
            "SKIPPED dragging_the_xy_pad_changes_the_editor: target/release/ndm-standalone not \
             built (cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone)"
        );
        return;
    };
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
