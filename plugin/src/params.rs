//! The plugin's parameters. String ids never change (saved projects and host automation refer to
//! them); every parameter is automatable. Ranges are linear so that a host's normalised value maps
//! to the plain value by a straight line.

use crate::audio::ParamSnapshot;
use crate::state::StateStore;
use ndm_core::voices::PlaySettings;
use nice_plug::prelude::*;

/// The drum classes offered by the class selectors, in the order of [`CLASS_NAMES`]. They are
/// mapped to the loaded model's class index *by name* (see [`crate::audio::ClassMap`]), so a project
/// keeps its class when the model's class order changes.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrumClass {
    /// Bass drum.
    #[id = "kick"]
    #[name = "Kick"]
    Kick,
    /// Snare drum.
    #[id = "snare"]
    #[name = "Snare"]
    Snare,
    /// Hand clap.
    #[id = "clap"]
    #[name = "Clap"]
    Clap,
    /// Closed hi-hat.
    #[id = "hihat_closed"]
    #[name = "Closed hi-hat"]
    HihatClosed,
    /// Open hi-hat.
    #[id = "hihat_open"]
    #[name = "Open hi-hat"]
    HihatOpen,
    /// Tom.
    #[id = "tom"]
    #[name = "Tom"]
    Tom,
    /// Crash cymbal.
    #[id = "crash"]
    #[name = "Crash"]
    Crash,
    /// Ride cymbal.
    #[id = "ride"]
    #[name = "Ride"]
    Ride,
    /// Rim shot / side stick.
    #[id = "rim"]
    #[name = "Rim"]
    Rim,
    /// Hand drums (conga, bongo, …).
    #[id = "hand_drum"]
    #[name = "Hand drum"]
    HandDrum,
    /// Metal percussion and shakers (tambourine, cowbell, shaker, …).
    #[id = "metal_shaker"]
    #[name = "Metal / shaker"]
    MetalShaker,
}

/// Number of [`DrumClass`] variants.
pub const CLASS_COUNT: usize = 11;

/// Model class names of the [`DrumClass`] variants, by variant index.
pub const CLASS_NAMES: [&str; CLASS_COUNT] = [
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

/// Pad axis range: −1 … 1 (x, y, fine).
pub fn pad_range() -> FloatRange {
    FloatRange::Linear { min: -1.0, max: 1.0 }
}

/// Gain range in dB.
pub fn gain_range() -> FloatRange {
    FloatRange::Linear { min: -36.0, max: 12.0 }
}

/// All parameters plus the persisted latent state. Shared (`Arc`) between the plugin (audio and
/// main thread) and the editor (GUI thread); values are atomics inside nice-plug's param types.
#[derive(Params)]
pub struct NdmParams {
    /// Full latent state (anchor, encoded position, sample name, class weights, seed) as versioned
    /// JSON, saved with the project. Written by the main thread (state load) and the GUI thread.
    #[persist = "ndm-state"]
    pub state: StateStore,

    /// Main drum class.
    #[id = "class"]
    pub class: EnumParam<DrumClass>,
    /// Class blended in by `blend`.
    #[id = "blend_class"]
    pub blend_class: EnumParam<DrumClass>,
    /// Blend amount 0…1: weights = (1 − blend)·onehot(class) + blend·onehot(blend_class).
    #[id = "blend"]
    pub blend: FloatParam,
    /// Pad X: first principal latent axis, −1…1.
    #[id = "x"]
    pub x: FloatParam,
    /// Pad Y: second principal latent axis, −1…1.
    #[id = "y"]
    pub y: FloatParam,
    /// Fine: third principal latent axis, −1…1.
    #[id = "fine"]
    pub fine: FloatParam,
    /// Pad range in standard deviations of the class's latent codes, 0.1…4.
    #[id = "range"]
    pub range: FloatParam,
    /// Random variation in prior standard deviations, 0…2.
    #[id = "variation"]
    pub variation: FloatParam,
    /// Seed of the random variation, 0…9999.
    #[id = "seed"]
    pub seed: IntParam,
    /// Output gain in dB, −36…+12 (smoothed).
    #[id = "gain"]
    pub gain: FloatParam,
    /// Velocity sensitivity 0…1 (0: every note at full level).
    #[id = "vel_sens"]
    pub vel_sens: FloatParam,
    /// Playback tuning in semitones, −24…24.
    #[id = "tune"]
    pub tune: FloatParam,
    /// Length trim as a fraction of the sound, 0.05…1.
    #[id = "length"]
    pub length: FloatParam,
    /// Voices at once, 1…64 (1 = each note chokes the previous one).
    #[id = "polyphony"]
    pub polyphony: IntParam,
}

fn v2s(digits: usize) -> std::sync::Arc<dyn Fn(f32) -> String + Send + Sync> {
    formatters::v2s_f32_rounded(digits)
}

impl Default for NdmParams {
    fn default() -> Self {
        NdmParams {
            state: StateStore::default(),
            class: EnumParam::new("Class", DrumClass::Kick),
            blend_class: EnumParam::new("Blend class", DrumClass::Kick),
            blend: FloatParam::new("Blend", 0.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            x: FloatParam::new("Pad X", 0.0, pad_range()).with_value_to_string(v2s(3)),
            y: FloatParam::new("Pad Y", 0.0, pad_range()).with_value_to_string(v2s(3)),
            fine: FloatParam::new("Fine", 0.0, pad_range()).with_value_to_string(v2s(3)),
            range: FloatParam::new("Range", 2.0, FloatRange::Linear { min: 0.1, max: 4.0 })
                .with_unit(" σ")
                .with_value_to_string(v2s(2)),
            variation: FloatParam::new("Variation", 0.0, FloatRange::Linear { min: 0.0, max: 2.0 })
                .with_unit(" σ")
                .with_value_to_string(v2s(2)),
            seed: IntParam::new("Seed", 0, IntRange::Linear { min: 0, max: 9999 }),
            gain: FloatParam::new("Gain", 0.0, gain_range())
                .with_smoother(SmoothingStyle::Linear(20.0))
                .with_unit(" dB")
                .with_value_to_string(v2s(1)),
            vel_sens: FloatParam::new("Velocity sensitivity", 0.8, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            tune: FloatParam::new("Tune", 0.0, FloatRange::Linear { min: -24.0, max: 24.0 })
                .with_unit(" st")
                .with_value_to_string(v2s(2)),
            length: FloatParam::new("Length", 1.0, FloatRange::Linear { min: 0.05, max: 1.0 })
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            polyphony: IntParam::new("Polyphony", 16, IntRange::Linear { min: 1, max: 64 })
                .with_unit(" voices"),
        }
    }
}

impl NdmParams {
    /// The current (unsmoothed) values as a plain copy for the audio thread. Allocation-free.
    pub fn snapshot(&self) -> ParamSnapshot {
        ParamSnapshot {
            class: self.class.value().to_index(),
            blend_class: self.blend_class.value().to_index(),
            blend: self.blend.value(),
            x: self.x.value(),
            y: self.y.value(),
            fine: self.fine.value(),
            range: self.range.value(),
            variation: self.variation.value(),
            seed: self.seed.value().max(0) as u32,
            play: PlaySettings {
                gain: 1.0,
                velocity_sensitivity: self.vel_sens.value(),
                tune_semitones: self.tune.value(),
                length: self.length.value(),
                polyphony: self.polyphony.value().clamp(1, 64) as usize,
            },
        }
    }
}
