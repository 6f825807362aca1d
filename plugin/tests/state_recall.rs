//! State recall: a saved "ndm-state" hands its anchor latent to the inference worker (whether it
//! is loaded before or after the engine starts), and a corrupt state gives defaults plus a warning
//! and clears the anchor. Tiny test model.

use ndm_core::engine::{Engine, ModelSource};
use ndm_core::{Latent, LATENT_DIM};
use ndm_plugin::state::{SavedState, StateStore};
use nice_plug::params::persist::PersistentField;
use std::time::{Duration, Instant};

fn tiny_model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/tiny_model")
}

fn wait_anchor(engine: &Engine, want: Option<Latent>) {
    let start = Instant::now();
    while engine.status().anchor != want {
        assert!(start.elapsed() < Duration::from_secs(30), "worker anchor never became {:?}", want.map(|z| z[0]));
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn saved_json(z: &Latent) -> String {
    let state = SavedState {
        anchor: Some(z.to_vec()),
        position: Some([0.1, 0.2, 0.3]),
        sample_name: Some("bd.flac".into()),
        class_weights: Some(vec![1.0, 0.0, 0.0]),
        seed: 3,
        ..SavedState::new()
    };
    serde_json::to_string(&state).unwrap()
}

#[test]
fn saved_anchor_reaches_the_worker() {
    let z: Latent = std::array::from_fn(|i| (i as f32 * 0.37).sin());
    // Loaded before activation: sent when the engine is installed.
    let store = StateStore::default();
    PersistentField::set(&store, saved_json(&z));
    assert_eq!(store.warning(), None);
    let (engine, _core) = ndm_plugin::start_engine(ModelSource::Dir(tiny_model_dir()), 48_000.0);
    assert!(store.install_engine(engine));
    let engine = store.engine().unwrap();
    wait_anchor(engine, Some(z));

    // Loaded while running: a different anchor, then a corrupt blob (defaults, warning, no anchor).
    let z2: Latent = [0.5; LATENT_DIM];
    PersistentField::set(&store, saved_json(&z2));
    wait_anchor(engine, Some(z2));
    PersistentField::set(&store, "{\"format\":\"ndm-state\",\"version\":1,\"anchor\":[1,2".to_string());
    assert!(store.warning().is_some());
    assert_eq!(store.state(), SavedState::new());
    wait_anchor(engine, None);

    // What is saved round-trips.
    PersistentField::set(&store, saved_json(&z));
    let saved = PersistentField::map(&store, |s: &String| s.clone());
    assert_eq!(ndm_plugin::state::parse_state(&saved), (serde_json::from_str(&saved_json(&z)).unwrap(), None));
}
