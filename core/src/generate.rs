//! One-shot generation and sample encoding on top of a [`ModelSet`]: controls → `z` → decoder →
//! MCNN → post-processing → host sample rate; and file → onset-aligned window → encoder → `z`.

use crate::audio_file::DecodedAudio;
use crate::control::{latent_for, Axes, Latent, SoundParams};
use crate::dsp;
use crate::error::{Error, Result};
use crate::meta::{CONTROL_AXES, LATENT_DIM};
use crate::model::ModelSet;
use std::time::Instant;

/// A finished one-shot, ready to be played.
#[derive(Debug, Clone)]
pub struct Sound {
    /// Mono samples at `sample_rate`, peak −1 dBFS, `[n]`.
    pub samples: Vec<f32>,
    /// Sample rate of `samples` in Hz.
    pub sample_rate: u32,
    /// The kit pad this sound belongs to (0 outside a kit).
    pub pad: usize,
    /// The parameters it was made from.
    pub params: SoundParams,
    /// Time spent per stage.
    pub timing: Timing,
}

/// Milliseconds spent in each stage of one generation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// Decoder forward.
    pub decoder_ms: f64,
    /// MCNN forward.
    pub inverter_ms: f64,
    /// Post-processing and resampling.
    pub post_ms: f64,
}

impl Timing {
    /// Total milliseconds.
    pub fn total_ms(&self) -> f64 {
        self.decoder_ms + self.inverter_ms + self.post_ms
    }
}

/// Generates the one-shot for `params` at `sample_rate` Hz (the model's own rate when `None`).
/// Deterministic: the same model, params and rate give the same samples.
///
/// # Errors
/// Inference errors of the model set, [`Error::Resample`].
pub fn generate(model: &ModelSet, params: &SoundParams, sample_rate: Option<u32>) -> Result<Sound> {
    let meta = model.meta();
    let params = params.sanitized(meta.classes.len());
    let z = latent_for(meta, &params);
    let c = params.class_vector(meta.classes.len());
    let t0 = Instant::now();
    let mel = model.decode(&z, &c)?;
    let t1 = Instant::now();
    let mut wav = model.invert(&mel)?;
    let t2 = Instant::now();
    dsp::post_process(&mut wav, meta.sample_rate as f32, meta.end_fade_samples());
    let rate = sample_rate.unwrap_or(meta.sample_rate);
    let samples = dsp::resample(&wav, meta.sample_rate, rate)?;
    let t3 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    Ok(Sound {
        samples,
        sample_rate: rate,
        pad: 0,
        params,
        timing: Timing { decoder_ms: ms(t0, t1), inverter_ms: ms(t1, t2), post_ms: ms(t2, t3) },
    })
}

/// A user's sample placed in the latent space.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The sample's latent `z`.
    pub latent: Latent,
    /// Its position `(x, y, fine)` on the class's control axes at the given range.
    pub position: [f32; CONTROL_AXES],
    /// Class weights used for encoding, `[C]`.
    pub class_weights: Vec<f32>,
}

/// Encodes decoded audio under class weights `class_weights` (`[C]`, one-hot or a blend): mono →
/// model rate → onset-aligned window of `n_samples` (padded / faded) → encoder → `z`, plus the
/// pad position of `z` at pad range `range`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a wrong class vector, inference and resampling errors.
pub fn encode(model: &ModelSet, audio: &DecodedAudio, class_weights: &[f32], range: f32) -> Result<Encoded> {
    let meta = model.meta();
    if class_weights.len() != meta.classes.len() || class_weights.iter().sum::<f32>() <= 0.0 {
        return Err(Error::InvalidArgument {
            what: "class weights",
            reason: format!("need {} non-negative weights with a positive sum", meta.classes.len()),
        });
    }
    let at_rate = dsp::resample(&audio.samples, audio.sample_rate, meta.sample_rate)?;
    let start = dsp::onset(&at_rate, meta.sample_rate);
    let mut window = dsp::window_from(&at_rate, start, meta.n_samples);
    let p = dsp::peak(&window);
    if p > 1e-6 {
        window.iter_mut().for_each(|s| *s *= dsp::PEAK_TARGET / p);
    }
    let code = model.encode(&window, class_weights)?;
    let mut latent = [0.0; LATENT_DIM];
    latent.copy_from_slice(&code);
    let axes = Axes::for_weights(meta, class_weights);
    Ok(Encoded { latent, position: axes.position_of(&latent, range), class_weights: class_weights.to_vec() })
}

/// `count` variations around `base`: the same params with seeds `seed, seed+1, …` and variation
/// `amount` (prior standard deviations).
pub fn variations(base: &SoundParams, count: usize, amount: f32, seed: u64) -> Vec<SoundParams> {
    (0..count as u64)
        .map(|i| SoundParams { variation: amount, seed: seed.wrapping_add(i), ..*base })
        .collect()
}

/// `steps` (≥ 2) params along the straight latent path from `a` to `b`, both ends included
/// (returned as anchored params at the pad's anchor position, so each decodes to exactly the
/// interpolated latent).
pub fn morph(a: &Latent, b: &Latent, steps: usize, template: &SoundParams, model: &ModelSet) -> Vec<SoundParams> {
    let steps = steps.max(2);
    let meta = model.meta();
    let w = template.class_vector(meta.classes.len());
    let axes = Axes::for_weights(meta, &w);
    (0..steps)
        .map(|i| {
            let t = i as f32 / (steps - 1) as f32;
            let mut z = [0.0; LATENT_DIM];
            for d in 0..LATENT_DIM {
                z[d] = (1.0 - t) * a[d] + t * b[d];
            }
            let [x, y, fine] = axes.position_of(&z, template.range);
            SoundParams { anchor: Some(z), x, y, fine, variation: 0.0, ..*template }
        })
        .collect()
}
