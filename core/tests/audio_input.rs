//! Bad and odd input files: each bad one gets its own clear error, odd-but-valid ones decode and
//! encode. No input may panic.

mod common;
use common::*;
use ndm_core::audio_file::decode_file;
use ndm_core::generate::encode;
use ndm_core::model::one_hot;
use ndm_core::{Error, ModelSet};
use std::path::Path;

fn tone(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, seconds: f32) {
    let frames = (rate as f32 * seconds) as usize;
    write_wav(path, rate, channels, bits, float, frames, |i, _| hit(i, rate, 0.05));
}

#[test]
fn bad_inputs_each_get_their_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let check = |name: &str, expect: fn(&Error) -> bool, path: &Path| {
        let r = decode_file(path);
        let e = r.err().unwrap_or_else(|| panic!("{name}: decoded, expected an error"));
        assert!(expect(&e), "{name}: unexpected error {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{name}: message does not name the file: {msg}");
        assert!(!msg.contains('\n'), "{name}: not one line: {msg}");
    };

    check("missing path", |e| matches!(e, Error::FileNotFound(_)), &d.join("nope.wav"));
    check("directory", |e| matches!(e, Error::IsDirectory(_)), d);

    let empty = d.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    check("empty file", |e| matches!(e, Error::EmptyFile(_)), &empty);

    let random = d.join("random.bin");
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&random, &bytes).unwrap();
    check("random bytes", |e| matches!(e, Error::UnreadableAudio { .. }), &random);

    let text = d.join("notes.wav");
    std::fs::write(&text, "these are my drum notes, not audio\n".repeat(50)).unwrap();
    check("non-audio with a .wav name", |e| matches!(e, Error::UnreadableAudio { .. }), &text);

    let good = d.join("good.wav");
    tone(&good, 44_100, 1, 16, false, 0.5);
    let full = std::fs::read(&good).unwrap();
    let truncated = d.join("truncated.wav");
    std::fs::write(&truncated, &full[..30]).unwrap();
    check("truncated WAV (header cut)", |e| matches!(e, Error::UnreadableAudio { .. }), &truncated);

    let zero = d.join("zero_length.wav");
    tone(&zero, 44_100, 1, 16, false, 0.0);
    check("0-length audio", |e| matches!(e, Error::NoAudio(_)), &zero);

    let silent = d.join("silent.wav");
    write_wav(&silent, 44_100, 1, 16, false, 22_050, |_, _| 0.0);
    check("silence", |e| matches!(e, Error::Silent(_)), &silent);

    let long = d.join("ten_minutes.wav");
    write_wav(&long, 8_000, 1, 8, false, 8_000 * 600, |i, _| ((i % 80) as f32 / 40.0 - 1.0) * 0.5);
    let t = std::time::Instant::now();
    check("10-minute file", |e| matches!(e, Error::TooLong { .. }), &long);
    assert!(t.elapsed().as_secs_f64() < 5.0, "the long file was decoded whole");
}

#[test]
fn truncated_data_still_decodes_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wav");
    tone(&good, 44_100, 2, 16, false, 0.5);
    let full = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let a = decode_file(&cut).expect("a WAV cut mid-data keeps its first half");
    assert!(a.samples.len() > 5_000 && a.samples.len() < 22_050 / 2 + 2_000, "{}", a.samples.len());
}

#[test]
fn odd_but_valid_files_decode_and_encode() {
    let m = ModelSet::load_dir(&fixture_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, u32, u16, u16, bool); 7] = [
        ("8bit.wav", 44_100, 1, 8, false),
        ("24bit.wav", 48_000, 2, 24, false),
        ("float32.wav", 44_100, 1, 32, true),
        ("six_channels.wav", 48_000, 6, 16, false),
        ("8khz.wav", 8_000, 1, 16, false),
        ("192khz.wav", 192_000, 2, 24, false),
        ("16bit_stereo.wav", 22_050, 2, 16, false),
    ];
    for (name, rate, ch, bits, float) in cases {
        let p = dir.path().join(name);
        tone(&p, rate, ch, bits, float, 0.4);
        let a = decode_file(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.sample_rate, rate, "{name}");
        assert_eq!(a.channels, ch as usize, "{name}");
        let expect = (rate as f32 * 0.4) as usize;
        assert_eq!(a.samples.len(), expect, "{name}");
        assert!(rms(&a.samples) > 0.01, "{name}");
        let enc = encode(&m, &a, &one_hot(1, 3), 2.0).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(enc.latent.iter().all(|v| v.is_finite()), "{name}");
        assert!(enc.position.iter().all(|v| (-1.0..=1.0).contains(v)), "{name}");
    }
}

#[test]
fn onset_alignment_makes_encoding_shift_invariant() {
    let m = ModelSet::load_dir(&fixture_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let early = dir.path().join("early.wav");
    let late = dir.path().join("late.wav");
    write_wav(&early, 16_000, 1, 32, true, 8_000, |i, _| hit(i, 16_000, 0.01));
    write_wav(&late, 16_000, 1, 32, true, 8_000, |i, _| hit(i.saturating_sub(1600), 16_000, 0.01) * if i < 1600 { 0.0 } else { 1.0 });
    let a = encode(&m, &decode_file(&early).unwrap(), &one_hot(0, 3), 2.0).unwrap();
    let b = encode(&m, &decode_file(&late).unwrap(), &one_hot(0, 3), 2.0).unwrap();
    let d: f32 = a.latent.iter().zip(&b.latent).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(d < 0.05, "a 100 ms later onset changed z by {d}");
}
