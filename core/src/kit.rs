//! The kit: 16 pads, each with a sound recipe (what the worker generates) and playback settings
//! (what the voices do with the sound at note-on), plus the General MIDI default kit.
//!
//! Who reads what:
//! - the inference worker asks a [`KitSource`] for each pad's [`PadTarget`] (recipe + tune) and
//!   regenerates only the pads whose target changed;
//! - the audio thread reads [`PadPlayback`] at every note-on (a plain `Copy` value).

use crate::control::SoundParams;
use crate::generate::DetailResidual;
use crate::meta::ModelMeta;
use std::sync::Arc;

/// Pads in a kit (a 4 × 4 grid).
pub const PADS: usize = 16;
/// Auxiliary stereo outputs besides the main one.
pub const AUX_OUTPUTS: usize = 8;
/// Stereo outputs in all: main (0) + [`AUX_OUTPUTS`] (1…8).
pub const OUTPUTS: usize = 1 + AUX_OUTPUTS;
/// Choke groups 1…8 (0 = none).
pub const CHOKE_GROUPS: u8 = 8;

/// Playback settings of one pad, applied by the voices at note-on. Tune is not here: it is
/// applied on the worker with a band-limited resampler (see [`PadTarget::tune_semitones`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadPlayback {
    /// MIDI note (0…127) that plays the pad.
    pub note: u8,
    /// Pad gain, linear (the plugin converts its dB parameter).
    pub gain: f32,
    /// Pan, −1 (left) … +1 (right); balance law: the far channel is attenuated linearly, the
    /// centre is 0 dB on both channels.
    pub pan: f32,
    /// Length as a fraction of the sound, (0, 1]; below 1 the kept part fades out linearly over
    /// its last fifth (the decay control).
    pub length: f32,
    /// Velocity sensitivity in [0, 1]: gain = (1 − s) + s · velocity² (≈ −12 dB at half
    /// velocity and full sensitivity).
    pub velocity_sensitivity: f32,
    /// Choke group 1…[`CHOKE_GROUPS`], 0 = none. A note-on fades out (3 ms) every voice of the
    /// *other* pads of its group.
    pub choke_group: u8,
    /// Output: 0 = main, 1…[`AUX_OUTPUTS`] = aux output n (then not in the main mix).
    pub output: u8,
    /// A muted pad starts no voices.
    pub mute: bool,
}

impl Default for PadPlayback {
    fn default() -> Self {
        PadPlayback {
            note: 36,
            gain: 1.0,
            pan: 0.0,
            length: 1.0,
            velocity_sensitivity: 0.8,
            choke_group: 0,
            output: 0,
            mute: false,
        }
    }
}

impl PadPlayback {
    /// Gain for a note-on velocity in [0, 1] (velocity curve only, without [`PadPlayback::gain`]).
    pub fn velocity_gain(&self, velocity: f32) -> f32 {
        let v = if velocity.is_finite() { velocity.clamp(0.0, 1.0) } else { 0.0 };
        let s = if self.velocity_sensitivity.is_finite() { self.velocity_sensitivity.clamp(0.0, 1.0) } else { 0.0 };
        (1.0 - s) + s * v * v
    }

    /// Left and right channel gains of the pan position (balance law, see [`PadPlayback::pan`]).
    pub fn pan_gains(&self) -> (f32, f32) {
        let p = if self.pan.is_finite() { self.pan.clamp(-1.0, 1.0) } else { 0.0 };
        ((1.0 - p).min(1.0), (1.0 + p).min(1.0))
    }
}

/// What one pad should sound like, as the worker sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadTarget {
    /// Identity of the recipe, chosen by the [`KitSource`] (e.g. a hash of its own recipe
    /// values). Two targets with the same key are the same sound: a stored sound with this key is
    /// played without asking the model (exact recall), whatever model is loaded.
    pub key: u64,
    /// The decoder inputs for this recipe (class weights in the *loaded model's* class order).
    pub params: SoundParams,
}

/// Where the worker reads the kit from: implemented by the plugin on its parameters (atomics
/// readable from any thread) and by [`ManualKit`] for the CLI and tests. Called on the worker
/// thread only, every few milliseconds; it must be cheap and must not block for long.
pub trait KitSource: Send + Sync {
    /// The target of pad `pad` (0…15) for the loaded model `meta`.
    fn target(&self, pad: usize, meta: &ModelMeta) -> PadTarget;
    /// Tune of pad `pad` in semitones, −24…24 (applied by resampling on the worker).
    fn tune_semitones(&self, pad: usize) -> f32;
    /// Whether the loaded model `meta` can make pad `pad`'s recipe; `Err(reason)` (e.g. "class
    /// 7 is not in model X") keeps the pad's current sound and shows the reason instead of
    /// generating something else; a pad that has no sound at all is made with the model's first
    /// class meanwhile (and still shows the reason). Default: always playable.
    fn playable(&self, _pad: usize, _meta: &ModelMeta) -> Result<(), String> {
        Ok(())
    }
    /// The detail residual of the sample pad `pad` is anchored on (from its encoding), applied
    /// when the target's `detail` > 0 and its anchor is the residual's. Default: none.
    fn detail(&self, _pad: usize) -> Option<Arc<DetailResidual>> {
        None
    }
}

/// A [`KitSource`] set by hand (CLI, benchmarks, tests): the targets are given, not derived.
pub struct ManualKit {
    pads: parking_lot::Mutex<[(PadTarget, f32); PADS]>,
    details: parking_lot::Mutex<[Option<Arc<DetailResidual>>; PADS]>,
}

impl ManualKit {
    /// All pads on the centre of class 0, keys 0…15, no tune.
    pub fn new() -> Self {
        ManualKit {
            pads: parking_lot::Mutex::new(std::array::from_fn(|i| {
                (PadTarget { key: i as u64, params: SoundParams::for_class(0) }, 0.0)
            })),
            details: parking_lot::Mutex::new(std::array::from_fn(|_| None)),
        }
    }

    /// Sets pad `pad`'s detail residual (ignored for `pad` ≥ [`PADS`]).
    pub fn set_detail(&self, pad: usize, residual: Option<Arc<DetailResidual>>) {
        if let Some(d) = self.details.lock().get_mut(pad) {
            *d = residual;
        }
    }

    /// Sets pad `pad`'s target and tune (ignored for `pad` ≥ [`PADS`]).
    pub fn set(&self, pad: usize, target: PadTarget, tune_semitones: f32) {
        if let Some(p) = self.pads.lock().get_mut(pad) {
            *p = (target, tune_semitones);
        }
    }
}

impl Default for ManualKit {
    fn default() -> Self {
        Self::new()
    }
}

impl KitSource for ManualKit {
    fn target(&self, pad: usize, _meta: &ModelMeta) -> PadTarget {
        self.pads.lock()[pad.min(PADS - 1)].0
    }

    fn tune_semitones(&self, pad: usize) -> f32 {
        self.pads.lock()[pad.min(PADS - 1)].1
    }

    fn detail(&self, pad: usize) -> Option<Arc<DetailResidual>> {
        self.details.lock().get(pad).cloned().flatten()
    }
}

/// Variation amount of the default kit's pads, in prior standard deviations: enough for pads of
/// one class (the three toms, the two congas) to differ, small enough to stay near the class
/// centre. `training/evaluate.py` (2026-12-02) measures what it costs in variety: 0.18 of real
/// recordings' within-class variety at class accuracy 0.94; 1.0 would give 0.73 at 0.87 (a
/// change of the default kit's sound left for when the full-band model ships).
pub const DEFAULT_VARIATION: f32 = 0.3;
/// Pad range of the default kit's pads, in standard deviations of the class's codes.
pub const DEFAULT_RANGE: f32 = 2.0;

/// One pad of the default kit.
#[derive(Debug, Clone, Copy)]
pub struct DefaultPad {
    /// General MIDI percussion note.
    pub note: u8,
    /// Pad label (the GM instrument name).
    pub label: &'static str,
    /// Model class name.
    pub class: &'static str,
    /// Variation seed (different on every pad).
    pub seed: u32,
    /// Tune in semitones.
    pub tune: f32,
    /// Length fraction.
    pub length: f32,
    /// Choke group (0 = none).
    pub choke_group: u8,
}

/// Class names of the shipped model, in its conditioning order. A class selector of the plugin is
/// a *slot* of the loaded model's class list; the default kit's pads sit on the slots these names
/// have here (so on the shipped model, slot = class by name).
pub const SHIPPED_CLASSES: [&str; 11] =
    ["kick", "snare", "clap", "hihat_closed", "hihat_open", "tom", "crash", "ride", "rim", "hand_drum", "metal_shaker"];

/// The slot of a shipped class name (0 for an unknown name).
pub fn shipped_class_slot(name: &str) -> usize {
    SHIPPED_CLASSES.iter().position(|c| c.eq_ignore_ascii_case(name)).unwrap_or(0)
}

impl DefaultPad {
    /// The pad's class slot ([`shipped_class_slot`] of its class).
    pub fn slot(&self) -> usize {
        shipped_class_slot(self.class)
    }

    /// The decoder inputs of this pad on the loaded model: the centre of class [`DefaultPad::slot`]
    /// (the model's first class when it has fewer classes), [`DEFAULT_RANGE`],
    /// [`DEFAULT_VARIATION`] with the pad's seed — exactly what the plugin asks for with its
    /// default parameters.
    pub fn params(&self, meta: &ModelMeta) -> SoundParams {
        let slot = self.slot();
        let class = if slot < meta.classes.len() { slot } else { 0 };
        SoundParams { range: DEFAULT_RANGE, variation: DEFAULT_VARIATION, seed: u64::from(self.seed), ..SoundParams::for_class(class) }
    }
}

const fn pad(note: u8, label: &'static str, class: &'static str, seed: u32, tune: f32, length: f32, choke_group: u8) -> DefaultPad {
    DefaultPad { note, label, class, seed, tune, length, choke_group }
}

/// The default kit on the General MIDI percussion map (GM 1 Sound Set, percussion key map).
/// Hats 42 / 44 / 46 share choke group 1; the toms are tuned apart; the pedal hat is a shorter
/// closed hat.
pub const GM_KIT: [DefaultPad; PADS] = [
    pad(36, "Kick", "kick", 101, 0.0, 1.0, 0),
    pad(38, "Snare", "snare", 202, 0.0, 1.0, 0),
    pad(39, "Clap", "clap", 303, 0.0, 1.0, 0),
    pad(37, "Side stick", "rim", 404, 0.0, 1.0, 0),
    pad(42, "Closed hat", "hihat_closed", 505, 0.0, 1.0, 1),
    pad(44, "Pedal hat", "hihat_closed", 606, -1.0, 0.35, 1),
    pad(46, "Open hat", "hihat_open", 707, 0.0, 1.0, 1),
    pad(41, "Low tom", "tom", 808, -5.0, 1.0, 0),
    pad(45, "Mid tom", "tom", 909, 0.0, 1.0, 0),
    pad(48, "High tom", "tom", 1010, 5.0, 1.0, 0),
    pad(49, "Crash", "crash", 1111, 0.0, 1.0, 0),
    pad(51, "Ride", "ride", 1212, 0.0, 1.0, 0),
    pad(62, "Conga high", "hand_drum", 1313, 3.0, 1.0, 0),
    pad(63, "Conga low", "hand_drum", 1414, -2.0, 1.0, 0),
    pad(56, "Cowbell", "metal_shaker", 1515, 0.0, 1.0, 0),
    pad(70, "Maracas", "metal_shaker", 1616, 0.0, 0.6, 0),
];

/// A generated or stored sound at the model's sample rate, as 16-bit PCM: the form the plugin
/// saves with a project, and the form every generated sound is rounded to, so that what plays
/// after a reload is bit-identical to what played before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeAudio {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Mono samples, full scale = ±32767.
    pub pcm: Vec<i16>,
}

impl NativeAudio {
    /// Rounds `samples` (in [-1, 1]; clamped) to 16-bit PCM.
    pub fn from_f32(samples: &[f32], sample_rate: u32) -> Self {
        let pcm = samples
            .iter()
            .map(|s| if s.is_finite() { (s.clamp(-1.0, 1.0) * 32767.0).round() as i16 } else { 0 })
            .collect();
        NativeAudio { sample_rate, pcm }
    }

    /// The samples as floats in [-1, 1].
    pub fn to_f32(&self) -> Vec<f32> {
        self.pcm.iter().map(|&s| f32::from(s) / 32767.0).collect()
    }

    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.pcm.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gm_kit_has_distinct_notes_and_seeds_and_hat_choke() {
        let mut notes: Vec<u8> = GM_KIT.iter().map(|p| p.note).collect();
        notes.sort_unstable();
        notes.dedup();
        assert_eq!(notes.len(), PADS);
        let mut seeds: Vec<u32> = GM_KIT.iter().map(|p| p.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), PADS);
        for hat in [42, 44, 46] {
            assert_eq!(GM_KIT.iter().find(|p| p.note == hat).unwrap().choke_group, 1);
        }
        assert!(GM_KIT.iter().filter(|p| p.choke_group != 0).count() == 3);
    }

    #[test]
    fn pan_is_unity_at_centre_and_silences_the_far_side() {
        let p = |pan| PadPlayback { pan, ..Default::default() }.pan_gains();
        assert_eq!(p(0.0), (1.0, 1.0));
        assert_eq!(p(-1.0), (1.0, 0.0));
        assert_eq!(p(1.0), (0.0, 1.0));
        assert_eq!(p(f32::NAN), (1.0, 1.0));
    }

    #[test]
    fn pcm_round_trip_is_stable() {
        let a = NativeAudio::from_f32(&[0.0, 0.5, -1.0, 2.0, f32::NAN], 22_050);
        assert_eq!(a.pcm, vec![0, 16384, -32767, 32767, 0]);
        let b = NativeAudio::from_f32(&a.to_f32(), 22_050);
        assert_eq!(a, b);
    }
}
