//! The bundled VST3 in Spotify's pedalboard (a JUCE-based host), driven by `tests/vst3_render.py`
//! with the Python interpreter named by `NDM_PYTHON` (`cargo xtask test` sets it to the training
//! venv, where `pip install -r tests/requirements.txt` provides pedalboard and mido).
//!
//! Without that Python (or its modules) the test FAILS and `cargo xtask test` lists the suite as
//! *not run* (`ndm_tests::status`); it never returns early as passed.

use ndm_tests::paths;
use ndm_tests::status::not_run;
use std::time::Instant;

const SUITE: &str = "vst3_pedalboard";

#[test]
fn renders_midi_in_pedalboard() {
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
    let out = paths::artifacts_dir().join("vst3-pedalboard-clip.wav");
    let started = Instant::now();
    let output = std::process::Command::new(&python)
        .arg(&script)
        .arg(&bundle)
        .arg(&out)
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
}

fn tail(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}
