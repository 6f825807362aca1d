//! The kit through the plugin's own `activate()`/`process()` path on the tiny test model: every
//! note plays its pad's sound exactly (what `generate` makes for the pad's recipe), sample-accurately;
//! aux routing; choke; exact recall from a saved state without a model; migration of a
//! single-sound project; the offline wait for an automated pad.
//!
//! One test function (the model directory comes from a process-wide environment variable).

mod common;
use common::*;
use ndm_core::engine::ModelState;
use ndm_core::kit::GM_KIT;
use ndm_core::model::ModelSet;
use ndm_plugin::NeuralDrumMachine;
use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::Params;

const RATE: u32 = 48_000;

/// What the pad should play: `generate` of its default recipe, rounded to 16 bits, tuned and
/// resampled to the host rate — the same as `ndm gm-kit`.
fn expected_pad(model: &ModelSet, pad: usize) -> Vec<f32> {
    let d = GM_KIT[pad];
    let s = ndm_core::generate(model, &d.params(model.meta()), None).unwrap();
    let native = ndm_core::NativeAudio::from_f32(&s.samples, s.sample_rate);
    ndm_core::engine::resample_tuned(&native, RATE, d.tune).unwrap()
}

fn fresh(offline: bool) -> NeuralDrumMachine {
    let mut p = NeuralDrumMachine::default();
    assert!(p.prepare(RATE as f32, offline), "activation timed out");
    p
}

#[test]
fn kit_plays_routes_chokes_recalls_and_waits_offline() {
    std::env::set_var(ndm_plugin::MODEL_DIR_ENV, tiny_model_dir());
    let model = ModelSet::load_dir(&tiny_model_dir()).unwrap();

    // 1. Every pad sounds right after activation, on its own note, at its own sample.
    let mut plugin = fresh(false);
    assert!(matches!(plugin.engine().status().lock().model, ModelState::Ready { .. }));
    for pad in [0usize, 1, 4, 7, 9] {
        let want = expected_pad(&model, pad);
        let d = GM_KIT[pad];
        // Length of a pad below 1 fades its end: compare the untouched first 80 %.
        let n = ((want.len() as f32) * d.length * 0.8) as usize;
        let offset = 100 + pad * 7;
        let out = render(&mut plugin, offset + want.len() + 512, 256, &[note_on(offset as u32, d.note, 1.0)]);
        // Velocity 1 at sensitivity 0.8 gives gain 1.
        assert!(out[0][..offset].iter().all(|&s| s == 0.0), "pad {pad} started early");
        let err = out[0][offset..offset + n].iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err < 1e-6, "pad {pad}: max error {err}");
        assert_eq!(out[0], out[1]);
        assert!(out[2..].iter().all(|ch| ch.iter().all(|&s| s == 0.0)), "pad {pad} leaked to an aux output");
    }
    // Notes outside the map are ignored.
    let out = render(&mut plugin, 4096, 512, &[note_on(0, 100, 1.0), note_on(10, 20, 1.0)]);
    assert!(out.iter().all(|ch| ch.iter().all(|&s| s == 0.0)));

    // 2. Pad 2 (snare) routed to aux 3: on port 3 (channels 6/7), not on main.
    set_normalized(&plugin, "p02_output", 3.0 / 8.0);
    let out = render(&mut plugin, 8192, 512, &[note_on(0, 38, 1.0)]);
    assert!(out[0].iter().all(|&s| s == 0.0), "routed pad still on main");
    assert!(out[6].iter().any(|&s| s.abs() > 1e-3) && out[6] == out[7]);
    set_normalized(&plugin, "p02_output", 0.0);

    // 3. Choke: open hat (46), then closed hat (42) → the open hat is gone within 5 ms.
    let hit = 480;
    let out = render(&mut plugin, 4800, 128, &[note_on(0, 46, 1.0), note_on(hit as u32, 42, 1.0)]);
    let open = expected_pad(&model, 6);
    let closed = expected_pad(&model, 4);
    let after = hit + (0.005 * RATE as f32) as usize;
    for i in after..after + 200 {
        assert!((out[0][i] - closed[i - hit]).abs() < 1e-5, "open hat still sounding at {i}: {} vs {}", out[0][i], closed[i - hit]);
    }
    assert!(open[after].abs() > 0.0 || open[after + 50].abs() > 0.0, "test needs a ringing open hat");

    // 4. Exact recall: save, load into an instance whose model cannot load.
    set_normalized(&plugin, "p05_tune", 0.5 + 3.0 / 48.0);
    let params = plugin.shared_params();
    let saved_json = params.state.json();
    let values: Vec<(String, f32)> =
        params.param_map().into_iter().map(|(id, ptr, _)| (id, unsafe { ptr.unmodulated_normalized_value() })).collect();
    // Offline, so every note waits for its pad's current recipe (the tune change above).
    assert!(plugin.prepare(RATE as f32, true));
    let pattern: Vec<_> = GM_KIT.iter().enumerate().map(|(i, d)| note_on((i * 3000) as u32, d.note, 0.9)).collect();
    let before = render(&mut plugin, 16 * 3000 + 4000, 512, &pattern);
    let empty = tempfile::tempdir().unwrap();
    std::env::set_var(ndm_plugin::MODEL_DIR_ENV, empty.path());
    let mut other = NeuralDrumMachine::default();
    for (id, v) in &values {
        set_normalized(&other, id, *v);
    }
    PersistentField::set(&other.shared_params().state, saved_json.clone());
    assert!(other.prepare(RATE as f32, true));
    assert!(matches!(other.engine().status().lock().model, ModelState::Failed { .. }));
    let after = render(&mut other, 16 * 3000 + 4000, 512, &pattern);
    assert!(before[0] == after[0] && before[1] == after[1], "recalled kit differs from the saved one");
    eprintln!("16-pad state: {} bytes of JSON", saved_json.len());
    std::env::set_var(ndm_plugin::MODEL_DIR_ENV, tiny_model_dir());

    // 5. A single-sound project (state version 1, old parameter ids) loads into pad 1.
    let mut old = nice_plug::prelude::PluginState {
        version: "0.1.0".into(),
        params: [("x".to_string(), nice_plug::plugin::ParamValue::F32(0.5))].into_iter().collect(),
        fields: Default::default(),
    };
    <NeuralDrumMachine as nice_plug::prelude::Plugin>::filter_state(&mut old);
    assert!(old.params.contains_key("p01_x") && !old.params.contains_key("x"));

    // 6. Offline: automating pad 2's class one block before its note gives the new class.
    let mut off = fresh(true);
    render(&mut off, 512, 512, &[]);
    set_normalized(&off, "p02_class", 0.0); // kick
    let out = render(&mut off, 30_000, 512, &[note_on(0, 38, 1.0)]);
    let kick = ndm_core::generate(&model, &ndm_core::SoundParams { seed: u64::from(GM_KIT[1].seed), ..GM_KIT[0].params(model.meta()) }, None).unwrap();
    let want = ndm_core::engine::resample_tuned(&ndm_core::NativeAudio::from_f32(&kick.samples, kick.sample_rate), RATE, 0.0).unwrap();
    let err = out[0][..want.len()].iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(err < 1e-6, "offline note did not wait for the automated sound (max error {err})");
}
