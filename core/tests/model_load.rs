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
    v["schema_version"] = 2.into();
    std::fs::write(&p, v.to_string()).unwrap();
    assert!(matches!(ModelSet::load_dir(dir.path()), Err(Error::ModelVersion { found: 2, expected: 1 })));

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
