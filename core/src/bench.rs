//! Measurements behind `ndm bench` (the criterion benches in `benches/` cover the same paths).

use crate::control::SoundParams;
use crate::error::Result;
use crate::generate::{generate, Sound};
use crate::model::{configure_threads, ModelSet};
use crate::kit::{NativeAudio, PadPlayback, GM_KIT};
use crate::voices::{Voices, CHUNK};
use std::path::Path;
use std::time::Instant;

/// Median figures of one `ndm bench` run, in milliseconds unless named otherwise.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    /// Model name.
    pub model: String,
    /// Iterations per figure.
    pub iterations: usize,
    /// Model-set load including validation and warm-up.
    pub load_ms: f64,
    /// Decoder forward, 1 intra-op thread.
    pub decoder_ms_1t: f64,
    /// MCNN forward, 1 thread.
    pub inverter_ms_1t: f64,
    /// Post-processing (DC, fades, normalisation) at the model rate, 1 thread.
    pub post_ms_1t: f64,
    /// Decoder + MCNN + post-processing, 1 thread.
    pub total_ms_1t: f64,
    /// The same on 2 threads.
    pub decoder_ms_2t: f64,
    /// MCNN on 2 threads.
    pub inverter_ms_2t: f64,
    /// Total on 2 threads.
    pub total_ms_2t: f64,
    /// Resampling one one-shot to 48 kHz (done once per sound on the worker).
    pub resample_48k_ms: f64,
    /// Encoder forward (1 thread).
    pub encoder_ms_1t: f64,
    /// Encoding a sample with the default latent refinement ([`crate::refine::RefineOptions`]:
    /// up to 200 steps, at most 1.5 s), 1 thread. Target ≤ 1.5 s.
    pub encode_refined_ms_1t: f64,
    /// Refinement steps that run took.
    pub refine_steps: usize,
    /// "New kit": all 16 pads of the GM kit regenerated with new seeds, as the worker does it
    /// (generation, 16-bit rounding, tune and resampling to 48 kHz), one after the other on 1
    /// thread. Target ≤ 150 ms.
    pub new_kit_16_pads_ms_1t: f64,
    /// Real-time side cost of one 512-sample block at 48 kHz as a fraction of the block's
    /// duration, with 1, 16 and 64 active voices.
    pub rt_fraction_1_voice: f64,
    /// 16 voices.
    pub rt_fraction_16_voices: f64,
    /// 64 voices.
    pub rt_fraction_64_voices: f64,
    /// Peak resident set size of the process in MiB (VmHWM).
    pub peak_rss_mib: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_ms(n: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(t))
}

/// Peak RSS of this process in MiB, from `/proc/self/status` (0 when unavailable).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Real-time cost of one 512-sample block at 48 kHz with `voices` active (spread over the 16
/// pads, main output), as a fraction of the block's duration (median over `blocks`).
pub fn rt_fraction(sound: &Sound, voices: usize, blocks: usize) -> f64 {
    const BLOCK: usize = 512;
    let rate = 48_000.0;
    let mut v = Voices::new(rate);
    // A long sound so voices stay active for the whole measurement.
    let need = BLOCK * (blocks + 1);
    let mut long = sound.samples.clone();
    while long.len() < need {
        let copy = long.clone();
        long.extend_from_slice(&copy);
    }
    for pad in 0..crate::kit::PADS {
        let s = Sound { samples: long.clone(), sample_rate: rate as u32, pad, ..sound.clone() };
        let _ = v.install(Box::new(s));
    }
    let play = PadPlayback::default();
    for k in 0..voices {
        v.note_on(k % crate::kit::PADS, 0.9, &play);
    }
    let mut t = Vec::with_capacity(blocks);
    for _ in 0..blocks {
        let s = Instant::now();
        for _ in 0..BLOCK / CHUNK {
            std::hint::black_box(v.render(CHUNK));
        }
        t.push(s.elapsed().as_secs_f64());
    }
    median(t) / (BLOCK as f64 / rate as f64)
}

/// One "New kit" on `model`: the 16 GM pads with seeds offset by `seed`, as the worker makes
/// them (generate, round to 16-bit, tune + resample to 48 kHz).
pub fn new_kit(model: &ModelSet, seed: u64) -> Result<()> {
    let meta = model.meta();
    for pad in &GM_KIT {
        let params = SoundParams { seed: u64::from(pad.seed) + seed, ..pad.params(meta) };
        let sound = generate(model, &params, None)?;
        let native = NativeAudio::from_f32(&sound.samples, sound.sample_rate);
        std::hint::black_box(crate::engine::resample_tuned(&native, 48_000, pad.tune)?);
    }
    Ok(())
}

/// Runs every measurement on the model set in `dir` with `iterations` repetitions each.
pub fn run(dir: &Path, iterations: usize) -> Result<BenchReport> {
    let n = iterations.max(3);
    configure_threads(1);
    let mut model = None;
    let load_ms = time_ms(3, || {
        model = Some(ModelSet::load_dir(dir)?);
        Ok(())
    })?;
    let model = model.expect("loaded above");
    let meta = model.meta();
    let params = SoundParams { x: 0.3, y: -0.2, ..SoundParams::for_class(0) };
    let z = crate::control::latent_for(meta, &params);
    let c = params.class_vector(meta.classes.len());
    let mel = model.decode(&z, &c)?;
    let wav = model.invert(&mel)?;
    let stages = |threads: usize| -> Result<(f64, f64, f64, f64)> {
        configure_threads(threads);
        let d = time_ms(n, || model.decode(&z, &c).map(|_| ()))?;
        let i = time_ms(n, || model.invert(&mel).map(|_| ()))?;
        let p = time_ms(n, || {
            let mut w = wav.clone();
            crate::dsp::post_process(&mut w, meta.sample_rate as f32, meta.end_fade_samples());
            Ok(())
        })?;
        let t = time_ms(n, || generate(&model, &params, None).map(|_| ()))?;
        Ok((d, i, p, t))
    };
    let (d2, i2, _, t2) = stages(2)?;
    let (d1, i1, p1, t1) = stages(1)?;
    let resample_48k_ms = time_ms(n, || crate::dsp::resample(&wav, meta.sample_rate, 48_000).map(|_| ()))?;
    let encoder_ms_1t = time_ms(n, || model.encode(&wav, &c).map(|_| ()))?;
    let sample = crate::audio_file::DecodedAudio { samples: wav.clone(), sample_rate: meta.sample_rate, channels: 1 };
    let mut refine_steps = 0;
    let encode_refined_ms_1t = time_ms(3, || {
        let e = crate::generate::encode_refined(&model, &sample, &c, 2.0, &crate::refine::RefineOptions::default(), &mut |_| {})?;
        refine_steps = e.refined.map_or(0, |r| r.steps);
        Ok(())
    })?;
    let mut kit_seed = 0;
    let new_kit_16_pads_ms_1t = time_ms(n.min(10), || {
        kit_seed += 10_000;
        new_kit(&model, kit_seed)
    })?;
    let sound = generate(&model, &params, Some(48_000))?;
    Ok(BenchReport {
        model: meta.name.clone(),
        iterations: n,
        load_ms,
        decoder_ms_1t: d1,
        inverter_ms_1t: i1,
        post_ms_1t: p1,
        total_ms_1t: t1,
        decoder_ms_2t: d2,
        inverter_ms_2t: i2,
        total_ms_2t: t2,
        resample_48k_ms,
        encoder_ms_1t,
        encode_refined_ms_1t,
        refine_steps,
        new_kit_16_pads_ms_1t,
        rt_fraction_1_voice: rt_fraction(&sound, 1, 2000),
        rt_fraction_16_voices: rt_fraction(&sound, 16, 2000),
        rt_fraction_64_voices: rt_fraction(&sound, 64, 2000),
        peak_rss_mib: peak_rss_mib(),
    })
}
