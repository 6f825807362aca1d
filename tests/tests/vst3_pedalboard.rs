//! The bundled VST3 in Spotify's pedalboard (a JUCE-based host), driven by `tests/vst3_render.py`
//! with the Python interpreter named by `NDM_PYTHON` (`cargo xtask test` sets it to the training
//! venv, where `pip install -r tests/requirements.txt` provides pedalboard and mido).
//!
//! The script renders a General MIDI pattern (one note per pad, the first at t = 0) with a fresh
//! instance and checks it against `ndm gm-kit --rate 48000` (every default pad's exact sound, made
//! here with `target/release/ndm`): each note on its sample with its own pad's sound. Then it
//! loads that instance's `raw_state` into a new instance and checks that the same pattern renders
//! bit-identically.
//!
//! Without that Python (or its modules) the test FAILS and `cargo xtask test` lists the suite as
//! *not run* (`ndm_tests::status`); it never returns early as passed.

use ndm_tests::status::not_run;
use ndm_tests::{drums, paths};
use std::time::Instant;

const SUITE: &str = "vst3_pedalboard";
/// The render rate (`RATE` in `tests/vst3_render.py`).
const RATE: u32 = 48_000;

#[test]
fn gm_pattern_and_raw_state_recall_in_pedalboard() {
    let Some(python) = std::env::var_os("NDM_PYTHON") else {
        not_run(
            SUITE,
            "NDM_PYTHON is not set (run `cargo xtask test`, or set NDM_PYTHON to a Python with \
             `pip install -r tests/requirements.txt`)",
        );
    };
    let probe = std::process::Command::new(&python)
        .args(["-c", "import pedalboard, mido, numpy"])
        .output();
    match probe {
        Err(e) => not_run(SUITE, &format!("cannot run NDM_PYTHON={python:?}: {e}")),
        Ok(o) if !o.status.success() => not_run(
            SUITE,
            &format!(
                "{python:?} lacks pedalboard/mido/numpy ({}): run `{} -m pip install -r \
                 tests/requirements.txt`",
                String::from_utf8_lossy(&o.stderr)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or_default(),
                python.to_string_lossy()
            ),
        ),
        Ok(_) => {}
    }
    let bundle = paths::vst3_bundle();
    let script = paths::workspace_root().join("tests/vst3_render.py");
    let artifacts = paths::artifacts_dir();
    let refs_dir = artifacts.join(format!("vst3-gm-kit-{RATE}"));
    let refs = drums::ndm_gm_kit(RATE, &refs_dir);
    assert_eq!(refs.len(), 16, "ndm gm-kit wrote {} pads", refs.len());
    let out = artifacts.join("vst3-pedalboard-pattern.wav");
    let recall = artifacts.join("vst3-pedalboard-recall.wav");
    for f in [&out, &recall] {
        let _ = std::fs::remove_file(f);
    }
    let started = Instant::now();
    let output = std::process::Command::new(&python)
        .arg(&script)
        .arg(&bundle)
        .arg(&refs_dir)
        .arg(&artifacts)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "vst3_render.py finished in {:.1} s ({})\n--- stdout ---\n{stdout}--- stderr (tail) ---\n{}",
        started.elapsed().as_secs_f64(),
        output.status,
        tail(&stderr, 4000)
    );
    if stderr.contains("No module named") {
        not_run(
            SUITE,
            &format!(
                "{python:?} lacks a module the VST3 test needs: \
             run `{} -m pip install -r tests/requirements.txt`",
                python.to_string_lossy()
            ),
        );
    }
    assert!(
        output.status.success(),
        "the pedalboard VST3 check failed (see above)"
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains("\"ok\": true"),
        "unexpected summary: {summary}"
    );
    assert!(out.exists(), "no WAV written to {}", out.display());
    assert!(recall.exists(), "no WAV written to {}", recall.display());
}

fn tail(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}
