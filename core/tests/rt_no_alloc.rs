//! The real-time side never allocates, frees or locks: run it under assert_no_alloc (its
//! `warn_release` mode counts violations in release builds; debug builds abort).

mod common;
use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use common::*;
use ndm_core::engine::{Command, Engine, EngineConfig, ModelSource, StatusHandle};
use ndm_core::kit::{ManualKit, PadPlayback, PadTarget, OUTPUTS, PADS};
use ndm_core::voices::Voices;
use ndm_core::SoundParams;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[test]
fn audio_thread_side_does_not_allocate() {
    let kit = Arc::new(ManualKit::new());
    let (engine, mut link) = Engine::start(EngineConfig { kit: kit.clone(), status: StatusHandle::new(), intra_op_threads: 1 });
    engine.send(Command::Load(ModelSource::Dir(fixture_dir()))).unwrap();
    engine.set_sample_rate(48_000.0);
    let mut voices = Voices::new(48_000.0);
    let before = violation_count();
    let started = Instant::now();
    let mut sounds = 0;
    let mut block = 0u64;
    // Keep changing pads (as automation does), play notes on every pad and output, exchange
    // sounds, for ~3 s.
    while started.elapsed() < Duration::from_secs(3) || sounds < 20 {
        assert!(started.elapsed() < Duration::from_secs(30), "no sounds arriving");
        block += 1;
        let pad = (block % PADS as u64) as usize;
        let x = ((block / 7) % 20) as f32 / 10.0 - 1.0;
        kit.set(pad, PadTarget { key: block, params: SoundParams { x, ..SoundParams::for_class((block % 3) as usize) } }, (block % 5) as f32 - 2.0);
        let play = PadPlayback {
            choke_group: (block % 3) as u8,
            output: (block % OUTPUTS as u64) as u8,
            pan: (block % 7) as f32 / 3.0 - 1.0,
            length: 0.5,
            ..Default::default()
        };
        let len = 1 + (block.wrapping_mul(2654435761) % 256) as usize;
        let mut finite = true;
        assert_no_alloc(|| {
            if link.exchange(&mut voices) {
                sounds += 1;
            }
            let mut masks = [0u16; 9];
            masks[1] = 0b111;
            masks[2] = 0b11000;
            voices.set_choke_groups(&masks);
            for k in 0..(block % 4) {
                voices.note_on((pad + k as usize) % PADS, 0.8, &play);
            }
            let mix = voices.render(len);
            finite = mix.iter().all(|ch| ch[..len].iter().all(|v| v.is_finite()));
            if block % 100 == 0 {
                voices.choke_all();
            }
        });
        assert!(finite);
        std::thread::sleep(Duration::from_micros(300));
    }
    assert_eq!(violation_count() - before, 0, "the real-time side allocated or freed memory");
    assert!(sounds >= 20);
    drop(engine);
}
