//! The plugin's real `process()` path ([`NeuralDrumMachine::process_channels`], which
//! `Plugin::process` calls with the host's channels) under an allocation guard: 10 000 blocks of
//! random sizes 1–4096 at sample rates from 44.1 to 192 kHz, random notes on all 128 keys, and
//! automation of every pad's parameters, which makes the worker regenerate pads whose sounds are
//! then taken in inside the guard.
//!
//! Runs on the tiny test model (`core/tests/fixtures/tiny_model`, via `NDM_MODEL_DIR`).
//!
//! In debug builds nice-plug (feature `assert_process_allocs`) already installs its own
//! allocation-checking global allocator, so the guard used is nice-plug's (an allocation aborts);
//! in release builds (`cargo xtask test`) this test installs `assert_no_alloc`'s `AllocDisabler`
//! (its `warn_release` mode counts violations, asserted to be zero).

mod common;
use common::*;
use ndm_core::kit::PADS;
use ndm_plugin::NeuralDrumMachine;
use nice_plug::midi::NoteEvent;
use nice_plug::prelude::Params;
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
const MAX_BLOCK: usize = 4096;
const BLOCKS: usize = 10_000;

#[test]
fn process_never_allocates() {
    std::env::set_var(ndm_plugin::MODEL_DIR_ENV, tiny_model_dir());
    let mut plugin = NeuralDrumMachine::default();
    assert!(plugin.prepare(48_000.0, false), "activation timed out");
    let params = plugin.shared_params();
    let map = params.param_map();

    let mut out = Outputs::new(MAX_BLOCK);
    let mut events: Vec<NoteEvent<()>> = Vec::with_capacity(16);
    let mut rng = Lcg(0x5eed);
    let violations_before = violation_count();
    let mut peak = 0.0f32;
    let mut automated = 0;
    let started = Instant::now();
    for block in 0..BLOCKS {
        // Automation of random parameters of random pads (outside the guard: the host's side).
        if block % 40 == 0 {
            for _ in 0..8 {
                let (_, ptr, _) = &map[rng.below(map.len() as u32) as usize];
                // SAFETY: `ptr` points into `params`, alive here.
                unsafe {
                    ptr._internal_set_normalized_value(rng.unit());
                }
                automated += 1;
            }
        }
        // A new sample rate now and then (a host re-activates for that).
        if block % 2000 == 1999 {
            plugin.prepare(RATES[rng.below(RATES.len() as u32) as usize], false);
        }
        let len = 1 + rng.below(MAX_BLOCK as u32) as usize;
        events.clear();
        for _ in 0..rng.below(5) {
            events.push(note_on(rng.below(len as u32 + 8), rng.below(128) as u8, rng.unit()));
        }
        events.sort_unstable_by_key(|e| e.timing());
        assert_no_alloc(|| out.process(&mut plugin, len, &events));
        for ch in &out.0 {
            for &s in &ch[..len] {
                assert!(s.is_finite());
                peak = peak.max(s.abs());
            }
        }
        if block % 500 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    assert_eq!(violation_count() - violations_before, 0, "process() allocated or freed memory");
    assert!(peak > 0.0, "notes never sounded");
    assert!(automated > 1000);
    let made = plugin.engine().status().lock().sounds_made;
    assert!(made > PADS as u64 + 10, "automation regenerated only {made} sounds");
    eprintln!("{BLOCKS} blocks in {:.1} s, {made} sounds generated", started.elapsed().as_secs_f64());
    drop(plugin);
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
