//! A note at velocity 1 and 0 dB plays exactly the sound `ndm render` writes for the same controls
//! (both are `generate` + `dsp::resample`), starting on the note's sample. Tiny test model.

use ndm_core::engine::{ModelSource, ModelState};
use ndm_core::generate::generate;
use ndm_core::model::ModelSet;
use ndm_plugin::audio::{NoteStart, ParamSnapshot};
use std::time::{Duration, Instant};

fn tiny_model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/tiny_model")
}

#[test]
fn note_output_equals_cli_render() {
    let dir = tiny_model_dir();
    let model = ModelSet::load_dir(&dir).expect("tiny model");
    for (rate, class) in [(44_100u32, 1usize), (96_000, 0)] {
        let (engine, mut core) = ndm_plugin::start_engine(ModelSource::Dir(dir.clone()), rate as f32);
        let snapshot = ParamSnapshot { class, x: 0.3, y: -0.5, fine: 0.1, range: 1.5, variation: 0.4, seed: 7, ..Default::default() };
        let block = 512;
        let (mut l, mut r) = (vec![0.0f32; block], vec![0.0f32; block]);
        let gains = vec![1.0f32; block];
        let start = Instant::now();
        while !core.process_block(&[], &snapshot, &gains, &mut l, &mut r) {
            if let ModelState::Failed { error, .. } = engine.status().model {
                panic!("{error}");
            }
            assert!(start.elapsed() < Duration::from_secs(60), "no sound");
            std::thread::sleep(Duration::from_millis(2));
        }

        // Expected: what `ndm render --class <c> ... --rate <rate>` computes.
        let mut params = ndm_core::SoundParams::for_class(class);
        params.x = 0.3;
        params.y = -0.5;
        params.fine = 0.1;
        params.range = 1.5;
        params.variation = 0.4;
        params.seed = 7;
        let expected = generate(&model, &params, Some(rate)).expect("generate").samples;

        let offset = 37;
        let mut out = Vec::new();
        let mut first = true;
        while out.len() < expected.len() + offset + block {
            let notes = if first { vec![NoteStart { timing: offset as u32, velocity: 1.0 }] } else { vec![] };
            first = false;
            core.process_block(&notes, &snapshot, &gains, &mut l, &mut r);
            assert_eq!(l, r);
            out.extend_from_slice(&l);
        }
        assert!(out[..offset].iter().all(|&s| s == 0.0), "sound started early");
        let got = &out[offset..offset + expected.len()];
        let max_err = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max_err < 1e-6, "max error {max_err} at {rate} Hz");
        assert!(out[offset + expected.len()..].iter().all(|&s| s == 0.0), "sound longer than rendered");
        drop(core);
        drop(engine);
    }
}
