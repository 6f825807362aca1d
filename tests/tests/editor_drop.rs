//! Drag-and-drop onto the editor under Xvfb: `tests/drop.sh` runs the standalone, drags a real
//! audio file from a GTK 3 XDND drag source (`tests/drag_source.py`, driven by xdotool) onto
//! pad 6 and checks the drop highlight, the encode onto pad 6 and pad 6's new waveform.
//! Screenshots land in `target/test-artifacts/` (`editor-drop-*.png`).
//!
//! Needs `target/release/ndm-standalone`
//! (`cargo build --release -p ndm-plugin --features standalone --bin ndm-standalone`; `cargo
//! xtask test` builds it) and `apt-get install xvfb xauth xdotool imagemagick python3-gi
//! gir1.2-gtk-3.0` (`.ci/run` does). Without them the test FAILS and `cargo xtask test` lists the
//! suite as *not run* (`ndm_tests::status`); it never returns early as passed.

use ndm_tests::paths;
use ndm_tests::status::{missing_tools, not_run};
use std::process::Command;
use std::time::Instant;

const SUITE: &str = "editor_drop";
const INSTALL: &str = "apt-get install xvfb xauth xdotool imagemagick python3-gi gir1.2-gtk-3.0";

#[test]
fn dropping_a_file_on_a_pad_encodes_it_there() {
    let Some(standalone) = paths::standalone() else {
        not_run(
            SUITE,
            "target/release/ndm-standalone is not built (cargo build --release -p ndm-plugin \
             --features standalone --bin ndm-standalone)",
        );
    };
    let missing = missing_tools(&["bash", "Xvfb", "xdotool", "import", "compare", "convert"]);
    if !missing.is_empty() {
        not_run(SUITE, &format!("{} missing: {INSTALL}", missing.join(", ")));
    }
    let python = std::env::var("NDM_GTK_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let gtk = Command::new(&python)
        .args(["-c", "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"])
        .output();
    if !gtk.is_ok_and(|o| o.status.success()) {
        not_run(SUITE, &format!("{python} has no GTK 3 bindings (python3-gi, gir1.2-gtk-3.0): {INSTALL}"));
    }
    let script = paths::workspace_root().join("tests/drop.sh");
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(&script)
        .arg(&standalone)
        .arg(paths::artifacts_dir())
        .env("NDM_GTK_PYTHON", &python)
        .output()
        .expect("run tests/drop.sh");
    eprintln!(
        "drop.sh finished in {:.1} s ({})\n{}{}",
        started.elapsed().as_secs_f64(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the editor drop test failed (see above)");
}
