//! The bundled CLAP plugin (the 16-pad kit) in a real, headless host: `clack-host` 0.2.
//!
//! Needs `target/bundled/Neural Drum Machine.clap` (`cargo xtask bundle ndm-plugin --release`)
//! and, for the references, `target/release/ndm` (built on demand): `ndm gm-kit --rate R` writes
//! every default pad's sound exactly as the plugin plays it (same engine code: generation, 16-bit
//! rounding, tune by band-limited resampling), so a note at velocity 1.0 on a centred pad must
//! come out of the plugin equal to its reference to float precision, on the right sample.
//!
//! `activate()` returns only when every pad has its sound, so the notes of the very first block
//! sound; no test here waits for the worker except the real-time automation test.

use ndm_tests::audio::{self, compare, Comparison};
use ndm_tests::clap::{param_hash, Ev, Plugin};
use ndm_tests::drums::{self, PadSound};
use ndm_tests::rng::Rng;
use ndm_tests::{paths, ready_timeout, serial};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const RATE: u32 = 48_000;
const MAX_FRAMES: u32 = 4096;
const PADS: usize = 16;
/// Parameters per pad, and their id suffixes (`pNN_<suffix>`).
const PAD_PARAMS: [&str; 19] = [
    "class",
    "blend_class",
    "blend",
    "x",
    "y",
    "fine",
    "range",
    "variation",
    "seed",
    "detail",
    "note",
    "gain",
    "pan",
    "tune",
    "length",
    "vel_sens",
    "choke",
    "output",
    "mute",
];
/// The default kit (General MIDI), in pad order: note, class index (see [`CLASSES`]), length,
/// choke group.
const GM_NOTES: [u8; PADS] = [
    36, 38, 39, 37, 42, 44, 46, 41, 45, 48, 49, 51, 62, 63, 56, 70,
];
const GM_LENGTH: [f32; PADS] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.6,
];
const GM_CHOKE: [u8; PADS] = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// The class enum's variants, in order.
const CLASSES: [&str; 11] = [
    "kick",
    "snare",
    "clap",
    "hihat_closed",
    "hihat_open",
    "tom",
    "crash",
    "ride",
    "rim",
    "hand_drum",
    "metal_shaker",
];
const GM_CLASS: [usize; PADS] = [0, 1, 2, 8, 3, 3, 4, 5, 5, 5, 6, 7, 9, 9, 10, 10];

/// "Equals the reference": same engine code on both sides, only float noise is expected (an
/// in-process test measured < 1e-6).
const EXACT_MAX_ABS: f32 = 1e-5;
/// Output magnitude regarded as silence.
const SILENCE: f32 = 1e-6;

fn pid(pad: usize, suffix: &str) -> String {
    format!("p{:02}_{suffix}", pad + 1)
}

/// CLAP value of a stepped (enum / int) parameter for its plain value `v`: nice-plug reports
/// stepped parameters as `normalised × step count`, i.e. `plain − min` for an int range.
fn stepped_value(plugin: &Plugin, id: &str, plain_min: f64, v: f64) -> f64 {
    let p = plugin.param(id);
    assert!(p.stepped, "{id} is not stepped: {p:?}");
    assert!(
        p.min == 0.0 && p.max >= v - plain_min,
        "{id}: unexpected CLAP range {p:?}"
    );
    v - plain_min
}

/// CLAP value of the enum parameter `pNN_class` for the class at `index` (0 = kick).
fn class_value(plugin: &Plugin, id: &str, index: usize) -> f64 {
    let p = plugin.param(id);
    if p.stepped && p.max > 1.0 {
        index as f64 // nice-plug reports stepped params as normalised × step count
    } else {
        p.at(index as f64 / 15.0) // 16 class slots
    }
}

/// CLAP value of a linear float parameter with plain range `lo..hi` (reported normalised).
fn float_value(plugin: &Plugin, id: &str, lo: f64, hi: f64, v: f64) -> f64 {
    plugin.param(id).at((v - lo) / (hi - lo))
}

fn db(x: f32) -> f64 {
    20.0 * (x.max(1e-12) as f64).log10()
}

// ---------------------------------------------------------------------------------------------
// References and the 16-note clip

/// `ndm gm-kit --rate RATE` of the shipped model (once per process).
fn gm_refs() -> &'static [PadSound] {
    static REFS: OnceLock<Vec<PadSound>> = OnceLock::new();
    REFS.get_or_init(|| {
        let dir = paths::artifacts_dir().join(format!("clap-gm-kit-{RATE}"));
        let refs = drums::ndm_gm_kit(RATE, &dir);
        check_refs(&refs);
        refs
    })
}

fn check_refs(refs: &[PadSound]) {
    assert_eq!(refs.len(), PADS, "ndm gm-kit wrote {} pads", refs.len());
    for (i, r) in refs.iter().enumerate() {
        assert_eq!(r.pad, i + 1);
        assert_eq!(r.key, GM_NOTES[i], "pad {} note", i + 1);
        assert!(
            audio::peak(&r.samples) > 0.01,
            "reference {} is (nearly) silent",
            r.path.display()
        );
    }
}

/// One note per pad, pad order, each alone in its region (longer than the longest reference),
/// at an odd sample offset that moves against the block grid from note to note.
#[derive(Clone, Debug)]
struct Clip {
    region: usize,
    onsets: Vec<usize>,
    frames: usize,
    events: Vec<Ev>,
}

fn gm_clip(region: usize, velocity: f64) -> Clip {
    let onsets: Vec<usize> = (0..PADS).map(|i| i * region + 301 + 106 * i).collect();
    let events = onsets
        .iter()
        .zip(GM_NOTES)
        .map(|(&t, key)| Ev::NoteOn {
            time: t as u32,
            key,
            velocity,
        })
        .collect();
    Clip {
        region,
        frames: onsets[PADS - 1] + region,
        onsets,
        events,
    }
}

/// A region a little longer than the longest of `refs` (even, so the onsets stay odd).
fn region_for(refs: &[PadSound]) -> usize {
    let longest = refs.iter().map(|r| r.samples.len()).max().unwrap();
    (longest + 2_000).next_multiple_of(2)
}

/// Block sizes of the clip renders: irregular, so the notes land anywhere in a block.
fn clip_block(i: usize) -> usize {
    [512, 333, 1024, 77, 4096, 250, 1999][i % 7]
}

/// What one output channel must carry: `want` sample by sample, except where `fade` is set
/// (a pad's length fade: there the output must only stay within the reference's magnitude).
struct Expected {
    want: Vec<f32>,
    fade: Vec<bool>,
}

impl Expected {
    fn silent(frames: usize) -> Self {
        Expected {
            want: vec![0.0; frames],
            fade: vec![false; frames],
        }
    }

    /// Places `reference` (played with `length`) at `onset`.
    fn place(&mut self, onset: usize, reference: &[f32], length: f32) {
        let len = reference.len();
        let end = len as f64 * length as f64;
        let (fade_from, exact_from) = if length < 1.0 {
            (
                (end * 0.8).floor() as usize,
                (end.ceil() as usize + 1).min(len),
            )
        } else {
            (len, len)
        };
        for (i, &s) in reference.iter().enumerate() {
            let j = onset + i;
            if j >= self.want.len() {
                break;
            }
            if i < fade_from {
                self.want[j] += s;
            } else if i < exact_from {
                self.want[j] += s;
                self.fade[j] = true;
            }
        }
    }
}

/// How one output channel compares with what it must carry (printed in reports).
#[derive(Debug)]
#[allow(dead_code)] // the fields are read through `Debug`
struct ChannelCheck {
    /// Largest |out − want| outside fades.
    max_abs_diff: f32,
    /// First sample where |out − want| > EXACT_MAX_ABS (or a fade sample exceeded the
    /// reference's magnitude).
    first_bad: Option<usize>,
    /// Fade samples louder than the reference.
    fade_violations: usize,
}

fn check_channel(out: &[f32], exp: &Expected) -> ChannelCheck {
    assert_eq!(out.len(), exp.want.len());
    let (mut max_abs_diff, mut first_bad, mut fade_violations) = (0.0f32, None, 0);
    for (i, (&x, &w)) in out.iter().zip(&exp.want).enumerate() {
        if exp.fade[i] {
            if x.abs() > w.abs() + EXACT_MAX_ABS {
                fade_violations += 1;
                first_bad.get_or_insert(i);
            }
        } else {
            let d = (x - w).abs();
            if !(d <= EXACT_MAX_ABS) {
                first_bad.get_or_insert(i);
            }
            if d.is_nan() {
                max_abs_diff = f32::NAN;
            } else {
                max_abs_diff = max_abs_diff.max(d);
            }
        }
    }
    ChannelCheck {
        max_abs_diff,
        first_bad,
        fade_violations,
    }
}

/// Per pad: the comparison of the rendered region with the reference, for the report.
fn per_pad_report(out: &[f32], clip: &Clip, refs: &[PadSound]) -> Vec<Comparison> {
    (0..PADS)
        .map(|i| {
            let r = &refs[i].samples;
            let n = if GM_LENGTH[i] < 1.0 {
                (r.len() as f64 * GM_LENGTH[i] as f64 * 0.8) as usize
            } else {
                r.len()
            };
            let o = clip.onsets[i];
            compare(&out[o..(o + n).min(out.len())], &r[..n])
        })
        .collect()
}

/// Asserts `out` carries `exp`, with a diagnosis (alignment lag, the pad of the region) when not.
fn assert_channel(what: &str, out: &[f32], exp: &Expected, clip: &Clip, refs: Option<&[PadSound]>) {
    let c = check_channel(out, exp);
    if c.first_bad.is_none() {
        return;
    }
    let at = c.first_bad.unwrap();
    let pad = (at / clip.region).min(PADS - 1);
    let path = paths::artifacts_dir().join(format!("{what}.wav"));
    audio::write_wav(&path, RATE, &[out, &exp.want]);
    let lag = refs.map(|refs| {
        let o = clip.onsets[pad];
        let r = &refs[pad].samples;
        audio::best_lag(&out[o.min(out.len())..], r, 512, 4096.min(r.len())).0
    });
    panic!(
        "{what}: output differs from the references: {c:?}; first bad sample {at} (region of \
         pad {}, note {} at {}): out {} vs expected {}; best alignment lag of that pad's reference \
         {lag:?} samples. Output and expectation written to {} (L = output, R = expected). (The \
         plugin embeds the model of assets/ when it is built, `ndm` reads assets/ at run time: \
         rebuild the bundle after a model change.)",
        pad + 1,
        GM_NOTES[pad],
        clip.onsets[pad],
        out[at],
        exp.want[at],
        path.display()
    );
}

/// Main L and R after the clip with every pad on main: each pad's reference at its onset.
fn expected_main(clip: &Clip, refs: &[PadSound], skip_pad: Option<usize>) -> Expected {
    let mut e = Expected::silent(clip.frames);
    for i in 0..PADS {
        if Some(i) != skip_pad {
            e.place(clip.onsets[i], &refs[i].samples, GM_LENGTH[i]);
        }
    }
    e
}

fn assert_silent(what: &str, x: &[f32]) {
    let peak = audio::peak(x);
    assert!(
        peak <= SILENCE,
        "{what}: expected silence, peak {peak} ({:.1} dBFS) at sample {:?}",
        db(peak),
        audio::onset(x, SILENCE)
    );
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn describes_itself_as_a_16_pad_kit_with_aux_outputs() {
    let _g = serial();
    let mut plugin = Plugin::load_bundle();
    let inputs = plugin.audio_port_infos(true);
    assert!(
        inputs.is_empty(),
        "an instrument has no audio input, got {inputs:?}"
    );
    let outputs = plugin.audio_port_infos(false);
    eprintln!("output ports: {outputs:#?}");
    assert!(
        outputs.len() >= 9,
        "main + at least 8 aux outputs, got {} ports",
        outputs.len()
    );
    assert!(
        outputs[0].is_main,
        "port 0 is not flagged main: {outputs:?}"
    );
    // nice-plug 0.4.2's `AudioIOLayout::main_output_name()` returns `names.main_input` (or
    // "Output"), not `names.main_output`: the main port is called "Output" unless the plugin
    // also sets `main_input`. Only a name is required here.
    assert!(!outputs[0].name.is_empty(), "port 0 has no name");
    if !outputs[0].name.to_lowercase().contains("main") {
        eprintln!(
            "note: the main output is named {:?} (nice-plug takes the main output's name from \
             `PortNames::main_input`)",
            outputs[0].name
        );
    }
    for (n, port) in outputs.iter().enumerate() {
        assert_eq!(port.channels, 2, "port {n} is not stereo: {port:?}");
        if n > 0 {
            assert!(!port.is_main, "aux port {n} flagged main");
            assert!(
                port.name.contains(&format!("Aux {n}")),
                "port {n} is named {:?}, expected it to say \"Aux {n}\"",
                port.name
            );
        }
    }
    let mut ids: Vec<u32> = outputs.iter().map(|p| p.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), outputs.len(), "port ids not unique");
    let (note_in, _note_out) = plugin.note_ports();
    assert!(note_in >= 1, "needs a note input port");

    assert_eq!(
        plugin.params.len(),
        PADS * PAD_PARAMS.len(),
        "16 pads × 19 parameters"
    );
    for pad in 0..PADS {
        for suffix in PAD_PARAMS {
            let id = pid(pad, suffix);
            let p = plugin.param(&id).clone();
            assert!(
                p.module.contains(&format!("Pad {}", pad + 1)),
                "{id}: group {:?}, expected \"Pad {}\"",
                p.module,
                pad + 1
            );
            let v = plugin.param_value(&id);
            assert!(
                v >= p.min - 1e-9 && v <= p.max + 1e-9 && (v - p.default).abs() < 1e-6,
                "{id}: value {v} is not the default {} in [{}, {}]",
                p.default,
                p.min,
                p.max
            );
        }
        // The General MIDI default kit.
        let note = plugin.param(&pid(pad, "note")).clone();
        // (Stepped values come as normalised × steps in f32: compare to 1e-4.)
        let near = |a: f64, b: f64| (a - b).abs() < 1e-4;
        let want = stepped_value(&plugin, &pid(pad, "note"), 0.0, GM_NOTES[pad] as f64);
        assert!(
            near(note.default, want),
            "pad {} default note {} (want {want})",
            pad + 1,
            note.default
        );
        let class = plugin.param(&pid(pad, "class")).default;
        let want = class_value(&plugin, &pid(pad, "class"), GM_CLASS[pad]);
        assert!(
            near(class, want),
            "pad {} default class {class}, want {want} ({})",
            pad + 1,
            CLASSES[GM_CLASS[pad]]
        );
        let choke = plugin.param(&pid(pad, "choke")).default;
        assert!(
            near(choke, GM_CHOKE[pad] as f64),
            "pad {} choke group {choke}",
            pad + 1
        );
        assert!(
            near(plugin.param(&pid(pad, "output")).default, 0.0),
            "output"
        );
        let length = plugin.param(&pid(pad, "length")).default;
        let want = float_value(
            &plugin,
            &pid(pad, "length"),
            0.05,
            1.0,
            GM_LENGTH[pad] as f64,
        );
        assert!(
            (length - want).abs() < 1e-6,
            "pad {} length {length}, want {want}",
            pad + 1
        );
        // Pan 0 is the centre of -1..1.
        let pan = plugin.param(&pid(pad, "pan")).clone();
        assert!((pan.default - pan.at(0.5)).abs() < 1e-6, "pan not centred");
    }
    assert_eq!(plugin.param("p07_choke").id, param_hash("p07_choke"));
}

#[test]
fn gm_clip_plays_each_pads_own_sound_on_its_sample() {
    let _g = serial();
    let refs = gm_refs();
    let clip = gm_clip(region_for(refs), 1.0);
    let mut plugin = Plugin::load_bundle();
    let started = Instant::now();
    let out = plugin.run(RATE as f64, MAX_FRAMES, |p| {
        p.render_blocks(clip.frames, clip_block, &clip.events)
    });
    eprintln!(
        "16-note clip: {} samples ({:.1} s of audio) in {:.1} s (activation included)",
        clip.frames,
        clip.frames as f64 / RATE as f64,
        started.elapsed().as_secs_f64()
    );
    audio::write_wav(
        &paths::artifacts_dir().join("clap-gm-clip.wav"),
        RATE,
        &[&out[0], &out[1]],
    );
    let exp = expected_main(&clip, refs, None);
    for (i, c) in per_pad_report(&out[0], &clip, refs).iter().enumerate() {
        eprintln!(
            "pad {:2} (note {}, {}): onset {}: max |diff| {:.2e}, correlation {:.7}, peak {:.3}",
            i + 1,
            GM_NOTES[i],
            refs[i].class,
            clip.onsets[i],
            c.max_abs_diff,
            c.correlation,
            c.peak_a
        );
    }
    let checks = (check_channel(&out[0], &exp), check_channel(&out[1], &exp));
    eprintln!("main L: {:?}\nmain R: {:?}", checks.0, checks.1);
    assert_channel("clap-gm-clip-L", &out[0], &exp, &clip, Some(refs));
    assert_channel("clap-gm-clip-R", &out[1], &exp, &clip, Some(refs));
    for (ch, x) in out.iter().enumerate().skip(2) {
        assert_silent(&format!("aux port {} channel {}", ch / 2, ch % 2), x);
    }
}

#[test]
fn pad_routed_to_aux_3_plays_on_port_3_only() {
    let _g = serial();
    let refs = gm_refs();
    let clip = gm_clip(region_for(refs), 1.0);
    let mut plugin = Plugin::load_bundle();
    // Pad 1 (kick, note 36) → aux 3; set as a host does on a stopped plugin (params.flush).
    let v = stepped_value(&plugin, "p01_output", 0.0, 3.0);
    plugin.flush_params(&[("p01_output", v)]);
    assert!((plugin.param_value("p01_output") - v).abs() < 1e-4);
    let out = plugin.run(RATE as f64, MAX_FRAMES, |p| {
        let (l3, r3) = (p.channel_index(3, 0), p.channel_index(3, 1));
        assert_eq!((l3, r3), (6, 7));
        p.render_blocks(clip.frames, clip_block, &clip.events)
    });
    audio::write_wav(
        &paths::artifacts_dir().join("clap-aux3.wav"),
        RATE,
        &[&out[0], &out[6]],
    );
    // Main: every pad but pad 1.
    let main = expected_main(&clip, refs, Some(0));
    assert_channel("clap-aux3-main-L", &out[0], &main, &clip, Some(refs));
    assert_channel("clap-aux3-main-R", &out[1], &main, &clip, Some(refs));
    // Aux 3: pad 1 alone.
    let mut aux = Expected::silent(clip.frames);
    aux.place(clip.onsets[0], &refs[0].samples, GM_LENGTH[0]);
    assert_channel("clap-aux3-aux3-L", &out[6], &aux, &clip, Some(refs));
    assert_channel("clap-aux3-aux3-R", &out[7], &aux, &clip, Some(refs));
    let c = compare(
        &out[6][clip.onsets[0]..clip.onsets[0] + refs[0].samples.len()],
        &refs[0].samples,
    );
    eprintln!(
        "aux 3 vs kick reference: max |diff| {:.2e}, correlation {:.7}; main peak in the kick's \
         region {:.2e}",
        c.max_abs_diff,
        c.correlation,
        audio::peak(&out[0][..clip.region])
    );
    for (ch, x) in out.iter().enumerate().skip(2) {
        if ch / 2 != 3 {
            assert_silent(&format!("aux port {} channel {}", ch / 2, ch % 2), x);
        }
    }
}

#[test]
fn closed_hat_chokes_the_open_hat_within_10_ms() {
    let _g = serial();
    let refs = gm_refs();
    let (open, closed) = (&refs[6].samples, &refs[4].samples);
    let mut plugin = Plugin::load_bundle();
    // The open hat (pad 7, note 46) on aux 1, so that what is left of it can be measured alone.
    let v = stepped_value(&plugin, "p07_output", 0.0, 1.0);
    plugin.flush_params(&[("p07_output", v)]);
    let rate = RATE as usize;
    let t46 = 1_001usize;
    let t42 = t46 + rate / 10 + 37; // 100 ms later: the open hat still rings
    let frames = t42 + rate / 2;
    let out = plugin.run(RATE as f64, MAX_FRAMES, |p| {
        p.render_all(
            frames,
            512,
            &[
                Ev::NoteOn {
                    time: t46 as u32,
                    key: 46,
                    velocity: 1.0,
                },
                Ev::NoteOn {
                    time: t42 as u32,
                    key: 42,
                    velocity: 1.0,
                },
            ],
        )
    });
    audio::write_wav(
        &paths::artifacts_dir().join("clap-choke.wav"),
        RATE,
        &[&out[0], &out[2]],
    );
    let aux1 = &out[2];
    // Until the choke: the open hat, exactly.
    let before = compare(&aux1[t46..t42], &open[..t42 - t46]);
    assert!(
        before.max_abs_diff <= EXACT_MAX_ABS,
        "aux 1 before the choke is not the open hat: {before:?}"
    );
    assert_silent("aux 1 before the open hat", &aux1[..t46]);
    let ringing = audio::peak(&aux1[t42 - rate / 100..t42]);
    assert!(
        ringing > 0.01,
        "the open hat is too quiet ({ringing}) 100 ms after its note for a choke test"
    );
    // After the closed hat's note-on: a short fade, then nothing.
    let ms = |m: usize| t42 + m * rate / 1000;
    let fade = &aux1[t42..ms(3)];
    let at_5ms = audio::peak(&aux1[ms(5)..]);
    let at_10ms = audio::peak(&aux1[ms(10)..]);
    eprintln!(
        "choke: open hat peak {ringing:.4} ({:.1} dBFS) in the 10 ms before note 42; first 3 ms \
         after: peak {:.4}; from 5 ms: {:.2e} ({:.1} dBFS); from 10 ms: {:.2e} ({:.1} dBFS, \
         {:.1} dB below the ringing hat)",
        db(ringing),
        audio::peak(fade),
        at_5ms,
        db(at_5ms),
        at_10ms,
        db(at_10ms),
        db(ringing) - db(at_10ms)
    );
    assert!(
        at_10ms < 1e-3,
        "the open hat is still at {:.1} dBFS 10 ms after the closed hat's note-on (want < -60)",
        db(at_10ms)
    );
    // A fade, not a cut: the first millisecond still carries the hat.
    assert!(
        audio::peak(&aux1[t42..ms(1)]) > 0.0,
        "the open hat stopped dead at the choke (no fade)"
    );
    // Main: the closed hat alone, exactly, on its sample.
    let mut main = Expected::silent(frames);
    main.place(t42, closed, 1.0);
    let c = check_channel(&out[0], &main);
    assert!(
        c.first_bad.is_none(),
        "main is not the closed hat alone: {c:?}"
    );
    assert!(check_channel(&out[1], &main).first_bad.is_none(), "main R");
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

fn tiny_model_dir() -> PathBuf {
    let tiny = paths::workspace_root().join("core/tests/fixtures/tiny_model");
    assert!(
        tiny.join("model.json").exists(),
        "missing fixture {}",
        tiny.display()
    );
    tiny
}

fn write_f32(path: &Path, channels: &[&[f32]]) {
    let mut bytes = Vec::new();
    for ch in channels {
        bytes.extend_from_slice(&(ch.len() as u64).to_le_bytes());
        for s in *ch {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).unwrap();
}

fn read_f32(path: &Path) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let n = u64::from_le_bytes(bytes[pos..pos + 8].try_into().unwrap()) as usize;
        pos += 8;
        out.push(
            bytes[pos..pos + 4 * n]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
        );
        pos += 4 * n;
    }
    out
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("{name} is not set")))
}

/// Non-default recipes on a few pads, so the state carries sounds the default kit does not have.
fn edited_pads(plugin: &Plugin) -> Vec<(String, f64)> {
    vec![
        (
            pid(2, "x"),
            float_value(plugin, &pid(2, "x"), -1.0, 1.0, 0.4),
        ),
        (
            pid(2, "y"),
            float_value(plugin, &pid(2, "y"), -1.0, 1.0, -0.3),
        ),
        (
            pid(8, "variation"),
            float_value(plugin, &pid(8, "variation"), 0.0, 2.0, 0.9),
        ),
        (pid(11, "class"), class_value(plugin, &pid(11, "class"), 6)), // ride → crash
        (
            pid(15, "seed"),
            stepped_value(plugin, &pid(15, "seed"), 0.0, 4321.0),
        ),
    ]
}

#[test]
fn state_recall_in_a_new_instance_is_bit_exact_without_the_model() {
    let _g = serial();
    let refs = gm_refs();
    let clip = gm_clip(region_for(refs), 1.0);
    let dir = tempfile::tempdir().unwrap();
    let mut a = Plugin::load_bundle();
    let edits = edited_pads(&a);
    let values: Vec<(&str, f64)> = edits.iter().map(|(id, v)| (id.as_str(), *v)).collect();
    a.flush_params(&values);
    let out = a.run(RATE as f64, MAX_FRAMES, |p| {
        p.render_blocks(clip.frames, clip_block, &clip.events)
    });
    // The edited pads really changed (else this would only test the default kit).
    let per_pad = per_pad_report(&out[0], &clip, refs);
    for pad in [2usize, 8, 11, 15] {
        assert!(
            per_pad[pad].correlation < 0.99,
            "pad {} still sounds like the default after its edit: {:?}",
            pad + 1,
            per_pad[pad]
        );
    }
    assert!(
        per_pad[0].max_abs_diff <= EXACT_MAX_ABS,
        "pad 1: {:?}",
        per_pad[0]
    );
    let a_values: Vec<(String, f64)> = edits
        .iter()
        .map(|(id, _)| (id.clone(), a.param_value(id)))
        .collect();
    let state = a.save_state();
    let text = String::from_utf8_lossy(&state);
    eprintln!("state: {} bytes ({} KiB)", state.len(), state.len() / 1024);
    assert!(!state.is_empty(), "empty state");
    assert!(
        text.contains("p01_x") || state.len() > 100_000,
        "state seems to lack parameters"
    );
    drop(a);
    let state_path = dir.path().join("state.bin");
    let render_path = dir.path().join("render.f32");
    let edits_path = dir.path().join("edits.txt");
    std::fs::write(&state_path, &state).unwrap();
    write_f32(&render_path, &[&out[0], &out[1]]);
    // The values the source instance reports (stepped values come back as f32 products).
    let reported: String = edits
        .iter()
        .map(|(id, sent)| {
            let v = a_values.iter().find(|(i, _)| i == id).unwrap().1;
            assert!((v - sent).abs() < 1e-3, "{id}: sent {sent}, reported {v}");
            format!("{id} {v}\n")
        })
        .collect();
    std::fs::write(&edits_path, reported).unwrap();
    let region = clip.region.to_string();
    let empty = dir.path().join("no-model");
    std::fs::create_dir_all(&empty).unwrap();
    for model_dir in [tiny_model_dir(), empty] {
        run_child(
            "child_state_recall",
            &[
                ("NDM_MODEL_DIR", model_dir.as_os_str()),
                ("NDM_TEST_STATE", state_path.as_os_str()),
                ("NDM_TEST_RENDER", render_path.as_os_str()),
                ("NDM_TEST_EDITS", edits_path.as_os_str()),
                ("NDM_TEST_REGION", std::ffi::OsStr::new(&region)),
            ],
        );
    }
}

#[test]
fn child_state_recall() {
    if !is_child("child_state_recall") {
        return; // only meaningful in the child started by state_recall_in_a_new_instance_is_…
    }
    let model_dir = env_path("NDM_MODEL_DIR");
    let state = std::fs::read(env_path("NDM_TEST_STATE")).unwrap();
    let expected = read_f32(&env_path("NDM_TEST_RENDER"));
    let region: usize = std::env::var("NDM_TEST_REGION").unwrap().parse().unwrap();
    let clip = gm_clip(region, 1.0);
    let mut b = Plugin::load_bundle();
    b.load_state(&state);
    for line in std::fs::read_to_string(env_path("NDM_TEST_EDITS"))
        .unwrap()
        .lines()
    {
        let (id, v) = line.split_once(' ').unwrap();
        let v: f64 = v.parse().unwrap();
        let got = b.param_value(id);
        assert!((got - v).abs() < 1e-9, "{id}: restored {got}, saved {v}");
    }
    let started = Instant::now();
    let out = b.run(RATE as f64, MAX_FRAMES, |p| {
        p.render_blocks(clip.frames, clip_block, &clip.events)
    });
    eprintln!(
        "model dir {}: restored instance rendered the clip in {:.2} s (activation included)",
        model_dir.display(),
        started.elapsed().as_secs_f64()
    );
    for (ch, name) in [(0usize, "L"), (1, "R")] {
        let c = compare(&out[ch], &expected[ch]);
        let first = out[ch]
            .iter()
            .zip(&expected[ch])
            .position(|(a, b)| a.to_bits() != b.to_bits());
        eprintln!("main {name}: {c:?}; first differing sample {first:?}");
        if let Some(i) = first {
            let pad = (i / clip.region).min(PADS - 1);
            audio::write_wav(
                &paths::artifacts_dir().join(format!("clap-state-recall-{name}.wav")),
                RATE,
                &[&out[ch], &expected[ch]],
            );
            panic!(
                "main {name} after the state load differs from the saved instance's render (model \
                 dir {}): first at sample {i} (pad {}'s region): {} vs {}; {c:?}",
                model_dir.display(),
                pad + 1,
                out[ch][i],
                expected[ch][i]
            );
        }
    }
    eprintln!("all 16 pads bit-exact after the state load");
}

/// A real-time host: automating pad 2's class eventually gives its new sound (no timing asserted:
/// the worker regenerates in the background, and a note before that plays the old sound).
#[test]
fn realtime_automation_of_a_pad_regenerates_it() {
    let _g = serial();
    let clap_ref = audio::ndm_render(
        "clap-pad2-clap-ref",
        &["--class", "clap", "--variation", "0.3", "--seed", "202"],
        RATE,
    );
    let snare = &gm_refs()[1].samples;
    let mut plugin = Plugin::load_bundle();
    let class = plugin.param("p02_class").id;
    let clap = class_value(&plugin, "p02_class", 2);
    let (take, waited) = plugin.run(RATE as f64, MAX_FRAMES, |p| {
        // The default snare first.
        let (l, _) = p.render(snare.len() + 1000, 512, &[note(0, 38)]);
        let c = compare(&l[..snare.len()], snare);
        assert!(
            c.max_abs_diff <= EXACT_MAX_ABS,
            "pad 2 is not the snare: {c:?}"
        );
        p.process(
            512,
            &[Ev::Param {
                time: 3,
                id: class,
                value: clap,
            }],
        );
        let started = Instant::now();
        let take = p
            .play_when_ready(
                38,
                1.0,
                clap_ref.len() + 1000,
                512,
                ready_timeout(),
                |l, _| compare(&l[..clap_ref.len()], &clap_ref).correlation > 0.999,
            )
            .unwrap_or_else(|| panic!("pad 2 never played the clap within {:?}", ready_timeout()));
        (take.0, started.elapsed())
    });
    let c = compare(&take[..clap_ref.len()], &clap_ref);
    eprintln!(
        "real time: pad 2 played the clap {:.0} ms after the automation: {c:?}",
        waited.as_secs_f64() * 1e3
    );
}

fn note(time: usize, key: u8) -> Ev {
    Ev::NoteOn {
        time: time as u32,
        key,
        velocity: 1.0,
    }
}

/// An offline bounce: pad 2's class is automated (snare → clap) in the block right before a
/// note 38, and that note must already be the clap; then back to the snare, exactly.
#[test]
fn offline_automation_one_block_before_a_note_is_in_that_note() {
    let _g = serial();
    let clap_ref = audio::ndm_render(
        "clap-offline-pad2-clap-ref",
        &["--class", "clap", "--variation", "0.3", "--seed", "202"],
        RATE,
    );
    let snare = gm_refs()[1].samples.clone();
    let mut plugin = Plugin::load_bundle();
    plugin.set_render_mode(true);
    let class = plugin.param("p02_class").id;
    let (clap_v, snare_v) = (
        class_value(&plugin, "p02_class", 2),
        class_value(&plugin, "p02_class", 1),
    );
    const B: usize = 512;
    let tail = clap_ref.len().max(snare.len()) + 1000;
    let started = Instant::now();
    let (first, second, times) = plugin.run(RATE as f64, MAX_FRAMES, |p| {
        let mut times = Vec::new();
        p.process(B, &[]);
        // Block k: the automation; block k + 1: the note, at sample 7.
        p.process(
            B,
            &[Ev::Param {
                time: 100,
                id: class,
                value: clap_v,
            }],
        );
        let t = Instant::now();
        let (first, _) = p.render(tail, B, &[note(7, 38)]);
        times.push(t.elapsed());
        p.process(
            B,
            &[Ev::Param {
                time: 0,
                id: class,
                value: snare_v,
            }],
        );
        let t = Instant::now();
        let (second, _) = p.render(tail, B, &[note(7, 38)]);
        times.push(t.elapsed());
        (first, second, times)
    });
    eprintln!(
        "offline: both renders in {:.2} s (first note's render {:.0} ms, second {:.0} ms)",
        started.elapsed().as_secs_f64(),
        times[0].as_secs_f64() * 1e3,
        times[1].as_secs_f64() * 1e3
    );
    audio::write_wav(
        &paths::artifacts_dir().join("clap-offline-pad2.wav"),
        RATE,
        &[&first, &second],
    );
    assert_silent("before the note", &first[..7]);
    let c = compare(&first[7..7 + clap_ref.len()], &clap_ref);
    let vs_snare = compare(&first[7..7 + snare.len()], &snare);
    eprintln!(
        "note after the automation vs `ndm render --class clap`: max |diff| {:.2e}, correlation \
         {:.6}; vs the snare: correlation {:.4}",
        c.max_abs_diff, c.correlation, vs_snare.correlation
    );
    assert!(
        c.correlation > 0.999 && c.max_abs_diff < 2e-3,
        "the note right after the class automation is not the clap: {c:?} (vs snare {vs_snare:?})"
    );
    assert!(vs_snare.correlation < 0.99, "still the snare: {vs_snare:?}");
    let back = compare(&second[7..7 + snare.len()], &snare);
    eprintln!(
        "back to the snare: max |diff| {:.2e}, correlation {:.7}",
        back.max_abs_diff, back.correlation
    );
    assert!(
        back.max_abs_diff <= EXACT_MAX_ABS,
        "after automating back to the snare the note is not the snare: {back:?}"
    );
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
    /// legal case is 96 physical voices (64 sounding + 32 fading) of a −1 dBFS sound at full
    /// velocity and +12 dB gain on one output, with 20 % for the overshoot of the band-limited
    /// tune resampler. The plugin does not clip, so this catches blow-ups, not loud settings.
    const LIMIT: f32 = 96.0 * 0.8913 * 3.9811 * 1.2;

    for act in 0..activations {
        // Every rate once (in a shuffled order), random maximum block sizes.
        let rate = order[act % order.len()];
        let max = *rng.pick(&max_sizes);
        let mut arng = rng.clone();
        rng.next_u64();
        let params = params.clone();
        let (blocks, samples, nonzero, peak, over) = plugin.run(rate, max, move |p| {
            p.prefill = f32::NAN; // the plugin must write every sample of every port
            let mut nonzero = 0usize;
            let mut peak = 0.0f32;
            let mut samples = 0usize;
            let mut over: Option<String> = None;
            let mut over_count = 0usize;
            let mut sent: Vec<Option<f64>> = vec![None; params.len()];
            let mut recent_notes: Vec<(usize, u8, f64)> = Vec::new();
            let mut events = Vec::new();
            for block in 0..per_activation {
                let n = match arng.range(0, 9) {
                    0..=3 => arng.range(1, 32.min(max as u64)),
                    4..=6 => arng.range(1, (max as u64 / 4).max(1)),
                    _ => arng.range(1, max as u64),
                } as usize;
                events.clear();
                let t = |r: &mut Rng| r.range(0, n as u64 - 1) as u32;
                if arng.chance(0.25) {
                    let velocity = match arng.range(0, 5) {
                        0 => 1.0,
                        1 => 0.0,
                        _ => arng.f64(),
                    };
                    // Half the notes on the kit's keys, half anywhere.
                    let key = if arng.chance(0.5) {
                        *arng.pick(&GM_NOTES)
                    } else {
                        arng.range(0, 127) as u8
                    };
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
                p.process(n, &events);
                samples += n;
                for (ch, x) in p.outputs().iter().enumerate() {
                    for (i, &s) in x.iter().enumerate() {
                        assert!(
                            s.is_finite(),
                            "activation {act} ({rate} Hz, max {max}), block {block} ({n} \
                             samples, events {events:?}): channel {ch} sample {i} is {s}"
                        );
                        if s.abs() > LIMIT {
                            over_count += 1;
                            if over.is_none() {
                                let values: Vec<String> = params
                                    .iter()
                                    .zip(&sent)
                                    .filter_map(|(p, v)| {
                                        v.map(|v| format!("{}/{}={v:.3}", p.module, p.name))
                                    })
                                    .collect();
                                let notes: Vec<_> = recent_notes.iter().rev().take(12).collect();
                                over = Some(format!(
                                    "first at activation {act} ({rate} Hz, max {max}), block \
                                     {block} ({n} samples), channel {ch} sample {i}: {s}; CLAP \
                                     values sent so far: [{}]; last note-ons (block, key, \
                                     velocity): {notes:?}",
                                    values.join(", ")
                                ));
                            }
                        }
                        if s != 0.0 {
                            nonzero += 1;
                        }
                        peak = peak.max(s.abs());
                    }
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
    let x = plugin.param("p01_x").clone();
    let state = plugin.save_state();
    let started = Instant::now();
    plugin.run(48_000.0, 1024, |p| {
        let activated = started.elapsed();
        let started = Instant::now();
        let mut block = 0u32;
        // Two seconds of wall time: more than a real model needs to load and generate.
        while started.elapsed() < Duration::from_secs(2) {
            let mut events = vec![note(0, GM_NOTES[block as usize % PADS])];
            if block.is_multiple_of(10) {
                events.push(Ev::Param {
                    time: 5,
                    id: x.id,
                    value: x.at((block % 7) as f64 / 6.0),
                });
            }
            p.process(256, &events);
            for (ch, out) in p.outputs().iter().enumerate() {
                assert!(
                    out.iter().all(|&s| s == 0.0),
                    "block {block}: channel {ch} is not silent without a model"
                );
            }
            block += 1;
            std::thread::sleep(Duration::from_millis(2));
        }
        eprintln!(
            "no model: activation returned after {:.0} ms; {block} blocks of notes, all silent",
            activated.as_secs_f64() * 1e3
        );
    });
    plugin.load_state(&state);
    // A second activation must work as well, in offline mode too (no wait that never ends).
    plugin.set_render_mode(true);
    let started = Instant::now();
    plugin.run(44_100.0, 512, |p| {
        let events: Vec<Ev> = GM_NOTES
            .iter()
            .enumerate()
            .map(|(i, &k)| note(i * 2_000 + 3, k))
            .collect();
        let out = p.render_all(44_100, 512, &events);
        for ch in out {
            assert!(ch.iter().all(|&s| s == 0.0));
        }
    });
    eprintln!(
        "offline activation + 1 s of notes without a model: {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn model_dir_env_selects_the_model_set() {
    let _g = serial();
    let shipped = gm_refs();
    let shipped_dir = shipped[0].path.parent().unwrap().to_path_buf();
    run_child(
        "child_tiny_model",
        &[
            ("NDM_MODEL_DIR", tiny_model_dir().as_os_str()),
            ("NDM_TEST_SHIPPED_REFS", shipped_dir.as_os_str()),
        ],
    );
}

#[test]
fn child_tiny_model() {
    if !is_child("child_tiny_model") {
        return; // only meaningful in the child process started by model_dir_env_selects_the_model_set
    }
    // NDM_MODEL_DIR is set for this process: `ndm gm-kit` uses the same model set.
    let refs = drums::ndm_gm_kit(RATE, &paths::artifacts_dir().join("clap-gm-kit-tiny"));
    assert_eq!(refs.len(), PADS);
    let shipped = drums::load_gm_kit(&env_path("NDM_TEST_SHIPPED_REFS"), RATE);
    let c = compare(&refs[0].samples, &shipped[0].samples);
    assert!(
        c.correlation < 0.9,
        "the tiny model's kick is the shipped model's: {c:?}"
    );
    let clip = gm_clip(region_for(&refs), 1.0);
    let mut plugin = Plugin::load_bundle();
    let out = plugin.run(RATE as f64, 1024, |p| {
        p.render_blocks(clip.frames, clip_block, &clip.events)
    });
    let exp = expected_main(&clip, &refs, None);
    let checks = check_channel(&out[0], &exp);
    eprintln!("tiny model: clip vs the tiny model's `ndm gm-kit`: {checks:?}");
    assert_channel("clap-tiny-clip-L", &out[0], &exp, &clip, Some(&refs));
}
