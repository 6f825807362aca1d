//! The kit's inference worker: pads polled from a source, per-pad regeneration, recall of stored
//! sounds without the model, tune on the worker, sync, encoding, failures, shutdown.

mod common;
use common::*;
use ndm_core::engine::{Command, Engine, EngineConfig, ModelSource, ModelState, StatusHandle};
use ndm_core::kit::{ManualKit, NativeAudio, PadPlayback, PadTarget, PADS};
use ndm_core::refine::RefineOptions;
use ndm_core::voices::Voices;
use ndm_core::SoundParams;
use std::sync::Arc;
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

fn start(kit: &Arc<ManualKit>, model: Option<ModelSource>, rate: f32) -> (Engine, ndm_core::RtLink) {
    let (engine, link) = Engine::start(EngineConfig { kit: kit.clone(), status: StatusHandle::new(), intra_op_threads: 1 });
    if let Some(m) = model {
        engine.send(Command::Load(m)).unwrap();
    }
    engine.set_sample_rate(rate);
    (engine, link)
}

/// A kit where pad `p` plays class `p % 3` with seed `p`.
fn varied_kit() -> Arc<ManualKit> {
    let kit = Arc::new(ManualKit::new());
    for p in 0..PADS {
        let params = SoundParams { variation: 0.5, seed: p as u64, ..SoundParams::for_class(p % 3) };
        kit.set(p, PadTarget { key: 1000 + p as u64, params }, 0.0);
    }
    kit
}

fn pad_audio(engine: &Engine, pad: usize) -> Option<Arc<NativeAudio>> {
    engine.status().lock().pads[pad].audio.as_ref().map(|(_, a)| a.clone())
}

#[test]
fn every_pad_gets_its_own_playable_sound() {
    let kit = varied_kit();
    let (engine, mut link) = start(&kit, Some(ModelSource::Dir(fixture_dir())), 48_000.0);
    let mut voices = Voices::new(48_000.0);
    assert!(link.sync(&mut voices, Duration::from_secs(20)), "sync timed out");
    assert!(matches!(engine.status().lock().model, ModelState::Ready { .. }));
    for p in 0..PADS {
        let s = voices.current(p).unwrap_or_else(|| panic!("pad {p} has no sound after sync"));
        assert_eq!((s.pad, s.sample_rate), (p, 48_000));
    }
    assert_ne!(voices.current(0).unwrap().samples, voices.current(1).unwrap().samples);
    assert_eq!(engine.status().lock().sounds_made, PADS as u64);
    assert!(voices.note_on(3, 1.0, &PadPlayback { velocity_sensitivity: 0.0, ..Default::default() }));
    let mix = voices.render(256);
    assert!(rms(&mix[0]) > 0.001 && mix[0] == mix[1]);
}

#[test]
fn changing_one_pad_regenerates_only_that_pad() {
    let kit = varied_kit();
    let (engine, mut link) = start(&kit, Some(ModelSource::Dir(fixture_dir())), 44_100.0);
    let mut voices = Voices::new(44_100.0);
    assert!(link.sync(&mut voices, Duration::from_secs(20)));
    let before: Vec<Vec<f32>> = (0..PADS).map(|p| voices.current(p).unwrap().samples.clone()).collect();
    let made = engine.status().lock().sounds_made;
    // A burst of changes on pad 2: coalesced, only the newest matters.
    for i in 0..30 {
        let params = SoundParams { x: i as f32 / 30.0, ..SoundParams::for_class(2) };
        kit.set(2, PadTarget { key: 5000 + i, params }, 0.0);
    }
    assert!(link.sync(&mut voices, Duration::from_secs(20)));
    let st = engine.status().lock().clone();
    assert_eq!(st.pads[2].audio.as_ref().unwrap().0, 5029, "pad 2 does not have the newest recipe");
    assert!(st.sounds_made - made <= 30 && st.sounds_made > made);
    for p in 0..PADS {
        let now = &voices.current(p).unwrap().samples;
        assert_eq!(now != &before[p], p == 2, "pad {p}");
    }
}

#[test]
fn a_stored_sound_plays_bit_exactly_without_a_model() {
    let kit = varied_kit();
    // No model at all: only recalled audio can sound.
    let (engine, mut link) = start(&kit, None, 48_000.0);
    let stored = Arc::new(NativeAudio { sample_rate: 16_000, pcm: (0..8000).map(|i| ((i * 37) % 2000) as i16 - 1000).collect() });
    engine.send(Command::SetStored { pad: 5, key: 1005, audio: stored.clone() }).unwrap();
    let mut voices = Voices::new(48_000.0);
    assert!(link.sync(&mut voices, Duration::from_secs(5)));
    let got = voices.current(5).expect("stored pad not delivered").samples.clone();
    let want = ndm_core::engine::resample_tuned(&stored, 48_000, 0.0).unwrap();
    assert_eq!(got, want);
    assert!(voices.current(4).is_none());
    // With the model loaded the stored pad keeps its audio (same key); the others are generated.
    engine.send(Command::Load(ModelSource::Dir(fixture_dir()))).unwrap();
    assert!(wait_until(|| matches!(engine.status().lock().model, ModelState::Ready { .. })));
    assert!(link.sync(&mut voices, Duration::from_secs(20)));
    assert_eq!(pad_audio(&engine, 5).unwrap(), stored);
    assert!(engine.status().lock().pads[5].from_state);
    assert!(voices.current(4).is_some());
    // Tune: a resampled copy of the same audio, no model call, shorter when tuned up.
    let made = engine.status().lock().sounds_made;
    let t = PadTarget { key: 1005, params: SoundParams::for_class(2) };
    kit.set(5, t, 12.0);
    assert!(link.sync(&mut voices, Duration::from_secs(5)));
    let tuned = voices.current(5).unwrap().samples.len();
    assert_eq!(engine.status().lock().sounds_made, made);
    assert!((tuned as f64 - want.len() as f64 / 2.0).abs() < 64.0, "{tuned} vs {}", want.len());
}

#[test]
fn the_same_recipe_gives_the_same_bits_in_two_engines() {
    let kit = varied_kit();
    let run = || {
        let (engine, mut link) = start(&kit, Some(ModelSource::Dir(fixture_dir())), 48_000.0);
        let mut voices = Voices::new(48_000.0);
        assert!(link.sync(&mut voices, Duration::from_secs(20)));
        let a = pad_audio(&engine, 7).unwrap();
        drop(engine);
        a
    };
    assert_eq!(run(), run());
}

#[test]
fn encode_publishes_the_latent_for_the_pad_and_export_writes_it() {
    let kit = varied_kit();
    let (engine, mut link) = start(&kit, Some(ModelSource::Dir(fixture_dir())), 48_000.0);
    let mut voices = Voices::new(48_000.0);
    assert!(link.sync(&mut voices, Duration::from_secs(20)));
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("hit.wav");
    write_wav(&wav, 44_100, 2, 24, false, 20_000, |i, _| hit(i, 44_100, 0.02));
    engine.send(Command::Encode { pad: 9, path: wav.clone(), class_weights: vec![1.0, 0.0, 0.0], range: 2.0, refine: RefineOptions::default() }).unwrap();
    assert!(wait_until(|| engine.status().lock().encoded.is_some()));
    let enc = engine.status().lock().encoded.clone().unwrap();
    assert_eq!((enc.serial, enc.pad, enc.sample_name.as_str()), (1, 9, "hit.wav"));
    assert!(enc.encoded.latent.iter().all(|v| v.is_finite()));
    // A bad file: a clear error.
    engine.send(Command::Encode { pad: 9, path: dir.path().join("missing.wav"), class_weights: vec![1.0, 0.0, 0.0], range: 2.0, refine: RefineOptions::default() }).unwrap();
    assert!(wait_until(|| engine.status().lock().last_error.is_some()));
    assert!(engine.status().lock().last_error.clone().unwrap().contains("no such file"));
    // Export pad 9 at the model rate.
    let out = dir.path().join("export.wav");
    engine.send(Command::ExportWav { pad: 9, path: out.clone() }).unwrap();
    assert!(wait_until(|| out.is_file() && engine.status().lock().message.clone().is_some_and(|m| m.contains("exported"))));
    let r = hound::WavReader::open(&out).unwrap();
    assert_eq!(r.spec().sample_rate, 16_000);
    // Several files at once (a multi-file drop): every result stays until the editor reads it.
    for pad in [3, 4, 5] {
        engine.send(Command::Encode { pad, path: wav.clone(), class_weights: vec![1.0, 0.0, 0.0], range: 2.0, refine: RefineOptions::default() }).unwrap();
    }
    assert!(wait_until(|| engine.status().lock().encoded_recent.len() == 4));
    let pads: Vec<usize> = engine.status().lock().encoded_recent.iter().map(|e| e.pad).collect();
    assert_eq!(pads, [9, 3, 4, 5]);
}

#[test]
fn a_missing_model_reports_and_a_reload_recovers() {
    let empty = tempfile::tempdir().unwrap();
    let kit = varied_kit();
    let (engine, mut link) = start(&kit, Some(ModelSource::Dir(empty.path().to_path_buf())), 48_000.0);
    assert!(wait_until(|| matches!(engine.status().lock().model, ModelState::Failed { .. })));
    match engine.status().lock().model.clone() {
        ModelState::Failed { source, error } => {
            assert!(source.contains(&empty.path().display().to_string()));
            assert!(error.contains("model.json"), "{error}");
        }
        _ => unreachable!(),
    }
    let mut voices = Voices::new(48_000.0);
    assert!(link.sync(&mut voices, Duration::from_secs(5)));
    assert!(!voices.note_on(0, 1.0, &PadPlayback::default()), "a pad sounds without a model");
    // "Reload model" with a good source: every pad comes.
    engine.send(Command::Load(ModelSource::Dir(fixture_dir()))).unwrap();
    assert!(link.sync(&mut voices, Duration::from_secs(20)));
    assert!((0..PADS).all(|p| voices.current(p).is_some()));
}

#[test]
fn dropping_the_engine_joins_its_thread() {
    let count = || std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0);
    let kit = varied_kit();
    let (engine, link) = start(&kit, Some(ModelSource::Dir(fixture_dir())), 48_000.0);
    assert!(wait_until(|| matches!(engine.status().lock().model, ModelState::Ready { .. })));
    let with = count();
    let t = Instant::now();
    drop(engine);
    drop(link);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(count() < with, "worker thread still alive after drop");
}

#[test]
fn switching_models_regenerates_every_pad_and_a_failed_switch_keeps_the_old_model() {
    let kit = varied_kit();
    let (engine, mut link) = start(&kit, Some(ModelSource::Dir(fixture_dir())), 48_000.0);
    let mut voices = Voices::new(48_000.0);
    assert!(link.sync(&mut voices, Duration::from_secs(20)));
    assert_eq!(pad_audio(&engine, 0).unwrap().sample_rate, 16_000);

    engine.send(Command::Switch(ModelSource::Dir(fixture_v2_dir()))).unwrap();
    assert!(
        wait_until(|| (0..PADS).all(|p| pad_audio(&engine, p).is_some_and(|a| a.sample_rate == 44_100))),
        "every pad is made again by the new model"
    );
    assert_eq!(engine.status().lock().sounds_made, 2 * PADS as u64);

    let broken = tempfile::tempdir().unwrap();
    engine.send(Command::Switch(ModelSource::Dir(broken.path().to_path_buf()))).unwrap();
    assert!(wait_until(|| engine.status().lock().last_error.as_deref().is_some_and(|e| e.contains("cannot switch"))));
    let st = engine.status().lock();
    assert!(matches!(&st.model, ModelState::Ready { sample_rate: 44_100, .. }), "{:?}", st.model);
    assert!((0..PADS).all(|p| st.pads[p].audio.as_ref().is_some_and(|(_, a)| a.sample_rate == 44_100)));
}

/// A kit whose odd pads are not playable on any model.
struct HalfPlayable(Arc<ManualKit>);

impl ndm_core::KitSource for HalfPlayable {
    fn target(&self, pad: usize, meta: &ndm_core::ModelMeta) -> PadTarget {
        self.0.target(pad, meta)
    }
    fn tune_semitones(&self, pad: usize) -> f32 {
        self.0.tune_semitones(pad)
    }
    fn playable(&self, pad: usize, meta: &ndm_core::ModelMeta) -> Result<(), String> {
        if pad % 2 == 1 { Err(format!("pad {pad}: class not in {}", meta.name)) } else { Ok(()) }
    }
}

#[test]
fn an_unplayable_pad_keeps_its_sound_and_says_why() {
    let kit = varied_kit();
    let source = Arc::new(HalfPlayable(kit.clone()));
    let (engine, _link) = Engine::start(EngineConfig { kit: source, status: StatusHandle::new(), intra_op_threads: 1 });
    let stored = Arc::new(NativeAudio { sample_rate: 16_000, pcm: vec![1000; 512] });
    engine.send(Command::SetStored { pad: 1, key: 1, audio: stored.clone() }).unwrap();
    engine.send(Command::Load(ModelSource::Dir(fixture_dir()))).unwrap();
    engine.set_sample_rate(48_000.0);
    assert!(wait_until(|| pad_audio(&engine, 0).is_some() && engine.status().lock().pads[1].error.is_some() && pad_audio(&engine, 3).is_some()));
    let st = engine.status().lock();
    assert!(st.pads[1].error.as_deref().unwrap().contains("class not in tiny-test-fixture"));
    assert_eq!(st.pads[1].audio.as_ref().unwrap().1, stored, "the stored sound stays");
    // A pad with nothing to keep plays the model's first class meanwhile, and says why.
    assert!(st.pads[3].audio.is_some(), "an unplayable pad without a sound is not left silent");
    assert!(st.pads[3].error.as_deref().unwrap().contains("first class"), "{:?}", st.pads[3].error);
}
