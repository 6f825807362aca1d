//! From musician controls to the decoder inputs: latent `z` `[64]` and class weights `c` `[C]`.
//!
//! The pad moves along the principal axes of the training-set latent codes (Aouameur et al.,
//! "Neural Drum Machine", ICCC 2019, §4: P1/P2 on the XY pad, P3 as a fine knob):
//!
//! `z = base + range · Σ_k (p_k − p_k(base)) · σ_k · u_k + amount · ε(seed)`
//!
//! with `p = (x, y, fine)` in [-1, 1]³, `u_k`/`σ_k` the class's principal axes and their standard
//! deviations, `base` the class centre (`model.json` `centre`, the training code nearest to the
//! class mean; `mean` in older models) or an encoded sample's latent, the *anchor* (then
//! `p(base)` is the anchor's own position so that the pad at that position gives the sample back),
//! and `ε ~ N(0, I)` the variation offset (the WAE prior is a unit Gaussian, so `amount` is in
//! prior standard deviations).

use crate::meta::{ModelMeta, CONTROL_AXES, LATENT_DIM, MAX_CLASSES};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// A latent code `z`.
pub type Latent = [f32; LATENT_DIM];

/// Everything that determines one generated sound. `Copy` and fixed-size so the audio thread can
/// post it through a ring buffer without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoundParams {
    /// Class weights (one-hot or a blend), first `C` entries used; need not sum to 1.
    pub class_weights: [f32; MAX_CLASSES],
    /// Pad X: position along P1, in [-1, 1].
    pub x: f32,
    /// Pad Y: position along P2, in [-1, 1].
    pub y: f32,
    /// Fine: position along P3, in [-1, 1].
    pub fine: f32,
    /// Pad range: how many standard deviations the pad edge is from the centre, in (0, 4].
    pub range: f32,
    /// Variation amount in prior standard deviations, [0, 2].
    pub variation: f32,
    /// Seed of the variation offset ε.
    pub seed: u64,
    /// Encoded sample's latent, when the pad is anchored on a user's sample.
    pub anchor: Option<Latent>,
    /// Detail, [0, 1]: how much of the sample's own spectrogram detail (the residual between its
    /// log-Mel and the decoded anchor's, [`crate::generate::DetailResidual`]) is added to the
    /// decoded spectrogram. 0: the model's sound; 1 at the anchor position: the sample's own
    /// spectrogram through the inverter. Only anchored pads have a residual.
    pub detail: f32,
}

impl SoundParams {
    /// The centre of class `class`, no variation, range 2.
    pub fn for_class(class: usize) -> Self {
        let mut class_weights = [0.0; MAX_CLASSES];
        class_weights[class.min(MAX_CLASSES - 1)] = 1.0;
        SoundParams {
            class_weights,
            x: 0.0,
            y: 0.0,
            fine: 0.0,
            range: 2.0,
            variation: 0.0,
            seed: 0,
            anchor: None,
            detail: 0.0,
        }
    }

    /// Replaces absurd values (NaN, out of range) with the nearest sensible ones.
    pub fn sanitized(mut self, n_classes: usize) -> Self {
        let fix = |v: f32, lo: f32, hi: f32, default: f32| {
            if v.is_finite() { v.clamp(lo, hi) } else { default }
        };
        self.x = fix(self.x, -1.0, 1.0, 0.0);
        self.y = fix(self.y, -1.0, 1.0, 0.0);
        self.fine = fix(self.fine, -1.0, 1.0, 0.0);
        self.range = fix(self.range, 0.01, 4.0, 2.0);
        self.variation = fix(self.variation, 0.0, 2.0, 0.0);
        self.detail = fix(self.detail, 0.0, 1.0, 0.0);
        let n = n_classes.clamp(1, MAX_CLASSES);
        for (i, w) in self.class_weights.iter_mut().enumerate() {
            *w = if i < n { fix(*w, 0.0, 1.0, 0.0) } else { 0.0 };
        }
        if self.class_weights[..n].iter().sum::<f32>() <= 1e-6 {
            self.class_weights[0] = 1.0;
        }
        if let Some(a) = &mut self.anchor {
            if a.iter().any(|v| !v.is_finite()) {
                self.anchor = None;
            }
        }
        self
    }

    /// Class weights normalised to sum to 1, `[C]`.
    pub fn class_vector(&self, n_classes: usize) -> Vec<f32> {
        let w = &self.class_weights[..n_classes.min(MAX_CLASSES)];
        let sum: f32 = w.iter().sum();
        w.iter().map(|v| v / sum.max(1e-6)).collect()
    }

    /// The pad position `(x, y, fine)`.
    pub fn position(&self) -> [f32; CONTROL_AXES] {
        [self.x, self.y, self.fine]
    }
}

/// Control axes for a class blend: centre `[64]`, axes `[3][64]`, std `[3]`.
#[derive(Debug, Clone)]
pub struct Axes {
    /// Pad centre: weighted mean of the class centres (`model.json` `centre`, else `mean`).
    pub centre: Latent,
    /// Unit axes P1..P3.
    pub axes: [Latent; CONTROL_AXES],
    /// Standard deviation along each axis.
    pub std: [f32; CONTROL_AXES],
}

impl Axes {
    /// Blends the per-class PCAs of `model.json` with weights `w` (normalised, `[C]`). Principal
    /// axes have arbitrary signs, so each class's axis is sign-aligned to the dominant class's
    /// before averaging; a one-hot `w` gives that class's PCA exactly.
    pub fn for_weights(meta: &ModelMeta, w: &[f32]) -> Self {
        let dominant = (0..w.len()).max_by(|a, b| w[*a].total_cmp(&w[*b])).unwrap_or(0);
        let pca_of = |i: usize| meta.latent.per_class.get(&meta.classes[i]).unwrap_or(&meta.latent.global);
        let reference = pca_of(dominant);
        let mut out = Axes { centre: [0.0; LATENT_DIM], axes: [[0.0; LATENT_DIM]; CONTROL_AXES], std: [0.0; CONTROL_AXES] };
        for (i, &wi) in w.iter().enumerate().filter(|(_, w)| **w > 0.0) {
            let p = pca_of(i);
            let centre = p.centre.as_deref().unwrap_or(p.mean.as_slice());
            for d in 0..LATENT_DIM {
                out.centre[d] += wi * centre[d];
            }
            for k in 0..CONTROL_AXES {
                let dot: f32 = p.components[k].iter().zip(&reference.components[k]).map(|(a, b)| a * b).sum();
                let sign = if dot < 0.0 { -1.0 } else { 1.0 };
                for d in 0..LATENT_DIM {
                    out.axes[k][d] += wi * sign * p.components[k][d];
                }
                out.std[k] += wi * p.std[k];
            }
        }
        for axis in &mut out.axes {
            let norm = axis.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-9);
            axis.iter_mut().for_each(|v| *v /= norm);
        }
        out
    }

    /// Position `(x, y, fine)` of latent `z` on these axes at pad range `range`, clamped to
    /// [-1, 1] (the inverse of [`latent_for`] without anchor or variation).
    pub fn position_of(&self, z: &Latent, range: f32) -> [f32; CONTROL_AXES] {
        let mut p = [0.0; CONTROL_AXES];
        for k in 0..CONTROL_AXES {
            let proj: f32 = (0..LATENT_DIM).map(|d| (z[d] - self.centre[d]) * self.axes[k][d]).sum();
            let scale = (range * self.std[k]).max(1e-6);
            p[k] = (proj / scale).clamp(-1.0, 1.0);
        }
        p
    }
}

/// The latent `z` for `params` (see the module docs for the formula). Deterministic in `params`.
pub fn latent_for(meta: &ModelMeta, params: &SoundParams) -> Latent {
    let w = params.class_vector(meta.classes.len());
    let axes = Axes::for_weights(meta, &w);
    let (mut z, origin) = match &params.anchor {
        Some(anchor) => (*anchor, axes.position_of(anchor, params.range)),
        None => (axes.centre, [0.0; CONTROL_AXES]),
    };
    let pos = params.position();
    for k in 0..CONTROL_AXES {
        let step = (pos[k] - origin[k]) * params.range * axes.std[k];
        for d in 0..LATENT_DIM {
            z[d] += step * axes.axes[k][d];
        }
    }
    if params.variation > 0.0 {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(params.seed);
        for v in z.iter_mut() {
            let e: f32 = StandardNormal.sample(&mut rng);
            *v += params.variation * e;
        }
    }
    z
}
