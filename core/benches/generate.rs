//! Criterion benchmarks: generation stages on 1 and 2 threads, encoder, real-time side.
//! Model: $NDM_MODEL_DIR or the shipped assets/ (`cargo bench -p ndm-core`).

use criterion::{criterion_group, criterion_main, Criterion};
use ndm_core::control::{latent_for, SoundParams};
use ndm_core::generate::generate;
use ndm_core::model::{configure_threads, default_model_dir, ModelSet};
use ndm_core::kit::{PadPlayback, PADS};
use ndm_core::voices::Voices;
use std::hint::black_box;

fn bench_generation(c: &mut Criterion) {
    let model = match ModelSet::load_dir(&default_model_dir()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipping generation benches: {e}");
            return;
        }
    };
    let meta = model.meta().clone();
    let params = SoundParams { x: 0.3, y: -0.2, ..SoundParams::for_class(0) };
    let z = latent_for(&meta, &params);
    let cw = params.class_vector(meta.classes.len());
    let mel = model.decode(&z, &cw).unwrap();
    let wav = model.invert(&mel).unwrap();
    for threads in [1usize, 2] {
        configure_threads(threads);
        let mut g = c.benchmark_group(format!("generation_{threads}t"));
        g.bench_function("decoder", |b| b.iter(|| model.decode(black_box(&z), &cw).unwrap()));
        g.bench_function("inverter", |b| b.iter(|| model.invert(black_box(&mel)).unwrap()));
        g.bench_function("post_process", |b| {
            b.iter(|| {
                let mut w = wav.clone();
                ndm_core::dsp::post_process(&mut w, meta.sample_rate as f32, meta.end_fade_samples());
                w
            })
        });
        g.bench_function("whole_one_shot", |b| b.iter(|| generate(&model, black_box(&params), None).unwrap()));
        g.finish();
    }
    configure_threads(1);
    c.bench_function("encoder_1t", |b| b.iter(|| model.encode(black_box(&wav), &cw).unwrap()));
    c.bench_function("model_load", |b| b.iter(|| ModelSet::load_dir(&default_model_dir()).unwrap()));
}

fn bench_realtime(c: &mut Criterion) {
    let samples: Vec<f32> = (0..96_000).map(|i| ((i as f32) * 0.01).sin() * 0.5).collect();
    let mut g = c.benchmark_group("realtime_block_512");
    for voices in [1usize, 16, 64] {
        let mut v = Voices::new(48_000.0);
        for pad in 0..PADS {
            let sound = ndm_core::Sound { samples: samples.clone(), sample_rate: 48_000, pad, params: SoundParams::for_class(0), timing: Default::default() };
            let _ = v.install(Box::new(sound));
        }
        let play = PadPlayback::default();
        for k in 0..voices {
            v.note_on(k % PADS, 0.9, &play);
        }
        g.bench_function(format!("{voices}_voices"), |b| {
            b.iter(|| {
                // Restart voices that ended so the count stays constant.
                if v.active_voices() < voices {
                    v.note_on(0, 0.9, &play);
                }
                black_box(v.render(256));
                black_box(v.render(256));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_generation, bench_realtime);
criterion_main!(benches);
