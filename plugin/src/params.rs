//! The plugin's parameters: 16 pads × (sound recipe + playback), every one automatable, with
//! string ids that never change (saved projects and host automation refer to them):
//! `p01_class`, `p01_x`, … `p16_mute`, one host group per pad ("Pad 3 / X").
//!
//! Ranges are linear so that a host's normalised value maps to the plain value by a straight line.
//! The parameter values are atomics inside nice-plug's param types: the audio thread reads the
//! playback values every block ([`NdmParams::kit_snapshot`]), the inference worker reads the
//! recipes through [`KitSource`] (so changes reach it even when the host does not call
//! `process()`), the GUI thread reads and sets them through gestures.

use crate::audio::KitSnapshot;
use crate::state::StateStore;
use ndm_core::kit::{self, KitSource, PadPlayback, PadTarget, AUX_OUTPUTS, CHOKE_GROUPS, GM_KIT, PADS};
use ndm_core::meta::ModelMeta;
use ndm_core::SoundParams;
use nice_plug::params::internals::ParamPtr;
use nice_plug::prelude::*;
use std::sync::Arc;

/// Class names of the shipped model, in its conditioning order: the class slots of the default
/// kit and the names shown before a model has loaded.
pub const DEFAULT_CLASS_NAMES: [&str; 11] = kit::SHIPPED_CLASSES;

/// Class slots a class parameter offers: the loaded model's class `k` is slot `k`
/// (`ndm_core::MAX_CLASSES` = 16, the most classes a model may have).
pub const CLASS_SLOTS: usize = ndm_core::MAX_CLASSES;

/// The slot of a shipped class name (0 for an unknown name).
pub fn default_class_index(name: &str) -> usize {
    kit::shipped_class_slot(name)
}

/// "hihat_closed" → "Hihat closed": a class name as the selectors show it.
pub fn display_class(name: &str) -> String {
    let mut out = name.replace('_', " ");
    if let Some(first) = out.get(..1) {
        let upper = first.to_uppercase();
        out.replace_range(..1, &upper);
    }
    out
}

/// The class names of the loaded model, shared by the class parameters' text conversion (host
/// threads), the editor (GUI thread) and the worker, which updates them when a model with other
/// classes loads. Never touched by the audio thread.
#[derive(Debug)]
pub struct ClassNames(parking_lot::RwLock<Vec<String>>);

impl Default for ClassNames {
    fn default() -> Self {
        ClassNames(parking_lot::RwLock::new(DEFAULT_CLASS_NAMES.iter().map(|s| s.to_string()).collect()))
    }
}

impl ClassNames {
    /// The current names, in conditioning order.
    pub fn get(&self) -> Vec<String> {
        self.0.read().clone()
    }

    /// Replaces the names (when a model loads) if they differ.
    pub fn set(&self, names: &[String]) {
        if *self.0.read() != names {
            *self.0.write() = names.to_vec();
        }
    }

    /// The text of slot `slot`: its class name, or "Class N (not in model)".
    pub fn label(&self, slot: i32) -> String {
        let names = self.0.read();
        match usize::try_from(slot).ok().and_then(|s| names.get(s)) {
            Some(name) => display_class(name),
            None => format!("Class {} (not in model)", slot + 1),
        }
    }

    /// Parses a class name (as stored, or as shown), "Class N" or a slot number.
    pub fn parse(&self, text: &str) -> Option<i32> {
        let t = text.trim();
        let names = self.0.read();
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(t) || display_class(n).eq_ignore_ascii_case(t)) {
            return Some(i as i32);
        }
        let t = t.split(" (").next().unwrap_or(t);
        let number = t.strip_prefix("Class ").or_else(|| t.strip_prefix("class ")).map(|n| n.trim().parse::<i32>().ok().map(|n| n - 1));
        let n = match number {
            Some(n) => n?,
            None => t.parse().ok()?,
        };
        (0..CLASS_SLOTS as i32).contains(&n).then_some(n)
    }
}

/// Pad axis range: −1 … 1 (x, y, fine, pan).
pub fn bipolar_range() -> FloatRange {
    FloatRange::Linear { min: -1.0, max: 1.0 }
}

/// Pad gain range in dB.
pub fn gain_range() -> FloatRange {
    FloatRange::Linear { min: -36.0, max: 12.0 }
}

fn v2s(digits: usize) -> Arc<dyn Fn(f32) -> String + Send + Sync> {
    formatters::v2s_f32_rounded(digits)
}

fn percent(name: &str, default: f32, min: f32) -> FloatParam {
    FloatParam::new(name, default, FloatRange::Linear { min, max: 1.0 })
        .with_unit(" %")
        .with_value_to_string(formatters::v2s_f32_percentage(0))
        .with_string_to_value(formatters::s2v_f32_percentage())
}

/// A class parameter: slot 0…15 of the loaded model's classes, shown and parsed by name.
fn class_param(name: String, default: usize, names: &Arc<ClassNames>) -> IntParam {
    let (show, read) = (names.clone(), names.clone());
    IntParam::new(name, default as i32, IntRange::Linear { min: 0, max: CLASS_SLOTS as i32 - 1 })
        .with_value_to_string(Arc::new(move |v| show.label(v)))
        .with_string_to_value(Arc::new(move |s| read.parse(s)))
}

/// One pad's parameters: the sound recipe (what the model makes) and the playback settings (what
/// a note-on does with the sound). Ids here are the suffixes after `pNN_`.
#[derive(Params)]
pub struct PadParams {
    /// Main drum class: slot 0…15 of the loaded model's classes (the class names come from the
    /// model; a slot beyond its class count is "not in model").
    #[id = "class"]
    pub class: IntParam,
    /// Class blended in by `blend` (a slot, like `class`).
    #[id = "blend_class"]
    pub blend_class: IntParam,
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
    /// Detail 0…1: how much of the encoded sample's own spectrogram detail the pad keeps (only
    /// pads anchored on a sample; 1 at the sample's position plays its own spectrogram through
    /// the inverter).
    #[id = "detail"]
    pub detail: FloatParam,
    /// MIDI note that plays the pad, 0…127 (any channel).
    #[id = "note"]
    pub note: IntParam,
    /// Pad gain in dB, −36…+12 (applied at note-on).
    #[id = "gain"]
    pub gain: FloatParam,
    /// Pan, −1 (left) … +1 (right).
    #[id = "pan"]
    pub pan: FloatParam,
    /// Tuning in semitones, −24…24 (band-limited resampling on the worker: changing it costs a
    /// resampling, not a model call).
    #[id = "tune"]
    pub tune: FloatParam,
    /// Length (decay) as a fraction of the sound, 0.05…1.
    #[id = "length"]
    pub length: FloatParam,
    /// Velocity sensitivity 0…1 (0: every note at full level).
    #[id = "vel_sens"]
    pub vel_sens: FloatParam,
    /// Choke group, 0 (none) … 8.
    #[id = "choke"]
    pub choke: IntParam,
    /// Output: 0 = main, 1…8 = aux output n.
    #[id = "output"]
    pub output: IntParam,
    /// Mute.
    #[id = "mute"]
    pub mute: BoolParam,
}

impl PadParams {
    /// Pad `index` (0…15) with the default kit's values ([`GM_KIT`]).
    /// Parameter names carry the pad ("Pad 3 X"): hosts that list parameters without their group
    /// (VST3 hosts, automation lanes) can tell the pads apart.
    pub fn new(index: usize, names: &Arc<ClassNames>) -> Self {
        let d = GM_KIT[index.min(PADS - 1)];
        let class = default_class_index(d.class);
        let n = |name: &str| format!("Pad {} {name}", index + 1);
        PadParams {
            class: class_param(n("Class"), class, names),
            blend_class: class_param(n("Blend class"), class, names),
            blend: percent(&n("Blend"), 0.0, 0.0),
            x: FloatParam::new(n("X"), 0.0, bipolar_range()).with_value_to_string(v2s(3)),
            y: FloatParam::new(n("Y"), 0.0, bipolar_range()).with_value_to_string(v2s(3)),
            fine: FloatParam::new(n("Fine"), 0.0, bipolar_range()).with_value_to_string(v2s(3)),
            range: FloatParam::new(n("Range"), kit::DEFAULT_RANGE, FloatRange::Linear { min: 0.1, max: 4.0 })
                .with_unit(" σ")
                .with_value_to_string(v2s(2)),
            variation: FloatParam::new(n("Variation"), kit::DEFAULT_VARIATION, FloatRange::Linear { min: 0.0, max: 2.0 })
                .with_unit(" σ")
                .with_value_to_string(v2s(2)),
            seed: IntParam::new(n("Seed"), d.seed as i32, IntRange::Linear { min: 0, max: 9999 }),
            detail: percent(&n("Detail"), 0.0, 0.0),
            note: IntParam::new(n("Note"), i32::from(d.note), IntRange::Linear { min: 0, max: 127 })
                .with_value_to_string(Arc::new(|n| note_name(n as u8)))
                .with_string_to_value(Arc::new(parse_note)),
            gain: FloatParam::new(n("Gain"), 0.0, gain_range()).with_unit(" dB").with_value_to_string(v2s(1)),
            pan: FloatParam::new(n("Pan"), 0.0, bipolar_range()).with_value_to_string(v2s(2)),
            tune: FloatParam::new(n("Tune"), d.tune, FloatRange::Linear { min: -24.0, max: 24.0 })
                .with_unit(" st")
                .with_value_to_string(v2s(2)),
            length: percent(&n("Length"), d.length, 0.05),
            vel_sens: percent(&n("Velocity"), 0.8, 0.0),
            choke: IntParam::new(n("Choke group"), i32::from(d.choke_group), IntRange::Linear { min: 0, max: i32::from(CHOKE_GROUPS) })
                .with_value_to_string(Arc::new(|g| if g == 0 { "Off".into() } else { g.to_string() }))
                .with_string_to_value(Arc::new(|s| {
                    let s = s.trim();
                    if s.eq_ignore_ascii_case("off") { Some(0) } else { s.parse().ok() }
                })),
            output: IntParam::new(n("Output"), 0, IntRange::Linear { min: 0, max: AUX_OUTPUTS as i32 })
                .with_value_to_string(Arc::new(|o| if o == 0 { "Main".into() } else { format!("Aux {o}") }))
                .with_string_to_value(Arc::new(|s| {
                    let s = s.trim();
                    let lower = s.to_ascii_lowercase();
                    match lower.strip_prefix("aux") {
                        _ if lower == "main" => Some(0),
                        Some(n) => n.trim().parse().ok(),
                        None => s.parse().ok(),
                    }
                })),
            mute: BoolParam::new(n("Mute"), false),
        }
    }

    /// The playback settings for the voices (allocation-free).
    pub fn playback(&self) -> PadPlayback {
        PadPlayback {
            note: self.note.value().clamp(0, 127) as u8,
            gain: util::db_to_gain(self.gain.value()),
            pan: self.pan.value(),
            length: self.length.value(),
            velocity_sensitivity: self.vel_sens.value(),
            choke_group: self.choke.value().clamp(0, i32::from(CHOKE_GROUPS)) as u8,
            output: self.output.value().clamp(0, AUX_OUTPUTS as i32) as u8,
            mute: self.mute.value(),
        }
    }

    /// The pad's recipe in plugin terms (class slots, values as set).
    pub fn recipe(&self) -> Recipe {
        Recipe {
            class: self.class.value().clamp(0, CLASS_SLOTS as i32 - 1) as usize,
            blend_class: self.blend_class.value().clamp(0, CLASS_SLOTS as i32 - 1) as usize,
            blend: self.blend.value(),
            x: self.x.value(),
            y: self.y.value(),
            fine: self.fine.value(),
            range: self.range.value(),
            variation: self.variation.value(),
            seed: self.seed.value().max(0) as u32,
            detail: self.detail.value(),
        }
    }
}

/// "C1", "F#1", … (C4 = 60, Yamaha/Cubase octave numbering, as most drum maps print it: 36 = C1).
pub fn note_name(note: u8) -> String {
    const NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    format!("{}{} ({note})", NAMES[usize::from(note % 12)], i32::from(note / 12) - 2)
}

/// Parses what [`note_name`] prints ("C1 (36)"), a note name ("F#1", "Bb2") or a plain number.
pub fn parse_note(text: &str) -> Option<i32> {
    let t = text.trim();
    if let (Some(open), Some(close)) = (t.rfind('('), t.rfind(')')) {
        if open < close {
            return t[open + 1..close].trim().parse().ok().filter(|n| (0..=127).contains(n));
        }
    }
    if let Ok(n) = t.parse::<i32>() {
        return (0..=127).contains(&n).then_some(n);
    }
    let mut chars = t.chars();
    let base = match chars.next()?.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let rest: String = chars.collect();
    let (shift, octave) = match rest.strip_prefix('#') {
        Some(o) => (1, o),
        None => match rest.strip_prefix('b') {
            Some(o) => (-1, o),
            None => (0, rest.as_str()),
        },
    };
    let octave: i32 = octave.trim().parse().ok()?;
    let n = (octave + 2) * 12 + base + shift;
    (0..=127).contains(&n).then_some(n)
}

/// A pad's recipe in the plugin's own terms: what determines its sound. Its [`Recipe::key`] is
/// the identity of the sound (saved with the project).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    /// Class slot (the loaded model's class index).
    pub class: usize,
    /// Blend class slot.
    pub blend_class: usize,
    /// Blend amount 0…1.
    pub blend: f32,
    /// Pad X, −1…1.
    pub x: f32,
    /// Pad Y, −1…1.
    pub y: f32,
    /// Fine, −1…1.
    pub fine: f32,
    /// Range, σ.
    pub range: f32,
    /// Variation, σ.
    pub variation: f32,
    /// Variation seed.
    pub seed: u32,
    /// Detail 0…1 (anchored pads only).
    pub detail: f32,
}

impl Recipe {
    /// A stable 64-bit identity of this recipe plus the pad's anchor: FNV-1a over the values'
    /// bits (stable across builds and machines, unlike `std`'s hasher). The blend class does not
    /// count while the blend is 0.
    pub fn key(&self, anchor: Option<&ndm_core::Latent>) -> u64 {
        let mut h = Fnv1a::new();
        h.u32(self.class as u32);
        h.u32(if self.blend == 0.0 { self.class as u32 } else { self.blend_class as u32 });
        for v in [self.blend, self.x, self.y, self.fine, self.range, self.variation] {
            h.u32(v.to_bits());
        }
        h.u32(self.seed);
        match anchor {
            Some(z) => {
                h.u32(1);
                z.iter().for_each(|v| h.u32(v.to_bits()));
                // only anchored pads have detail; 0 hashes as before the detail control existed,
                // so older projects keep their keys
                if self.detail != 0.0 {
                    h.u32(2);
                    h.u32(self.detail.to_bits());
                }
            }
            None => h.u32(0),
        }
        h.0
    }

    /// The decoder inputs for this recipe.
    pub fn sound_params(&self, anchor: Option<ndm_core::Latent>) -> SoundParams {
        SoundParams {
            class_weights: class_weights(self.class, self.blend_class, self.blend),
            x: self.x,
            y: self.y,
            fine: self.fine,
            range: self.range,
            variation: self.variation,
            seed: u64::from(self.seed),
            anchor,
            detail: if anchor.is_some() { self.detail } else { 0.0 },
        }
    }
}

/// Class weights `(1 − blend)·onehot(class) + blend·onehot(blend_class)` over the class slots.
pub fn class_weights(class: usize, blend_class: usize, blend: f32) -> [f32; CLASS_SLOTS] {
    let blend = if blend.is_finite() { blend.clamp(0.0, 1.0) } else { 0.0 };
    let mut w = [0.0; CLASS_SLOTS];
    w[class.min(CLASS_SLOTS - 1)] += 1.0 - blend;
    w[blend_class.min(CLASS_SLOTS - 1)] += blend;
    w
}

/// FNV-1a, 64 bit (Fowler, Noll, Vo; IETF draft-eastlake-fnv).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn u32(&mut self, v: u32) {
        for b in v.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The 16 pads. Implements [`Params`] by hand (rather than `#[nested(array)]`, whose ids would be
/// `x_1`…) to give the ids `p01_x` … `p16_mute` and the groups "Pad 1" … "Pad 16".
pub struct KitParams {
    /// The pads, in grid order (pad 1 top left).
    pub pads: [PadParams; PADS],
}

impl KitParams {
    /// The default kit, its class parameters named from `names`.
    pub fn new(names: &Arc<ClassNames>) -> Self {
        KitParams { pads: std::array::from_fn(|i| PadParams::new(i, names)) }
    }
}

/// The host id of pad `pad`'s (0-based) parameter `suffix`, e.g. `pad_param_id(2, "x")` = `p03_x`.
pub fn pad_param_id(pad: usize, suffix: &str) -> String {
    format!("p{:02}_{suffix}", pad + 1)
}

// SAFETY: the pointers come from the pads' derived `param_map()`, and point into `self`, which
// nice-plug keeps alive (inside the plugin's `Arc<NdmParams>`) for as long as it uses them.
unsafe impl Params for KitParams {
    fn param_map(&self) -> Vec<(String, ParamPtr, String)> {
        let mut map = Vec::with_capacity(PADS * 19);
        for (i, pad) in self.pads.iter().enumerate() {
            let group = format!("Pad {}", i + 1);
            for (id, ptr, _) in pad.param_map() {
                map.push((pad_param_id(i, &id), ptr, group.clone()));
            }
        }
        map
    }
}

/// All parameters plus the persisted kit state. Shared (`Arc`) between the plugin (audio and main
/// thread), the editor (GUI thread) and the inference worker (as its [`KitSource`]).
#[derive(Params)]
pub struct NdmParams {
    /// Per-pad anchors (encoded samples) and the pads' sounds, saved with the project as versioned
    /// JSON. Main thread (state load/save), GUI thread (encode, clear) and worker (reads anchors).
    #[persist = "ndm-state"]
    pub state: StateStore,

    /// The 16 pads.
    #[nested]
    pub kit: KitParams,

    /// The loaded model's class names (see [`ClassNames`] for who touches them).
    pub classes: Arc<ClassNames>,
}

impl NdmParams {
    /// Parameters with the default kit, persisting into `state`.
    pub fn new(state: StateStore) -> Self {
        let classes = Arc::new(ClassNames::default());
        NdmParams { state, kit: KitParams::new(&classes), classes }
    }

    /// Pad `pad` (clamped to 0…15).
    pub fn pad(&self, pad: usize) -> &PadParams {
        &self.kit.pads[pad.min(PADS - 1)]
    }

    /// Copies the playback values of every pad into `out` and rebuilds its note map and choke
    /// masks. Allocation- and lock-free (audio thread).
    pub fn kit_snapshot(&self, out: &mut KitSnapshot) {
        out.note_pads = [0; 128];
        out.choke_masks = [0; CHOKE_GROUPS as usize + 1];
        for (i, pad) in self.kit.pads.iter().enumerate() {
            let play = pad.playback();
            out.note_pads[usize::from(play.note)] |= 1 << i;
            out.choke_masks[usize::from(play.choke_group)] |= 1 << i;
            out.play[i] = play;
        }
        out.choke_masks[0] = 0;
    }

}

impl KitSource for NdmParams {
    fn target(&self, pad: usize, meta: &ModelMeta) -> PadTarget {
        self.classes.set(&meta.classes);
        let recipe = self.pad(pad).recipe();
        let anchor = self.state.anchor(pad);
        PadTarget { key: recipe.key(anchor.as_ref()), params: recipe.sound_params(anchor) }
    }

    fn playable(&self, pad: usize, meta: &ModelMeta) -> Result<(), String> {
        let r = self.pad(pad).recipe();
        let n = meta.classes.len();
        let missing = if r.class >= n { Some(r.class) } else if r.blend > 0.0 && r.blend_class >= n { Some(r.blend_class) } else { None };
        match missing {
            Some(slot) => Err(format!(
                "class {} is not in model “{}” ({n} classes: {}); the pad keeps its sound",
                slot + 1,
                meta.name,
                meta.classes.join(", ")
            )),
            None => Ok(()),
        }
    }

    fn tune_semitones(&self, pad: usize) -> f32 {
        self.pad(pad).tune.value()
    }

    fn detail(&self, pad: usize) -> Option<Arc<ndm_core::generate::DetailResidual>> {
        self.state.residual(pad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_grouped_per_pad() {
        let params = NdmParams::new(StateStore::default());
        let map = params.param_map();
        assert_eq!(map.len(), PADS * 19);
        let ids: Vec<&str> = map.iter().map(|(id, _, _)| id.as_str()).collect();
        for id in ["p01_class", "p01_x", "p03_x", "p16_mute", "p10_choke", "p05_output", "p07_note"] {
            assert!(ids.contains(&id), "missing {id}");
        }
        let (_, _, group) = map.iter().find(|(id, _, _)| id == "p03_x").unwrap();
        assert_eq!(group, "Pad 3");
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn the_default_kit_is_the_gm_map_with_hats_in_choke_group_1() {
        let params = NdmParams::new(StateStore::default());
        let mut snap = KitSnapshot::default();
        params.kit_snapshot(&mut snap);
        assert_eq!(snap.note_pads[36], 1 << 0);
        assert_eq!(params.pad(0).class.value(), 0);
        assert_eq!(params.pad(1).class.value(), 1);
        assert_eq!(params.pad(4).class.value(), default_class_index("hihat_closed") as i32);
        let hats: u16 = [42, 44, 46].iter().map(|&n| snap.note_pads[n]).fold(0, |a, b| a | b);
        assert_eq!(snap.choke_masks[1], hats);
        assert_eq!(hats.count_ones(), 3);
        assert_eq!(snap.note_pads.iter().map(|m| m.count_ones()).sum::<u32>(), 16);
        let seeds: std::collections::BTreeSet<i32> = params.kit.pads.iter().map(|p| p.seed.value()).collect();
        assert_eq!(seeds.len(), 16);
        assert_eq!(note_name(36), "C1 (36)");
        for n in 0..128u8 {
            assert_eq!(parse_note(&note_name(n)), Some(i32::from(n)));
        }
        assert_eq!(parse_note("F#1"), Some(42));
        assert_eq!(parse_note("Bb1"), Some(46));
        assert_eq!(parse_note("nonsense"), None);
        let p = PadParams::new(0, &Arc::new(ClassNames::default()));
        for (param, text, value) in [(&p.choke, "Off", 0), (&p.choke, "3", 3), (&p.output, "Main", 0), (&p.output, "Aux 4", 4)] {
            assert_eq!(param.string_to_normalized_value(text), Some(param.preview_normalized(value)), "{text}");
        }
    }

    #[test]
    fn recipe_keys_change_with_the_sound_only() {
        let names = Arc::new(ClassNames::default());
        let a = PadParams::new(0, &names).recipe();
        assert_eq!(a.key(None), a.key(None));
        assert_ne!(a.key(None), Recipe { x: 0.5, ..a }.key(None));
        assert_ne!(a.key(None), Recipe { seed: 7, ..a }.key(None));
        assert_ne!(a.key(None), a.key(Some(&[0.0; 64])));
        // The blend class is irrelevant at blend 0.
        assert_eq!(a.key(None), Recipe { blend_class: 5, ..a }.key(None));
        // Detail counts on an anchored pad only (an unanchored pad has no sample detail).
        let z = [0.5; 64];
        assert_ne!(a.key(Some(&z)), Recipe { detail: 0.5, ..a }.key(Some(&z)));
        assert_eq!(a.key(None), Recipe { detail: 0.5, ..a }.key(None));
        assert_eq!(Recipe { detail: 0.5, ..a }.sound_params(None).detail, 0.0);
        assert_eq!(Recipe { detail: 0.5, ..a }.sound_params(Some(z)).detail, 0.5);
        // Pinned: the key is saved in projects and must not change between builds.
        // (pad 1's default recipe, variation 0.3 spelled out)
        assert_eq!(Recipe { variation: 0.3, ..PadParams::new(0, &names).recipe() }.key(None), 2_466_040_634_537_222_310);
    }

    #[test]
    fn class_parameters_show_the_loaded_models_classes() {
        let params = NdmParams::new(StateStore::default());
        let class = &params.pad(1).class;
        assert_eq!(class.normalized_value_to_string(class.preview_normalized(1), false), "Snare");
        assert_eq!(class.string_to_normalized_value("Hihat closed"), Some(class.preview_normalized(3)));
        assert_eq!(class.string_to_normalized_value("snare"), Some(class.preview_normalized(1)));
        assert_eq!(class.normalized_value_to_string(class.preview_normalized(12), false), "Class 13 (not in model)");
        assert_eq!(class.string_to_normalized_value("Class 13 (not in model)"), Some(class.preview_normalized(12)));
        // A user's model with its own classes renames the slots.
        params.classes.set(&["zap".to_string(), "thud".to_string()]);
        assert_eq!(class.normalized_value_to_string(class.preview_normalized(1), false), "Thud");
        assert_eq!(class.normalized_value_to_string(class.preview_normalized(2), false), "Class 3 (not in model)");
        assert_eq!(class.string_to_normalized_value("zap"), Some(class.preview_normalized(0)));
        assert_eq!(display_class("metal_shaker"), "Metal shaker");
        assert_eq!(class_weights(2, 5, 0.25)[..6], [0.0, 0.0, 0.75, 0.0, 0.0, 0.25]);
    }
}
