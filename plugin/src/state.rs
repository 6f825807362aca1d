//! The persisted kit state ("ndm-state" in the project): per pad, the encoded-sample anchor and
//! the pad's sound, so a reopened project plays every pad bit-exactly as saved without asking the
//! model (also after a model update, on another CPU, or when the model fails to load).
//!
//! Versioned JSON, parsed here so that a corrupt or foreign blob gives defaults plus a warning for
//! the editor instead of an error deep in the host:
//!
//! ```json
//! {"format":"ndm-state","version":2,"model":"ndm-wae-…",
//!  "pads":[{"anchor":[64 floats]|null,"position":[x,y,fine]|null,"sample_name":"kick.wav"|null,
//!           "sound":{"key":123,"sample_rate":22050,"pcm16":"<base64 of little-endian i16>"}|null,
//!           "detail":{"values":6880,"step":0.0009765625,"i16":"<base64 of little-endian i16>"}|null},
//!          … 16 pads]}
//! ```
//! Version 1 (the single-sound plugin: one anchor, no audio) loads into pad 1.

use base64::Engine as _;
use ndm_core::engine::{Command, Commander, StatusHandle};
use ndm_core::generate::DetailResidual;
use ndm_core::kit::{NativeAudio, PADS};
use ndm_core::{Latent, LATENT_DIM};
use nice_plug::params::persist::PersistentField;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Key of the persisted field in the plugin state.
pub const STATE_KEY: &str = "ndm-state";
/// `format` tag of the JSON.
pub const STATE_FORMAT: &str = "ndm-state";
/// Version of the JSON layout this build writes.
pub const STATE_VERSION: u32 = 2;
/// Longest stored sound accepted, in samples (60 s at 48 kHz): a guard against absurd blobs.
const MAX_STORED_SAMPLES: usize = 48_000 * 60;

/// A pad's sound as saved: its recipe key and 16-bit PCM at the model rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSound {
    /// Recipe key of the sound ([`crate::params::Recipe::key`]).
    pub key: u64,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Base64 (standard alphabet) of the little-endian 16-bit samples.
    pub pcm16: String,
}

impl SavedSound {
    /// Encodes `audio` with its key.
    pub fn from_audio(key: u64, audio: &NativeAudio) -> Self {
        let bytes: Vec<u8> = audio.pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        SavedSound { key, sample_rate: audio.sample_rate, pcm16: base64::engine::general_purpose::STANDARD.encode(bytes) }
    }

    /// Decodes the audio.
    ///
    /// # Errors
    /// A message when the base64 is invalid, the byte count is odd, the rate is absurd or the
    /// sound is longer than 60 s.
    pub fn audio(&self) -> Result<NativeAudio, String> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(&self.pcm16).map_err(|e| format!("bad audio data ({e})"))?;
        if bytes.len() % 2 != 0 || bytes.len() / 2 > MAX_STORED_SAMPLES {
            return Err(format!("bad audio length ({} bytes)", bytes.len()));
        }
        if !(8_000..=384_000).contains(&self.sample_rate) {
            return Err(format!("bad sample rate {} Hz", self.sample_rate));
        }
        let pcm = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        Ok(NativeAudio { sample_rate: self.sample_rate, pcm })
    }
}

/// Longest detail residual accepted, in values (256 Mel bands × 1024 frames).
const MAX_RESIDUAL_VALUES: usize = 256 * 1024;
/// Quantisation step of a saved detail residual, normalised log-Mel units (±32 covered).
const RESIDUAL_STEP: f32 = 1.0 / 1024.0;

/// An encoded sample's detail residual as saved ([`DetailResidual`] against the pad's anchor):
/// 16-bit values in steps of `step` normalised log-Mel units (0.004 dB at the shipped model's
/// normalisation: far below what the ear or the inverter resolves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedResidual {
    /// Number of values (`n_mels · n_frames` of the model it was made with).
    pub values: usize,
    /// Quantisation step.
    pub step: f32,
    /// Base64 (standard alphabet) of the little-endian 16-bit values.
    pub i16: String,
}

impl SavedResidual {
    /// Quantises `values`.
    pub fn from_values(values: &[f32]) -> Self {
        let bytes: Vec<u8> = values
            .iter()
            .map(|v| (v / RESIDUAL_STEP).round().clamp(-32_768.0, 32_767.0) as i16)
            .flat_map(|q| q.to_le_bytes())
            .collect();
        SavedResidual { values: values.len(), step: RESIDUAL_STEP, i16: base64::engine::general_purpose::STANDARD.encode(bytes) }
    }

    /// The values back.
    ///
    /// # Errors
    /// A message when the base64 is invalid, the count disagrees or is absurd, or the step is not
    /// a small positive number.
    pub fn to_values(&self) -> Result<Vec<f32>, String> {
        if self.values == 0 || self.values > MAX_RESIDUAL_VALUES || !(self.step > 0.0 && self.step <= 1.0) {
            return Err(format!("bad detail residual ({} values, step {})", self.values, self.step));
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(&self.i16).map_err(|e| format!("bad detail data ({e})"))?;
        if bytes.len() != self.values * 2 {
            return Err(format!("bad detail length ({} bytes for {} values)", bytes.len(), self.values));
        }
        Ok(bytes.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * self.step).collect())
    }
}

/// What is saved of one pad besides its parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedPad {
    /// Latent `z` `[64]` of the encoded sample the pad is anchored on.
    #[serde(default)]
    pub anchor: Option<Vec<f32>>,
    /// Pad position `(x, y, fine)` of the encoded sample.
    #[serde(default)]
    pub position: Option<[f32; 3]>,
    /// File name of the encoded sample (for display).
    #[serde(default)]
    pub sample_name: Option<String>,
    /// The pad's sound.
    #[serde(default)]
    pub sound: Option<SavedSound>,
    /// The encoded sample's detail residual (absent in projects saved before the detail control).
    #[serde(default)]
    pub detail: Option<SavedResidual>,
}

impl SavedPad {
    /// The anchor as a latent, when present and valid.
    pub fn latent(&self) -> Option<Latent> {
        let a = self.anchor.as_ref()?;
        if a.len() != LATENT_DIM || a.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut z = [0.0; LATENT_DIM];
        z.copy_from_slice(a);
        Some(z)
    }
}

/// The whole saved kit state (version 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedState {
    /// Always [`STATE_FORMAT`].
    #[serde(default)]
    pub format: String,
    /// Layout version.
    #[serde(default)]
    pub version: u32,
    /// Name of the model the sounds were made with (informational; see `model_ref`).
    #[serde(default)]
    pub model: Option<String>,
    /// The model the project plays: name, hash and folder (absent in projects saved before the
    /// model chooser; they play the embedded model).
    #[serde(default)]
    pub model_ref: Option<crate::models::ModelRef>,
    /// The 16 pads.
    #[serde(default)]
    pub pads: Vec<SavedPad>,
}

impl Default for SavedState {
    fn default() -> Self {
        SavedState { format: STATE_FORMAT.into(), version: STATE_VERSION, model: None, model_ref: None, pads: vec![SavedPad::default(); PADS] }
    }
}

/// Version 1 (the single-sound plugin).
#[derive(Deserialize)]
struct SavedStateV1 {
    #[serde(default)]
    anchor: Option<Vec<f32>>,
    #[serde(default)]
    position: Option<[f32; 3]>,
    #[serde(default)]
    sample_name: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: String,
    #[serde(default)]
    version: u32,
}

/// Parses a saved state. An empty string (no saved state) gives defaults without warning; anything
/// that is not a valid state of this plugin gives defaults (or the valid part) and a warning.
pub fn parse_state(json: &str) -> (SavedState, Option<String>) {
    if json.trim().is_empty() {
        return (SavedState::default(), None);
    }
    let header: Header = match serde_json::from_str(json) {
        Ok(h) => h,
        Err(e) => return (SavedState::default(), Some(format!("saved state unreadable ({e}); using the default kit"))),
    };
    if header.format != STATE_FORMAT {
        return (SavedState::default(), Some("saved state is not a Neural Drum Machine state; using the default kit".into()));
    }
    let mut state = match header.version {
        1 => match serde_json::from_str::<SavedStateV1>(json) {
            Ok(v1) => {
                // The single-sound plugin's sample becomes pad 1's.
                let mut s = SavedState::default();
                s.pads[0] = SavedPad { anchor: v1.anchor, position: v1.position, sample_name: v1.sample_name, sound: None, detail: None };
                s
            }
            Err(e) => return (SavedState::default(), Some(format!("saved state (version 1) unreadable ({e}); using the default kit"))),
        },
        2 => match serde_json::from_str::<SavedState>(json) {
            Ok(s) => s,
            Err(e) => return (SavedState::default(), Some(format!("saved state unreadable ({e}); using the default kit"))),
        },
        v => {
            return (
                SavedState::default(),
                Some(format!("saved state version {v} is not supported (this build reads 1 and {STATE_VERSION}); using the default kit")),
            )
        }
    };
    state.format = STATE_FORMAT.into();
    state.version = STATE_VERSION;
    state.pads.resize(PADS, SavedPad::default());
    let mut problems = Vec::new();
    for (i, pad) in state.pads.iter_mut().enumerate() {
        if pad.anchor.is_some() && pad.latent().is_none() {
            problems.push(format!("pad {}: sample latent invalid (needs {LATENT_DIM} finite values), dropped", i + 1));
            *pad = SavedPad { sound: pad.sound.take(), ..Default::default() };
        }
        if let Some(sound) = &pad.sound {
            if let Err(e) = sound.audio() {
                problems.push(format!("pad {}: stored sound dropped: {e}", i + 1));
                pad.sound = None;
            }
        }
        if let Some(detail) = &pad.detail {
            if pad.anchor.is_none() {
                pad.detail = None;
            } else if let Err(e) = detail.to_values() {
                problems.push(format!("pad {}: sample detail dropped: {e}", i + 1));
                pad.detail = None;
            }
        }
    }
    let warning = (!problems.is_empty()).then(|| problems.join("; "));
    (state, warning)
}

/// What the store keeps of each pad (main and GUI threads; the worker reads anchors).
#[derive(Debug, Clone, Default, PartialEq)]
struct PadInfo {
    anchor: Option<Latent>,
    position: Option<[f32; 3]>,
    sample_name: Option<String>,
    /// The sample's detail residual against `anchor`.
    residual: Option<Arc<DetailResidual>>,
}

struct StoreInner {
    pads: [PadInfo; PADS],
    /// Warning from the last load, shown in the editor.
    warning: Option<String>,
    /// Model named by the last loaded state.
    model: Option<String>,
    /// The model the project asks for (last loaded state, or the chooser's last choice).
    model_ref: Option<crate::models::ModelRef>,
    /// Set when that model is not installed (shown in the editor).
    missing_model: Option<String>,
}

struct StoreShared {
    inner: Mutex<StoreInner>,
    /// The worker's status (the pads' sounds are read from it when the project is saved).
    status: StatusHandle,
    /// The worker's command queue, set once the engine exists.
    commander: Mutex<Option<Commander>>,
}

/// Cheap cloneable handle to the persisted kit state of one plugin instance. Used by the main
/// thread (state load/save), the GUI thread (encode, clear) and the worker (anchors, through the
/// parameters' `KitSource`); never by the audio thread.
#[derive(Clone)]
pub struct StateStore {
    shared: Arc<StoreShared>,
}

impl Default for StateStore {
    fn default() -> Self {
        Self::new(StatusHandle::new())
    }
}

impl StateStore {
    /// A store with the default (empty) state that saves the sounds published in `status`.
    pub fn new(status: StatusHandle) -> Self {
        StateStore {
            shared: Arc::new(StoreShared {
                inner: Mutex::new(StoreInner { pads: Default::default(), warning: None, model: None, model_ref: None, missing_model: None }),
                status,
                commander: Mutex::new(None),
            }),
        }
    }

    /// Connects the store to the engine's worker (plugin construction).
    pub fn attach(&self, commander: Commander) {
        *self.shared.commander.lock() = Some(commander);
    }

    /// Pad `pad`'s anchor (worker thread, every poll).
    pub fn anchor(&self, pad: usize) -> Option<Latent> {
        self.shared.inner.lock().pads.get(pad).and_then(|p| p.anchor)
    }

    /// Pad `pad`'s detail residual (worker thread, when it generates the pad).
    pub fn residual(&self, pad: usize) -> Option<Arc<DetailResidual>> {
        self.shared.inner.lock().pads.get(pad).and_then(|p| p.residual.clone())
    }

    /// Pad `pad`'s encoded sample: file name and pad position.
    pub fn sample(&self, pad: usize) -> (Option<String>, Option<[f32; 3]>, bool) {
        let inner = self.shared.inner.lock();
        let p = &inner.pads[pad.min(PADS - 1)];
        (p.sample_name.clone(), p.position, p.anchor.is_some())
    }

    /// The warning of the last state load, if it was corrupt or foreign.
    pub fn warning(&self) -> Option<String> {
        self.shared.inner.lock().warning.clone()
    }

    /// The model named by the last loaded project, if any.
    pub fn saved_model(&self) -> Option<String> {
        self.shared.inner.lock().model.clone()
    }

    /// The model the project asks for.
    pub fn wanted_model(&self) -> Option<crate::models::ModelRef> {
        self.shared.inner.lock().model_ref.clone()
    }

    /// Records the model the user chose (the chooser) or the project asks for.
    pub fn set_wanted_model(&self, model: Option<crate::models::ModelRef>) {
        let mut inner = self.shared.inner.lock();
        inner.model_ref = model;
        inner.missing_model = None;
    }

    /// Why the project's model is not the one playing, if it is not installed.
    pub fn missing_model(&self) -> Option<String> {
        self.shared.inner.lock().missing_model.clone()
    }

    /// Sets or clears [`StateStore::missing_model`].
    pub fn set_missing_model(&self, message: Option<String>) {
        self.shared.inner.lock().missing_model = message;
    }

    /// Resolves the model the project asks for and sends the worker a load of it
    /// ([`crate::models::resolve`]). Main or GUI thread.
    pub fn load_wanted_model(&self) -> bool {
        let resolved = crate::models::resolve(self.wanted_model().as_ref(), &crate::models::Settings::load());
        self.set_missing_model(resolved.missing);
        self.send(Command::Load(resolved.source))
    }

    /// Loads a saved JSON state (as the host does): anchors into the store, stored sounds to the
    /// worker (played without a model call while their recipe is unchanged). When a model is
    /// already loaded and the project asks for another one, that one is loaded (its stored
    /// sounds still play as saved).
    pub fn load_json(&self, json: &str) {
        let (state, warning) = parse_state(json);
        {
            let mut inner = self.shared.inner.lock();
            for (info, saved) in inner.pads.iter_mut().zip(&state.pads) {
                let anchor = saved.latent();
                let residual = anchor.zip(saved.detail.as_ref().and_then(|d| d.to_values().ok())).map(|(anchor, values)| Arc::new(DetailResidual { anchor, values }));
                *info = PadInfo { anchor, position: saved.position, sample_name: saved.sample_name.clone(), residual };
            }
            inner.warning = warning;
            inner.model = state.model.clone();
            inner.model_ref = state.model_ref.clone();
        }
        for (pad, saved) in state.pads.iter().enumerate() {
            if let Some(sound) = &saved.sound {
                if let Ok(audio) = sound.audio() {
                    let audio = Arc::new(audio);
                    // Published at once (not only when the worker gets to it), so that a save
                    // right after this load writes back the same sounds.
                    {
                        let mut status = self.shared.status.lock();
                        status.pads[pad].audio = Some((sound.key, audio.clone()));
                        status.pads[pad].from_state = true;
                    }
                    self.send(Command::SetStored { pad, key: sound.key, audio });
                }
            }
        }
        let loaded_hash = match &self.shared.status.lock().model {
            ndm_core::ModelState::Ready { hash, .. } => Some(hash.clone()),
            _ => None,
        };
        let wanted_hash = state.model_ref.as_ref().map(|m| m.hash.clone()).unwrap_or_else(|| crate::models::embedded_hash().to_string());
        if loaded_hash.is_some_and(|h| h != wanted_hash) {
            self.load_wanted_model();
        }
    }

    /// The state to save now: anchors plus every pad's current sound from the worker.
    pub fn saved_state(&self) -> SavedState {
        let inner = self.shared.inner.lock();
        let status = self.shared.status.lock();
        let (model, model_ref) = match &status.model {
            ndm_core::ModelState::Ready { name, hash, source, .. } => {
                let embedded = source == &ndm_core::engine::ModelSource::Bytes(crate::models::embedded()).describe();
                let dir = (!embedded).then(|| std::path::PathBuf::from(source));
                (Some(name.clone()), Some(crate::models::ModelRef { name: name.clone(), hash: hash.clone(), dir }))
            }
            _ => (inner.model.clone(), inner.model_ref.clone()),
        };
        let pads = inner
            .pads
            .iter()
            .zip(status.pads.iter())
            .map(|(info, ps)| SavedPad {
                anchor: info.anchor.map(|z| z.to_vec()),
                position: info.position,
                sample_name: info.sample_name.clone(),
                sound: ps.audio.as_ref().map(|(key, audio)| SavedSound::from_audio(*key, audio)),
                detail: info.residual.as_ref().map(|r| SavedResidual::from_values(&r.values)),
            })
            .collect();
        SavedState { format: STATE_FORMAT.into(), version: STATE_VERSION, model, model_ref, pads }
    }

    /// The JSON that is saved with the project.
    pub fn json(&self) -> String {
        serde_json::to_string(&self.saved_state()).unwrap_or_default()
    }

    /// Anchors pad `pad` on an encoded sample with its detail residual (GUI thread); the worker
    /// regenerates it.
    pub fn set_sample(&self, pad: usize, latent: &Latent, position: [f32; 3], sample_name: Option<String>, residual: Option<Arc<DetailResidual>>) {
        let mut inner = self.shared.inner.lock();
        if let Some(p) = inner.pads.get_mut(pad) {
            *p = PadInfo { anchor: Some(*latent), position: Some(position), sample_name, residual };
        }
        inner.warning = None;
    }

    /// Forgets pad `pad`'s sample (the worker regenerates the pad from its parameters).
    pub fn clear_sample(&self, pad: usize) {
        if let Some(p) = self.shared.inner.lock().pads.get_mut(pad) {
            *p = PadInfo::default();
        }
    }

    /// Sends a command to the worker; returns false when it is not connected or has stopped.
    pub fn send(&self, command: Command) -> bool {
        match &*self.shared.commander.lock() {
            Some(c) => c.send(command).is_ok(),
            None => false,
        }
    }
}

impl<'a> PersistentField<'a, String> for StateStore {
    fn set(&self, new_value: String) {
        self.load_json(&new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&String) -> R,
    {
        f(&self.json())
    }
}

/// Makes a damaged "ndm-state" entry reach [`parse_state`]: nice-plug stores each persisted field
/// as JSON; an entry that is not a JSON string (foreign or truncated data) would otherwise be
/// dropped silently. It is wrapped as a string so the parser rejects it with a visible warning.
pub fn repair_state_field(raw: &mut String) {
    if serde_json::from_str::<String>(raw).is_err() {
        if let Ok(wrapped) = serde_json::to_string(raw.as_str()) {
            *raw = wrapped;
        }
    }
}

/// Parameter ids of the single-sound plugin (state version 1) and their pad-1 ids today.
pub const V1_PARAM_IDS: [(&str, &str); 13] = [
    ("class", "p01_class"),
    ("blend_class", "p01_blend_class"),
    ("blend", "p01_blend"),
    ("x", "p01_x"),
    ("y", "p01_y"),
    ("fine", "p01_fine"),
    ("range", "p01_range"),
    ("variation", "p01_variation"),
    ("seed", "p01_seed"),
    ("gain", "p01_gain"),
    ("vel_sens", "p01_vel_sens"),
    ("tune", "p01_tune"),
    ("length", "p01_length"),
];

/// Moves the parameters of a single-sound project (ids `x`, `class`, …) to pad 1 (`p01_x`, …);
/// `polyphony` has no successor and is dropped. Applied to every loaded state before nice-plug
/// sets the parameters; a kit state passes unchanged.
pub fn migrate_params<V>(params: &mut std::collections::BTreeMap<String, V>) {
    for (old, new) in V1_PARAM_IDS {
        if let Some(v) = params.remove(old) {
            params.entry(new.to_owned()).or_insert(v);
        }
    }
    params.remove("polyphony");
}

/// Class parameters saved before they became class slots were enum parameters, which nice-plug
/// stores by their variant id (`"p02_class": "snare"`): each becomes the slot of that class in
/// the shipped model's order (see [`crate::params::DEFAULT_CLASS_NAMES`]), so old projects keep
/// their classes. Integer values (current projects) are left alone.
pub fn migrate_class_values(params: &mut std::collections::BTreeMap<String, nice_plug::plugin::ParamValue>) {
    use nice_plug::plugin::ParamValue;
    for (id, value) in params.iter_mut() {
        if !(id.ends_with("_class")) {
            continue;
        }
        if let ParamValue::String(name) = value {
            *value = ParamValue::I32(crate::params::default_class_index(name) as i32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_class_values_of_old_projects_become_slots() {
        use nice_plug::plugin::ParamValue;
        let mut params = std::collections::BTreeMap::new();
        params.insert("p02_class".to_string(), ParamValue::String("snare".into()));
        params.insert("p03_blend_class".to_string(), ParamValue::String("metal_shaker".into()));
        params.insert("p04_class".to_string(), ParamValue::I32(7));
        params.insert("p04_x".to_string(), ParamValue::F32(0.5));
        migrate_class_values(&mut params);
        assert!(matches!(params["p02_class"], ParamValue::I32(1)));
        assert!(matches!(params["p03_blend_class"], ParamValue::I32(10)));
        assert!(matches!(params["p04_class"], ParamValue::I32(7)));
        assert!(matches!(params["p04_x"], ParamValue::F32(v) if v == 0.5));
    }

    #[test]
    fn corrupt_state_gives_defaults_and_warning() {
        for bad in ["{not json", "[1,2,3]", r#"{"format":"other","version":2}"#, r#"{"format":"ndm-state","version":99}"#] {
            let (state, warning) = parse_state(bad);
            assert_eq!(state, SavedState::default(), "{bad}");
            assert!(warning.is_some(), "{bad}");
        }
        let store = StateStore::default();
        PersistentField::set(&store, "garbage".to_string());
        assert!(store.warning().is_some());
        assert_eq!(store.anchor(0), None);
    }

    #[test]
    fn bad_pads_are_dropped_alone() {
        let json = r#"{"format":"ndm-state","version":2,"pads":[{"anchor":[1.0,2.0]},
            {"sound":{"key":1,"sample_rate":22050,"pcm16":"!!!"}},
            {"sound":{"key":2,"sample_rate":22050,"pcm16":"AAABAA=="}}]}"#;
        let (state, warning) = parse_state(json);
        let w = warning.unwrap();
        assert!(w.contains("pad 1") && w.contains("pad 2"), "{w}");
        assert_eq!(state.pads.len(), PADS);
        assert_eq!(state.pads[0].anchor, None);
        assert_eq!(state.pads[1].sound, None);
        assert_eq!(state.pads[2].sound.as_ref().unwrap().audio().unwrap().pcm, vec![0, 1]);
        // A damaged detail residual is dropped; the pad keeps its sample.
        let z = vec![0.5f32; 64];
        let json = serde_json::json!({"format":"ndm-state","version":2,"pads":[
            {"anchor":z,"detail":{"values":4,"step":0.001,"i16":"AAAB"}},
            {"anchor":z,"detail":{"values":2,"step":-1.0,"i16":"AAABAA=="}},
            {"anchor":z,"detail":{"values":2,"step":0.5,"i16":"AAABAA=="}}]});
        let (state, warning) = parse_state(&json.to_string());
        let w = warning.unwrap();
        assert!(w.contains("pad 1: sample detail dropped") && w.contains("pad 2: sample detail dropped"), "{w}");
        assert!(state.pads[0].latent().is_some() && state.pads[0].detail.is_none());
        assert_eq!(state.pads[2].detail.as_ref().unwrap().to_values().unwrap(), vec![0.0, 0.5]);
    }

    #[test]
    fn empty_state_is_silent_default() {
        assert_eq!(parse_state(""), (SavedState::default(), None));
    }

    #[test]
    fn a_version_1_state_loads_into_pad_1() {
        let z: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
        let v1 = serde_json::json!({"format":"ndm-state","version":1,"anchor":z,"position":[0.1,-0.2,0.3],
            "sample_name":"kick.wav","class_weights":[1.0],"seed":42});
        let store = StateStore::default();
        store.load_json(&v1.to_string());
        assert_eq!(store.warning(), None);
        assert_eq!(store.anchor(0).unwrap().to_vec(), z);
        assert_eq!(store.sample(0).0.as_deref(), Some("kick.wav"));
        assert!((1..PADS).all(|p| store.anchor(p).is_none()));
        let mut params: std::collections::BTreeMap<String, i32> =
            [("x", 1), ("class", 2), ("polyphony", 3), ("p02_x", 4)].into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        migrate_params(&mut params);
        let keys: Vec<&str> = params.keys().map(String::as_str).collect();
        assert_eq!(keys, ["p01_class", "p01_x", "p02_x"]);
    }

    #[test]
    fn anchors_and_sounds_round_trip() {
        let status = StatusHandle::new();
        let audio = Arc::new(NativeAudio { sample_rate: 22_050, pcm: vec![1, -2, 300, -32767] });
        status.lock().pads[4].audio = Some((77, audio.clone()));
        let store = StateStore::new(status);
        let z = [0.25f32; LATENT_DIM];
        let residual: Vec<f32> = (0..6880).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
        store.set_sample(3, &z, [0.1, -0.2, 0.3], Some("kick.wav".into()), Some(Arc::new(DetailResidual { anchor: z, values: residual.clone() })));
        let json = PersistentField::map(&store, |s: &String| s.clone());
        let (state, warning) = parse_state(&json);
        assert_eq!(warning, None);
        assert_eq!(state.pads[3].latent(), Some(z));
        // The detail residual comes back within half a quantisation step.
        let back = state.pads[3].detail.as_ref().unwrap().to_values().unwrap();
        assert_eq!(back.len(), residual.len());
        assert!(back.iter().zip(&residual).all(|(a, b)| (a - b).abs() <= RESIDUAL_STEP / 2.0 + 1e-6));
        assert_eq!(state.pads[4].sound.as_ref().unwrap().key, 77);
        assert_eq!(state.pads[4].sound.as_ref().unwrap().audio().unwrap(), *audio);
        let other = StateStore::default();
        PersistentField::set(&other, json.clone());
        assert_eq!(other.anchor(3), Some(z));
        assert_eq!(other.residual(3).map(|r| (r.anchor, r.values.len())), Some((z, residual.len())));
        assert_eq!(other.residual(4), None);
        // Saved again at once (no worker has run): the same state.
        assert_eq!(parse_state(&other.json()), parse_state(&json));
        assert_eq!(other.sample(3).0.as_deref(), Some("kick.wav"));
    }

    #[test]
    fn foreign_field_is_wrapped_for_the_parser() {
        let mut raw = "{\"x\":1".to_string();
        repair_state_field(&mut raw);
        let inner: String = serde_json::from_str(&raw).unwrap();
        assert!(parse_state(&inner).1.is_some());
        let mut ok = serde_json::to_string("{}").unwrap();
        let before = ok.clone();
        repair_state_field(&mut ok);
        assert_eq!(ok, before);
    }
}
