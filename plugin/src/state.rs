//! The persisted latent state ("ndm-state" in the project) and the per-instance engine handle.
//!
//! The state is versioned JSON that this module parses itself, so a corrupt or foreign blob gives
//! defaults plus a warning for the editor instead of an error deep in the host:
//!
//! ```json
//! {"format":"ndm-state","version":1,"anchor":[64 floats]|null,"position":[x,y,fine]|null,
//!  "sample_name":"kick.wav"|null,"class_weights":[C floats]|null,"seed":0}
//! ```
//!
//! Loading a state sends the anchor to the inference worker, so a reopened project regenerates
//! exactly the same sound.

use ndm_core::engine::{Command, Engine};
use ndm_core::{Latent, LATENT_DIM};
use nice_plug::params::persist::PersistentField;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// Key of the persisted field in the plugin state.
pub const STATE_KEY: &str = "ndm-state";
/// `format` tag of the JSON.
pub const STATE_FORMAT: &str = "ndm-state";
/// Version of the JSON layout this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The latent state that parameters alone do not capture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedState {
    /// Always [`STATE_FORMAT`].
    #[serde(default)]
    pub format: String,
    /// Layout version, [`STATE_VERSION`].
    #[serde(default)]
    pub version: u32,
    /// Latent `z` `[64]` of the encoded sample the pad is anchored on.
    #[serde(default)]
    pub anchor: Option<Vec<f32>>,
    /// Pad position `(x, y, fine)` of the encoded sample.
    #[serde(default)]
    pub position: Option<[f32; 3]>,
    /// File name of the encoded sample (for display).
    #[serde(default)]
    pub sample_name: Option<String>,
    /// Class weights `[C]` the sample was encoded under.
    #[serde(default)]
    pub class_weights: Option<Vec<f32>>,
    /// Variation seed at the time of saving.
    #[serde(default)]
    pub seed: u64,
}

impl SavedState {
    /// An empty state (no sample) in the current format.
    pub fn new() -> Self {
        SavedState { format: STATE_FORMAT.into(), version: STATE_VERSION, ..Default::default() }
    }

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

/// Parses a saved state. An empty string (no saved state) gives defaults without warning; anything
/// that is not a valid state of this plugin gives defaults and a warning for the editor.
pub fn parse_state(json: &str) -> (SavedState, Option<String>) {
    if json.trim().is_empty() {
        return (SavedState::new(), None);
    }
    let parsed: SavedState = match serde_json::from_str(json) {
        Ok(s) => s,
        Err(e) => return (SavedState::new(), Some(format!("saved state unreadable ({e}); using defaults"))),
    };
    if parsed.format != STATE_FORMAT {
        return (SavedState::new(), Some("saved state is not a Neural Drum Machine state; using defaults".into()));
    }
    if parsed.version != STATE_VERSION {
        return (
            SavedState::new(),
            Some(format!("saved state version {} is not supported (this build reads {STATE_VERSION}); using defaults", parsed.version)),
        );
    }
    if parsed.anchor.is_some() && parsed.latent().is_none() {
        return (SavedState::new(), Some(format!("saved sample latent is invalid (needs {LATENT_DIM} finite values); using defaults")));
    }
    (parsed, None)
}

/// Serialises a state (never fails for this type; falls back to an empty string).
pub fn to_json(state: &SavedState) -> String {
    serde_json::to_string(state).unwrap_or_default()
}

struct StoreInner {
    /// The JSON as saved (kept in sync with `state`).
    json: String,
    state: SavedState,
    /// Warning from the last load, shown in the editor.
    warning: Option<String>,
}

struct StoreShared {
    /// Main and GUI threads.
    inner: Mutex<StoreInner>,
    /// The inference engine: set once on first activation (main thread), read by the main and GUI
    /// threads. Never touched by the audio thread. Dropped (worker joined) with the last handle.
    engine: OnceLock<Engine>,
}

/// Cheap cloneable handle to the persisted state and the engine of one plugin instance. Used by
/// the main thread (state load/save, activation) and the GUI thread; never by the audio thread.
#[derive(Clone)]
pub struct StateStore {
    shared: Arc<StoreShared>,
}

impl Default for StateStore {
    fn default() -> Self {
        let state = SavedState::new();
        StateStore {
            shared: Arc::new(StoreShared {
                inner: Mutex::new(StoreInner { json: to_json(&state), state, warning: None }),
                engine: OnceLock::new(),
            }),
        }
    }
}

impl StateStore {
    /// The current state.
    pub fn state(&self) -> SavedState {
        self.shared.inner.lock().state.clone()
    }

    /// The warning of the last state load, if it was corrupt or foreign.
    pub fn warning(&self) -> Option<String> {
        self.shared.inner.lock().warning.clone()
    }

    /// Loads a saved JSON state (as the host does): parses it, keeps a warning on failure, and
    /// sends the anchor to the worker when the engine runs.
    pub fn load_json(&self, json: &str) {
        let (state, warning) = parse_state(json);
        let anchor = state.latent();
        let changed = {
            let mut inner = self.shared.inner.lock();
            let changed = inner.state.latent() != anchor;
            inner.json = to_json(&state);
            inner.state = state;
            inner.warning = warning;
            changed
        };
        if changed {
            self.send(Command::SetAnchor(anchor));
        }
    }

    /// The JSON that is saved with the project.
    pub fn json(&self) -> String {
        self.shared.inner.lock().json.clone()
    }

    /// Records a newly encoded sample (GUI thread). The worker already anchors on it.
    pub fn set_sample(&self, latent: &Latent, position: [f32; 3], sample_name: Option<String>, class_weights: Vec<f32>, seed: u64) {
        let mut inner = self.shared.inner.lock();
        inner.state.anchor = Some(latent.to_vec());
        inner.state.position = Some(position);
        inner.state.sample_name = sample_name;
        inner.state.class_weights = Some(class_weights);
        inner.state.seed = seed;
        inner.warning = None;
        inner.json = to_json(&inner.state);
    }

    /// Records the current variation seed (GUI thread).
    pub fn set_seed(&self, seed: u64) {
        let mut inner = self.shared.inner.lock();
        if inner.state.seed != seed {
            inner.state.seed = seed;
            inner.json = to_json(&inner.state);
        }
    }

    /// Forgets the sample and tells the worker to drop its anchor.
    pub fn clear_sample(&self) {
        {
            let mut inner = self.shared.inner.lock();
            let seed = inner.state.seed;
            inner.state = SavedState { seed, ..SavedState::new() };
            inner.json = to_json(&inner.state);
        }
        self.send(Command::SetAnchor(None));
    }

    /// The engine, once started.
    pub fn engine(&self) -> Option<&Engine> {
        self.shared.engine.get()
    }

    /// Installs the engine (first activation). Returns false when one was already installed (the
    /// given one is then dropped, which stops its worker).
    pub fn install_engine(&self, engine: Engine) -> bool {
        let installed = self.shared.engine.set(engine).is_ok();
        if installed {
            let anchor = self.shared.inner.lock().state.latent();
            if anchor.is_some() {
                self.send(Command::SetAnchor(anchor));
            }
        }
        installed
    }

    /// Sends a command to the worker; returns false when no engine runs (not activated yet).
    pub fn send(&self, command: Command) -> bool {
        match self.shared.engine.get() {
            Some(engine) => engine.send(command).is_ok(),
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
        f(&self.shared.inner.lock().json)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_state_gives_defaults_and_warning() {
        for bad in ["{not json", "[1,2,3]", r#"{"format":"other","version":1}"#, r#"{"format":"ndm-state","version":99}"#,
            r#"{"format":"ndm-state","version":1,"anchor":[1.0,2.0]}"#] {
            let (state, warning) = parse_state(bad);
            assert_eq!(state, SavedState::new(), "{bad}");
            assert!(warning.is_some(), "{bad}");
        }
        let store = StateStore::default();
        PersistentField::set(&store, "garbage".to_string());
        assert!(store.warning().is_some());
        assert_eq!(store.state(), SavedState::new());
    }

    #[test]
    fn empty_state_is_silent_default() {
        assert_eq!(parse_state(""), (SavedState::new(), None));
    }

    #[test]
    fn state_round_trips() {
        let store = StateStore::default();
        let z = [0.25f32; LATENT_DIM];
        store.set_sample(&z, [0.1, -0.2, 0.3], Some("kick.wav".into()), vec![1.0, 0.0], 42);
        let json = PersistentField::map(&store, |s: &String| s.clone());
        let other = StateStore::default();
        PersistentField::set(&other, json);
        assert_eq!(other.warning(), None);
        assert_eq!(other.state().latent(), Some(z));
        assert_eq!(other.state().sample_name.as_deref(), Some("kick.wav"));
        assert_eq!(other.state().seed, 42);
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
