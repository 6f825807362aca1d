//! Drum patterns and "is every note there, on time, with its pad's sound" for host renders.
//!
//! The references are the default kit's one-shots as the plugin makes them, written by
//! `ndm gm-kit --rate R --out-dir DIR` (`DIR/pNN_<note>_<class>.wav`, 32-bit float mono).
//! [`match_notes`] walks a rendered mix note by note (in time order): for each note it searches
//! the lag (±`max_lag`) at which each pad's reference best matches the mix's residual (normalised
//! cross-correlation over the first `window` samples), reports the best pad, the lag and the
//! level, and subtracts the expected pad's fitted sound from the residual, so that a long tail
//! (a crash) does not mask the next, quieter note (a side stick).

use std::path::{Path, PathBuf};

/// One note of a pattern: `key@seconds[:velocity]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Note {
    pub key: u8,
    pub time_s: f64,
    pub velocity: u8,
}

/// Parses `"36@0.0 38@0.5:90 ..."` (velocity default 100), the format of
/// `tests/ardour/render_midi.sh`.
pub fn parse_notes(text: &str) -> Vec<Note> {
    fn bad(tok: &str) -> ! {
        panic!("bad note {tok:?} (key@seconds[:velocity])")
    }
    text.split_whitespace()
        .map(|tok| {
            let (key, rest) = tok.split_once('@').unwrap_or_else(|| bad(tok));
            let (time, vel) = rest.split_once(':').unwrap_or((rest, "100"));
            Note {
                key: key.parse().unwrap_or_else(|_| bad(tok)),
                time_s: time.parse().unwrap_or_else(|_| bad(tok)),
                velocity: vel.parse().unwrap_or_else(|_| bad(tok)),
            }
        })
        .collect()
}

/// One pad's reference sound.
#[derive(Clone, Debug)]
pub struct PadSound {
    /// 1..=16, pad order.
    pub pad: usize,
    pub key: u8,
    pub class: String,
    pub samples: Vec<f32>,
    pub path: PathBuf,
}

/// Runs `ndm gm-kit --rate RATE --out-dir DIR` (DIR emptied first) and loads what it wrote.
pub fn ndm_gm_kit(rate: u32, dir: &Path) -> Vec<PadSound> {
    let cli = crate::paths::ndm_cli();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create the gm-kit folder");
    let output = std::process::Command::new(&cli)
        .args(["gm-kit", "--rate", &rate.to_string(), "--out-dir"])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cli.display()));
    assert!(
        output.status.success(),
        "`{} gm-kit --rate {rate} --out-dir {}` failed ({}):\n{}{}",
        cli.display(),
        dir.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    load_gm_kit(dir, rate)
}

/// Loads `DIR/pNN_<note>_<class>.wav`, sorted by pad; checks each file's rate.
pub fn load_gm_kit(dir: &Path, rate: u32) -> Vec<PadSound> {
    let mut pads = Vec::new();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("read_dir entry").path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".wav"))
            .and_then(|n| n.strip_prefix('p'))
        else {
            continue;
        };
        let mut parts = stem.splitn(3, '_');
        let (Some(pad), Some(key), Some(class)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(pad), Ok(key)) = (pad.parse::<usize>(), key.parse::<u8>()) else {
            continue;
        };
        let (r, samples) = crate::audio::read_wav_mono(&path);
        assert_eq!(r, rate, "{} is at {r} Hz, expected {rate}", path.display());
        pads.push(PadSound {
            pad,
            key,
            class: class.to_string(),
            samples,
            path,
        });
    }
    pads.sort_by_key(|p| p.pad);
    assert!(
        !pads.is_empty(),
        "no pNN_<note>_<class>.wav files in {}",
        dir.display()
    );
    pads
}

/// Reads a WAV as planar `f32` channels, with its rate.
pub fn read_wav_channels(path: &Path) -> (hound::WavSpec, Vec<Vec<f32>>) {
    let mut reader = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("cannot read WAV {}: {e}", path.display()));
    let spec = reader.spec();
    let n = spec.channels.max(1) as usize;
    let all: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / scale)
                .collect()
        }
    };
    let mut chans = vec![Vec::with_capacity(all.len() / n); n];
    for (i, s) in all.into_iter().enumerate() {
        chans[i % n].push(s);
    }
    (spec, chans)
}

/// What [`match_notes`] found for one note.
#[derive(Clone, Debug)]
pub struct NoteMatch {
    pub note: Note,
    /// The pad mapped to the note's key (first one), if any.
    pub expected_pad: Option<usize>,
    /// Normalised cross-correlation with the expected pad's reference (at its best lag).
    pub expected_ncc: f64,
    /// Best lag of the expected pad's reference, in samples (mix = reference delayed by `lag`).
    pub lag: isize,
    /// The pad whose reference matches best, and how well.
    pub best_pad: usize,
    pub best_ncc: f64,
    /// Second-best pad's correlation (how clearly the best one wins).
    pub runner_up_ncc: f64,
    /// Least-squares gain of the expected reference in the mix (1.0 = the reference's level).
    pub gain: f64,
    /// Peak of the residual in the window after the note time.
    pub peak: f32,
    /// Threshold onset of the residual minus the reference's own, relative to the note time,
    /// in samples (`None`: nothing above the threshold near the note).
    pub onset: Option<isize>,
}

fn seg(x: &[f32], start: isize, len: usize) -> impl Iterator<Item = f64> + '_ {
    (0..len).map(move |i| {
        let j = start + i as isize;
        if j < 0 {
            0.0
        } else {
            x.get(j as usize).copied().unwrap_or(0.0) as f64
        }
    })
}

/// Best (lag, ncc) of `reference[..window]` in `residual` around sample `at`.
fn best_lag(
    residual: &[f32],
    at: isize,
    reference: &[f32],
    window: usize,
    max_lag: usize,
) -> (isize, f64) {
    let w = window.min(reference.len());
    let r = &reference[..w];
    let rn = r
        .iter()
        .map(|&v| (v as f64) * (v as f64))
        .sum::<f64>()
        .sqrt();
    let mut best = (0isize, f64::NEG_INFINITY);
    if rn == 0.0 {
        return (0, 0.0);
    }
    for lag in -(max_lag as isize)..=(max_lag as isize) {
        let (mut dot, mut xx) = (0.0f64, 0.0f64);
        for (x, &y) in seg(residual, at + lag, w).zip(r) {
            dot += x * y as f64;
            xx += x * x;
        }
        let ncc = if xx > 0.0 {
            dot / (xx.sqrt() * rn)
        } else {
            0.0
        };
        if ncc > best.1 {
            best = (lag, ncc);
        }
    }
    best
}

fn threshold_onset(x: &[f32], from: isize, len: usize, frac: f32) -> Option<isize> {
    let peak = seg(x, from, len).fold(0.0f64, |m, v| m.max(v.abs()));
    if peak <= 0.0 {
        return None;
    }
    seg(x, from, len)
        .position(|v| v.abs() > frac as f64 * peak)
        .map(|i| from + i as isize)
}

/// Matches each note of `notes` in `mix` (mono, at `rate`) against the pads' references; see the
/// module documentation. `window` and `max_lag` are in samples.
pub fn match_notes(
    mix: &[f32],
    rate: u32,
    notes: &[Note],
    pads: &[PadSound],
    window: usize,
    max_lag: usize,
) -> Vec<NoteMatch> {
    let mut order: Vec<Note> = notes.to_vec();
    order.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    let mut residual = mix.to_vec();
    let mut out = Vec::new();
    for note in order {
        let at = (note.time_s * rate as f64).round() as isize;
        let mut scores: Vec<(usize, isize, f64)> = pads
            .iter()
            .map(|p| {
                let (lag, ncc) = best_lag(&residual, at, &p.samples, window, max_lag);
                (p.pad, lag, ncc)
            })
            .collect();
        scores.sort_by(|a, b| b.2.total_cmp(&a.2));
        let expected = pads.iter().find(|p| p.key == note.key);
        let peak = seg(&residual, at, window).fold(0.0f64, |m, v| m.max(v.abs())) as f32;
        let (mut lag, mut expected_ncc, mut gain, mut onset) = (0, 0.0, 0.0, None);
        if let Some(p) = expected {
            let &(_, l, ncc) = scores.iter().find(|s| s.0 == p.pad).unwrap();
            lag = l;
            expected_ncc = ncc;
            let w = window.min(p.samples.len());
            let (mut dot, mut rr) = (0.0f64, 0.0f64);
            for (x, &y) in seg(&residual, at + lag, w).zip(&p.samples[..w]) {
                dot += x * y as f64;
                rr += (y as f64) * (y as f64);
            }
            gain = if rr > 0.0 { dot / rr } else { 0.0 };
            let ref_onset = threshold_onset(&p.samples, 0, w, 0.1).unwrap_or(0);
            onset = threshold_onset(&residual, at - max_lag as isize, window + max_lag, 0.1)
                .map(|i| i - at - ref_onset);
            // Take this note out of the residual so it does not mask the next ones.
            for (i, &y) in p.samples.iter().enumerate() {
                let j = at + lag + i as isize;
                if j >= 0 && (j as usize) < residual.len() {
                    residual[j as usize] -= (gain * y as f64) as f32;
                }
            }
        }
        out.push(NoteMatch {
            note,
            expected_pad: expected.map(|p| p.pad),
            expected_ncc,
            lag,
            best_pad: scores[0].0,
            best_ncc: scores[0].2,
            runner_up_ncc: scores.get(1).map_or(0.0, |s| s.2),
            gain,
            peak,
            onset,
        });
    }
    out
}
