//! Exporting from the editor: the selected pad or the whole kit as WAV files (host or model
//! rate, 24-bit or float), or the kit as an SFZ preset or a Hydrogen kit — written by
//! `ndm_core::kit_export` on a short-lived `ndm-export` thread, never overwriting without the
//! user's yes.
//!
//! GUI thread (gathering the pads, the confirmation), export thread (writing the files).

use crate::EditorLink;
use ndm_core::kit::GM_KIT;
use ndm_core::kit_export::{self, ExportOptions, ExportPad, ExportRate, KitFormat, KitInfo, SampleFormat};
use ndm_core::ModelState;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The selected pad only.
    SelectedPad,
    /// All 16 pads.
    Kit,
}

/// The export choices shown in the editor.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// Pad or kit.
    pub scope: Scope,
    /// WAV files only, or with an SFZ / Hydrogen preset (kit scope).
    pub format: KitFormat,
    /// True: the host's sample rate; false: the model's.
    pub host_rate: bool,
    /// 24-bit or float.
    pub sample_format: SampleFormat,
    /// Kit name (preset file / folder name).
    pub name: String,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings { scope: Scope::Kit, format: KitFormat::Sfz, host_rate: false, sample_format: SampleFormat::Int24, name: "NDM kit".into() }
    }
}

/// The pads `pads` (indices) as the exporter takes them: settings from the parameters, sound
/// from the worker's status.
///
/// # Errors
/// Names the first pad without a sound yet.
pub fn gather(link: &EditorLink, pads: &[usize]) -> Result<Vec<ExportPad>, String> {
    let status = link.status.lock();
    pads.iter()
        .map(|&i| {
            let p = link.params.pad(i);
            let audio = status.pads[i].audio.as_ref().ok_or_else(|| format!("pad {} has no sound yet", i + 1))?;
            let slot = p.class.value();
            let class = link.params.classes.get().get(slot.max(0) as usize).cloned().unwrap_or_else(|| format!("class{}", slot + 1));
            Ok(ExportPad {
                index: i,
                label: GM_KIT[i].label.to_string(),
                note: p.note.value().clamp(0, 127) as u8,
                class,
                gain_db: p.gain.value(),
                pan: p.pan.value(),
                tune_semitones: p.tune.value(),
                choke_group: p.choke.value().clamp(0, 8) as u8,
                audio: (*audio.1).clone(),
            })
        })
        .collect()
}

/// One prepared export: everything the export thread needs.
#[derive(Debug, Clone)]
pub struct Job {
    /// Target folder.
    pub dir: PathBuf,
    /// Preset name and model name.
    pub kit: KitInfo,
    /// Format.
    pub format: KitFormat,
    /// The pads.
    pub pads: Vec<ExportPad>,
    /// Rate, sample format, overwrite.
    pub options: ExportOptions,
}

/// Prepares an export of `settings` into `dir` (selected pad `selected`).
///
/// # Errors
/// A pad without sound, or no host rate yet when the host rate is asked for.
pub fn prepare(link: &EditorLink, settings: &ExportSettings, selected: usize, dir: &Path) -> Result<Job, String> {
    let pads: Vec<usize> = match settings.scope {
        Scope::SelectedPad => vec![selected],
        Scope::Kit => (0..GM_KIT.len()).collect(),
    };
    let rate = if settings.host_rate {
        match link.host_rate.load(Ordering::Relaxed) {
            0 => return Err("the host has not set a sample rate yet; export at the model rate".into()),
            r => ExportRate::Host(r),
        }
    } else {
        ExportRate::Model
    };
    let model = match &link.status.lock().model {
        ModelState::Ready { name, .. } => name.clone(),
        _ => link.params.state.wanted_model().map(|m| m.name).unwrap_or_default(),
    };
    let format = if settings.scope == Scope::SelectedPad { KitFormat::Wav } else { settings.format };
    Ok(Job {
        dir: dir.to_path_buf(),
        kit: KitInfo { name: settings.name.clone(), model },
        format,
        pads: gather(link, &pads)?,
        options: ExportOptions { rate, format: settings.sample_format, overwrite: false },
    })
}

impl Job {
    /// Files of this export that exist already (to ask before replacing them).
    ///
    /// # Errors
    /// Invalid pads or rate, as text.
    pub fn existing(&self) -> Result<Vec<PathBuf>, String> {
        kit_export::existing_targets(&self.dir, &self.kit, self.format, &self.pads, &self.options).map_err(|e| e.to_string())
    }

    /// Writes the files (blocking; see [`Job::spawn`]).
    ///
    /// # Errors
    /// The exporter's error, as text.
    pub fn run(&self) -> Result<Vec<PathBuf>, String> {
        kit_export::export_kit(&self.dir, &self.kit, self.format, &self.pads, &self.options).map_err(|e| e.to_string())
    }

    /// Runs the export on an `ndm-export` thread; the result arrives on the returned channel.
    pub fn spawn(self) -> mpsc::Receiver<Result<Vec<PathBuf>, String>> {
        let (tx, rx) = mpsc::channel();
        let job = self.clone();
        let spawned = std::thread::Builder::new().name("ndm-export".into()).spawn(move || {
            let _ = tx.send(job.run());
        });
        if spawned.is_err() {
            let (tx, rx2) = mpsc::channel();
            let _ = tx.send(self.run());
            return rx2;
        }
        rx
    }
}
