//! `model.json`: the metadata that travels with a model set (schema: `training/model_schema.json`).

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `schema_version` this build reads.
pub const SCHEMA_VERSION: u64 = 1;
/// Dimension of the latent code `z` fixed by the model contract (docs/ARCHITECTURE.md).
pub const LATENT_DIM: usize = 64;
/// Most classes a model may have (the class weight vector is a fixed array of this size).
pub const MAX_CLASSES: usize = 16;
/// Number of principal axes used as controls: P1 = pad X, P2 = pad Y, P3 = fine.
pub const CONTROL_AXES: usize = 3;

/// Mel front-end constants: log-Mel = ln(max(power, `log_floor`)),
/// normalised = (log-Mel − `norm_mean`) / `norm_std`.
#[derive(Debug, Clone, Deserialize)]
pub struct MelMeta {
    /// Lowest Mel filter edge in Hz.
    pub f_min: f64,
    /// Highest Mel filter edge in Hz.
    pub f_max: f64,
    /// Power floor before the logarithm.
    pub log_floor: f64,
    /// Mean subtracted from the log-Mel spectrogram.
    pub norm_mean: f64,
    /// Standard deviation the log-Mel spectrogram is divided by.
    pub norm_std: f64,
}

/// Principal components of the training-set latent codes (NDM §4: the P1/P2 pad and P3 knob).
#[derive(Debug, Clone, Deserialize)]
pub struct Pca {
    /// Mean latent code, `[LATENT_DIM]`.
    pub mean: Vec<f32>,
    /// Pad centre, `[LATENT_DIM]`: the training code nearest to `mean` (a real, typical sound of
    /// the class; the mean of a 64-d Gaussian is atypical and can decode to a blurred average).
    /// Absent in older models: the pad then centres on `mean`.
    #[serde(default)]
    pub centre: Option<Vec<f32>>,
    /// Unit-norm principal axes, largest variance first, `[k ≥ 3][LATENT_DIM]`.
    pub components: Vec<Vec<f32>>,
    /// Standard deviation of the codes along each axis, `[k]`.
    pub std: Vec<f32>,
}

/// Latent statistics: global and per class (keyed by class name).
#[derive(Debug, Clone, Deserialize)]
pub struct LatentMeta {
    /// PCA over all classes.
    pub global: Pca,
    /// PCA of each class's codes.
    pub per_class: BTreeMap<String, Pca>,
}

/// The parsed and checked contents of `model.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelMeta {
    /// Must equal [`SCHEMA_VERSION`].
    pub schema_version: u64,
    /// Human-readable model name.
    pub name: String,
    /// Sample rate of the generated waveform and of the encoder input, in Hz.
    pub sample_rate: u32,
    /// STFT size in samples.
    pub n_fft: usize,
    /// STFT hop in samples.
    pub hop: usize,
    /// Mel bands of the spectrogram.
    pub n_mels: usize,
    /// Mel frames `T` of one one-shot.
    pub n_frames: usize,
    /// Samples `N` of one generated one-shot (`n_frames * hop`).
    pub n_samples: usize,
    /// Dimension of `z` (must be [`LATENT_DIM`]).
    pub latent_dim: usize,
    /// Class names, in the order of the class-conditioning vector `c`.
    pub classes: Vec<String>,
    /// Mel front-end constants.
    pub mel: MelMeta,
    /// Control axes.
    pub latent: LatentMeta,
    /// Free-form provenance (training command, losses, …).
    #[serde(default)]
    pub training: serde_json::Value,
}

impl ModelMeta {
    /// Parses and checks `model.json` text.
    ///
    /// # Errors
    /// [`Error::ModelVersion`] for another schema version, [`Error::ModelMeta`] for malformed
    /// JSON, a missing field or inconsistent sizes.
    pub fn parse(text: &[u8]) -> Result<Self> {
        let raw: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| Error::ModelMeta(format!("not valid JSON ({e})")))?;
        let version = raw.get("schema_version").and_then(|v| v.as_u64());
        match version {
            Some(SCHEMA_VERSION) => {}
            Some(found) => return Err(Error::ModelVersion { found, expected: SCHEMA_VERSION }),
            None => return Err(Error::ModelMeta("schema_version is missing".into())),
        }
        let meta: ModelMeta =
            serde_json::from_value(raw).map_err(|e| Error::ModelMeta(e.to_string()))?;
        meta.check()?;
        Ok(meta)
    }

    fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::ModelMeta(msg));
        if !(8_000..=192_000).contains(&self.sample_rate) {
            return bad(format!("sample_rate {} Hz is outside 8000..=192000", self.sample_rate));
        }
        if self.hop == 0 || self.n_frames == 0 || self.n_mels == 0 || self.n_fft < 16 {
            return bad("hop, n_frames, n_mels must be positive and n_fft ≥ 16".into());
        }
        if self.n_samples != self.n_frames * self.hop {
            return bad(format!(
                "n_samples {} != n_frames {} × hop {}",
                self.n_samples, self.n_frames, self.hop
            ));
        }
        if self.latent_dim != LATENT_DIM {
            return bad(format!("latent_dim is {}, the contract fixes {LATENT_DIM}", self.latent_dim));
        }
        if self.classes.is_empty() || self.classes.len() > MAX_CLASSES {
            return bad(format!("{} classes; 1..={MAX_CLASSES} supported", self.classes.len()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.classes {
            if c.is_empty() || !seen.insert(c) {
                return bad(format!("class names must be unique and non-empty ({c:?})"));
            }
        }
        if !(self.mel.norm_std > 0.0 && self.mel.log_floor > 0.0) {
            return bad("mel.norm_std and mel.log_floor must be positive".into());
        }
        check_pca("latent.global", &self.latent.global)?;
        for class in &self.classes {
            match self.latent.per_class.get(class) {
                Some(p) => check_pca(&format!("latent.per_class.{class}"), p)?,
                None => return bad(format!("latent.per_class has no entry for class {class:?}")),
            }
        }
        Ok(())
    }

    /// Index of a class by name (exact match, then case-insensitive).
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes
            .iter()
            .position(|c| c == name)
            .or_else(|| self.classes.iter().position(|c| c.eq_ignore_ascii_case(name)))
    }

    /// Duration of one generated one-shot in seconds.
    pub fn duration_s(&self) -> f64 {
        self.n_samples as f64 / f64::from(self.sample_rate)
    }
}

fn check_pca(what: &str, p: &Pca) -> Result<()> {
    let bad = |msg: String| Err(Error::ModelMeta(format!("{what}: {msg}")));
    if p.mean.len() != LATENT_DIM {
        return bad(format!("mean has {} values, expected {LATENT_DIM}", p.mean.len()));
    }
    if p.components.len() < CONTROL_AXES || p.std.len() < CONTROL_AXES {
        return bad(format!("needs at least {CONTROL_AXES} components and std values"));
    }
    for (k, axis) in p.components.iter().enumerate().take(CONTROL_AXES) {
        if axis.len() != LATENT_DIM {
            return bad(format!("component {k} has {} values", axis.len()));
        }
        let norm: f32 = axis.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !(0.9..=1.1).contains(&norm) {
            return bad(format!("component {k} is not unit-norm (|u| = {norm:.3})"));
        }
    }
    if let Some(c) = &p.centre {
        if c.len() != LATENT_DIM {
            return bad(format!("centre has {} values, expected {LATENT_DIM}", c.len()));
        }
    }
    let all = p.mean.iter().chain(p.centre.iter().flatten()).chain(p.std.iter()).chain(p.components.iter().flatten());
    if all.clone().any(|v| !v.is_finite()) || p.std.iter().any(|s| *s < 0.0) {
        return bad("contains a non-finite value or a negative std".into());
    }
    Ok(())
}
