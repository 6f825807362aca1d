//! The real-time side never allocates, frees or locks: run it under assert_no_alloc (its
//! `warn_release` mode counts violations in release builds; debug builds abort).

mod common;
use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use common::*;
use ndm_core::engine::{Engine, ModelSource, Request};
use ndm_core::voices::{PlaySettings, Voices, MAX_VOICES};
use ndm_core::SoundParams;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[test]
fn audio_thread_side_does_not_allocate() {
    let (engine, mut link) = Engine::start(ModelSource::Dir(fixture_dir()), 1);
    let mut voices = Voices::new(48_000.0);
    let mut out = vec![0.0f32; 4096];
    let before = violation_count();
    let started = Instant::now();
    let mut sounds = 0;
    let mut block = 0u64;
    // Keep changing the request (pad moving), play notes, exchange sounds, for ~3 s.
    while started.elapsed() < Duration::from_secs(3) || sounds < 5 {
        assert!(started.elapsed() < Duration::from_secs(20), "no sounds arriving");
        block += 1;
        let len = 1 + (block.wrapping_mul(2654435761) % 4096) as usize;
        let x = ((block / 7) % 20) as f32 / 10.0 - 1.0;
        let settings = PlaySettings { polyphony: 1 + (block % MAX_VOICES as u64) as usize, tune_semitones: (block % 5) as f32 - 2.0, length: 0.5, ..Default::default() };
        assert_no_alloc(|| {
            link.post(Request { params: SoundParams { x, ..SoundParams::for_class((block % 3) as usize) }, sample_rate: 48_000 });
            if link.exchange(&mut voices) {
                sounds += 1;
            }
            for _ in 0..(block % 3) {
                voices.note_on(0.8, &settings);
            }
            out[..len].iter_mut().for_each(|v| *v = 0.0);
            voices.render(&mut out[..len], 0.9);
            if block % 100 == 0 {
                voices.choke_all();
            }
        });
        assert!(out[..len].iter().all(|v| v.is_finite()));
        std::thread::sleep(Duration::from_micros(300));
    }
    assert_eq!(violation_count() - before, 0, "the real-time side allocated or freed memory");
    assert!(sounds >= 5);
    drop(engine);
}
