//! Latent refinement: after the encoder's one-pass guess, `z` is optimised by gradient steps
//! through the decoder so that the decoded log-Mel spectrogram matches the sample's own.
//!
//! This is the "optimisation-based inversion" of a generator (GAN inversion: Zhu et al.,
//! "Generative Visual Manipulation on the Natural Image Manifold", ECCV 2016, §3.1; encoder
//! initialisation then per-sample gradient descent as in Zhu et al., "In-Domain GAN Inversion",
//! ECCV 2020, §3.2): minimise `L(z) = mean |D(z, c) − M|` over `z` with Adam (Kingma & Ba, 2015),
//! the decoder's weights frozen, `M` the sample's normalised log-Mel. The best `z` seen is kept,
//! so refinement never returns a worse fit than the encoder's guess. It runs on the inference
//! worker (or the CLI), bounded by a step count and a wall-clock limit.

use crate::control::Latent;
use crate::error::{Error, Result};
use crate::meta::LATENT_DIM;
use crate::model::ModelSet;
use std::time::{Duration, Instant};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Default number of refinement steps (`--refine-steps`; 0 turns refinement off).
pub const DEFAULT_STEPS: usize = 200;
/// Default wall-clock limit of one refinement (the bound: 1.5 s per sample).
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_millis(1500);

/// How to refine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefineOptions {
    /// Gradient steps at most (0: no refinement).
    pub steps: usize,
    /// Wall-clock limit of the whole encoding ([`crate::generate::encode_refined`] gives the
    /// refinement what the encoder and the checks around it leave); refinement stops before a
    /// step that would cross it (at least one step runs).
    pub time_limit: Duration,
    /// Adam's peak learning rate, in latent units (the prior is a unit Gaussian); it decays with a
    /// cosine to a tenth over the run (over `steps`, or over `time_limit` when that comes first).
    pub learning_rate: f64,
}

impl Default for RefineOptions {
    fn default() -> Self {
        RefineOptions { steps: DEFAULT_STEPS, time_limit: DEFAULT_TIME_LIMIT, learning_rate: 0.05 }
    }
}

impl RefineOptions {
    /// No refinement (`--refine-steps 0`).
    pub fn off() -> Self {
        RefineOptions { steps: 0, ..Self::default() }
    }
}

/// Progress of a refinement, reported after every step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefineProgress {
    /// Steps done.
    pub step: usize,
    /// Steps planned.
    pub steps: usize,
    /// Best log-Mel L1 so far, in dB.
    pub loss_db: f32,
}

/// What a refinement did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refined {
    /// The refined latent (the best one seen).
    pub latent: Latent,
    /// Log-Mel L1 of the encoder's guess, in dB.
    pub start_db: f32,
    /// Log-Mel L1 of `latent`, in dB.
    pub loss_db: f32,
    /// Steps run (fewer than asked when the time limit was reached).
    pub steps: usize,
    /// Wall-clock time spent, seconds ([`crate::generate::encode_refined`] reports the whole
    /// encoding's: window, log-Mel, encoder, refinement and the check through the inverter).
    pub seconds: f32,
    /// Set by [`crate::generate::encode_refined`] when the encoder's guess was kept because the
    /// pad sounded closer to the sample with it (judged through the inverter).
    pub kept_guess: bool,
}

/// Refines `z0` (`[64]`) under class weights `c` (`[C]`) towards `target`, the sample's normalised
/// log-Mel (`[1, n_mels, n_frames]`, e.g. from [`crate::mel::LogMel::compute`]). `progress` is
/// called after each step.
///
/// # Errors
/// Decoder errors; [`Error::Inference`] when the loss is not finite.
pub fn refine(
    model: &ModelSet,
    z0: &Latent,
    c: &[f32],
    target: &Tensor,
    opts: &RefineOptions,
    progress: &mut dyn FnMut(RefineProgress),
) -> Result<Refined> {
    let t0 = Instant::now();
    let db = |l1: f64| (l1 * model.meta().mel.norm_std * crate::mel::NEPER_POWER_TO_DB) as f32;
    let c = Tensor::from_slice(c).view([1, c.len() as i64]);
    let target = target.detach();
    let loss_of = |z: &Tensor| -> Result<Tensor> {
        let mel = model.decode_tensor(z, &c)?;
        Ok((mel - &target).abs().mean(Kind::Float))
    };
    let start = {
        let _g = tch::no_grad_guard();
        loss_of(&Tensor::from_slice(z0).view([1, LATENT_DIM as i64]))?.double_value(&[])
    };
    let mut best = (start, *z0);
    let mut steps_run = 0;
    if opts.steps > 0 {
        let vs = nn::VarStore::new(Device::Cpu);
        let z = vs.root().var_copy("z", &Tensor::from_slice(z0).view([1, LATENT_DIM as i64]));
        let mut adam = nn::Adam::default()
            .build(&vs, opts.learning_rate)
            .map_err(|e| Error::Inference { module: "refinement", reason: e.to_string() })?;
        for step in 0..opts.steps {
            let limit = opts.time_limit.as_secs_f64();
            let by_time = if limit > 0.0 { t0.elapsed().as_secs_f64() / limit } else { 1.0 };
            let t = (step as f64 / opts.steps as f64).max(by_time).min(1.0);
            adam.set_lr(opts.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())));
            let loss = loss_of(&z)?;
            let value = loss.double_value(&[]);
            if !value.is_finite() {
                return Err(Error::Inference { module: "refinement", reason: "the loss is not finite".into() });
            }
            if value < best.0 {
                best = (value, latent_of(&z)?);
            }
            adam.backward_step(&loss);
            steps_run = step + 1;
            progress(RefineProgress { step: steps_run, steps: opts.steps, loss_db: db(best.0) });
            // stop when another step and the final scoring (at the mean step time so far)
            // would cross the limit
            let elapsed = t0.elapsed();
            if elapsed + 2 * elapsed / steps_run as u32 > opts.time_limit {
                break;
            }
        }
        // the last step's result has not been scored yet
        let _g = tch::no_grad_guard();
        let last = loss_of(&z)?.double_value(&[]);
        if last < best.0 {
            best = (last, latent_of(&z)?);
        }
    }
    Ok(Refined { latent: best.1, start_db: db(start), loss_db: db(best.0), steps: steps_run, seconds: t0.elapsed().as_secs_f32(), kept_guess: false })
}

fn latent_of(z: &Tensor) -> Result<Latent> {
    let v = Vec::<f32>::try_from(&z.detach().contiguous().view([-1]))
        .map_err(|e| Error::Inference { module: "refinement", reason: e.to_string() })?;
    let mut out = [0.0; LATENT_DIM];
    if v.len() != LATENT_DIM || v.iter().any(|x| !x.is_finite()) {
        return Err(Error::Inference { module: "refinement", reason: "the latent is not finite".into() });
    }
    out.copy_from_slice(&v);
    Ok(out)
}
