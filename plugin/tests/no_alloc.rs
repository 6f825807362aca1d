//! The audio-thread logic ([`AudioCore`]) under an allocation guard: 10 000 blocks of random sizes
//! at sample rates from 44.1 to 192 kHz, with MIDI notes and parameter automation that makes the
//! worker generate new sounds, which are then exchanged into the voices inside the guard.
//!
//! Runs on the tiny test model (`core/tests/fixtures/tiny_model`, via `NDM_MODEL_DIR`).
//!
//! In debug builds nice-plug (feature `assert_process_allocs`) already installs its own
//! allocation-checking global allocator, so the guard used is nice-plug's (an allocation aborts);
//! in release builds (`cargo xtask test`) this test installs `assert_no_alloc`'s `AllocDisabler`
//! (its `warn_release` mode counts violations, asserted to be zero).

use ndm_core::engine::ModelState;
use ndm_plugin::audio::{AudioCore, NoteStart, ParamSnapshot};
use std::time::{Duration, Instant};

#[cfg(debug_assertions)]
use nice_assert_no_alloc::assert_no_alloc;

#[cfg(not(debug_assertions))]
use assert_no_alloc::{assert_no_alloc, violation_count};

/// Allocations seen inside the guard (debug builds abort on the first one instead).
#[cfg(debug_assertions)]
fn violation_count() -> u32 {
    0
}

#[cfg(not(debug_assertions))]
#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const RATES: [f32; 6] = [44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0];
const MAX_BLOCK: usize = 2048;
const BLOCKS: usize = 10_000;

/// Small deterministic PRNG (no allocation).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f32 {
        self.next() as f32 / (u32::MAX >> 1) as f32
    }
}

fn tiny_model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/tiny_model")
}

/// Runs guarded blocks until a new sound has been exchanged (or the timeout passes).
fn wait_for_sound(
    core: &mut AudioCore,
    snapshot: &ParamSnapshot,
    gains: &[f32],
    left: &mut [f32],
    right: &mut [f32],
) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let changed = assert_no_alloc(|| core.process_block(&[], snapshot, gains, &mut left[..64], &mut right[..64]));
        if changed {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn process_blocks_never_allocate() {
    std::env::set_var(ndm_plugin::MODEL_DIR_ENV, tiny_model_dir());
    let source = ndm_plugin::model_source();
    let (engine, mut core) = ndm_plugin::start_engine(source, 48_000.0);

    // Wait (unguarded) for the model.
    let start = Instant::now();
    loop {
        match engine.status().model {
            ModelState::Ready { .. } => break,
            ModelState::Failed { error, .. } => panic!("tiny model failed to load: {error}"),
            ModelState::Loading => {
                assert!(start.elapsed() < Duration::from_secs(60), "model load timed out");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    let gains = vec![1.0f32; MAX_BLOCK];
    let mut left = vec![0.0f32; MAX_BLOCK];
    let mut right = vec![0.0f32; MAX_BLOCK];
    let mut notes = [NoteStart { timing: 0, velocity: 1.0 }; 8];
    let mut snapshot = ParamSnapshot::default();
    let mut rng = Lcg(0x5eed);

    assert!(wait_for_sound(&mut core, &snapshot, &gains, &mut left, &mut right), "first sound never arrived");
    assert!(core.has_sound());

    let violations_before = violation_count();
    let mut exchanged = 1;
    let mut peak = 0.0f32;
    for block in 0..BLOCKS {
        // Parameter automation: every 250 blocks a new sound is requested; every 1000 blocks the
        // test waits for it, so the exchange path runs inside the guard.
        if block % 250 == 0 && block > 0 {
            snapshot.x = rng.unit() * 2.0 - 1.0;
            snapshot.y = rng.unit() * 2.0 - 1.0;
            snapshot.fine = rng.unit() * 2.0 - 1.0;
            snapshot.class = rng.below(11) as usize;
            snapshot.blend_class = rng.below(11) as usize;
            snapshot.blend = rng.unit();
            snapshot.variation = rng.unit() * 2.0;
            snapshot.seed = rng.below(10_000);
            snapshot.play.polyphony = 1 + rng.below(64) as usize;
            snapshot.play.tune_semitones = rng.unit() * 48.0 - 24.0;
            snapshot.play.length = 0.05 + rng.unit() * 0.95;
        }
        if block % 1000 == 500 {
            let rate = RATES[rng.below(RATES.len() as u32) as usize];
            core.set_sample_rate(rate);
            assert!(wait_for_sound(&mut core, &snapshot, &gains, &mut left, &mut right), "sound at {rate} Hz never arrived");
            exchanged += 1;
        }
        let len = 1 + rng.below(MAX_BLOCK as u32) as usize;
        let count = rng.below(4) as usize;
        for note in notes.iter_mut().take(count) {
            *note = NoteStart { timing: rng.below(len as u32 + 8), velocity: rng.unit() };
        }
        notes[..count].sort_unstable_by_key(|n| n.timing);
        let changed = assert_no_alloc(|| {
            core.process_block(&notes[..count], &snapshot, &gains[..len], &mut left[..len], &mut right[..len])
        });
        exchanged += usize::from(changed);
        for (l, r) in left[..len].iter().zip(&right[..len]) {
            assert!(l.is_finite() && l == r);
            peak = peak.max(l.abs());
        }
    }
    assert_eq!(violation_count() - violations_before, 0, "process_block allocated or freed memory");
    assert!(exchanged >= 10, "only {exchanged} sounds exchanged");
    assert!(peak > 0.0, "notes never sounded");
    // Dropped outside the guard: voices free their sounds, the engine joins its worker.
    drop(core);
    drop(engine);
}

/// The guard is not vacuous: an allocation inside it is counted (release builds; debug builds
/// would abort here, so this check only runs in release).
#[cfg(not(debug_assertions))]
#[test]
fn guard_detects_allocation() {
    let before = violation_count();
    let v = assert_no_alloc(|| vec![1u8; 16]);
    assert!(violation_count() > before, "allocation went unnoticed");
    drop(v);
}
