//! Generation on the fixture model: length, rate, level, determinism, controls.

mod common;
use common::*;
use ndm_core::control::{latent_for, SoundParams};
use ndm_core::generate::{generate, morph, variations};
use ndm_core::ModelSet;

fn model() -> ModelSet {
    ModelSet::load_dir(&fixture_dir()).unwrap()
}

#[test]
fn render_is_non_silent_normalised_and_the_right_length() {
    let m = model();
    let s = generate(&m, &SoundParams::for_class(0), None).unwrap();
    assert_eq!(s.sample_rate, 16_000);
    assert_eq!(s.samples.len(), m.meta().n_samples);
    let peak = ndm_core::dsp::peak(&s.samples);
    assert!((peak - ndm_core::dsp::PEAK_TARGET).abs() < 1e-3, "peak {peak}");
    assert!(rms(&s.samples) > 0.01);
    // Faded out: the last sample is (nearly) zero.
    assert!(s.samples.last().unwrap().abs() < 1e-3);
}

#[test]
fn resampling_to_the_host_rate_keeps_the_duration() {
    let m = model();
    for rate in [44_100u32, 48_000, 96_000, 192_000] {
        let s = generate(&m, &SoundParams::for_class(1), Some(rate)).unwrap();
        assert_eq!(s.sample_rate, rate);
        let expect = (m.meta().n_samples as f64 * f64::from(rate) / 16_000.0).round() as i64;
        assert!((s.samples.len() as i64 - expect).abs() <= 2, "{rate}: {} vs {expect}", s.samples.len());
        assert!(rms(&s.samples) > 0.01);
    }
}

#[test]
fn same_inputs_same_sound_and_controls_change_it() {
    let m = model();
    let p = SoundParams { x: 0.5, y: -0.3, variation: 0.7, seed: 42, ..SoundParams::for_class(2) };
    let a = generate(&m, &p, None).unwrap();
    let b = generate(&m, &p, None).unwrap();
    assert_eq!(a.samples, b.samples, "not deterministic");
    for changed in [
        SoundParams { x: -0.5, ..p },
        SoundParams { fine: 1.0, ..p },
        SoundParams { seed: 43, ..p },
        SoundParams::for_class(0),
    ] {
        let c = generate(&m, &changed, None).unwrap();
        let diff: f32 = a.samples.iter().zip(&c.samples).map(|(x, y)| (x - y).abs()).sum();
        assert!(diff > 1.0, "changing a control did not change the sound: {changed:?}");
    }
}

#[test]
fn anchor_at_its_own_position_gives_back_the_anchor_latent() {
    let m = model();
    let meta = m.meta();
    let mut anchor = [0.0f32; 64];
    anchor.iter_mut().enumerate().for_each(|(i, v)| *v = (i as f32 * 0.37).sin());
    let axes = ndm_core::control::Axes::for_weights(meta, &[1.0, 0.0, 0.0]);
    let [x, y, fine] = axes.position_of(&anchor, 2.0);
    let p = SoundParams { anchor: Some(anchor), x, y, fine, ..SoundParams::for_class(0) };
    let z = latent_for(meta, &p);
    let err: f32 = z.iter().zip(&anchor).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(err < 1e-5, "max |z - anchor| = {err}");
    // Moving the pad moves away from it.
    let z2 = latent_for(meta, &SoundParams { x: (x + 0.5).min(1.0) - 0.0, ..p });
    assert!(z2.iter().zip(&anchor).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn pad_centre_is_the_class_centre_when_model_json_has_one_else_the_mean() {
    let m = model();
    let mut meta = m.meta().clone();
    let class = meta.classes[1].clone();
    let pca = meta.latent.per_class.get_mut(&class).unwrap();
    let mean = pca.mean.clone();
    pca.centre = None;
    let z = latent_for(&meta, &SoundParams::for_class(1));
    assert!(z.iter().zip(&mean).all(|(a, b)| (a - b).abs() < 1e-6), "no centre: pad centre = mean");
    let centre: Vec<f32> = (0..64).map(|i| (i as f32 * 0.21).cos()).collect();
    meta.latent.per_class.get_mut(&class).unwrap().centre = Some(centre.clone());
    let z = latent_for(&meta, &SoundParams::for_class(1));
    assert!(z.iter().zip(&centre).all(|(a, b)| (a - b).abs() < 1e-6), "pad centre = model.json centre");
    // the pad still moves along the class's axes from there
    let z2 = latent_for(&meta, &SoundParams { x: 0.5, ..SoundParams::for_class(1) });
    assert!(z2.iter().zip(&centre).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn absurd_parameters_are_sanitised_not_fatal() {
    let m = model();
    let mut p = SoundParams { x: f32::NAN, y: 1e9, fine: -f32::INFINITY, range: -3.0, variation: f32::NAN, ..SoundParams::for_class(0) };
    p.class_weights = [f32::NAN; ndm_core::MAX_CLASSES];
    let s = generate(&m, &p, None).unwrap();
    assert!(s.samples.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
    assert!(generate(&m, &SoundParams::for_class(0), Some(0)).is_err());
}

#[test]
fn variations_and_morph_produce_distinct_sounds() {
    let m = model();
    let base = SoundParams::for_class(1);
    let vs = variations(&base, 4, 0.5, 9);
    assert_eq!(vs.len(), 4);
    let sounds: Vec<_> = vs.iter().map(|p| generate(&m, p, None).unwrap().samples).collect();
    assert_ne!(sounds[0], sounds[1]);
    let a = latent_for(m.meta(), &SoundParams::for_class(0));
    let b = latent_for(m.meta(), &SoundParams::for_class(2));
    let path = morph(&a, &b, 5, &SoundParams::for_class(0), &m);
    assert_eq!(path.len(), 5);
    let first = latent_for(m.meta(), &path[0]);
    let last = latent_for(m.meta(), &path[4]);
    assert!(first.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-4));
    assert!(last.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4));
}
