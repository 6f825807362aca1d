//! The model catalog: which model sets are installed, what each one is, and how a saved project
//! finds the model it was made with again.
//!
//! A model is identified by its **name** (`model.json` → `name`) and a **hash**: FNV-1a 64 over
//! the four files of the set in [`FILES`](crate::model::FILES) order (each file's length, then
//! its bytes), written as 16 hex digits. The hash tells two exports with the same name apart;
//! a project remembers both, and [`Catalog::find`] prefers the hash and falls back to the name.
//!
//! Where models are looked for: the embedded model (when the binary has one), the user model
//! folder [`user_model_dir`] and any folder the user added. A folder is either one model set
//! (it has `model.json`) or a folder of model sets (one level down). Scanning reads `model.json`
//! and hashes the files (about 10 ms for a 17 MB set); it never loads LibTorch modules, so it is
//! safe on any non-audio thread.

use crate::meta::ModelMeta;
use crate::model::{ModelBytes, FILES};
use std::path::{Path, PathBuf};

/// Where a catalogued model lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelLocation {
    /// Compiled into the binary.
    Embedded,
    /// A model-set folder.
    Dir(PathBuf),
}

/// One model set found by a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// Where it is.
    pub location: ModelLocation,
    /// `model.json` → `name`.
    pub name: String,
    /// FNV-1a 64 of the set's files, 16 hex digits (see the module docs).
    pub hash: String,
    /// Model sample rate in Hz.
    pub sample_rate: u32,
    /// Length of one generated one-shot in seconds.
    pub duration_s: f64,
    /// `model.json` schema version.
    pub schema_version: u64,
    /// Class names, in conditioning order.
    pub classes: Vec<String>,
    /// One line about its training (from `model.json` → `training`: data, steps, time), or "".
    pub training_summary: String,
}

/// A folder that looked like a model set but is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The folder.
    pub dir: PathBuf,
    /// Why (missing file, bad `model.json`, …).
    pub reason: String,
}

/// The result of a scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Valid model sets, embedded first, then by folder order and name.
    pub models: Vec<ModelInfo>,
    /// Folders with a `model.json` that could not be read as a model set.
    pub rejected: Vec<Rejected>,
}

/// The user model folder: `$XDG_DATA_HOME/neural-drum-machine/models`, by default
/// `~/.local/share/neural-drum-machine/models` (where `training/train_library.py` exports).
pub fn user_model_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("neural-drum-machine").join("models")
}

/// FNV-1a 64 hash of a model set's files (see the module docs), as 16 hex digits.
pub fn hash_bytes(bytes: &ModelBytes<'_>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |data: &[u8]| {
        for b in (data.len() as u64).to_le_bytes().iter().chain(data) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for data in [bytes.meta, bytes.decoder, bytes.mcnn, bytes.encoder] {
        eat(data);
    }
    format!("{h:016x}")
}

/// Reads and describes the model set in `dir` (no LibTorch involved).
///
/// # Errors
/// A message naming the missing file, the unreadable file or the `model.json` problem.
pub fn inspect_dir(dir: &Path) -> Result<ModelInfo, String> {
    let mut data = Vec::with_capacity(FILES.len());
    for f in FILES {
        let p = dir.join(f);
        data.push(std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    let bytes = ModelBytes { meta: &data[0], decoder: &data[1], mcnn: &data[2], encoder: &data[3] };
    inspect_bytes(&bytes, ModelLocation::Dir(dir.to_path_buf()))
}

/// Describes a model set held in memory (e.g. the embedded one).
///
/// # Errors
/// The `model.json` problem, as text.
pub fn inspect_bytes(bytes: &ModelBytes<'_>, location: ModelLocation) -> Result<ModelInfo, String> {
    let meta = ModelMeta::parse(bytes.meta).map_err(|e| e.to_string())?;
    Ok(ModelInfo {
        location,
        hash: hash_bytes(bytes),
        sample_rate: meta.sample_rate,
        duration_s: meta.duration_s(),
        schema_version: meta.schema_version,
        training_summary: training_summary(&meta.training),
        classes: meta.classes,
        name: meta.name,
    })
}

/// One line from `model.json` → `training`: its `summary` string when there is one, else the
/// known figures among `items`/`n_items`, `steps`, `wae_steps`, `minutes`, `wall_minutes`.
pub fn training_summary(training: &serde_json::Value) -> String {
    if let Some(s) = training.get("summary").and_then(|s| s.as_str()) {
        return s.to_string();
    }
    let mut parts = Vec::new();
    for key in ["items", "n_items", "library", "steps", "wae_steps", "mcnn_steps", "minutes", "wall_minutes"] {
        if let Some(v) = training.get(key) {
            let v = match v {
                serde_json::Value::Number(n) => n.as_f64().map(|f| if f.fract() == 0.0 { format!("{f:.0}") } else { format!("{f:.1}") }).unwrap_or_default(),
                serde_json::Value::String(s) => s.clone(),
                _ => continue,
            };
            parts.push(format!("{key} {v}"));
        }
    }
    parts.join(", ")
}

impl Catalog {
    /// Scans: `embedded` first (when given), then every folder of `dirs` (a model set, or a
    /// folder of model sets one level down; missing folders are skipped silently, they are
    /// places where models *may* be). Duplicates (same hash in the same place) are listed once.
    pub fn scan(embedded: Option<&ModelBytes<'_>>, dirs: &[PathBuf]) -> Catalog {
        let mut cat = Catalog::default();
        if let Some(bytes) = embedded {
            match inspect_bytes(bytes, ModelLocation::Embedded) {
                Ok(info) => cat.models.push(info),
                Err(reason) => cat.rejected.push(Rejected { dir: PathBuf::from("(embedded)"), reason }),
            }
        }
        for dir in dirs {
            let mut candidates = Vec::new();
            if dir.join("model.json").is_file() {
                candidates.push(dir.clone());
            } else if let Ok(read) = std::fs::read_dir(dir) {
                let mut subs: Vec<PathBuf> =
                    read.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("model.json").is_file()).collect();
                subs.sort();
                candidates.extend(subs);
            }
            for c in candidates {
                if cat.models.iter().any(|m| m.location == ModelLocation::Dir(c.clone())) {
                    continue;
                }
                match inspect_dir(&c) {
                    Ok(info) => cat.models.push(info),
                    Err(reason) => cat.rejected.push(Rejected { dir: c, reason }),
                }
            }
        }
        cat
    }

    /// The model a project asks for: the first with `hash`, else the first named `name`.
    pub fn find(&self, name: Option<&str>, hash: Option<&str>) -> Option<&ModelInfo> {
        hash.and_then(|h| self.models.iter().find(|m| m.hash == h))
            .or_else(|| name.and_then(|n| self.models.iter().find(|m| m.name == n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_model")
    }

    fn copy_set(to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for f in FILES {
            std::fs::copy(fixture().join(f), to.join(f)).unwrap();
        }
    }

    #[test]
    fn scans_model_sets_and_folders_of_them_and_reports_broken_ones() {
        let root = tempfile::tempdir().unwrap();
        copy_set(&root.path().join("a"));
        copy_set(&root.path().join("b"));
        std::fs::write(root.path().join("b/decoder.pt"), b"other weights").unwrap();
        std::fs::create_dir_all(root.path().join("broken")).unwrap();
        std::fs::write(root.path().join("broken/model.json"), b"{").unwrap();
        let single = root.path().join("a");
        let cat = Catalog::scan(None, &[root.path().to_path_buf(), single, root.path().join("missing")]);
        assert_eq!(cat.models.len(), 2, "{cat:?}");
        assert_eq!(cat.models[0].name, "tiny-test-fixture");
        assert_eq!(cat.models[0].classes, ["kick", "snare", "hihat_closed"]);
        assert_eq!(cat.models[0].sample_rate, 16_000);
        assert_ne!(cat.models[0].hash, cat.models[1].hash, "different weights, different hash");
        assert_eq!(cat.models[0].hash.len(), 16);
        assert_eq!(cat.rejected.len(), 1);
        assert!(cat.rejected[0].dir.ends_with("broken"));

        let b = &cat.models[1];
        assert_eq!(cat.find(Some("tiny-test-fixture"), Some(&b.hash)).unwrap().location, b.location);
        assert_eq!(cat.find(Some("tiny-test-fixture"), Some("0000000000000000")).unwrap().location, cat.models[0].location);
        assert!(cat.find(Some("other"), None).is_none());
    }

    #[test]
    fn hash_is_stable_and_covers_every_file() {
        let info = inspect_dir(&fixture()).unwrap();
        let again = inspect_dir(&fixture()).unwrap();
        assert_eq!(info.hash, again.hash);
        let meta = std::fs::read(fixture().join("model.json")).unwrap();
        let (d, m, e) = (b"d".as_slice(), b"m".as_slice(), b"e".as_slice());
        let h1 = hash_bytes(&ModelBytes { meta: &meta, decoder: d, mcnn: m, encoder: e });
        let h2 = hash_bytes(&ModelBytes { meta: &meta, decoder: d, mcnn: e, encoder: m });
        assert_ne!(h1, h2);
    }

    #[test]
    fn training_summary_prefers_the_summary_line() {
        let t = serde_json::json!({"summary": "my library, 120 one-shots", "steps": 10});
        assert_eq!(training_summary(&t), "my library, 120 one-shots");
        let t = serde_json::json!({"items": 925, "wae_steps": 3237, "minutes": 40.5});
        assert_eq!(training_summary(&t), "items 925, wae_steps 3237, minutes 40.5");
        assert_eq!(training_summary(&serde_json::Value::Null), "");
    }
}
