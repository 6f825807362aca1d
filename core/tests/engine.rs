//! The inference worker: requests in, sounds out, coalescing, encoding, failures, shutdown.

mod common;
use common::*;
use ndm_core::engine::{Command, Engine, ModelSource, ModelState, Request};
use ndm_core::voices::{PlaySettings, Voices};
use ndm_core::SoundParams;
use std::time::{Duration, Instant};

fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn request_becomes_a_playable_sound() {
    let (engine, mut link) = Engine::start(ModelSource::Dir(fixture_dir()), 1);
    let mut voices = Voices::new(48_000.0);
    link.post(Request { params: SoundParams::for_class(0), sample_rate: 48_000 });
    assert!(wait_until(|| link.exchange(&mut voices)), "no sound arrived");
    assert!(matches!(engine.status().model, ModelState::Ready { .. }));
    let s = voices.current().unwrap();
    assert_eq!(s.sample_rate, 48_000);
    voices.note_on(1.0, &PlaySettings { velocity_sensitivity: 0.0, ..Default::default() });
    let mut out = vec![0.0f32; 2048];
    voices.render(&mut out, 1.0);
    assert!(rms(&out) > 0.01);
    let st = engine.status();
    assert_eq!(st.sounds_made, 1);
    assert_eq!(st.preview.len(), ndm_core::engine::PREVIEW_COLUMNS);
}

#[test]
fn a_burst_of_requests_is_coalesced() {
    let (engine, mut link) = Engine::start(ModelSource::Dir(fixture_dir()), 1);
    let mut voices = Voices::new(44_100.0);
    // Wait for the model so the burst lands on a ready worker.
    assert!(wait_until(|| matches!(engine.status().model, ModelState::Ready { .. })));
    for i in 0..50 {
        let p = SoundParams { x: i as f32 / 50.0, ..SoundParams::for_class(1) };
        link.post(Request { params: p, sample_rate: 44_100 });
    }
    let last_x = 49.0 / 50.0;
    assert!(wait_until(|| {
        link.exchange(&mut voices);
        voices.current().is_some_and(|s| s.params.x == last_x)
    }));
    let made = engine.status().sounds_made;
    assert!(made < 50, "every request was computed ({made})");
}

#[test]
fn encode_command_moves_the_anchor_and_regenerates() {
    let (engine, mut link) = Engine::start(ModelSource::Dir(fixture_dir()), 1);
    let mut voices = Voices::new(48_000.0);
    link.post(Request { params: SoundParams::for_class(0), sample_rate: 48_000 });
    assert!(wait_until(|| link.exchange(&mut voices)));
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("hit.wav");
    write_wav(&wav, 44_100, 2, 24, false, 20_000, |i, _| hit(i, 44_100, 0.02));
    engine.send(Command::Encode { path: wav.clone(), class_weights: vec![1.0, 0.0, 0.0], range: 2.0 }).unwrap();
    assert!(wait_until(|| engine.status().encoded.is_some()));
    let st = engine.status();
    let (n, enc) = st.encoded.clone().unwrap();
    assert_eq!(n, 1);
    assert_eq!(st.anchor, Some(enc.latent));
    assert!(wait_until(|| {
        link.exchange(&mut voices);
        voices.current().is_some_and(|s| s.params.anchor == Some(enc.latent))
    }));
    // A bad file: error reported, anchor kept.
    engine.send(Command::Encode { path: dir.path().join("missing.wav"), class_weights: vec![1.0, 0.0, 0.0], range: 2.0 }).unwrap();
    assert!(wait_until(|| engine.status().last_error.is_some()));
    let st = engine.status();
    assert!(st.last_error.unwrap().contains("no such file"));
    assert_eq!(st.anchor, Some(enc.latent));
    // Export the current sound.
    let out = dir.path().join("export.wav");
    engine.send(Command::ExportWav(out.clone())).unwrap();
    assert!(wait_until(|| out.is_file() && engine.status().message.is_some_and(|m| m.contains("exported"))));
    let r = hound::WavReader::open(&out).unwrap();
    assert_eq!(r.spec().sample_rate, 16_000);
}

#[test]
fn a_missing_model_leaves_a_silent_engine_with_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let (engine, mut link) = Engine::start(ModelSource::Dir(empty.path().to_path_buf()), 1);
    assert!(wait_until(|| matches!(engine.status().model, ModelState::Failed { .. })));
    match engine.status().model {
        ModelState::Failed { source, error } => {
            assert!(source.contains(&empty.path().display().to_string()));
            assert!(error.contains("model.json"), "{error}");
        }
        _ => unreachable!(),
    }
    let mut voices = Voices::new(48_000.0);
    link.post(Request { params: SoundParams::for_class(0), sample_rate: 48_000 });
    std::thread::sleep(Duration::from_millis(50));
    assert!(!link.exchange(&mut voices));
    voices.note_on(1.0, &PlaySettings::default());
    let mut out = vec![0.0f32; 512];
    voices.render(&mut out, 1.0);
    assert!(out.iter().all(|v| *v == 0.0));
}

#[test]
fn dropping_the_engine_joins_its_thread() {
    let count = || std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0);
    let (engine, link) = Engine::start(ModelSource::Dir(fixture_dir()), 1);
    assert!(wait_until(|| matches!(engine.status().model, ModelState::Ready { .. })));
    let with = count();
    let t = Instant::now();
    drop(engine);
    drop(link);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(count() < with, "worker thread still alive after drop");
}
