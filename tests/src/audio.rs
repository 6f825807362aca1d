//! WAV I/O, signal comparison, and the `ndm render` reference.

use std::path::Path;

/// Reads a WAV file as mono `f32` (the first channel), with its sample rate.
pub fn read_wav_mono(path: &Path) -> (u32, Vec<f32>) {
    let (spec, mut channels) = crate::drums::read_wav_channels(path);
    (spec.sample_rate, channels.swap_remove(0))
}

/// Writes interleaved-from-planar 32-bit float WAV.
pub fn write_wav(path: &Path, rate: u32, channels: &[&[f32]]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec)
        .unwrap_or_else(|e| panic!("cannot write WAV {}: {e}", path.display()));
    let n = channels.iter().map(|c| c.len()).max().unwrap_or(0);
    for i in 0..n {
        for c in channels {
            w.write_sample(c.get(i).copied().unwrap_or(0.0)).unwrap();
        }
    }
    w.finalize().unwrap();
}

pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, s| m.max(s.abs()))
}

pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&s| (s as f64) * (s as f64)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// How two signals differ. Both are compared over the longer length, the shorter one padded
/// with zeros.
#[derive(Clone, Copy, Debug)]
pub struct Comparison {
    pub len_a: usize,
    pub len_b: usize,
    pub max_abs_diff: f32,
    /// RMS of the difference ÷ RMS of `b` (the reference).
    pub rel_rms_diff: f32,
    /// Pearson correlation over the compared length.
    pub correlation: f64,
    pub peak_a: f32,
    pub peak_b: f32,
}

pub fn compare(a: &[f32], b: &[f32]) -> Comparison {
    let n = a.len().max(b.len());
    let get = |x: &[f32], i: usize| x.get(i).copied().unwrap_or(0.0) as f64;
    let (mut max_abs, mut diff2, mut b2) = (0.0f64, 0.0f64, 0.0f64);
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (get(a, i), get(b, i));
        max_abs = max_abs.max((x - y).abs());
        diff2 += (x - y) * (x - y);
        b2 += y * y;
        sa += x;
        sb += y;
        saa += x * x;
        sbb += y * y;
        sab += x * y;
    }
    let nf = n.max(1) as f64;
    let cov = sab / nf - (sa / nf) * (sb / nf);
    let va = saa / nf - (sa / nf).powi(2);
    let vb = sbb / nf - (sb / nf).powi(2);
    let correlation = if va > 0.0 && vb > 0.0 {
        cov / (va.sqrt() * vb.sqrt())
    } else {
        0.0
    };
    Comparison {
        len_a: a.len(),
        len_b: b.len(),
        max_abs_diff: max_abs as f32,
        rel_rms_diff: if b2 > 0.0 {
            (diff2 / b2).sqrt() as f32
        } else {
            f32::INFINITY
        },
        correlation,
        peak_a: peak(a),
        peak_b: peak(b),
    }
}

/// Index of the first sample whose magnitude exceeds `threshold`.
pub fn onset(x: &[f32], threshold: f32) -> Option<usize> {
    x.iter().position(|s| s.abs() > threshold)
}

/// Length of `x` without its trailing near-silence (`|s| <= threshold`).
pub fn trimmed_len(x: &[f32], threshold: f32) -> usize {
    x.iter()
        .rposition(|s| s.abs() > threshold)
        .map_or(0, |i| i + 1)
}

/// The lag (`a` shifted by `lag` samples, |lag| ≤ `max_lag`) at which `a` best matches `b`
/// (smallest summed squared difference over `b`'s first `window` samples). Diagnostics only.
pub fn best_lag(a: &[f32], b: &[f32], max_lag: usize, window: usize) -> (isize, f64) {
    let mut best = (0isize, f64::INFINITY);
    let w = window.min(b.len());
    for lag in -(max_lag as isize)..=(max_lag as isize) {
        let mut err = 0.0f64;
        for (i, &y) in b[..w].iter().enumerate() {
            let j = i as isize + lag;
            let x = if j >= 0 {
                a.get(j as usize).copied().unwrap_or(0.0)
            } else {
                0.0
            } as f64;
            let y = y as f64;
            err += (x - y) * (x - y);
        }
        if err < best.1 {
            best = (lag, err);
        }
    }
    best
}

/// Renders a one-shot with `ndm render ARGS... --rate RATE -o <artifacts>/NAME.wav` and returns
/// it (mono). `args` are the CLI's parameters, e.g. `["--class", "kick", "--x", "0.5"]`.
pub fn ndm_render(name: &str, args: &[&str], rate: u32) -> Vec<f32> {
    let cli = crate::paths::ndm_cli();
    let out = crate::paths::artifacts_dir().join(format!("{name}.wav"));
    let output = std::process::Command::new(&cli)
        .arg("render")
        .args(args)
        .args(["--rate", &rate.to_string(), "-o"])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cli.display()));
    assert!(
        output.status.success(),
        "`ndm render {}` failed ({}):\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let (r, samples) = read_wav_mono(&out);
    assert_eq!(r, rate, "ndm render wrote {} Hz, asked for {rate} Hz", r);
    samples
}
