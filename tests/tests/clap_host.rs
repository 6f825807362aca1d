//! The bundled CLAP plugin in a real (headless) host: `clack-host` 0.2.
//!
//! Needs `target/bundled/Neural Drum Machine.clap` (`cargo xtask bundle ndm-plugin --release`)
//! and, for the reference renders, `target/release/ndm` (built on demand).
//!
//! The plugin generates its sound on a worker thread after activation and after parameter
//! changes, and notes played before a sound is ready are silent: every test therefore plays
//! notes in a loop until the expected sound comes out, within `NDM_TEST_READY_TIMEOUT_S`.

use ndm_tests::audio::{self, compare, Comparison};
use ndm_tests::clap::{Ev, Plugin, Processor};
use ndm_tests::rng::Rng;
use ndm_tests::{paths, ready_timeout, serial};
use std::time::{Duration, Instant};

/// The key every single-note test plays (the plugin plays its current sound on any key).
const KEY: u8 = 60;
const BLOCK: usize = 512;
const MAX_FRAMES: u32 = 4096;

/// Tolerance of "the plugin's note equals `ndm render`" (same engine, same resampler: only
/// float noise is expected).
const MATCH_MAX_ABS: f32 = 1e-3;
const MATCH_MIN_CORR: f64 = 0.999;

fn matches(c: &Comparison) -> bool {
    c.max_abs_diff < MATCH_MAX_ABS && c.correlation > MATCH_MIN_CORR
}

/// CLAP value for a bipolar (-1..1) parameter such as x / y.
fn bipolar(plugin: &Plugin, id: &str, v: f64) -> f64 {
    plugin.param(id).at((v + 1.0) / 2.0)
}

/// CLAP value of the enum parameter `class` for the class at `index` (0 = kick).
fn class_value(plugin: &Plugin, index: usize) -> f64 {
    let p = plugin.param("class");
    if p.stepped && p.max > 1.0 {
        index as f64 // nice-plug reports stepped params as normalised × step count
    } else {
        p.at(index as f64 / 10.0)
    }
}

/// Samples to capture for one note at `rate`: the reference length (or 1.5 s) plus a margin.
fn capture_len(rate: f64, reference: Option<&[f32]>) -> usize {
    reference.map_or((rate * 1.5) as usize, |r| r.len()) + 4096
}

fn assert_stereo_identical(l: &[f32], r: &[f32], what: &str) {
    let c = compare(l, r);
    assert!(
        c.max_abs_diff <= 1e-6,
        "{what}: left and right differ: {c:?}"
    );
}

/// Plays notes until one matches `reference` (the worker may first serve an older sound).
/// Returns the matching take, or panics with the closest comparison seen.
fn play_until_match(p: &mut Processor, reference: &[f32], what: &str) -> Vec<f32> {
    let frames = capture_len(p.sample_rate, Some(reference));
    let started = Instant::now();
    let mut last: Option<(Comparison, Vec<f32>)> = None;
    let take = p.play_when_ready(KEY, 1.0, frames, BLOCK, ready_timeout(), |l, _| {
        let c = compare(l, reference);
        let ok = matches(&c);
        last = Some((c, l.to_vec()));
        ok
    });
    match take {
        Some((l, r)) => {
            assert_stereo_identical(&l, &r, what);
            eprintln!(
                "{what}: matched after {:.0} ms: {:?}",
                started.elapsed().as_secs_f64() * 1e3,
                compare(&l, reference)
            );
            l
        }
        None => {
            let diag = match &last {
                Some((c, l)) => {
                    let path = paths::artifacts_dir().join(format!("{what}-plugin.wav"));
                    audio::write_wav(&path, p.sample_rate as u32, &[l]);
                    let lag = audio::best_lag(l, reference, 256, 4096.min(reference.len()));
                    format!(
                        "closest take: {c:?}; best alignment lag {} samples; take written to {}",
                        lag.0,
                        path.display()
                    )
                }
                None => "every note was silent".to_string(),
            };
            panic!(
                "{what}: no note matched the `ndm render` reference within {:?} \
                 (max |diff| < {MATCH_MAX_ABS}, correlation > {MATCH_MIN_CORR}); {diag}. \
                 (The plugin embeds the model of assets/ when it is built, `ndm render` reads \
                 assets/ (or $NDM_MODEL_DIR) at run time: rebuild the bundle after a model change \
                 with `cargo xtask bundle ndm-plugin --release`.)",
                ready_timeout()
            );
        }
    }
}

/// Plays notes until the sound is settled: two takes at least `settle` apart are identical.
fn play_settled(p: &mut Processor, what: &str) -> Vec<f32> {
    let frames = capture_len(p.sample_rate, None);
    let settle = Duration::from_millis(400);
    let started = Instant::now();
    let mut prev: Option<(Instant, Vec<f32>)> = None;
    loop {
        let (l, r) = p
            .play_when_ready(KEY, 1.0, frames, BLOCK, ready_timeout(), |_, _| true)
            .unwrap_or_else(|| {
                panic!("{what}: every note stayed silent for {:?}", ready_timeout())
            });
        assert_stereo_identical(&l, &r, what);
        p.render_until_silent(BLOCK, Duration::from_secs(10));
        if let Some((t, ref pl)) = prev {
            if compare(&l, pl).max_abs_diff == 0.0 {
                if t.elapsed() >= settle {
                    return l;
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        }
        assert!(
            started.elapsed() < ready_timeout() * 2,
            "{what}: the sound did not settle within {:?}",
            ready_timeout() * 2
        );
        prev = Some((Instant::now(), l));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn describes_itself_as_a_stereo_instrument() {
    let _g = serial();
    let mut plugin = Plugin::load_bundle();
    let (inputs, outputs) = plugin.audio_ports();
    assert!(
        inputs.is_empty(),
        "an instrument has no audio input, got {inputs:?}"
    );
    assert_eq!(outputs, vec![2], "one stereo output port");
    let (note_in, _note_out) = plugin.note_ports();
    assert!(note_in >= 1, "needs a note input port");
    for id in [
        "class",
        "blend_class",
        "blend",
        "x",
        "y",
        "fine",
        "range",
        "variation",
        "seed",
        "gain",
        "vel_sens",
        "tune",
        "length",
        "polyphony",
    ] {
        let p = plugin.param(id).clone();
        let v = plugin.param_value(id);
        assert!(
            v >= p.min - 1e-9 && v <= p.max + 1e-9 && (v - p.default).abs() < 1e-6,
            "param {id}: value {v} not the default {} in [{}, {}]",
            p.default,
            p.min,
            p.max
        );
    }
    // x = 0 (centre of -1..1) is the default, at the middle of the CLAP range.
    let x = plugin.param("x").clone();
    assert!(
        (x.default - x.at(0.5)).abs() < 1e-6,
        "x default is not centred: {x:?}"
    );
}

#[test]
fn note_matches_ndm_render() {
    let _g = serial();
    let rate = 48_000u32;
    let reference = audio::ndm_render(
        "clap-kick-x0.5-y-0.25-ref",
        &["--class", "kick", "--x", "0.5", "--y", "-0.25"],
        rate,
    );
    assert!(
        audio::peak(&reference) > 0.01,
        "the reference render is silent"
    );
    let mut plugin = Plugin::load_bundle();
    let xv = bipolar(&plugin, "x", 0.5);
    let yv = bipolar(&plugin, "y", -0.25);
    let kick = class_value(&plugin, 0);
    let (x, y, class) = (
        plugin.param("x").id,
        plugin.param("y").id,
        plugin.param("class").id,
    );
    let take = plugin.run(rate as f64, MAX_FRAMES, |p| {
        // Automation in the first block, then play until the regenerated sound comes out.
        p.process(
            BLOCK,
            &[
                Ev::Param {
                    time: 0,
                    id: class,
                    value: kick,
                },
                Ev::Param {
                    time: 0,
                    id: x,
                    value: xv,
                },
                Ev::Param {
                    time: 0,
                    id: y,
                    value: yv,
                },
            ],
        );
        play_until_match(p, &reference, "clap-kick-x0.5-y-0.25")
    });
    audio::write_wav(
        &paths::artifacts_dir().join("clap-kick-x0.5-y-0.25-plugin.wav"),
        rate,
        &[&take],
    );
}

#[test]
fn automating_x_changes_the_sound() {
    let _g = serial();
    let mut plugin = Plugin::load_bundle();
    let x = plugin.param("x").id;
    let (lo, hi) = (bipolar(&plugin, "x", -0.8), bipolar(&plugin, "x", 0.8));
    plugin.run(48_000.0, MAX_FRAMES, |p| {
        p.process(
            BLOCK,
            &[Ev::Param {
                time: 0,
                id: x,
                value: lo,
            }],
        );
        let first = play_settled(p, "x=-0.8");

        // Automate x and wait for the regenerated sound.
        p.process(
            BLOCK,
            &[Ev::Param {
                time: 17,
                id: x,
                value: hi,
            }],
        );
        let started = Instant::now();
        let frames = capture_len(p.sample_rate, None);
        let second = p
            .play_when_ready(KEY, 1.0, frames, BLOCK, ready_timeout(), |l, _| {
                compare(l, &first).rel_rms_diff > 0.1
            })
            .unwrap_or_else(|| {
                panic!(
                    "no new sound within {:?} after automating x -0.8 → 0.8",
                    ready_timeout()
                )
            });
        let c = compare(&second.0, &first);
        eprintln!(
            "x automation: new sound after {:.0} ms; x=+0.8 vs x=-0.8: {c:?}",
            started.elapsed().as_secs_f64() * 1e3
        );
        assert!(
            c.correlation < 0.98,
            "the sounds are nearly the same: {c:?}"
        );
        audio::write_wav(
            &paths::artifacts_dir().join("clap-x-automation.wav"),
            p.sample_rate as u32,
            &[&first, &second.0],
        );
    });
}

#[test]
fn state_round_trips_into_a_new_instance() {
    let _g = serial();
    let mut a = Plugin::load_bundle();
    let settings: Vec<(&str, f64)> = vec![
        ("class", class_value(&a, 1)), // snare
        ("x", bipolar(&a, "x", 0.3)),
        ("y", bipolar(&a, "y", -0.6)),
        ("variation", a.param("variation").at(0.25)),
        ("seed", a.param("seed").at(0.1234)),
        ("gain", a.param("gain").at(0.4)),
    ];
    let events: Vec<Ev> = settings
        .iter()
        .map(|(id, value)| Ev::Param {
            time: 0,
            id: a.param(id).id,
            value: *value,
        })
        .collect();
    let sound_a = a.run(48_000.0, MAX_FRAMES, |p| {
        p.process(BLOCK, &events);
        play_settled(p, "state source")
    });
    let values_a: Vec<f64> = settings.iter().map(|(id, _)| a.param_value(id)).collect();
    for ((id, set), got) in settings.iter().zip(&values_a) {
        assert!(
            (set - got).abs() < 1e-3,
            "param {id}: set {set}, plugin reports {got}"
        );
    }
    let state = a.save_state();
    assert!(!state.is_empty(), "empty state");
    drop(a);

    let mut b = Plugin::load_bundle();
    b.load_state(&state);
    let values_b: Vec<f64> = settings.iter().map(|(id, _)| b.param_value(id)).collect();
    assert_eq!(
        values_a, values_b,
        "parameter values after loading the state"
    );
    let sound_b = b.run(48_000.0, MAX_FRAMES, |p| play_settled(p, "state target"));
    let c = compare(&sound_b, &sound_a);
    eprintln!("state round trip: {c:?} ({} bytes of state)", state.len());
    assert!(matches(&c), "the restored instance sounds different: {c:?}");
}

#[test]
fn fuzz_midi_and_automation() {
    let _g = serial();
    let seed: u64 = std::env::var("NDM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_d12a);
    let min_blocks: usize = std::env::var("NDM_FUZZ_BLOCKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    eprintln!("fuzz: seed {seed} (NDM_FUZZ_SEED), {min_blocks} blocks (NDM_FUZZ_BLOCKS)");
    let mut rng = Rng::new(seed);
    let mut plugin = Plugin::load_bundle();
    let params = plugin.params.clone();
    let rates = [44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0];
    let max_sizes = [64u32, 256, 512, 1024, 2048, 4096];
    let activations = 6;
    let mut order = rates.to_vec();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.range(0, i as u64) as usize);
    }
    let per_activation = min_blocks.div_ceil(activations);
    let started = Instant::now();
    let (mut total_blocks, mut total_samples, mut sounding) = (0usize, 0usize, 0usize);
    let (mut max_peak, mut over_total, mut first_over) = (0.0f32, 0usize, None::<String>);
    /// No output sample may exceed this magnitude, whatever the parameters and notes: the loudest
    /// legal case is 64 voices of a −1 dBFS sound at full velocity and +12 dB gain (64 · 0.891 ·
    /// 3.98 ≈ 227). The plugin does not clip (a DAW's float bus carries the headroom), so this
    /// bound catches blow-ups (runaway gain, unbounded voice counts), not loud settings.
    const LIMIT: f32 = 64.0 * 0.8913 * 3.9811 * 1.001;

    for act in 0..activations {
        // Every rate once (in a shuffled order), random maximum block sizes.
        let rate = order[act % order.len()];
        let max = *rng.pick(&max_sizes);
        let mut arng = rng.clone();
        rng.next_u64();
        let params = params.clone();
        let (blocks, samples, nonzero, peak, over) = plugin.run(rate, max, move |p| {
            p.prefill = f32::NAN; // the plugin must write every output sample
            let mut nonzero = 0usize;
            let mut peak = 0.0f32;
            let mut samples = 0usize;
            let mut over: Option<String> = None; // first sample with |s| > LIMIT, described
            let mut over_count = 0usize;
            // The last CLAP value sent for each parameter (for the report).
            let mut sent: Vec<Option<f64>> = vec![None; params.len()];
            let mut recent_notes: Vec<(usize, u8, f64)> = Vec::new(); // (block, key, velocity)
                                                                      // Wait for the first sound so that notes really play during the run.
            let _ = p.play_when_ready(
                KEY,
                1.0,
                2048.min(max as usize),
                max as usize,
                ready_timeout(),
                |_, _| true,
            );
            let mut events = Vec::new();
            for block in 0..per_activation {
                let n = match arng.range(0, 9) {
                    0..=3 => arng.range(1, 32.min(max as u64)),
                    4..=6 => arng.range(1, (max as u64 / 4).max(1)),
                    _ => arng.range(1, max as u64),
                } as usize;
                events.clear();
                let t = |r: &mut Rng| r.range(0, n as u64 - 1) as u32;
                if arng.chance(0.2) {
                    let velocity = match arng.range(0, 5) {
                        0 => 1.0,
                        1 => 0.0,
                        _ => arng.f64(),
                    };
                    let key = arng.range(0, 127) as u8;
                    events.push(Ev::NoteOn {
                        time: t(&mut arng),
                        key,
                        velocity,
                    });
                    recent_notes.push((block, key, velocity));
                }
                if arng.chance(0.05) {
                    events.push(Ev::NoteOff {
                        time: t(&mut arng),
                        key: arng.range(0, 127) as u8,
                    });
                }
                if arng.chance(0.05) {
                    let status = *arng.pick(&[0x90u8, 0x80, 0x99, 0xB0, 0xE0, 0xC0]);
                    let data = [status, arng.range(0, 127) as u8, arng.range(0, 127) as u8];
                    events.push(Ev::Midi {
                        time: t(&mut arng),
                        data,
                    });
                }
                if arng.chance(0.1) {
                    for _ in 0..arng.range(1, 4) {
                        let i = arng.range(0, params.len() as u64 - 1) as usize;
                        let u = match arng.range(0, 5) {
                            0 => 0.0,
                            1 => 1.0,
                            _ => arng.f64(),
                        };
                        let value = params[i].at(u);
                        sent[i] = Some(value);
                        events.push(Ev::Param {
                            time: t(&mut arng),
                            id: params[i].id,
                            value,
                        });
                    }
                }
                let (l, r) = p.process(n, &events);
                samples += n;
                for (i, &s) in l.iter().chain(r).enumerate() {
                    assert!(
                        s.is_finite(),
                        "activation {act} ({rate} Hz, max {max}), block {block} ({n} samples, \
                         events {events:?}): sample {i} is {s}"
                    );
                    if s.abs() > LIMIT {
                        over_count += 1;
                        if over.is_none() {
                            let values: Vec<String> = params
                                .iter()
                                .zip(&sent)
                                .filter_map(|(p, v)| v.map(|v| format!("{}={v:.3}", p.name)))
                                .collect();
                            let notes: Vec<_> = recent_notes.iter().rev().take(12).collect();
                            over = Some(format!(
                                "first at activation {act} ({rate} Hz, max {max}), block {block} \
                                 ({n} samples), sample {i}: {s}; CLAP values sent so far: [{}]; \
                                 last note-ons (block, key, velocity): {notes:?}",
                                values.join(", ")
                            ));
                        }
                    }
                    if s != 0.0 {
                        nonzero += 1;
                    }
                    peak = peak.max(s.abs());
                }
                recent_notes.retain(|&(b, _, _)| b + 400 > block);
                // Let the worker run now and then, as a real-time host would.
                if block.is_multiple_of(8) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            (
                per_activation,
                samples,
                nonzero,
                peak,
                over.map(|o| (over_count, o)),
            )
        });
        eprintln!(
            "fuzz activation {act}: {rate} Hz, max block {max}: {blocks} blocks, {samples} samples, \
             {nonzero} non-zero, peak {peak:.3}"
        );
        total_blocks += blocks;
        total_samples += samples;
        sounding += nonzero;
        max_peak = max_peak.max(peak);
        if let Some((count, desc)) = over {
            over_total += count;
            first_over.get_or_insert(desc);
        }
    }
    eprintln!(
        "fuzz: {total_blocks} blocks, {total_samples} samples in {:.1} s, peak {max_peak:.3}",
        started.elapsed().as_secs_f64()
    );
    assert!(total_blocks >= min_blocks);
    assert!(sounding > 0, "the fuzz run never produced sound");
    assert!(
        first_over.is_none(),
        "{over_total} output samples exceeded |{LIMIT}| (peak {max_peak}); {}",
        first_over.unwrap_or_default()
    );
}

/// Runs `test` of this binary in a child process with `env` set (the plugin reads
/// `NDM_MODEL_DIR` when it loads, and setting it in this multi-threaded process is unsound).
fn run_child(test: &str, env: &[(&str, &std::ffi::OsStr)]) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    cmd.env("NDM_TEST_CHILD", test);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("spawn the child test process");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("--- child {test} ---\n{text}--- end of child {test} ---");
    assert!(
        out.status.success(),
        "child test {test} failed ({})",
        out.status
    );
    assert!(text.contains("1 passed"), "child test {test} did not run");
}

fn is_child(test: &str) -> bool {
    std::env::var("NDM_TEST_CHILD").as_deref() == Ok(test)
}

#[test]
fn empty_model_dir_is_silent() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    run_child(
        "child_empty_model_dir",
        &[("NDM_MODEL_DIR", dir.path().as_os_str())],
    );
}

#[test]
fn child_empty_model_dir() {
    if !is_child("child_empty_model_dir") {
        return; // only meaningful in the child process started by empty_model_dir_is_silent
    }
    let mut plugin = Plugin::load_bundle();
    let x = plugin.param("x").clone();
    let state = plugin.save_state();
    plugin.run(48_000.0, 1024, |p| {
        let started = Instant::now();
        let mut block = 0u32;
        // Two seconds of wall time: more than a real model needs to load and generate.
        while started.elapsed() < Duration::from_secs(2) {
            let mut events = vec![Ev::NoteOn {
                time: 0,
                key: KEY,
                velocity: 1.0,
            }];
            if block.is_multiple_of(10) {
                events.push(Ev::Param {
                    time: 5,
                    id: x.id,
                    value: x.at((block % 7) as f64 / 6.0),
                });
            }
            let (l, r) = p.process(256, &events);
            assert!(
                l.iter().chain(r).all(|&s| s == 0.0),
                "block {block}: output is not silent without a model"
            );
            block += 1;
            std::thread::sleep(Duration::from_millis(2));
        }
        eprintln!("no model: {block} blocks of notes, all silent");
    });
    plugin.load_state(&state);
    // A second activation must work as well.
    plugin.run(44_100.0, 512, |p| {
        let (l, _) = p.render(
            44_100,
            512,
            &[Ev::NoteOn {
                time: 0,
                key: KEY,
                velocity: 1.0,
            }],
        );
        assert!(l.iter().all(|&s| s == 0.0));
    });
}

#[test]
fn model_dir_env_selects_the_model_set() {
    let _g = serial();
    let tiny = paths::workspace_root().join("core/tests/fixtures/tiny_model");
    assert!(
        tiny.join("model.json").exists(),
        "missing fixture {}",
        tiny.display()
    );
    run_child("child_tiny_model", &[("NDM_MODEL_DIR", tiny.as_os_str())]);
}

#[test]
fn child_tiny_model() {
    if !is_child("child_tiny_model") {
        return; // only meaningful in the child process started by model_dir_env_selects_the_model_set
    }
    // NDM_MODEL_DIR is set for this process: `ndm render` uses the same model set.
    let rate = 44_100u32;
    let reference = audio::ndm_render("clap-tiny-kick-ref", &["--class", "kick"], rate);
    assert!(
        audio::peak(&reference) > 0.0,
        "the tiny model's reference render is silent"
    );
    let mut plugin = Plugin::load_bundle();
    plugin.run(rate as f64, 1024, |p| {
        play_until_match(p, &reference, "clap-tiny-kick");
    });
}
