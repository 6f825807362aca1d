//! Ardour 7, headless, bounces a session the way a musician does: `tests/ardour/render_midi.sh`
//! builds a fresh 48 kHz session on the "None (Dummy)" backend with a MIDI track holding the
//! **bundled** VST3 (`target/bundled/Neural Drum Machine.vst3`), one MIDI region with a General
//! MIDI drum pattern whose first note is at 0 s, and exports it with `ardour7-export` (offline).
//!
//! Every note must be audible at its time with its own pad's sound: the export is compared note
//! by note with the default kit's one-shots as the plugin makes them (`ndm gm-kit`), see
//! `ndm_tests::drums`. Ardour's export applies the track's and the master's gain (0 dB in a new
//! session) and the note's velocity scales the level, so the match is a normalised
//! cross-correlation (level-free) plus a loose level check.
//!
//! Needs Debian's `ardour` (7.3 on Debian 12: `apt-get install ardour`, which `.ci/run` does).
//! Without it the test FAILS and `cargo xtask test` lists the suite as *not run*
//! (`ndm_tests::status`). A second test bounces Ardour's built-in "ACE Reasonable Synth" (LV2)
//! through the same harness, so a failure of the first one can be told apart from a broken
//! pipeline.

use ndm_tests::drums::{self, NoteMatch};
use ndm_tests::status::{missing_tools, not_run};
use ndm_tests::{paths, serial};
use std::path::Path;
use std::time::Instant;

const SUITE: &str = "ardour_bounce";
const RATE: u32 = 48000;
/// The pattern: kick, snare, closed hat, open hat (chokes the closed hat), crash, side
/// stick; the first note at 0 s (an offline bounce that starts silent is the bug being fixed).
const PATTERN: &str = "36@0.0 38@0.5 42@1.0 46@1.5 49@2.0 37@2.5";
const RANGE_S: f64 = 4.0;
/// Compared part of each note: the first 100 ms after its onset.
const WINDOW_S: f64 = 0.100;
/// Lag searched around each note's time (±10 ms), and the lag accepted as "on time" (±3 ms).
const SEARCH_LAG_S: f64 = 0.010;
const ON_TIME_S: f64 = 0.003;
/// "Its pad's sound": correlation with the right pad's reference, and the best of all pads.
const MIN_NCC: f64 = 0.9;
/// Audible: the peak in the 100 ms after the note (−60 dBFS).
const MIN_PEAK: f32 = 1e-3;
/// The note's level relative to its reference (velocity 100 of 127, track and master at 0 dB).
const GAIN_RANGE: (f64, f64) = (0.1, 2.0);
const SCANNER: &str = "/usr/lib/ardour7/ardour-vst3-scanner";

fn require_ardour() {
    let mut missing = missing_tools(&["ardour7-lua", "ardour7-export", "python3"]);
    if !Path::new(SCANNER).exists() {
        missing.push(SCANNER.to_string());
    }
    if !missing.is_empty() {
        not_run(
            SUITE,
            &format!(
                "Ardour 7 is not installed ({} missing): apt-get install ardour",
                missing.join(", ")
            ),
        );
    }
}

/// Runs `tests/ardour/render_midi.sh`; `lv2` names an LV2 plugin instead of a VST3 bundle.
fn bounce(plugin: &str, lv2: bool, out: &Path, notes: &str, range_s: f64) {
    let script = paths::workspace_root().join("tests/ardour/render_midi.sh");
    let started = Instant::now();
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(&script)
        .arg(plugin)
        .arg(out)
        .arg(notes)
        .arg(range_s.to_string());
    cmd.env("RATE", RATE.to_string());
    if lv2 {
        cmd.env("PLUGIN_TYPE", "LV2");
    }
    let output = cmd.output().expect("run tests/ardour/render_midi.sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "render_midi.sh {plugin} finished in {:.1} s ({})\n{stderr}",
        started.elapsed().as_secs_f64(),
        output.status
    );
    if output.status.code() == Some(2) {
        not_run(
            SUITE,
            &format!("{} (apt-get install ardour)", stderr.trim()),
        );
    }
    assert!(
        output.status.success(),
        "the Ardour bounce failed (see render_midi.sh's output above)"
    );
    assert!(
        out.exists(),
        "ardour7-export wrote no WAV at {}",
        out.display()
    );
}

/// The export: 48 kHz, stereo, `range_s` long. Returns (left, right).
fn read_export(path: &Path, range_s: f64) -> (Vec<f32>, Vec<f32>) {
    let (spec, mut chans) = drums::read_wav_channels(path);
    assert_eq!(
        spec.sample_rate, RATE,
        "the export is at {} Hz",
        spec.sample_rate
    );
    assert_eq!(
        chans.len(),
        2,
        "the export has {} channels, expected 2",
        chans.len()
    );
    let len = chans[0].len();
    let want = (range_s * RATE as f64).round() as usize;
    assert!(
        len.abs_diff(want) <= RATE as usize / 100,
        "the export is {len} samples long, the session range {want}"
    );
    let right = chans.pop().unwrap();
    let left = chans.pop().unwrap();
    (left, right)
}

fn ms(samples: isize) -> f64 {
    samples as f64 * 1000.0 / RATE as f64
}

#[test]
fn bundled_vst3_bounce_plays_every_note_with_its_pads_sound() {
    require_ardour();
    let _guard = serial();
    let bundle = paths::vst3_bundle();
    let artifacts = paths::artifacts_dir();
    let pads = drums::ndm_gm_kit(RATE, &artifacts.join("ardour-gm-kit"));
    eprintln!(
        "references (ndm gm-kit): {}",
        pads.iter()
            .map(|p| format!("p{:02} {} {}", p.pad, p.key, p.class))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out = artifacts.join("ardour-bounce.wav");
    bounce(&bundle.to_string_lossy(), false, &out, PATTERN, RANGE_S);
    let (left, right) = read_export(&out, RANGE_S);
    let lr = ndm_tests::audio::compare(&left, &right);
    eprintln!(
        "export {}: peak L {:.4} R {:.4}, L/R max diff {:.2e} (pan centre: the same sound on both)",
        out.display(),
        lr.peak_a,
        lr.peak_b,
        lr.max_abs_diff
    );
    let mid: Vec<f32> = left
        .iter()
        .zip(&right)
        .map(|(l, r)| 0.5 * (l + r))
        .collect();
    let notes = drums::parse_notes(PATTERN);
    let window = (WINDOW_S * RATE as f64) as usize;
    let search = (SEARCH_LAG_S * RATE as f64) as usize;
    let matches = drums::match_notes(&mid, RATE, &notes, &pads, window, search);

    let mut problems = Vec::new();
    eprintln!(
        "note  time_s  peak     lag_ms  onset_ms  gain   ncc(own)  best pad (ncc)  runner-up"
    );
    for m in &matches {
        let NoteMatch { note, .. } = m;
        eprintln!(
            "{:>4}  {:>6.3}  {:>7.4}  {:>6.2}  {:>8}  {:>5.3}  {:>8.4}  p{:02} ({:.4})     {:.4}",
            note.key,
            note.time_s,
            m.peak,
            ms(m.lag),
            m.onset.map_or("-".to_string(), |o| format!("{:.2}", ms(o))),
            m.gain,
            m.expected_ncc,
            m.best_pad,
            m.best_ncc,
            m.runner_up_ncc
        );
        let what = format!("note {} at {:.3} s", note.key, note.time_s);
        let Some(pad) = m.expected_pad else {
            problems.push(format!(
                "{what}: no pad of the default kit plays key {}",
                note.key
            ));
            continue;
        };
        if m.peak < MIN_PEAK {
            problems.push(format!(
                "{what}: silent (peak {:.2e} in the 100 ms after it)",
                m.peak
            ));
            continue;
        }
        if m.lag.unsigned_abs() as f64 > ON_TIME_S * RATE as f64 {
            problems.push(format!(
                "{what}: {:.2} ms off its time (cross-correlation lag)",
                ms(m.lag)
            ));
        }
        match m.onset {
            Some(o) if (o.unsigned_abs() as f64) <= ON_TIME_S * RATE as f64 => {}
            Some(o) => problems.push(format!("{what}: onset {:.2} ms off its time", ms(o))),
            None => problems.push(format!("{what}: no onset found")),
        }
        if m.expected_ncc < MIN_NCC {
            problems.push(format!(
                "{what}: correlation with its pad p{pad:02} is {:.4} < {MIN_NCC}",
                m.expected_ncc
            ));
        }
        if m.best_pad != pad {
            problems.push(format!(
                "{what}: sounds most like pad p{:02} ({:.4}), not its own p{pad:02} ({:.4})",
                m.best_pad, m.best_ncc, m.expected_ncc
            ));
        }
        if !(GAIN_RANGE.0..=GAIN_RANGE.1).contains(&m.gain) {
            problems.push(format!(
                "{what}: level {:.3} × its reference, expected {:?} (velocity {})",
                m.gain, GAIN_RANGE, note.velocity
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the Ardour bounce of {PATTERN} ({}) is wrong:\n  {}",
        out.display(),
        problems.join("\n  ")
    );
}

/// The harness itself, with Ardour's built-in synth (no plugin of ours): notes on time, velocity
/// scales the level. If this fails, the plugin test's failure says nothing about the plugin.
#[test]
fn harness_bounces_ardours_builtin_synth_on_time() {
    require_ardour();
    let _guard = serial();
    let out = paths::artifacts_dir().join("ardour-ace-synth.wav");
    let notes = "60@0.0 64@0.5:50 67@1.0";
    bounce("ACE Reasonable Synth", true, &out, notes, 2.0);
    let (left, _right) = read_export(&out, 2.0);
    let mut peaks = Vec::new();
    for note in drums::parse_notes(notes) {
        let at = (note.time_s * RATE as f64).round() as usize;
        let seg = &left[at..at + RATE as usize / 10];
        let peak = ndm_tests::audio::peak(seg);
        let onset = ndm_tests::audio::onset(seg, 0.1 * peak);
        eprintln!(
            "ACE note {} at {:.3} s: peak {peak:.4}, onset {onset:?} samples",
            note.key, note.time_s
        );
        assert!(
            peak > MIN_PEAK,
            "ACE note {} at {} s is silent",
            note.key,
            note.time_s
        );
        // The synth's own attack takes a few samples; nothing may sound before the note.
        let before = ndm_tests::audio::peak(&left[at.saturating_sub(RATE as usize / 100)..at]);
        assert!(
            onset.is_some_and(|o| o <= RATE as usize / 200) && (at == 0 || before < 0.1 * peak),
            "ACE note {} is not at {} s (onset {onset:?} samples, level before it {before})",
            note.key,
            note.time_s
        );
        peaks.push(peak);
    }
    assert!(
        peaks[1] < 0.8 * peaks[0],
        "velocity 50 is not quieter than velocity 100: {peaks:?}"
    );
}
