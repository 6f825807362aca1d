//! The model's log-Mel front end in the core: waveform → normalised log-Mel spectrogram, exactly
//! as `training/model.py` `MelFrontEnd` computes it (the target of latent refinement and of the
//! detail residual, and the input of `ndm resynth`).
//!
//! STFT: periodic Hann window of `n_fft`, hop `hop`, centred frames (reflect padding), power
//! `|X|²`, first `n_frames` frames kept; Mel: Slaney-scale filter bank with Slaney area
//! normalisation (the librosa default, Slaney, "Auditory Toolbox", Interval Research TR 1998-010),
//! `f_min`..`f_max`; `ln(max(mel, log_floor))`, then `(· − norm_mean) / norm_std`.

use crate::error::{Error, Result};
use crate::meta::{MelMeta, ModelMeta};
use tch::{Device, Kind, Tensor};

/// Natural-log units of a log-Mel spectrogram → dB (`10 / ln 10`: the spectrogram is power).
pub const NEPER_POWER_TO_DB: f64 = 4.342_944_819_032_518;

/// The log-Mel front end of one model contract. Built once per model set (the filter bank is a
/// `[n_mels][n_fft/2+1]` tensor); [`LogMel::compute`] is called on the worker thread only.
pub struct LogMel {
    n_fft: i64,
    hop: i64,
    n_frames: usize,
    n_samples: usize,
    log_floor: f64,
    norm_mean: f64,
    norm_std: f64,
    window: Tensor,
    filter_bank: Tensor,
}

impl LogMel {
    /// The front end of `meta`'s contract.
    pub fn new(meta: &ModelMeta) -> Self {
        Self::from_contract(meta.sample_rate, meta.n_fft, meta.hop, meta.n_mels, meta.n_frames, &meta.mel)
    }

    /// The front end of a contract given by its numbers: `sample_rate` Hz, `n_fft` and `hop` in
    /// samples, `n_mels` bands, `n_frames` frames (input `n_frames · hop` samples), Mel constants.
    pub fn from_contract(sample_rate: u32, n_fft: usize, hop: usize, n_mels: usize, n_frames: usize, mel: &MelMeta) -> Self {
        let fb = mel_filter_bank(f64::from(sample_rate), n_fft, n_mels, mel.f_min, mel.f_max);
        let n_freq = n_fft / 2 + 1;
        LogMel {
            n_fft: n_fft as i64,
            hop: hop as i64,
            n_frames,
            n_samples: n_frames * hop,
            log_floor: mel.log_floor,
            norm_mean: mel.norm_mean,
            norm_std: mel.norm_std,
            window: Tensor::hann_window(n_fft as i64, (Kind::Float, Device::Cpu)),
            filter_bank: Tensor::from_slice(&fb).view([n_mels as i64, n_freq as i64]),
        }
    }

    /// Normalised log-Mel of `wav` (`[n_samples]` at the model's sample rate) as a `[1, n_mels,
    /// n_frames]` tensor (no gradient).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `wav` is not `n_samples` long.
    pub fn compute(&self, wav: &[f32]) -> Result<Tensor> {
        if wav.len() != self.n_samples {
            return Err(Error::InvalidArgument {
                what: "waveform",
                reason: format!("{} samples, the model expects {}", wav.len(), self.n_samples),
            });
        }
        let _guard = tch::no_grad_guard();
        let err = |e: tch::TchError| Error::Inference { module: "log-Mel front end", reason: e.to_string().lines().next().unwrap_or("").to_owned() };
        // centred frames: reflect-pad n_fft/2 on both sides, then frame without centring (as
        // torch.stft(center=True, pad_mode="reflect") does)
        let half = self.n_fft / 2;
        let x = Tensor::from_slice(wav).view([1, 1, wav.len() as i64]).f_reflection_pad1d([half, half]).map_err(err)?.view([1, -1]);
        let spec = x.f_stft_center(self.n_fft, self.hop, self.n_fft, Some(&self.window), false, "constant", false, true, true, false).map_err(err)?;
        let power = spec.view_as_real().square().sum_dim_intlist(-1, false, Kind::Float).narrow(2, 0, self.n_frames as i64);
        let mel = self.filter_bank.matmul(&power);
        Ok((mel.clamp_min(self.log_floor).log() - self.norm_mean) / self.norm_std)
    }

    /// [`LogMel::compute`] flattened to `[n_mels][n_frames]` row-major values.
    ///
    /// # Errors
    /// As [`LogMel::compute`].
    pub fn compute_vec(&self, wav: &[f32]) -> Result<Vec<f32>> {
        let t = self.compute(wav)?.contiguous().view([-1]);
        Vec::<f32>::try_from(&t).map_err(|e| Error::Inference { module: "log-Mel front end", reason: e.to_string() })
    }

    /// Mean absolute difference of two normalised log-Mel spectrograms (same shape), in dB of
    /// power: the distance `evaluate.py` and the targets use.
    pub fn l1_db(&self, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len()).max(1);
        let sum: f64 = a.iter().zip(b).map(|(x, y)| f64::from((x - y).abs())).sum();
        (sum / n as f64 * self.norm_std * NEPER_POWER_TO_DB) as f32
    }
}

/// Slaney Mel scale: Hz → Mel (linear below 1 kHz, logarithmic above).
fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let log_step = 6.4f64.ln() / 27.0;
    if f >= min_log_hz { min_log_mel + (f.max(1e-10) / min_log_hz).ln() / log_step } else { f / f_sp }
}

/// Slaney Mel scale: Mel → Hz.
fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let log_step = 6.4f64.ln() / 27.0;
    if m >= min_log_mel { min_log_hz * (log_step * (m - min_log_mel)).exp() } else { f_sp * m }
}

/// Slaney-normalised triangular Mel filter bank, row-major `[n_mels][n_fft/2+1]` (bins at
/// `k · sample_rate / n_fft` Hz), identical to `training/model.py` `mel_filterbank`.
pub fn mel_filter_bank(sample_rate: f64, n_fft: usize, n_mels: usize, f_min: f64, f_max: f64) -> Vec<f32> {
    let n_freq = n_fft / 2 + 1;
    let (lo, hi) = (hz_to_mel(f_min), hz_to_mel(f_max));
    let edges: Vec<f64> = (0..n_mels + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut out = vec![0.0f32; n_mels * n_freq];
    for m in 0..n_mels {
        let enorm = 2.0 / (edges[m + 2] - edges[m]);
        for k in 0..n_freq {
            let f = sample_rate / 2.0 * k as f64 / (n_freq - 1) as f64;
            let lower = (f - edges[m]) / (edges[m + 1] - edges[m]);
            let upper = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
            out[m * n_freq + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_bank_rows_are_triangles_with_slaney_area() {
        let fb = mel_filter_bank(22_050.0, 1024, 80, 0.0, 11_025.0);
        let n_freq = 513;
        for m in 0..80 {
            let row = &fb[m * n_freq..(m + 1) * n_freq];
            let peak = row.iter().cloned().fold(0.0, f32::max);
            assert!(peak > 0.0, "band {m} is empty");
            // rising then falling: at most one local maximum
            let turns = row.windows(3).filter(|w| w[1] > w[0] && w[1] > w[2]).count();
            assert!(turns <= 1, "band {m} has {turns} peaks");
        }
        // centres rise with the band index
        let centre = |m: usize| -> f64 {
            let row = &fb[m * n_freq..(m + 1) * n_freq];
            let s: f64 = row.iter().map(|v| f64::from(*v)).sum();
            row.iter().enumerate().map(|(k, v)| k as f64 * f64::from(*v)).sum::<f64>() / s
        };
        assert!((1..80).all(|m| centre(m) > centre(m - 1)));
    }
}
