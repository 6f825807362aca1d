//! Loading the model set: the fixture loads; every kind of broken set gives its own typed error.

mod common;
use common::*;
use ndm_core::{Error, ModelSet};

#[test]
fn fixture_loads_and_reports_its_contract() {
    let m = ModelSet::load_dir(&fixture_dir()).expect("fixture loads");
    let meta = m.meta();
    assert_eq!(meta.latent_dim, 64);
    assert_eq!(meta.n_samples, meta.n_frames * meta.hop);
    assert_eq!(meta.classes, ["kick", "snare", "hihat_closed"]);
    assert_eq!(meta.class_index("SNARE"), Some(1));
}

#[test]
fn version_2_fixture_loads_and_keeps_its_decay() {
    let m = ModelSet::load_dir(&fixture_v2_dir()).expect("v2 fixture loads");
    let meta = m.meta();
    assert_eq!((meta.schema_version, meta.sample_rate, meta.hop), (2, 44_100, 256));
    assert!(meta.duration_s() >= 1.5);
    // Only the 50 ms end fade, not 15 % of the sound.
    assert_eq!(meta.end_fade_samples(), 2205);
    let v1 = ModelSet::load_dir(&fixture_dir()).expect("v1 fixture still loads");
    assert_eq!(v1.meta().schema_version, 1);
    assert_eq!(v1.meta().end_fade_samples(), (v1.meta().n_samples as f32 * 0.15) as usize);

    let s = ndm_core::generate(&m, &ndm_core::SoundParams::for_class(1), None).unwrap();
    assert_eq!((s.samples.len(), s.sample_rate), (meta.n_samples, 44_100));
    // Before the end fade the sound is untouched by any fade: its level there is the model's.
    let n = s.samples.len();
    let before = rms(&s.samples[n - 2 * 2205..n - 2205]);
    let faded = rms(&s.samples[n - 200..]);
    assert!(before > 1e-3, "the tail before the end fade is not silent ({before})");
    assert!(faded < before * 0.2, "the end fade ends the sound ({faded} vs {before})");
    assert_eq!(s.samples[n - 1], 0.0);
}

#[test]
fn missing_file_is_named() {
    let dir = fixture_copy();
    std::fs::remove_file(dir.path().join("mcnn.pt")).unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelFileMissing(p)) => assert!(p.ends_with("mcnn.pt")),
        other => panic!("expected ModelFileMissing, got {:?}", other.err()),
    }
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(ModelSet::load_dir(empty.path()), Err(Error::ModelFileMissing(_))));
}

#[test]
fn corrupt_archive_is_reported_not_panicked() {
    let dir = fixture_copy();
    std::fs::write(dir.path().join("decoder.pt"), b"this is not a zip archive at all").unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelCorrupt { file, .. }) => assert_eq!(file, "decoder.pt"),
        other => panic!("expected ModelCorrupt, got {:?}", other.err()),
    }
    // A truncated archive.
    let bytes = std::fs::read(fixture_dir().join("encoder.pt")).unwrap();
    std::fs::write(dir.path().join("decoder.pt"), &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(ModelSet::load_dir(dir.path()), Err(Error::ModelCorrupt { .. })));
}

#[test]
fn wrong_signature_is_caught_by_the_warm_up_forward() {
    let dir = fixture_copy();
    // The MCNN where the decoder should be: takes one input, not (z, c).
    std::fs::copy(fixture_dir().join("mcnn.pt"), dir.path().join("decoder.pt")).unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelSignature { module, .. }) => assert_eq!(module, "decoder.pt"),
        other => panic!("expected ModelSignature, got {:?}", other.err()),
    }
}

#[test]
fn shape_mismatch_with_model_json_is_refused() {
    let dir = fixture_copy();
    let p = dir.path().join("model.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["n_mels"] = 32.into();
    std::fs::write(&p, v.to_string()).unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelSignature { module, reason }) => {
            assert_eq!(module, "decoder.pt");
            assert!(reason.contains("promises"), "{reason}");
        }
        other => panic!("expected ModelSignature, got {:?}", other.err()),
    }
}

#[test]
fn schema_version_and_malformed_json_are_refused() {
    let dir = fixture_copy();
    let p = dir.path().join("model.json");
    let original = std::fs::read_to_string(&p).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["schema_version"] = 3.into();
    std::fs::write(&p, v.to_string()).unwrap();
    assert!(matches!(ModelSet::load_dir(dir.path()), Err(Error::ModelVersion { found: 3, expected: 2 })));
    // A version-1 set relabelled as version 2 breaks the v2 contract (no end fade, 64 ms long).
    v["schema_version"] = 2.into();
    std::fs::write(&p, v.to_string()).unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelMeta(msg)) => assert!(msg.contains("end_fade_s"), "{msg}"),
        other => panic!("expected ModelMeta, got {:?}", other.err()),
    }
    v["end_fade_s"] = 0.01.into();
    std::fs::write(&p, v.to_string()).unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelMeta(msg)) => assert!(msg.contains("at least 1.5 s"), "{msg}"),
        other => panic!("expected ModelMeta, got {:?}", other.err()),
    }

    std::fs::write(&p, &original[..original.len() / 3]).unwrap();
    assert!(matches!(ModelSet::load_dir(dir.path()), Err(Error::ModelMeta(_))));

    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["n_samples"] = 1000.into();
    std::fs::write(&p, v.to_string()).unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelMeta(msg)) => assert!(msg.contains("n_samples"), "{msg}"),
        other => panic!("expected ModelMeta, got {:?}", other.err()),
    }

    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["latent"]["per_class"].as_object_mut().unwrap().remove("snare");
    std::fs::write(&p, v.to_string()).unwrap();
    match ModelSet::load_dir(dir.path()) {
        Err(Error::ModelMeta(msg)) => assert!(msg.contains("snare"), "{msg}"),
        other => panic!("expected ModelMeta, got {:?}", other.err()),
    }
}
