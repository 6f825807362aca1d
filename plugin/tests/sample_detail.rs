//! A dropped sample through the plugin (issue #11) on the shipped model: the worker encodes and
//! refines it (the editor's command), the pad anchored on it plays a sound close to the sample,
//! the pad's Detail parameter at 100 % plays the sample's own spectrogram through the inverter
//! (`ndm resynth`), and a saved project brings the detail back in a new instance.
//!
//! One test function (the model directory comes from a process-wide environment variable).

mod common;
use common::set_normalized;
use ndm_core::audio_file::decode_file;
use ndm_core::engine::Command;
use ndm_core::generate::{resynthesize, sample_window};
use ndm_core::model::ModelSet;
use ndm_core::refine::RefineOptions;
use ndm_core::NativeAudio;
use ndm_plugin::NeuralDrumMachine;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PAD: usize = 3;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

fn wait_until(what: &str, f: impl FnMut() -> bool) {
    common::wait_until_within(what, Duration::from_secs(60), f);
}

/// Pad `PAD`'s sound once its recipe key differs from `old`.
fn new_sound(plugin: &NeuralDrumMachine, old: Option<u64>) -> (u64, std::sync::Arc<NativeAudio>) {
    let mut got = None;
    wait_until("the pad is made again", || {
        got = plugin.engine().status().lock().pads[PAD].audio.clone().filter(|(k, _)| Some(*k) != old);
        got.is_some()
    });
    got.unwrap()
}

/// What the editor does with an encoding result: anchor the pad and move it to the sample.
fn anchor_pad(plugin: &NeuralDrumMachine, enc: &ndm_core::generate::Encoded, name: &str) {
    let params = plugin.shared_params();
    params.state.set_sample(PAD, &enc.latent, enc.position, Some(name.into()), Some(enc.residual.clone()));
    let id = |s: &str| format!("p{:02}_{s}", PAD + 1);
    for (s, v) in [("x", enc.position[0]), ("y", enc.position[1]), ("fine", enc.position[2])] {
        set_normalized(plugin, &id(s), (v + 1.0) / 2.0);
    }
    set_normalized(plugin, &id("variation"), 0.0);
}

#[test]
fn a_dropped_sample_is_refined_and_detail_plays_its_own_spectrogram() {
    std::env::set_var(ndm_plugin::MODEL_DIR_ENV, assets());
    let model = ModelSet::load_dir(&assets()).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/recordings/elec_lo_snare.flac");
    let audio = decode_file(&file).unwrap();
    let target = model.logmel().compute_vec(&sample_window(&model, &audio).unwrap()).unwrap();
    let heard = |a: &NativeAudio| model.logmel().l1_db(&target, &model.logmel().compute_vec(&a.to_f32()).unwrap());

    let mut plugin = NeuralDrumMachine::default();
    assert!(plugin.prepare(48_000.0, false), "activation timed out");
    let (before_key, _) = new_sound(&plugin, None);
    let snare = model.meta().class_index("snare").unwrap();
    let mut w = vec![0.0; model.meta().classes.len()];
    w[snare] = 1.0;
    set_normalized(&plugin, &format!("p{:02}_class", PAD + 1), snare as f32 / 15.0);
    let (class_key, _) = new_sound(&plugin, Some(before_key));

    // 1. Encoded with refinement on the worker, as a drop does (all its steps, whatever the load:
    //    the time bound is measured by `ndm bench`).
    let params = plugin.shared_params();
    assert!(params.state.send(Command::Encode { pad: PAD, path: file.clone(), class_weights: w.clone(), range: 2.0, refine: RefineOptions { time_limit: Duration::from_secs(120), ..RefineOptions::default() } }));
    wait_until("the sample is encoded", || plugin.engine().status().lock().encoded.is_some());
    let result = plugin.engine().status().lock().encoded.clone().unwrap();
    let enc = result.encoded.clone();
    let r = enc.refined.expect("the plugin refines by default");
    assert!(r.steps > 0 && r.loss_db < r.start_db, "refinement: {:.2} → {:.2} dB in {} steps", r.start_db, r.loss_db, r.steps);
    let message = plugin.engine().status().lock().message.clone().unwrap();
    assert!(message.contains("onto pad 4") && message.contains("dB"), "{message}");
    assert!(plugin.engine().status().lock().encoding.is_none(), "no encoding shown as running once it is done");

    // 2. The anchored pad at the sample's position plays (close to) the sample.
    anchor_pad(&plugin, &enc, "elec_lo_snare.flac");
    let (anchored_key, anchored) = new_sound(&plugin, Some(class_key));
    let d_anchor = heard(&anchored);
    let plain = ndm_core::generate::encode(&model, &audio, &w, 2.0).unwrap();
    let unrefined = ndm_core::generate(&model, &ndm_core::SoundParams { anchor: Some(plain.latent), x: plain.position[0], y: plain.position[1], fine: plain.position[2], ..ndm_core::SoundParams::for_class(snare) }, None).unwrap();
    let d_unrefined = heard(&NativeAudio::from_f32(&unrefined.samples, unrefined.sample_rate));
    assert!(d_anchor < 0.8 * d_unrefined, "the refined pad is {d_anchor:.2} dB from the sample, the encoder's guess {d_unrefined:.2} dB");

    // 3. Detail 100 %: the sample's own spectrogram through the inverter (= ndm resynth).
    set_normalized(&plugin, &format!("p{:02}_detail", PAD + 1), 1.0);
    let (detail_key, detailed) = new_sound(&plugin, Some(anchored_key));
    let own = NativeAudio::from_f32(&resynthesize(&model, &audio).unwrap(), model.meta().sample_rate);
    assert_eq!(detailed.pcm.len(), own.pcm.len());
    let worst = detailed.pcm.iter().zip(&own.pcm).map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs()).max().unwrap();
    assert!(worst <= 2, "detail 100 % differs from the resynthesis by {worst} LSB");
    assert!(heard(&detailed) < d_anchor, "detail brings the pad closer to the sample");

    // 4. Saved and reopened: the stored sound plays as saved, and the detail residual is back, so
    //    a new detail value is made with it.
    let saved = params.state.json();
    let mut again = NeuralDrumMachine::default();
    again.shared_params().state.load_json(&saved);
    for (id, v) in [("class", snare as f32 / 15.0), ("x", (enc.position[0] + 1.0) / 2.0), ("y", (enc.position[1] + 1.0) / 2.0), ("fine", (enc.position[2] + 1.0) / 2.0), ("variation", 0.0), ("detail", 1.0)] {
        set_normalized(&again, &format!("p{:02}_{id}", PAD + 1), v);
    }
    assert!(again.prepare(48_000.0, false));
    let residual = again.shared_params().state.residual(PAD).expect("the detail residual is saved with the project");
    assert_eq!(residual.anchor, enc.latent);
    assert_eq!(again.engine().status().lock().pads[PAD].audio.as_ref().map(|(k, a)| (*k, a.pcm.clone())), Some((detail_key, detailed.pcm.clone())));
    set_normalized(&again, &format!("p{:02}_detail", PAD + 1), 0.5);
    let (_, half) = new_sound(&again, Some(detail_key));
    let d_half = heard(&half);
    assert!(d_half < d_anchor && d_half > heard(&detailed), "detail 50 % after reopening: {d_half:.2} dB (0 %: {d_anchor:.2}, 100 %: {:.2})", heard(&detailed));
}
