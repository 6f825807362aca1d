//! Shared helpers of the plugin's tests: a plugin instance driven exactly as a host drives it
//! (`prepare` = `activate()`, `process_channels` = `process()` after gathering the channels).
#![allow(dead_code)]

use ndm_plugin::audio::OUTPUT_CHANNELS;
use ndm_plugin::NeuralDrumMachine;
use nice_plug::midi::{Channel, Key, NoteEvent, VoiceID};
use nice_plug::params::Params;

/// The tiny random-weight test model set.
pub fn tiny_model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/tiny_model")
}

/// Polls `f` every 5 ms until it is true; panics naming `what` after `timeout`.
pub fn wait_until_within(what: &str, timeout: std::time::Duration, mut f: impl FnMut() -> bool) {
    let t = std::time::Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("timed out waiting until {what}");
}

/// Small deterministic PRNG (no allocation).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    pub fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
    pub fn unit(&mut self) -> f32 {
        self.next() as f32 / (u32::MAX >> 1) as f32
    }
}

/// A note-on event at `timing` for MIDI `note`.
pub fn note_on(timing: u32, note: u8, velocity: f32) -> NoteEvent<()> {
    NoteEvent::NoteOn { timing, voice_id: VoiceID::Wildcard, channel: Channel::Number(0), key: Key::Number(note), velocity }
}

/// Sets parameter `id` to the normalised value `normalized`, as a host's automation does.
pub fn set_normalized(plugin: &NeuralDrumMachine, id: &str, normalized: f32) {
    let params = plugin.shared_params();
    let (_, ptr, _) = params.param_map().into_iter().find(|(i, _, _)| i == id).unwrap_or_else(|| panic!("no parameter {id}"));
    // SAFETY: the pointer is into `params`, alive for this call.
    unsafe {
        ptr._internal_set_normalized_value(normalized);
    }
}

/// Output buffers of every channel (main + aux), `frames` long each.
pub struct Outputs(pub Vec<Vec<f32>>);

impl Outputs {
    pub fn new(frames: usize) -> Self {
        Outputs((0..OUTPUT_CHANNELS).map(|_| vec![0.0; frames]).collect())
    }

    /// One `process()` call of `frames` samples with `events` (sorted by timing). Allocation-free.
    pub fn process(&mut self, plugin: &mut NeuralDrumMachine, frames: usize, events: &[NoteEvent<()>]) {
        let mut next = events.iter().copied();
        let mut slots: [&mut [f32]; OUTPUT_CHANNELS] = Default::default();
        for (slot, ch) in slots.iter_mut().zip(self.0.iter_mut()) {
            *slot = &mut ch[..frames];
        }
        plugin.process_channels(frames, || next.next(), &mut slots);
    }
}

/// Renders `total` samples in blocks of `block`, with `events` (absolute sample times) — returns
/// every channel.
pub fn render(plugin: &mut NeuralDrumMachine, total: usize, block: usize, events: &[NoteEvent<()>]) -> Vec<Vec<f32>> {
    let mut out = Outputs::new(block);
    let mut all: Vec<Vec<f32>> = (0..OUTPUT_CHANNELS).map(|_| Vec::with_capacity(total)).collect();
    let mut pos = 0;
    while pos < total {
        let n = block.min(total - pos);
        let evs: Vec<NoteEvent<()>> = events
            .iter()
            .filter(|e| (e.timing() as usize) >= pos && (e.timing() as usize) < pos + n)
            .map(|e| {
                let mut e = *e;
                e.subtract_timing(pos as u32);
                e
            })
            .collect();
        out.process(plugin, n, &evs);
        for (a, ch) in all.iter_mut().zip(&out.0) {
            a.extend_from_slice(&ch[..n]);
        }
        pos += n;
    }
    all
}
