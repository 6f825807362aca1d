//! Which model set an instance plays: the embedded model, a model set from the user model folder
//! or from a folder the user added, remembered by each project by name and hash; and the user's
//! settings that are not part of a project (model folders, recent places of the file browser).
//!
//! Resolution order ([`resolve`]): `$NDM_MODEL_DIR` when set (tests, power users); else the
//! project's model — its saved folder when the hash still matches, else the catalog by hash,
//! then by name; else the embedded model. A project whose model is not installed plays its
//! stored sounds and says which model it wants ([`Resolved::missing`]).
//!
//! Main and GUI threads only (scans read files).

use ndm_core::catalog::{self, Catalog, ModelInfo, ModelLocation};
use ndm_core::engine::ModelSource;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Environment variable naming a model-set directory to load instead of any other.
pub const MODEL_DIR_ENV: &str = "NDM_MODEL_DIR";

/// The model a project was made with, as it saves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ModelRef {
    /// `model.json` → `name`.
    pub name: String,
    /// [`catalog::hash_bytes`] of the set (empty when unknown: projects saved before hashes).
    #[serde(default)]
    pub hash: String,
    /// The folder it was loaded from; `None` for the embedded model.
    #[serde(default)]
    pub dir: Option<PathBuf>,
}

/// What [`resolve`] decided.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// What the worker should load.
    pub source: ModelSource,
    /// Set when the project's model is not installed: the message for the editor.
    pub missing: Option<String>,
}

/// The embedded model set (compiled into the plugin).
pub fn embedded() -> &'static ndm_core::model::ModelBytes<'static> {
    &ndm_core::model::EMBEDDED
}

/// The embedded model's hash (computed once).
pub fn embedded_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| catalog::hash_bytes(embedded()))
}

/// Where models are looked for: the user model folder, then the folders in `settings`.
pub fn model_folders(settings: &Settings) -> Vec<PathBuf> {
    let mut dirs = vec![catalog::user_model_dir()];
    for d in &settings.model_folders {
        if !dirs.contains(d) {
            dirs.push(d.clone());
        }
    }
    dirs
}

/// Scans the embedded model and every folder of [`model_folders`].
pub fn scan(settings: &Settings) -> Catalog {
    Catalog::scan(Some(embedded()), &model_folders(settings))
}

/// The source of a catalogued model.
pub fn source_of(info: &ModelInfo) -> ModelSource {
    match &info.location {
        ModelLocation::Embedded => ModelSource::Bytes(embedded()),
        ModelLocation::Dir(d) => ModelSource::Dir(d.clone()),
    }
}

/// The model to load for a project that remembers `wanted` (see the module docs).
pub fn resolve(wanted: Option<&ModelRef>, settings: &Settings) -> Resolved {
    if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        return Resolved { source: ModelSource::Dir(PathBuf::from(dir)), missing: None };
    }
    let embedded = Resolved { source: ModelSource::Bytes(embedded()), missing: None };
    let Some(want) = wanted else { return embedded };
    if want.dir.is_none() && (want.hash.is_empty() || want.hash == embedded_hash()) {
        return embedded;
    }
    if let Some(dir) = &want.dir {
        if let Ok(info) = catalog::inspect_dir(dir) {
            if info.hash == want.hash || (want.hash.is_empty() && info.name == want.name) {
                return Resolved { source: ModelSource::Dir(dir.clone()), missing: None };
            }
        }
    }
    let cat = scan(settings);
    let hash = (!want.hash.is_empty()).then_some(want.hash.as_str());
    match cat.find(Some(&want.name), hash) {
        Some(info) => Resolved { source: source_of(info), missing: None },
        None => Resolved {
            missing: Some(format!(
                "this project was made with the model “{}” ({}{}), which is not installed: its pads play \
                 their stored sounds; a pad you change is made with the embedded model",
                want.name,
                if want.hash.is_empty() { "no hash".to_string() } else { format!("hash {}", want.hash) },
                want.dir.as_ref().map(|d| format!(", from {}", d.display())).unwrap_or_default()
            )),
            ..embedded
        },
    }
}

/// Settings of this user on this machine, shared by all instances and projects: extra model
/// folders and the file browser's recent places. Stored as JSON in [`Settings::path`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Folders the user added to the model chooser (model sets, or folders of them).
    #[serde(default)]
    pub model_folders: Vec<PathBuf>,
    /// Folders recently used in file dialogs, newest first.
    #[serde(default)]
    pub recent_places: Vec<PathBuf>,
}

impl Settings {
    /// `$XDG_CONFIG_HOME/neural-drum-machine/settings.json` (default `~/.config/…`).
    pub fn path() -> PathBuf {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .unwrap_or_else(|| PathBuf::from("."));
        config.join("neural-drum-machine").join("settings.json")
    }

    /// Reads `path`; a missing or unreadable file gives the defaults (settings are a convenience,
    /// never a reason to fail).
    pub fn load_from(path: &Path) -> Settings {
        std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// [`Settings::load_from`] the default [`Settings::path`].
    pub fn load() -> Settings {
        Self::load_from(&Self::path())
    }

    /// Writes `path` (creating its folder; temp file + rename, so a crash never leaves half a file).
    ///
    /// # Errors
    /// The I/O error, as text.
    pub fn save_to(&self, path: &Path) -> Result<(), String> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, json).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// [`Settings::save_to`] the default [`Settings::path`].
    ///
    /// # Errors
    /// See [`Settings::save_to`].
    pub fn save(&self) -> Result<(), String> {
        self.save_to(&Self::path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/tiny_model")
    }

    fn copy_tiny(to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for f in ndm_core::model::FILES {
            std::fs::copy(tiny().join(f), to.join(f)).unwrap();
        }
    }

    /// One test for everything that reads the process environment (tests run in parallel).
    #[test]
    fn a_project_finds_its_model_by_folder_hash_or_name_and_says_when_it_is_missing() {
        std::env::remove_var(MODEL_DIR_ENV);
        let root = tempfile::tempdir().unwrap();
        let info = catalog::inspect_dir(&tiny()).unwrap();
        let settings = Settings { model_folders: vec![root.path().to_path_buf()], ..Default::default() };

        // Nothing remembered, or the embedded model: the embedded model.
        assert!(matches!(resolve(None, &settings).source, ModelSource::Bytes(_)));
        let emb = ModelRef { name: "x".into(), hash: embedded_hash().into(), dir: None };
        assert!(resolve(Some(&emb), &settings).missing.is_none());

        // The saved folder, when its hash still matches.
        let want = ModelRef { name: info.name.clone(), hash: info.hash.clone(), dir: Some(tiny()) };
        assert!(matches!(resolve(Some(&want), &settings).source, ModelSource::Dir(d) if d == tiny()));

        // Moved: found in a model folder by its hash.
        copy_tiny(&root.path().join("moved"));
        let moved = ModelRef { dir: Some(root.path().join("gone")), ..want.clone() };
        let r = resolve(Some(&moved), &settings);
        assert!(matches!(&r.source, ModelSource::Dir(d) if *d == root.path().join("moved")), "{:?}", r.source);

        // Not installed anywhere: embedded model, and a message naming the wanted model.
        let absent = ModelRef { name: "my-library".into(), hash: "0123456789abcdef".into(), dir: Some(root.path().join("gone")) };
        let r = resolve(Some(&absent), &settings);
        assert!(matches!(r.source, ModelSource::Bytes(_)));
        let msg = r.missing.unwrap();
        assert!(msg.contains("my-library") && msg.contains("0123456789abcdef"), "{msg}");

        // The environment variable overrides everything.
        std::env::set_var(MODEL_DIR_ENV, tiny());
        assert!(matches!(resolve(Some(&absent), &settings).source, ModelSource::Dir(d) if d == tiny()));
        std::env::remove_var(MODEL_DIR_ENV);
    }

    #[test]
    fn settings_round_trip_and_a_bad_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.json");
        assert_eq!(Settings::load_from(&path), Settings::default());
        let s = Settings { model_folders: vec!["/models".into()], recent_places: vec!["/samples".into()] };
        s.save_to(&path).unwrap();
        assert_eq!(Settings::load_from(&path), s);
        std::fs::write(&path, b"{broken").unwrap();
        assert_eq!(Settings::load_from(&path), Settings::default());
    }
}
