//! `ndm`: the Neural Drum Machine on the command line. Writes 32-bit float WAV files; progress
//! and timing go to stderr, results (paths, JSON) to stdout. Exit code 1 with a one-line error
//! for bad input.

use clap::{Parser, Subcommand};
use ndm_core::audio_file::{decode_file, write_wav, DecodedAudio};
use ndm_core::control::SoundParams;
use ndm_core::generate::{encode, encode_refined, generate, generate_detailed, morph, resynthesize, sample_window, variations, Encoded};
use ndm_core::refine::RefineOptions;
use ndm_core::kit_export::{export_kit, ExportOptions, ExportPad, ExportRate, KitFormat, KitInfo, SampleFormat};
use ndm_core::model::{configure_threads, default_model_dir, one_hot, ModelSet};
use ndm_core::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(name = "ndm", version, about = "Neural Drum Machine: generate drum one-shots with neural networks")]
struct Cli {
    /// Model set directory (default: $NDM_MODEL_DIR or the shipped assets/).
    #[arg(long, global = true)]
    model: Option<PathBuf>,
    /// LibTorch intra-op threads.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Cmd,
}

/// Sound controls shared by several commands.
#[derive(clap::Args, Clone)]
struct Controls {
    /// Drum class name (see `ndm info`).
    #[arg(long, default_value = "kick")]
    class: String,
    /// Pad X (first principal axis), -1..1.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    x: f32,
    /// Pad Y (second principal axis), -1..1.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    y: f32,
    /// Fine (third principal axis), -1..1.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    fine: f32,
    /// Pad range in standard deviations, 0.01..4.
    #[arg(long, default_value_t = 2.0)]
    range: f32,
    /// Variation amount (prior standard deviations), 0..2.
    #[arg(long, default_value_t = 0.0)]
    variation: f32,
    /// Seed of the variation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Blend in other classes: NAME=WEIGHT, repeatable (the main class gets 1 − sum).
    #[arg(long, value_parser = parse_blend)]
    blend: Vec<(String, f32)>,
    /// Output sample rate in Hz (default: the model's).
    #[arg(long)]
    rate: Option<u32>,
}

/// How a sample is fitted: latent refinement and detail.
#[derive(clap::Args, Clone, Copy)]
struct Fit {
    /// Latent refinement steps after the encoder's guess (0: off), bounded to 1.5 s.
    #[arg(long, default_value_t = ndm_core::refine::DEFAULT_STEPS)]
    refine_steps: usize,
    /// Detail, 0..1: how much of the sample's own spectrogram detail the anchored sounds keep
    /// (1 at the sample's position: its own spectrogram through the inverter).
    #[arg(long, default_value_t = 0.0)]
    detail: f32,
}

impl Fit {
    fn options(&self) -> Result<RefineOptions> {
        if !(0.0..=1.0).contains(&self.detail) {
            return Err(Error::InvalidArgument { what: "detail", reason: format!("--detail {} is outside 0..1", self.detail) });
        }
        if self.refine_steps > 10_000 {
            return Err(Error::InvalidArgument { what: "refine steps", reason: format!("--refine-steps {} is above 10000", self.refine_steps) });
        }
        Ok(RefineOptions { steps: self.refine_steps, ..RefineOptions::default() })
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Render one one-shot.
    Render {
        #[command(flatten)]
        controls: Controls,
        /// Output WAV file.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Render a kit. `--format wav` (default): N one-shots per class into DIR/<class>_<NNN>.wav.
    /// `--format sfz` / `hydrogen`: the plugin's default 16-pad General MIDI kit as a sampler
    /// preset: DIR/NAME.sfz next to the pads' WAV files, or the Hydrogen kit folder
    /// DIR/NAME/ (drumkit.xml + WAV files). Existing files are never replaced without --force.
    Kit {
        #[arg(long)]
        out_dir: PathBuf,
        /// What to write: wav (one-shots per class), sfz or hydrogen (the GM kit as a preset).
        #[arg(long, value_enum, default_value_t = KitFormatArg::Wav)]
        format: KitFormatArg,
        /// wav: sounds per class.
        #[arg(long, default_value_t = 1)]
        per_class: usize,
        /// wav: seed of the variations.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// wav: variation amount for the 2nd, 3rd, … sound of each class.
        #[arg(long, default_value_t = 0.6)]
        amount: f32,
        /// sfz / hydrogen: sample rate of the WAV files, `model` (default; bit-exact pad sounds
        /// unless tuned) or a rate in Hz.
        #[arg(long, value_parser = parse_export_rate)]
        rate: Option<ExportRate>,
        /// sfz / hydrogen: sample format of the WAV files, 24 (integer, default) or 32f (float).
        #[arg(long, value_parser = parse_bits)]
        bits: Option<SampleFormat>,
        /// sfz / hydrogen: replace existing files.
        #[arg(long)]
        force: bool,
        /// sfz / hydrogen: preset name (file / folder name; default ndm_gm_kit).
        #[arg(long)]
        name: Option<String>,
    },
    /// Encode an audio file: print its latent position as JSON.
    Encode {
        input: PathBuf,
        /// Class the sample belongs to (default: the class whose reconstruction is closest).
        #[arg(long)]
        class: Option<String>,
        #[command(flatten)]
        fit: Fit,
    },
    /// Encode then decode a file (the model's reconstruction).
    Reconstruct {
        input: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        #[arg(long)]
        class: Option<String>,
        #[command(flatten)]
        fit: Fit,
        /// Print a JSON object (file, class, log-Mel L1 in dB of the encoder guess, of the refined
        /// latent, and of the reconstruction's audio against the sample) instead of the path.
        #[arg(long)]
        json: bool,
    },
    /// Spectrogram → inverter round trip of a file (onset-aligned like encoding, no WAE): a
    /// diagnostic of the inverter.
    Resynth {
        input: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        /// Print a JSON object (file, log-Mel L1 in dB of the result against the sample) instead
        /// of the path.
        #[arg(long)]
        json: bool,
    },
    /// Variations around an encoded file.
    Vary {
        #[command(flatten)]
        fit: Fit,
        input: PathBuf,
        #[arg(long, default_value_t = 8)]
        count: usize,
        #[arg(long, default_value_t = 0.5)]
        amount: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        class: Option<String>,
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// Sounds along the latent path between two encoded files.
    Morph {
        a: PathBuf,
        b: PathBuf,
        #[arg(long, default_value_t = 8)]
        steps: usize,
        #[arg(long)]
        class: Option<String>,
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// Render the plugin's default General MIDI kit exactly as the plugin plays it (16-bit
    /// rounding, tune, resampling to RATE): DIR/pNN_<note>_<class>.wav, NN = 01…16.
    GmKit {
        /// Sample rate of the files in Hz (the host rate the plugin would run at).
        #[arg(long, default_value_t = 48_000)]
        rate: u32,
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// Print the model metadata.
    Info,
    /// Measure generation, encoding, real-time and load costs.
    Bench {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        iterations: usize,
    },
}

/// `ndm kit --format`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KitFormatArg {
    Wav,
    Sfz,
    Hydrogen,
}

fn parse_export_rate(s: &str) -> std::result::Result<ExportRate, String> {
    if s.eq_ignore_ascii_case("model") {
        return Ok(ExportRate::Model);
    }
    let hz: u32 = s.parse().map_err(|_| format!("expected `model` or a rate in Hz, got {s:?}"))?;
    if !(8_000..=384_000).contains(&hz) {
        return Err(format!("{hz} Hz is outside 8000..384000"));
    }
    Ok(ExportRate::Host(hz))
}

fn parse_bits(s: &str) -> std::result::Result<SampleFormat, String> {
    match s {
        "24" => Ok(SampleFormat::Int24),
        "32f" => Ok(SampleFormat::Float32),
        _ => Err(format!("expected 24 or 32f, got {s:?}")),
    }
}

fn parse_blend(s: &str) -> std::result::Result<(String, f32), String> {
    let (name, w) = s.split_once('=').ok_or("expected NAME=WEIGHT")?;
    let w: f32 = w.parse().map_err(|_| format!("bad weight {w:?}"))?;
    if !(0.0..=1.0).contains(&w) {
        return Err(format!("weight {w} outside 0..1"));
    }
    Ok((name.to_owned(), w))
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("ndm: error: {e}");
        std::process::exit(1);
    }
}

fn class_index(model: &ModelSet, name: &str) -> Result<usize> {
    model.meta().class_index(name).ok_or_else(|| Error::InvalidArgument {
        what: "class",
        reason: format!("{name:?} is not one of: {}", model.meta().classes.join(", ")),
    })
}

fn params_from(model: &ModelSet, c: &Controls) -> Result<SoundParams> {
    let main = class_index(model, &c.class)?;
    let mut p = SoundParams::for_class(main);
    let mut rest = 1.0;
    for (name, w) in &c.blend {
        let i = class_index(model, name)?;
        p.class_weights[i] += *w;
        rest -= *w;
    }
    if rest < 0.0 {
        return Err(Error::InvalidArgument { what: "blend", reason: "weights sum above 1".into() });
    }
    p.class_weights[main] = p.class_weights[main] - 1.0 + rest;
    for (v, name, lo, hi) in [(c.x, "x", -1.0, 1.0), (c.y, "y", -1.0, 1.0), (c.fine, "fine", -1.0, 1.0), (c.range, "range", 0.01, 4.0), (c.variation, "variation", 0.0, 2.0)] {
        if !(lo..=hi).contains(&v) {
            return Err(Error::InvalidArgument { what: "control", reason: format!("--{name} {v} is outside {lo}..{hi}") });
        }
    }
    if let Some(r) = c.rate {
        if !(8_000..=384_000).contains(&r) {
            return Err(Error::InvalidArgument { what: "rate", reason: format!("{r} Hz is outside 8000..384000") });
        }
    }
    Ok(SoundParams { x: c.x, y: c.y, fine: c.fine, range: c.range, variation: c.variation, seed: c.seed, ..p })
}

fn write(path: &Path, samples: &[f32], rate: u32, ms: f64) -> Result<()> {
    write_wav(path, samples, rate)?;
    println!("{}", path.display());
    eprintln!("  {} ({:.1} ms, {:.2} s at {} Hz)", path.display(), ms, samples.len() as f64 / f64::from(rate), rate);
    Ok(())
}

/// Encodes `input` under `class`, or under every class keeping the one whose decoded guess is
/// closest to the sample's log-Mel spectrogram, then refines that class's guess under `opts`.
/// Returns the encoding, its class and the decoded file.
fn encode_file(model: &ModelSet, input: &Path, class: Option<&str>, opts: &RefineOptions) -> Result<(Encoded, usize, DecodedAudio)> {
    let audio = decode_file(input)?;
    let n = model.meta().classes.len();
    let candidates: Vec<usize> = match class {
        Some(name) => vec![class_index(model, name)?],
        None => (0..n).collect(),
    };
    let mut best: Option<(f32, usize)> = None;
    for ci in candidates {
        let guess = encode(model, &audio, &one_hot(ci, n), 2.0)?;
        if best.is_none_or(|b| guess.guess_db < b.0) {
            best = Some((guess.guess_db, ci));
        }
    }
    let (_, ci) = best.ok_or(Error::InvalidArgument { what: "class", reason: "none".into() })?;
    let enc = encode_refined(model, &audio, &one_hot(ci, n), 2.0, opts, &mut |_| {})?;
    match enc.refined {
        Some(r) if r.kept_guess => eprintln!("  {} as {}: log-Mel fit {:.2} dB (the encoder's guess: {} refinement steps reached {:.2} dB but sounded further away)", input.display(), model.meta().classes[ci], r.start_db, r.steps, r.loss_db),
        Some(r) => eprintln!("  {} as {}: log-Mel fit {:.2} dB, refined from {:.2} dB ({} steps, {:.2} s)", input.display(), model.meta().classes[ci], r.loss_db, r.start_db, r.steps, r.seconds),
        None => eprintln!("  {} as {}: log-Mel fit {:.2} dB (no refinement)", input.display(), model.meta().classes[ci], enc.guess_db),
    }
    Ok((enc, ci, audio))
}

/// The pad anchored on `enc` at its own position, with `detail`.
fn anchored(enc: &Encoded, class: usize, detail: f32) -> SoundParams {
    SoundParams { anchor: Some(enc.latent), x: enc.position[0], y: enc.position[1], fine: enc.position[2], detail, ..SoundParams::for_class(class) }
}

fn run(cli: Cli) -> Result<()> {
    configure_threads(cli.threads);
    let dir = cli.model.clone().unwrap_or_else(default_model_dir);
    if let Cmd::Bench { json, iterations } = cli.command {
        let r = ndm_core::bench::run(&dir, iterations)?;
        if json {
            println!("{}", serde_json::to_string(&r).unwrap_or_default());
        } else {
            print_bench(&r);
        }
        return Ok(());
    }
    let t = Instant::now();
    let model = ModelSet::load_dir(&dir)?;
    eprintln!("model {} loaded from {} ({:.0} ms)", model.meta().name, model.source(), t.elapsed().as_secs_f64() * 1e3);
    let meta = model.meta().clone();
    match cli.command {
        Cmd::Info => {
            println!("name:        {}", meta.name);
            println!("source:      {}", model.source());
            println!("sample rate: {} Hz", meta.sample_rate);
            println!("length:      {} samples ({:.3} s)", meta.n_samples, meta.duration_s());
            println!("STFT:        n_fft {}, hop {}, {} Mel bands, {} frames", meta.n_fft, meta.hop, meta.n_mels, meta.n_frames);
            println!("latent:      {}-d", meta.latent_dim);
            println!("classes:     {}", meta.classes.join(", "));
            if !meta.training.is_null() {
                println!("training:    {}", meta.training);
            }
        }
        Cmd::Render { controls, out } => {
            let p = params_from(&model, &controls)?;
            let s = generate(&model, &p, controls.rate)?;
            write(&out, &s.samples, s.sample_rate, s.timing.total_ms())?;
        }
        Cmd::Kit { out_dir, format: KitFormatArg::Wav, per_class, seed, amount, rate, bits, force, name } => {
            if rate.is_some() || bits.is_some() || force || name.is_some() {
                return Err(Error::InvalidArgument { what: "kit options", reason: "--rate, --bits, --force and --name apply to --format sfz / hydrogen".into() });
            }
            for (ci, name) in meta.classes.iter().enumerate() {
                let base = SoundParams::for_class(ci);
                for k in 0..per_class.max(1) {
                    let p = if k == 0 { base } else { SoundParams { variation: amount, seed: seed.wrapping_add(k as u64), ..base } };
                    let s = generate(&model, &p, None)?;
                    write(&out_dir.join(format!("{name}_{k:03}.wav")), &s.samples, s.sample_rate, s.timing.total_ms())?;
                }
            }
        }
        Cmd::Kit { out_dir, format, rate, bits, force, name, .. } => {
            let mut pads = Vec::with_capacity(ndm_core::PADS);
            for (i, pad) in ndm_core::GM_KIT.iter().enumerate() {
                let params = pad.params(&meta);
                let s = generate(&model, &params, None)?;
                let class = meta.class_index(pad.class).map_or_else(|| meta.classes.first().cloned().unwrap_or_default(), |c| meta.classes[c].clone());
                eprintln!("  pad {:2} {} ({class}): {:.1} ms", i + 1, pad.label, s.timing.total_ms());
                pads.push(ExportPad {
                    index: i,
                    label: pad.label.to_owned(),
                    note: pad.note,
                    class,
                    gain_db: 0.0,
                    pan: 0.0,
                    tune_semitones: pad.tune,
                    choke_group: pad.choke_group,
                    audio: ndm_core::NativeAudio::from_f32(&s.samples, s.sample_rate),
                });
            }
            let kit = KitInfo { name: name.unwrap_or_else(|| "ndm_gm_kit".to_owned()), model: meta.name.clone() };
            let format = if format == KitFormatArg::Sfz { KitFormat::Sfz } else { KitFormat::Hydrogen };
            let opts = ExportOptions { rate: rate.unwrap_or(ExportRate::Model), format: bits.unwrap_or(SampleFormat::Int24), overwrite: force };
            let written = export_kit(&out_dir, &kit, format, &pads, &opts).map_err(|e| match e {
                Error::ExportExists(_) => Error::InvalidArgument { what: "output", reason: format!("{e}; --force replaces them") },
                e => e,
            })?;
            for path in written {
                println!("{}", path.display());
            }
        }
        Cmd::GmKit { rate, out_dir } => {
            for (i, pad) in ndm_core::GM_KIT.iter().enumerate() {
                let s = generate(&model, &pad.params(&meta), None)?;
                let native = ndm_core::NativeAudio::from_f32(&s.samples, s.sample_rate);
                let samples = ndm_core::engine::resample_tuned(&native, rate, pad.tune)?;
                let name = format!("p{:02}_{}_{}.wav", i + 1, pad.note, pad.class);
                write(&out_dir.join(name), &samples, rate, s.timing.total_ms())?;
            }
        }
        Cmd::Encode { input, class, fit } => {
            let (enc, ci, _) = encode_file(&model, &input, class.as_deref(), &fit.options()?)?;
            let json = serde_json::json!({
                "file": input.display().to_string(),
                "class": meta.classes[ci],
                "x": enc.position[0], "y": enc.position[1], "fine": enc.position[2],
                "detail": fit.detail,
                "guess_logmel_l1_db": enc.guess_db,
                "fit_logmel_l1_db": enc.fit_db(),
                "refine_steps": enc.refined.map_or(0, |r| r.steps),
                "latent": enc.latent.to_vec(),
            });
            println!("{json}");
        }
        Cmd::Reconstruct { input, out, class, fit, json } => {
            let (enc, ci, audio) = encode_file(&model, &input, class.as_deref(), &fit.options()?)?;
            let s = generate_detailed(&model, &anchored(&enc, ci, fit.detail), Some(&enc.residual), None)?;
            let target = model.logmel().compute_vec(&sample_window(&model, &audio)?)?;
            let l1 = model.logmel().l1_db(&target, &model.logmel().compute_vec(&s.samples)?);
            eprintln!("  reconstruction vs sample: log-Mel L1 {l1:.2} dB");
            if json {
                write_wav(&out, &s.samples, s.sample_rate)?;
                println!("{}", serde_json::json!({
                    "file": input.display().to_string(), "out": out.display().to_string(), "class": meta.classes[ci],
                    "detail": fit.detail, "refine_steps": enc.refined.map_or(0, |r| r.steps),
                    "refine_seconds": enc.refined.map_or(0.0, |r| r.seconds),
                    "kept_guess": enc.refined.is_some_and(|r| r.kept_guess),
                    "guess_logmel_l1_db": enc.guess_db, "fit_logmel_l1_db": enc.fit_db(), "reconstruction_logmel_l1_db": l1,
                }));
            } else {
                write(&out, &s.samples, s.sample_rate, s.timing.total_ms())?;
            }
        }
        Cmd::Resynth { input, out, json } => {
            let t = Instant::now();
            let audio = decode_file(&input)?;
            let wav = resynthesize(&model, &audio)?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let target = model.logmel().compute_vec(&sample_window(&model, &audio)?)?;
            let l1 = model.logmel().l1_db(&target, &model.logmel().compute_vec(&wav)?);
            eprintln!("  resynthesis vs sample: log-Mel L1 {l1:.2} dB");
            if json {
                write_wav(&out, &wav, meta.sample_rate)?;
                println!("{}", serde_json::json!({"file": input.display().to_string(), "out": out.display().to_string(), "resynthesis_logmel_l1_db": l1}));
            } else {
                write(&out, &wav, meta.sample_rate, ms)?;
            }
        }
        Cmd::Vary { fit, input, count, amount, seed, class, out_dir } => {
            if !(0.0..=2.0).contains(&amount) {
                return Err(Error::InvalidArgument { what: "amount", reason: format!("{amount} is outside 0..2") });
            }
            let (enc, ci, _) = encode_file(&model, &input, class.as_deref(), &fit.options()?)?;
            let stem = input.file_stem().and_then(|s| s.to_str()).unwrap_or("sample").to_owned();
            for (k, p) in variations(&anchored(&enc, ci, fit.detail), count, amount, seed).iter().enumerate() {
                let s = generate_detailed(&model, p, Some(&enc.residual), None)?;
                write(&out_dir.join(format!("{stem}_var_{k:02}.wav")), &s.samples, s.sample_rate, s.timing.total_ms())?;
            }
        }
        Cmd::Morph { a, b, steps, class, out_dir } => {
            let (ea, ci, _) = encode_file(&model, &a, class.as_deref(), &RefineOptions::default())?;
            let (eb, _, _) = encode_file(&model, &b, Some(&meta.classes[ci]), &RefineOptions::default())?;
            for (k, p) in morph(&ea.latent, &eb.latent, steps, &SoundParams::for_class(ci), &model).iter().enumerate() {
                let s = generate(&model, p, None)?;
                write(&out_dir.join(format!("morph_{k:02}.wav")), &s.samples, s.sample_rate, s.timing.total_ms())?;
            }
        }
        Cmd::Bench { .. } => unreachable!("handled above"),
    }
    Ok(())
}

fn print_bench(r: &ndm_core::bench::BenchReport) {
    println!("model: {} ({} iterations, medians)", r.model, r.iterations);
    println!("{:<44} {:>10} {:>10}", "stage", "1 thread", "2 threads");
    println!("{:<44} {:>8.2}ms {:>8.2}ms", "decoder (z, c -> log-Mel)", r.decoder_ms_1t, r.decoder_ms_2t);
    println!("{:<44} {:>8.2}ms {:>8.2}ms", "MCNN inverter (log-Mel -> waveform)", r.inverter_ms_1t, r.inverter_ms_2t);
    println!("{:<44} {:>8.2}ms", "post-processing", r.post_ms_1t);
    println!("{:<44} {:>8.2}ms {:>8.2}ms", "whole generation of one one-shot", r.total_ms_1t, r.total_ms_2t);
    println!("{:<44} {:>8.2}ms", "resampling to 48 kHz", r.resample_48k_ms);
    println!("{:<44} {:>8.2}ms", "encoder (waveform -> z)", r.encoder_ms_1t);
    println!("{:<44} {:>8.0}ms", format!("encode + refinement ({} steps)", r.refine_steps), r.encode_refined_ms_1t);
    println!("{:<44} {:>8.1}ms", "New kit: 16 pads (generate + tune + 48 kHz)", r.new_kit_16_pads_ms_1t);
    println!("{:<44} {:>8.1}ms", "model load + validation + warm-up", r.load_ms);
    for (n, f) in [(1, r.rt_fraction_1_voice), (16, r.rt_fraction_16_voices), (64, r.rt_fraction_64_voices)] {
        println!("{:<44} {:>9.3}%", format!("audio thread, 512-sample block, {n} voices"), f * 100.0);
    }
    println!("{:<44} {:>8.0}MiB", "peak RSS", r.peak_rss_mib);
}
