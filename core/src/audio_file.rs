//! Reading any common audio file (WAV, AIFF, FLAC, MP3, Ogg Vorbis, … via `symphonia`) into mono
//! `f32`, and writing WAV (via `hound`). Runs on non-audio threads only.

use crate::error::{Error, Result};
use std::path::Path;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// Longest file accepted for encoding, in seconds (a one-shot; longer files are almost surely
/// not drum hits and would take long to decode).
pub const MAX_SECONDS: f64 = 30.0;

/// A decoded file, mixed down to mono.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    /// Mono samples (the mean of all channels), `[frames]`.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count of the file.
    pub channels: usize,
}

impl DecodedAudio {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Decodes `path` to mono `f32` at the file's own sample rate.
///
/// # Errors
/// [`Error::FileNotFound`], [`Error::IsDirectory`], [`Error::EmptyFile`],
/// [`Error::UnreadableAudio`] (unknown format, damaged data), [`Error::NoAudio`] (0 frames),
/// [`Error::TooLong`] (over [`MAX_SECONDS`]), [`Error::Silent`].
pub fn decode_file(path: &Path) -> Result<DecodedAudio> {
    let meta = std::fs::metadata(path).map_err(|_| Error::FileNotFound(path.to_path_buf()))?;
    if meta.is_dir() {
        return Err(Error::IsDirectory(path.to_path_buf()));
    }
    if meta.len() == 0 {
        return Err(Error::EmptyFile(path.to_path_buf()));
    }
    let unreadable = |reason: String| Error::UnreadableAudio { path: path.to_path_buf(), reason };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| unreadable(format!("unrecognised format: {e}")))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| unreadable("no audio track".into()))?;
    let track_id = track.id;
    if let (Some(frames), Some(rate)) = (track.num_frames, track.codec_params.as_ref().and_then(|p| p.audio()).and_then(|a| a.sample_rate)) {
        let seconds = frames as f64 / f64::from(rate.max(1));
        if seconds > MAX_SECONDS {
            return Err(Error::TooLong { path: path.into(), seconds, max_seconds: MAX_SECONDS });
        }
    }
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| unreadable("no audio codec parameters".into()))?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| unreadable(format!("unsupported codec: {e}")))?;

    let mut sample_rate = params.sample_rate.unwrap_or(0);
    let mut channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
    let mut mono: Vec<f32> = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(unreadable(format!("damaged data: {e}"))),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => return Err(unreadable(format!("decoding failed: {e}"))),
        };
        sample_rate = buf.spec().rate();
        channels = buf.spec().channels().count().max(1);
        interleaved.clear();
        buf.copy_to_vec_interleaved(&mut interleaved);
        mono.extend(interleaved.chunks(channels).map(|f| f.iter().sum::<f32>() / channels as f32));
        let seconds = mono.len() as f64 / f64::from(sample_rate.max(1));
        if seconds > MAX_SECONDS {
            return Err(Error::TooLong { path: path.into(), seconds, max_seconds: MAX_SECONDS });
        }
    }
    if mono.is_empty() || sample_rate == 0 {
        return Err(Error::NoAudio(path.to_path_buf()));
    }
    if mono.iter().any(|s| !s.is_finite()) {
        return Err(unreadable("contains NaN or infinite samples".into()));
    }
    if crate::dsp::peak(&mono) < 1e-5 {
        return Err(Error::Silent(path.to_path_buf()));
    }
    Ok(DecodedAudio { samples: mono, sample_rate, channels })
}

/// Writes mono `samples` as a 32-bit float WAV file at `sample_rate` Hz, creating parent
/// directories.
///
/// # Errors
/// [`Error::Write`] when the file cannot be created or written.
pub fn write_wav(path: &Path, samples: &[f32], sample_rate: u32) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| Error::Write { path: path.to_path_buf(), reason: e.to_string() };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| err(&e))?;
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(|e| err(&e))?;
    for s in samples {
        writer.write_sample(*s).map_err(|e| err(&e))?;
    }
    writer.finalize().map_err(|e| err(&e))
}
