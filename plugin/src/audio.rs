//! The audio thread's logic, free of any host: turns parameter snapshots into generation requests,
//! takes finished sounds from the worker, starts voices on note-ons and renders them.
//!
//! [`AudioCore`] only talks to ndm-core's real-time side ([`RtLink`], [`Voices`]); every method is
//! allocation-, lock- and panic-free, so the plugin's `process()` and the tests
//! (`tests/no_alloc.rs`) drive exactly the same code.

use crate::params::{CLASS_COUNT, CLASS_NAMES};
use ndm_core::engine::{Request, RtLink};
use ndm_core::meta::ModelMeta;
use ndm_core::voices::{PlaySettings, Voices};
use ndm_core::{SoundParams, MAX_CLASSES};

/// Samples rendered per inner chunk (size of the mono scratch buffer).
pub const CHUNK: usize = 256;

/// Maps each [`crate::params::DrumClass`] (by variant index) to the loaded model's class index,
/// looked up by name; a class the model does not know maps to index 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassMap {
    /// Model class index per plugin class.
    pub index: [usize; CLASS_COUNT],
    /// Number of classes of the model (at least 1).
    pub model_classes: usize,
}

impl ClassMap {
    /// The map for a model's metadata (by [`ModelMeta::class_index`]).
    pub fn from_meta(meta: &ModelMeta) -> Self {
        let mut map = ClassMap { index: [0; CLASS_COUNT], model_classes: meta.classes.len().clamp(1, MAX_CLASSES) };
        for (i, name) in CLASS_NAMES.iter().enumerate() {
            map.index[i] = meta.class_index(name).filter(|&c| c < MAX_CLASSES).unwrap_or(0);
        }
        map
    }

    /// The map for a model's class names, in conditioning order (e.g. `ModelState::Ready.classes`).
    pub fn from_names(classes: &[String]) -> Self {
        let mut map = ClassMap { index: [0; CLASS_COUNT], model_classes: classes.len().clamp(1, MAX_CLASSES) };
        for (i, name) in CLASS_NAMES.iter().enumerate() {
            let found = classes
                .iter()
                .position(|c| c == name)
                .or_else(|| classes.iter().position(|c| c.eq_ignore_ascii_case(name)));
            map.index[i] = found.filter(|&c| c < MAX_CLASSES).unwrap_or(0);
        }
        map
    }

    /// Class weights `(1 − blend)·onehot(class) + blend·onehot(blend_class)` (plugin class indices).
    pub fn weights(&self, class: usize, blend_class: usize, blend: f32) -> [f32; MAX_CLASSES] {
        let blend = if blend.is_finite() { blend.clamp(0.0, 1.0) } else { 0.0 };
        let mut w = [0.0; MAX_CLASSES];
        let a = self.index.get(class).copied().unwrap_or(0).min(MAX_CLASSES - 1);
        let b = self.index.get(blend_class).copied().unwrap_or(0).min(MAX_CLASSES - 1);
        w[a] += 1.0 - blend;
        w[b] += blend;
        w
    }
}

/// Plain copy of the parameter values for one block (see [`crate::params::NdmParams::snapshot`]).
#[derive(Debug, Clone, Copy)]
pub struct ParamSnapshot {
    /// Main class, [`crate::params::DrumClass`] variant index.
    pub class: usize,
    /// Blend class, variant index.
    pub blend_class: usize,
    /// Blend amount 0…1.
    pub blend: f32,
    /// Pad X, −1…1.
    pub x: f32,
    /// Pad Y, −1…1.
    pub y: f32,
    /// Fine, −1…1.
    pub fine: f32,
    /// Pad range in standard deviations, 0.1…4.
    pub range: f32,
    /// Variation amount, 0…2.
    pub variation: f32,
    /// Variation seed.
    pub seed: u32,
    /// Playback settings (its `gain` is ignored: gain comes per sample, see [`AudioCore::render`]).
    pub play: PlaySettings,
}

impl Default for ParamSnapshot {
    fn default() -> Self {
        ParamSnapshot {
            class: 0,
            blend_class: 0,
            blend: 0.0,
            x: 0.0,
            y: 0.0,
            fine: 0.0,
            range: 2.0,
            variation: 0.0,
            seed: 0,
            play: PlaySettings::default(),
        }
    }
}

impl ParamSnapshot {
    /// The sound parameters these values ask for (no anchor: the worker adds its own).
    pub fn sound_params(&self, map: &ClassMap) -> SoundParams {
        SoundParams {
            class_weights: map.weights(self.class, self.blend_class, self.blend),
            x: self.x,
            y: self.y,
            fine: self.fine,
            range: self.range,
            variation: self.variation,
            seed: u64::from(self.seed),
            anchor: None,
        }
    }
}

/// A note start inside a block: `timing` in samples from the block start, `velocity` 0…1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteStart {
    /// Offset in samples from the start of the block.
    pub timing: u32,
    /// Velocity, 0…1.
    pub velocity: f32,
}

/// The audio thread's state: the link to the inference worker, the voices and a scratch buffer.
/// Owned by the audio thread (created on the main thread at activation).
pub struct AudioCore {
    link: RtLink,
    voices: Voices,
    class_map: ClassMap,
    sample_rate: f32,
    last_request: Option<Request>,
    mono: [f32; CHUNK],
}

impl AudioCore {
    /// A core for output at `sample_rate` Hz (allocates the voices: call off the audio thread).
    pub fn new(link: RtLink, sample_rate: f32, class_map: ClassMap) -> Self {
        let sample_rate = if sample_rate.is_finite() && sample_rate >= 1.0 { sample_rate } else { 44_100.0 };
        AudioCore {
            link,
            voices: Voices::new(sample_rate),
            class_map,
            sample_rate,
            last_request: None,
            mono: [0.0; CHUNK],
        }
    }

    /// Changes the output sample rate (new requests ask for sounds at this rate; voices of older
    /// sounds are played pitch-corrected).
    pub fn set_sample_rate(&mut self, sample_rate: f32) {
        if sample_rate.is_finite() && sample_rate >= 1.0 {
            self.sample_rate = sample_rate;
            self.voices.set_output_rate(sample_rate);
        }
    }

    /// The output sample rate in Hz.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// The class map used to build requests.
    pub fn class_map(&self) -> ClassMap {
        self.class_map
    }

    /// The request for `snapshot` at the current sample rate.
    pub fn request_for(&self, snapshot: &ParamSnapshot) -> Request {
        Request { params: snapshot.sound_params(&self.class_map), sample_rate: self.sample_rate.round() as u32 }
    }

    /// Per-block housekeeping: posts the request for `snapshot` (the link drops repeats) and moves
    /// finished sounds into the voices. Returns true when a new sound became current.
    pub fn update(&mut self, snapshot: &ParamSnapshot) -> bool {
        let request = self.request_for(snapshot);
        self.link.post(request);
        self.last_request = Some(request);
        self.link.exchange(&mut self.voices)
    }

    /// The last request built by [`AudioCore::update`].
    pub fn last_request(&self) -> Option<Request> {
        self.last_request
    }

    /// True once a generated sound is loaded (before that, notes are silent).
    pub fn has_sound(&self) -> bool {
        self.voices.current().is_some()
    }

    /// Voices sounding now (including fading ones).
    pub fn active_voices(&self) -> usize {
        self.voices.active_voices()
    }

    /// Starts a voice of the current sound.
    pub fn note_on(&mut self, velocity: f32, play: &PlaySettings) {
        let velocity = if velocity.is_finite() { velocity.clamp(0.0, 1.0) } else { 0.0 };
        self.voices.note_on(velocity, play);
    }

    /// Fades out every voice quickly (choke, all notes off, reset).
    pub fn choke(&mut self) {
        self.voices.choke_all();
    }

    /// Renders the voices into `out_l` (overwriting it) and copies the mono signal to `out_r`
    /// (when `out_r` is given). `gains` holds the linear output gain per sample; samples beyond
    /// its end use its last value (1.0 when empty).
    pub fn render(&mut self, gains: &[f32], out_l: &mut [f32], mut out_r: Option<&mut [f32]>) {
        let n = match &out_r {
            Some(r) => out_l.len().min(r.len()),
            None => out_l.len(),
        };
        let mut last_gain = gains.first().copied().unwrap_or(1.0);
        let mut start = 0;
        while start < n {
            let len = (n - start).min(CHUNK);
            let mono = &mut self.mono[..len];
            mono.fill(0.0);
            self.voices.render(mono, 1.0);
            for (i, m) in mono.iter_mut().enumerate() {
                if let Some(&g) = gains.get(start + i) {
                    last_gain = g;
                }
                *m *= last_gain;
            }
            out_l[start..start + len].copy_from_slice(mono);
            if let Some(r) = out_r.as_deref_mut() {
                r[start..start + len].copy_from_slice(mono);
            }
            start += len;
        }
    }

    /// One whole block without a host: [`AudioCore::update`], then renders while starting each
    /// note on its exact sample (`notes` sorted by timing; timings past the block start at its
    /// end). `gains` as in [`AudioCore::render`]. Returns true when a new sound became current.
    pub fn process_block(
        &mut self,
        notes: &[NoteStart],
        snapshot: &ParamSnapshot,
        gains: &[f32],
        out_l: &mut [f32],
        out_r: &mut [f32],
    ) -> bool {
        let changed = self.update(snapshot);
        let n = out_l.len().min(out_r.len());
        let mut pos = 0;
        let mut next = 0;
        loop {
            while let Some(note) = notes.get(next) {
                if (note.timing as usize).min(n) > pos {
                    break;
                }
                self.note_on(note.velocity, &snapshot.play);
                next += 1;
            }
            if pos >= n {
                break;
            }
            let end = notes.get(next).map_or(n, |note| (note.timing as usize).min(n));
            let g = gains.get(pos..).unwrap_or(&[]);
            self.render(g, &mut out_l[pos..end], Some(&mut out_r[pos..end]));
            pos = end;
        }
        changed
    }
}
