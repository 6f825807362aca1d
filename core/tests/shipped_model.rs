//! The shipped, trained model set in `assets/`: it loads, every class renders a non-silent
//! one-shot of the promised length and rate, and encode → reconstruct of real recordings the model
//! never trained on (validation split, CC0) resembles them.

mod common;
use common::*;
use ndm_core::audio_file::decode_file;
use ndm_core::control::SoundParams;
use ndm_core::dsp::{log_spectral_distance, onset, resample, window_from};
use ndm_core::generate::{encode, generate};
use ndm_core::model::one_hot;
use ndm_core::ModelSet;

fn shipped() -> ModelSet {
    let m = ModelSet::load_dir(&assets_dir()).expect("assets/ holds a loadable model set");
    assert_ne!(m.meta().name, "tiny-test-fixture", "assets/ holds the test fixture, not the trained model");
    m
}

#[test]
fn inverter_precision_is_chosen_at_load_and_both_precisions_sound_alike() {
    let mut m = shipped();
    assert!(m.inverter_gemm_bf16().is_some(), "the shipped inverter has the bf16/f32 switch");
    let c = ndm_core::model::one_hot(1, m.meta().classes.len());
    let z: Vec<f32> = (0..64).map(|i| (i as f32 * 0.7).sin()).collect();
    let mel = m.decode(&z, &c).unwrap();
    m.set_inverter_gemm_bf16(true).unwrap();
    let a = m.invert(&mel).unwrap();
    m.set_inverter_gemm_bf16(false).unwrap();
    assert_eq!(m.inverter_gemm_bf16(), Some(false));
    let b = m.invert(&mel).unwrap();
    let rms = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
    let diff: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
    let rel = rms(&diff) / rms(&b).max(1e-9);
    assert!(rms(&b) > 1e-3, "float32 GEMMs give sound");
    assert!(rel < 0.2, "bf16 and f32 GEMMs differ by {rel:.3} (relative RMS)");
    assert!(rel > 0.0, "the precision switch had no effect on the inverter's output");
}

#[test]
fn every_class_renders_a_one_shot() {
    let m = shipped();
    let meta = m.meta().clone();
    assert_eq!(meta.sample_rate, 22_050);
    assert_eq!(meta.classes.len(), 11);
    for (ci, name) in meta.classes.iter().enumerate() {
        let p = SoundParams { x: 0.2, y: -0.1, ..SoundParams::for_class(ci) };
        let a = generate(&m, &p, None).unwrap();
        assert_eq!(a.samples.len(), meta.n_samples, "{name}");
        assert!(rms(&a.samples) > 0.005, "{name}: silent (rms {})", rms(&a.samples));
        let b = generate(&m, &p, None).unwrap();
        assert_eq!(a.samples, b.samples, "{name}: not deterministic");
    }
}

/// Loads a recording as the encoder sees it: model rate, onset-aligned, `n_samples` long.
fn target(m: &ModelSet, file: &str) -> (ndm_core::audio_file::DecodedAudio, Vec<f32>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings").join(file);
    let audio = decode_file(&path).unwrap();
    let meta = m.meta();
    let at = resample(&audio.samples, audio.sample_rate, meta.sample_rate).unwrap();
    let w = window_from(&at, onset(&at, meta.sample_rate), meta.n_samples);
    (audio, w)
}

fn reconstruct(m: &ModelSet, audio: &ndm_core::audio_file::DecodedAudio, class: usize) -> Vec<f32> {
    let n = m.meta().classes.len();
    let enc = encode(m, audio, &one_hot(class, n), 2.0).unwrap();
    let p = SoundParams { anchor: Some(enc.latent), x: enc.position[0], y: enc.position[1], fine: enc.position[2], ..SoundParams::for_class(class) };
    generate(m, &p, None).unwrap().samples
}

#[test]
fn reconstruction_of_real_recordings_resembles_them() {
    let m = shipped();
    let kick = m.meta().class_index("kick").unwrap();
    let snare = m.meta().class_index("snare").unwrap();
    let (kick_audio, kick_target) = target(&m, "bd_haus.flac");
    let (snare_audio, snare_target) = target(&m, "elec_lo_snare.flac");
    let kick_recon = reconstruct(&m, &kick_audio, kick);
    let snare_recon = reconstruct(&m, &snare_audio, snare);
    let d_kk = log_spectral_distance(&kick_target, &kick_recon);
    let d_ks = log_spectral_distance(&kick_target, &snare_recon);
    let d_ss = log_spectral_distance(&snare_target, &snare_recon);
    let d_sk = log_spectral_distance(&snare_target, &kick_recon);
    eprintln!("log-spectral distance (dB): kick→kick {d_kk:.1}, kick→snare {d_ks:.1}, snare→snare {d_ss:.1}, snare→kick {d_sk:.1}");
    // Each reconstruction is closer to its own recording than the other one's is.
    assert!(d_kk < d_ks, "kick reconstruction no closer to the kick than the snare's ({d_kk} vs {d_ks})");
    assert!(d_ss < d_sk, "snare reconstruction no closer to the snare than the kick's ({d_ss} vs {d_sk})");
    // And close in absolute terms.
    assert!(d_kk < RECON_MAX_DB && d_ss < RECON_MAX_DB, "reconstructions too far: {d_kk} / {d_ss} dB");
}

/// Ceiling of the log-spectral distance of a reconstruction (measured on the shipped model, with
/// a margin: 7.2 dB for the kick, 16.5 dB for the snare on 2026-11-22).
const RECON_MAX_DB: f32 = 25.0;
