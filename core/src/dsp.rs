//! Offline signal processing of one-shots (never on the audio thread): DC removal, fades, peak
//! normalisation, onset detection and sample-rate conversion.

use crate::error::{Error, Result};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters};

/// Peak level after normalisation: −1 dBFS.
pub const PEAK_TARGET: f32 = 0.891;
/// Fade-in length in seconds (only removes a click when the first sample is not zero).
pub const FADE_IN_S: f32 = 0.0005;

/// Post-processing of a generated one-shot at `sample_rate` Hz, in place: DC blocker (one-pole
/// high-pass at 10 Hz; J. O. Smith, "Introduction to Digital Filters", DC blocker), 0.5 ms
/// fade-in, raised-cosine fade-out over the last `fade_out_len` samples (the model's
/// [`ModelMeta::end_fade_samples`](crate::meta::ModelMeta::end_fade_samples)), peak normalisation
/// to −1 dBFS. A silent input stays silent (no gain blow-up); the result never exceeds ±1.
pub fn post_process(samples: &mut [f32], sample_rate: f32, fade_out_len: usize) {
    if samples.is_empty() {
        return;
    }
    let r = 1.0 - 2.0 * std::f32::consts::PI * 10.0 / sample_rate.max(1.0);
    let (mut x1, mut y1) = (0.0f32, 0.0f32);
    for s in samples.iter_mut() {
        let x = if s.is_finite() { *s } else { 0.0 };
        let y = x - x1 + r * y1;
        x1 = x;
        y1 = y;
        *s = y;
    }
    let n = samples.len();
    let fade_in = ((FADE_IN_S * sample_rate) as usize).clamp(1, n);
    for (i, s) in samples[..fade_in].iter_mut().enumerate() {
        *s *= i as f32 / fade_in as f32;
    }
    fade_out(samples, fade_out_len.max(1));
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak > 1e-6 {
        let g = PEAK_TARGET / peak;
        samples.iter_mut().for_each(|s| *s = (*s * g).clamp(-1.0, 1.0));
    }
}

/// Raised-cosine fade-out over the last `len` samples.
pub fn fade_out(samples: &mut [f32], len: usize) {
    let n = samples.len();
    let len = len.min(n);
    for i in 0..len {
        let t = (i + 1) as f32 / len as f32;
        samples[n - len + i] *= 0.5 * (1.0 + (std::f32::consts::PI * t).cos());
    }
}

/// Peak absolute value.
pub fn peak(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
}

/// Index of the onset: the first sample whose magnitude reaches −20 dB below the peak, moved
/// back by up to 2 ms of pre-roll so the attack is kept whole. Returns 0 for silence.
pub fn onset(samples: &[f32], sample_rate: u32) -> usize {
    let p = peak(samples);
    if p <= 1e-6 {
        return 0;
    }
    let threshold = p * 0.1;
    let first = samples.iter().position(|s| s.abs() >= threshold).unwrap_or(0);
    first.saturating_sub((sample_rate as usize) / 500)
}

/// Converts mono `samples` from `from` Hz to `to` Hz with rubato's synchronous FFT resampler
/// (band-limited; output length `round(len · to / from)`). Equal rates return a copy.
///
/// # Errors
/// [`Error::Resample`] for a zero rate or a rubato failure.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    if from == 0 || to == 0 {
        return Err(Error::Resample(format!("sample rate {from} Hz → {to} Hz")));
    }
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Both)
        .map_err(|e| Error::Resample(e.to_string()))?;
    let input = InterleavedSlice::new(samples, 1, samples.len())
        .map_err(|e| Error::Resample(e.to_string()))?;
    let out = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| Error::Resample(e.to_string()))?;
    Ok(out.take_data())
}

/// Resamples mono `samples` by `ratio` (output rate ÷ input rate; e.g. a pitch change) with
/// rubato's asynchronous sinc resampler (256-tap Blackman-Harris² windowed sinc, automatic
/// cut-off: band-limited, so tuning up does not alias). Output length `round(len · ratio)`.
///
/// # Errors
/// [`Error::Resample`] for a ratio outside (1/64, 64) or a rubato failure.
pub fn resample_ratio(samples: &[f32], ratio: f64) -> Result<Vec<f32>> {
    if !(ratio.is_finite() && ratio > 1.0 / 64.0 && ratio < 64.0) {
        return Err(Error::Resample(format!("ratio {ratio}")));
    }
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let params = SincInterpolationParameters::default();
    let mut resampler = Async::<f32>::new_sinc(ratio, 1.0, &params, 1024, 1, FixedAsync::Input)
        .map_err(|e| Error::Resample(e.to_string()))?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| Error::Resample(e.to_string()))?;
    let out = resampler.process_all(&input, samples.len(), None).map_err(|e| Error::Resample(e.to_string()))?;
    Ok(out.take_data())
}

/// Takes `len` samples from `start`, zero-padding past the end and fading out the last 10 % when
/// the source had to be cut (a hard cut would click).
pub fn window_from(samples: &[f32], start: usize, len: usize) -> Vec<f32> {
    let mut out = vec![0.0; len];
    let avail = samples.len().saturating_sub(start).min(len);
    out[..avail].copy_from_slice(&samples[start..start + avail]);
    if samples.len().saturating_sub(start) > len {
        fade_out(&mut out, len / 10);
    }
    out
}

/// Log-spectral distance in dB between two signals of (about) the same rate: RMS over frames and
/// bins of the difference of 20·log10 magnitude spectra (1024-sample Hann frames, hop 256,
/// floor −80 dB). Used to judge reconstructions; 0 for identical signals.
pub fn log_spectral_distance(a: &[f32], b: &[f32]) -> f32 {
    let (sa, sb) = (magnitude_spectrogram(a), magnitude_spectrogram(b));
    let frames = sa.len().min(sb.len());
    if frames == 0 {
        return f32::INFINITY;
    }
    let db = |m: f32| 20.0 * m.max(1e-4).log10();
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for f in 0..frames {
        for (x, y) in sa[f].iter().zip(&sb[f]) {
            let d = db(*x) - db(*y);
            sum += f64::from(d * d);
            n += 1;
        }
    }
    (sum / n.max(1) as f64).sqrt() as f32
}

/// Magnitude spectrogram `[frames][513]` with 1024-point Hann-windowed frames, hop 256 (realfft).
pub fn magnitude_spectrogram(x: &[f32]) -> Vec<Vec<f32>> {
    const N: usize = 1024;
    const HOP: usize = 256;
    let fft = realfft::RealFftPlanner::<f32>::new().plan_fft_forward(N);
    let window: Vec<f32> =
        (0..N).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / N as f32).cos()).collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut frames = Vec::new();
    let mut start = 0;
    while start + N <= x.len() {
        for (i, v) in input.iter_mut().enumerate() {
            *v = x[start + i] * window[i];
        }
        if fft.process(&mut input, &mut spectrum).is_err() {
            break;
        }
        frames.push(spectrum.iter().map(|c| c.norm()).collect());
        start += HOP;
    }
    frames
}
