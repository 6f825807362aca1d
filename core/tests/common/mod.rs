//! Shared helpers of ndm-core's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The tiny random-weight fixture model set (made by tests/fixtures/make_fixtures.py).
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_model")
}

/// The tiny random-weight fixture of the version-2 contract (44.1 kHz, 1.51 s, 50 ms end fade).
pub fn fixture_v2_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_model_v2")
}

/// The shipped model set, `assets/`.
pub fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// Copies the fixture model set into a fresh temp dir (to break it in a test).
pub fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ndm_core::model::FILES {
        std::fs::copy(fixture_dir().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

/// RMS of a signal.
pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Writes a WAV with `hound` (integer or float samples, any channel count).
pub fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, frames: usize, f: impl Fn(usize, u16) -> f32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        for c in 0..channels {
            let v = f(i, c).clamp(-1.0, 1.0);
            if float {
                w.write_sample(v).unwrap();
            } else {
                match bits {
                    8 => w.write_sample((v * 127.0) as i8).unwrap(),
                    16 => w.write_sample((v * 32767.0) as i16).unwrap(),
                    _ => w.write_sample((v * ((1 << (bits - 1)) - 1) as f32) as i32).unwrap(),
                }
            }
        }
    }
    w.finalize().unwrap();
}

/// A decaying noisy drum-like hit: `sin` + noise burst with an exponential decay, starting at
/// `onset` seconds.
pub fn hit(i: usize, rate: u32, onset: f32) -> f32 {
    let t = i as f32 / rate as f32 - onset;
    if t < 0.0 {
        return 0.0;
    }
    let noise = ((i as u64).wrapping_mul(2654435761) % 1000) as f32 / 500.0 - 1.0;
    (0.7 * (2.0 * std::f32::consts::PI * 80.0 * t).sin() + 0.3 * noise) * (-t * 12.0).exp()
}
