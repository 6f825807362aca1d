//! One-shot generation and sample encoding on top of a [`ModelSet`]: controls → `z` → decoder
//! (+ detail residual) → MCNN → post-processing → host sample rate; file → onset-aligned window →
//! encoder → `z` → latent refinement → detail residual; and the spectrogram → inverter round trip
//! of a file ([`resynthesize`]).

use crate::audio_file::DecodedAudio;
use crate::control::{latent_for, Axes, Latent, SoundParams};
use crate::dsp;
use crate::error::{Error, Result};
use crate::meta::{CONTROL_AXES, LATENT_DIM};
use crate::model::ModelSet;
use crate::refine::{refine, RefineOptions, RefineProgress, Refined};
use std::sync::Arc;
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
    generate_detailed(model, params, None, sample_rate)
}

/// [`generate`] with the detail residual of the pad's encoded sample: when `params` is anchored on
/// `residual.anchor` and `params.detail` > 0, `detail · residual` is added to the decoded log-Mel
/// spectrogram before inversion (issue #11, "detail control"). A residual of another anchor or of
/// another shape is ignored.
///
/// # Errors
/// As [`generate`].
pub fn generate_detailed(model: &ModelSet, params: &SoundParams, residual: Option<&DetailResidual>, sample_rate: Option<u32>) -> Result<Sound> {
    let meta = model.meta();
    let params = params.sanitized(meta.classes.len());
    let z = latent_for(meta, &params);
    let c = params.class_vector(meta.classes.len());
    let t0 = Instant::now();
    let mut mel = model.decode(&z, &c)?;
    if let Some(r) = residual.filter(|r| params.detail > 0.0 && params.anchor == Some(r.anchor) && r.values.len() == mel.len()) {
        mel.iter_mut().zip(&r.values).for_each(|(m, d)| *m += params.detail * d);
    }
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

/// The residual between an encoded sample's own normalised log-Mel spectrogram and the decoded
/// spectrogram of its latent (`anchor`): `values` `[n_mels][n_frames]` row-major, normalised
/// log-Mel units. Added, scaled by the detail control, to sounds anchored on the sample.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailResidual {
    /// The latent the residual was taken against (the pad's anchor).
    pub anchor: Latent,
    /// `M_sample − D(anchor, c)`, `[n_mels · n_frames]`.
    pub values: Vec<f32>,
}

/// A user's sample placed in the latent space.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The sample's latent `z` (the refined one when refinement ran and the pad then sounds
    /// closer to the sample, else the encoder's guess).
    pub latent: Latent,
    /// Its position `(x, y, fine)` on the class's control axes at the given range.
    pub position: [f32; CONTROL_AXES],
    /// Class weights used for encoding, `[C]`.
    pub class_weights: Vec<f32>,
    /// Log-Mel L1 in dB between the sample and the decoded encoder guess.
    pub guess_db: f32,
    /// What refinement did (`None`: not run).
    pub refined: Option<Refined>,
    /// The sample's detail residual against `latent`.
    pub residual: Arc<DetailResidual>,
}

impl Encoded {
    /// Log-Mel L1 in dB between the sample and the decoded `latent` (before the inverter).
    pub fn fit_db(&self) -> f32 {
        match self.refined {
            Some(r) if !r.kept_guess => r.loss_db,
            _ => self.guess_db,
        }
    }
}

/// The model-rate window of a sample that encoding and resynthesis use: mono → model rate →
/// onset-aligned window of `n_samples` (zero-padded, or cut with a short fade) → peak
/// normalised to [`dsp::PEAK_TARGET`]. `[n_samples]` at the model's sample rate.
///
/// # Errors
/// [`Error::Resample`].
pub fn sample_window(model: &ModelSet, audio: &DecodedAudio) -> Result<Vec<f32>> {
    let meta = model.meta();
    let at_rate = dsp::resample(&audio.samples, audio.sample_rate, meta.sample_rate)?;
    let start = dsp::onset(&at_rate, meta.sample_rate);
    let mut window = dsp::window_from(&at_rate, start, meta.n_samples);
    let p = dsp::peak(&window);
    if p > 1e-6 {
        window.iter_mut().for_each(|s| *s *= dsp::PEAK_TARGET / p);
    }
    Ok(window)
}

/// Encodes decoded audio under class weights `class_weights` (`[C]`, one-hot or a blend) in one
/// encoder pass (no refinement): [`sample_window`] → encoder → `z`, plus the pad position of `z`
/// at pad range `range` and the detail residual.
///
/// # Errors
/// [`Error::InvalidArgument`] for a wrong class vector, inference and resampling errors.
pub fn encode(model: &ModelSet, audio: &DecodedAudio, class_weights: &[f32], range: f32) -> Result<Encoded> {
    encode_refined(model, audio, class_weights, range, &RefineOptions::off(), &mut |_| {})
}

/// [`encode`], then latent refinement ([`crate::refine`]) of the encoder's guess against the
/// sample's log-Mel spectrogram under `opts` (`progress` after each step), then the detail
/// residual against the refined latent.
///
/// # Errors
/// As [`encode`]; refinement errors.
pub fn encode_refined(
    model: &ModelSet,
    audio: &DecodedAudio,
    class_weights: &[f32],
    range: f32,
    opts: &RefineOptions,
    progress: &mut dyn FnMut(RefineProgress),
) -> Result<Encoded> {
    let meta = model.meta();
    if class_weights.len() != meta.classes.len() || class_weights.iter().sum::<f32>() <= 0.0 {
        return Err(Error::InvalidArgument {
            what: "class weights",
            reason: format!("need {} non-negative weights with a positive sum", meta.classes.len()),
        });
    }
    let t0 = Instant::now();
    let window = sample_window(model, audio)?;
    let target = model.logmel().compute_vec(&window)?;
    let code = model.encode(&window, class_weights)?;
    let mut guess = [0.0; LATENT_DIM];
    guess.copy_from_slice(&code);
    let t_decode = Instant::now();
    let guess_mel = model.decode(&guess, class_weights)?;
    let t_decode = t_decode.elapsed();
    let guess_db = model.logmel().l1_db(&target, &guess_mel);
    let (latent, decoded, refined) = if opts.steps > 0 {
        // Judged by what the pad plays (through the inverter), the refined latent must not be
        // worse than the guess: a closer decoded spectrogram can invert less well when it leaves
        // what the inverter was trained on.
        let t_heard = Instant::now();
        let heard_guess = heard_l1_db(model, &guess_mel, &target)?;
        // the refinement gets what is left of the limit after this and what comes after it
        // (a decode of the refined latent and the same check)
        let left = opts.time_limit.saturating_sub(t0.elapsed() + t_heard.elapsed() + t_decode);
        let shape = [1, meta.n_mels as i64, meta.n_frames as i64];
        let mut r = refine(model, &guess, class_weights, &tch::Tensor::from_slice(&target).view(shape), &RefineOptions { time_limit: left, ..*opts }, progress)?;
        let refined_mel = model.decode(&r.latent, class_weights)?;
        let heard_refined = heard_l1_db(model, &refined_mel, &target)?;
        r.seconds = t0.elapsed().as_secs_f32();
        if heard_refined <= heard_guess {
            (r.latent, refined_mel, Some(r))
        } else {
            r.kept_guess = true;
            (guess, guess_mel, Some(r))
        }
    } else {
        (guess, guess_mel, None)
    };
    let values = target.iter().zip(&decoded).map(|(t, d)| t - d).collect();
    let axes = Axes::for_weights(meta, class_weights);
    Ok(Encoded {
        latent,
        position: axes.position_of(&latent, range),
        class_weights: class_weights.to_vec(),
        guess_db,
        refined,
        residual: Arc::new(DetailResidual { anchor: latent, values }),
    })
}

/// Log-Mel L1 in dB between `target` (a sample's normalised log-Mel) and the sound the inverter
/// makes of `mel` (post-processed at the model rate, as a pad plays it before resampling).
fn heard_l1_db(model: &ModelSet, mel: &[f32], target: &[f32]) -> Result<f32> {
    let meta = model.meta();
    let mut wav = model.invert(mel)?;
    dsp::post_process(&mut wav, meta.sample_rate as f32, meta.end_fade_samples());
    Ok(model.logmel().l1_db(target, &model.logmel().compute_vec(&wav)?))
}

/// The spectrogram → inverter round trip of a sample, without the WAE (a diagnostic of the
/// inverter, issue #11): [`sample_window`] → log-Mel → MCNN → post-processing, at the model's
/// sample rate, `[n_samples]`.
///
/// # Errors
/// Resampling and inference errors.
pub fn resynthesize(model: &ModelSet, audio: &DecodedAudio) -> Result<Vec<f32>> {
    let meta = model.meta();
    let window = sample_window(model, audio)?;
    let mel = model.logmel().compute_vec(&window)?;
    let mut wav = model.invert(&mel)?;
    dsp::post_process(&mut wav, meta.sample_rate as f32, meta.end_fade_samples());
    Ok(wav)
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
