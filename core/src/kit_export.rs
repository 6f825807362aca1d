//! Export of the kit's pads as WAV files and of the whole kit as a sampler preset: an SFZ file
//! (SFZ 1 / 2 opcodes only, see <https://sfzformat.com/>) or a Hydrogen drum kit folder
//! (`drumkit.xml`, valid against Hydrogen's `drumkit.xsd`, namespace
//! `http://www.hydrogen-music.org/drumkit`). Runs on non-audio threads only.
//!
//! # What the files hold
//! Every pad is one mono WAV file (`hound`), 24-bit integer or 32-bit float PCM:
//! - at [`ExportRate::Model`] and tune 0 the samples are the pad's stored 16-bit sound
//!   ([`NativeAudio`]) **bit for bit**: float = `pcm / 32767` (exactly [`NativeAudio::to_f32`]),
//!   24-bit = `pcm << 8`;
//! - with a tune, or at [`ExportRate::Host`] with a rate other than the model's, the sound goes
//!   through [`crate::engine::resample_tuned`], the band-limited path the plugin plays, so the file
//!   sounds as the pad does at that host rate. The 24-bit scale is the same as above (float
//!   `1.0` = `32767 << 8`), rounded and clamped to the 24-bit range.
//!
//! **The WAV files carry the tune**, so the presets contain no tune opcodes (SFZ `transpose` /
//! `tune`, Hydrogen `pitch` / `pitchOffset` are 0): a preset plays each file at its own pitch.
//! Gain, pan, note and choke group go into the preset, not into the files.
//!
//! # Never overwriting by accident
//! Every export first lists all the files it would write; if any of them exists and
//! [`ExportOptions::overwrite`] is false it returns [`Error::ExportExists`] listing them and writes
//! nothing (a UI asks the user, then retries with `overwrite: true`; [`existing_targets`] gives
//! the list up front). Files are written atomically: each is written in full to a temporary file in
//! its target folder, and only when all of them are written are they renamed into place.

use crate::engine::resample_tuned;
use crate::error::{Error, Result};
use crate::kit::{NativeAudio, CHOKE_GROUPS, PADS};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Sample rate of the exported WAV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportRate {
    /// The model's rate, i.e. each pad's [`NativeAudio::sample_rate`] (no resampling unless the
    /// pad is tuned).
    Model,
    /// A host rate in Hz, 8 000…384 000 (resampled as the plugin does at that rate).
    Host(u32),
}

/// Sample format of the exported WAV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 24-bit integer PCM.
    Int24,
    /// 32-bit IEEE float PCM (WAVE_FORMAT_IEEE_FLOAT).
    Float32,
}

/// How to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// Sample rate of the files.
    pub rate: ExportRate,
    /// Sample format of the files.
    pub format: SampleFormat,
    /// Replace files that already exist. When false, an export that would replace any file
    /// fails with [`Error::ExportExists`] and writes nothing.
    pub overwrite: bool,
}

impl Default for ExportOptions {
    /// Model rate, 24-bit, no overwriting.
    fn default() -> Self {
        ExportOptions { rate: ExportRate::Model, format: SampleFormat::Int24, overwrite: false }
    }
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KitFormat {
    /// The pads' WAV files only, in the folder.
    Wav,
    /// The WAV files plus `<name>.sfz` next to them.
    Sfz,
    /// A Hydrogen kit: folder `<name>/` with `drumkit.xml` and the WAV files.
    Hydrogen,
}

/// One pad to export: its settings and its stored sound.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPad {
    /// Pad index, 0…15 (the file name's number is `index + 1`).
    pub index: usize,
    /// Pad label (e.g. "Closed hat"): the SFZ comment and the Hydrogen instrument name.
    pub label: String,
    /// MIDI note 0…127 that plays the pad.
    pub note: u8,
    /// Model class name of the sound (part of the file name).
    pub class: String,
    /// Pad gain in dB (SFZ `volume`, clamped to the spec's −144…6; Hydrogen instrument gain,
    /// linear).
    pub gain_db: f32,
    /// Pan, −1 (left) … +1 (right).
    pub pan: f32,
    /// Tune in semitones (−24…24), rendered into the WAV file.
    pub tune_semitones: f32,
    /// Choke group 1…8, 0 = none.
    pub choke_group: u8,
    /// The pad's stored sound (16-bit at the model rate).
    pub audio: NativeAudio,
}

/// Names of the preset and of the model it came from (SFZ header comment, Hydrogen kit info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitInfo {
    /// Kit name: the preset's file / folder name after [`sanitize_name`].
    pub name: String,
    /// Model name (`ModelMeta::name`).
    pub model: String,
}

/// Note names with sharps, C = 0.
const NOTE_NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

/// Name of MIDI note `note` with middle C (60) = C3, the convention of most DAWs and drum
/// machines (36 = C1, the GM kick).
pub fn note_name(note: u8) -> String {
    format!("{}{}", NOTE_NAMES[usize::from(note % 12)], i32::from(note / 12) - 2)
}

/// A kit name made safe as a file or folder name on every common file system: ASCII letters,
/// digits, `-`, `_`, `.` and spaces are kept (leading dots and surrounding spaces removed), every
/// other character becomes `_`; an empty result is `"kit"`.
pub fn sanitize_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') { c } else { '_' })
        .collect();
    let s = s.trim().trim_start_matches('.').trim().to_owned();
    if s.is_empty() {
        "kit".to_owned()
    } else {
        s
    }
}

/// The WAV file name of a pad: `NN_<note name>-<note>_<class>.wav`, NN = index + 1 (two digits),
/// the class lower-cased with every character but ASCII letters, digits and `-` replaced by `_`;
/// e.g. `01_C1-36_kick.wav`, `05_F#1-42_hihat_closed.wav`.
pub fn wav_file_name(pad: &ExportPad) -> String {
    let class: String = pad
        .class
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let class = if class.is_empty() { "pad".to_owned() } else { class };
    format!("{:02}_{}-{}_{}.wav", pad.index + 1, note_name(pad.note), pad.note, class)
}

/// Samples of one exported file.
enum Rendered {
    /// The stored 16-bit sound, untouched.
    Pcm16(Vec<i16>),
    /// Resampled and/or tuned, full scale ±1 = ±32767 in 16-bit terms.
    Float(Vec<f32>),
}

fn check_rate(rate: ExportRate) -> Result<()> {
    match rate {
        ExportRate::Host(r) if !(8_000..=384_000).contains(&r) => {
            Err(Error::InvalidArgument { what: "export rate", reason: format!("{r} Hz is outside 8000..384000") })
        }
        _ => Ok(()),
    }
}

/// The sample rate and samples of `pad`'s file at `rate` (see the module doc).
fn render(pad: &ExportPad, rate: ExportRate) -> Result<(u32, Rendered)> {
    let target = match rate {
        ExportRate::Model => pad.audio.sample_rate,
        ExportRate::Host(r) => r,
    };
    if pad.tune_semitones == 0.0 && target == pad.audio.sample_rate {
        return Ok((target, Rendered::Pcm16(pad.audio.pcm.clone())));
    }
    Ok((target, Rendered::Float(resample_tuned(&pad.audio, target, pad.tune_semitones)?)))
}

/// Scale of 24-bit samples: 16-bit full scale shifted by 8 bits.
const INT24_SCALE: f64 = 32767.0 * 256.0;

fn encode_wav(file: &std::fs::File, rate: u32, samples: &Rendered, format: SampleFormat) -> std::result::Result<(), hound::Error> {
    let spec = match format {
        SampleFormat::Int24 => hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 24, sample_format: hound::SampleFormat::Int },
        SampleFormat::Float32 => hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 32, sample_format: hound::SampleFormat::Float },
    };
    let mut w = hound::WavWriter::new(std::io::BufWriter::new(file), spec)?;
    match (samples, format) {
        (Rendered::Pcm16(pcm), SampleFormat::Int24) => pcm.iter().try_for_each(|&s| w.write_sample(i32::from(s) << 8))?,
        (Rendered::Pcm16(pcm), SampleFormat::Float32) => pcm.iter().try_for_each(|&s| w.write_sample(f32::from(s) / 32767.0))?,
        (Rendered::Float(x), SampleFormat::Int24) => x.iter().try_for_each(|&s| {
            let v = if s.is_finite() { (f64::from(s) * INT24_SCALE).round().clamp(-8_388_608.0, 8_388_607.0) as i32 } else { 0 };
            w.write_sample(v)
        })?,
        (Rendered::Float(x), SampleFormat::Float32) => x.iter().try_for_each(|&s| w.write_sample(if s.is_finite() { s } else { 0.0 }))?,
    }
    w.finalize()
}

/// What goes into one file: a pad sound to encode, or preset text.
enum Content<'a> {
    Wav(&'a ExportPad),
    Text(String),
}

/// The files of an export, in writing order: the WAV files, then the preset.
struct Plan<'a> {
    files: Vec<(PathBuf, Content<'a>)>,
}

fn check_pads(pads: &[ExportPad]) -> Result<()> {
    let mut seen = [false; PADS];
    for p in pads {
        if p.index >= PADS {
            return Err(Error::InvalidArgument { what: "pad", reason: format!("index {} is outside 0..{}", p.index, PADS - 1) });
        }
        if std::mem::replace(&mut seen[p.index], true) {
            return Err(Error::InvalidArgument { what: "pad", reason: format!("pad {} is listed twice", p.index + 1) });
        }
        if p.note > 127 {
            return Err(Error::InvalidArgument { what: "pad note", reason: format!("{} is outside 0..127", p.note) });
        }
        if p.choke_group > CHOKE_GROUPS {
            return Err(Error::InvalidArgument { what: "choke group", reason: format!("{} is outside 0..{CHOKE_GROUPS}", p.choke_group) });
        }
        if p.audio.pcm.is_empty() || p.audio.sample_rate == 0 {
            return Err(Error::InvalidArgument { what: "pad sound", reason: format!("pad {} has no sound", p.index + 1) });
        }
    }
    Ok(())
}

fn plan<'a>(dir: &Path, kit: &KitInfo, format: KitFormat, pads: &'a [ExportPad], opts: &ExportOptions) -> Result<Plan<'a>> {
    check_pads(pads)?;
    check_rate(opts.rate)?;
    let name = sanitize_name(&kit.name);
    let wav_dir = match format {
        KitFormat::Wav | KitFormat::Sfz => dir.to_path_buf(),
        KitFormat::Hydrogen => dir.join(&name),
    };
    let mut files: Vec<(PathBuf, Content<'a>)> = pads.iter().map(|p| (wav_dir.join(wav_file_name(p)), Content::Wav(p))).collect();
    match format {
        KitFormat::Wav => {}
        KitFormat::Sfz => files.push((dir.join(format!("{name}.sfz")), Content::Text(sfz_text(kit, pads, opts)))),
        KitFormat::Hydrogen => files.push((wav_dir.join("drumkit.xml"), Content::Text(hydrogen_text(kit, pads)))),
    }
    Ok(Plan { files })
}

/// The files an export would write that already exist (empty: nothing would be replaced).
///
/// # Errors
/// [`Error::InvalidArgument`] for bad pads (index outside 0…15 or repeated, note over 127,
/// choke group over 8, empty sound) or a host rate outside 8 000…384 000 Hz.
pub fn existing_targets(dir: &Path, kit: &KitInfo, format: KitFormat, pads: &[ExportPad], opts: &ExportOptions) -> Result<Vec<PathBuf>> {
    Ok(plan(dir, kit, format, pads, opts)?.files.into_iter().map(|(p, _)| p).filter(|p| p.exists()).collect())
}

/// Exports `pads` in `format` into folder `dir` (created if missing) and returns the paths
/// written, WAV files first, the preset last:
/// - [`KitFormat::Wav`]: `dir/<wav_file_name>` per pad;
/// - [`KitFormat::Sfz`]: the WAV files and `dir/<name>.sfz` ([`sfz_text`]);
/// - [`KitFormat::Hydrogen`]: `dir/<name>/` with the WAV files and `drumkit.xml`
///   ([`hydrogen_text`]); copy that folder into Hydrogen's `data/drumkits/` or import it.
///
/// `<name>` is [`sanitize_name`] of `kit.name`.
///
/// # Errors
/// - [`Error::ExportExists`] when `!opts.overwrite` and any target exists (nothing is written);
/// - [`Error::InvalidArgument`] as for [`existing_targets`];
/// - [`Error::Resample`] when tuning / resampling a pad fails;
/// - [`Error::Write`] when a folder or file cannot be created, written or renamed. Files are
///   staged as temporary files first, so a failure while writing (a full disk, say) leaves no
///   new file behind; only a failing rename at the very end can leave the files renamed before
///   it in place.
pub fn export_kit(dir: &Path, kit: &KitInfo, format: KitFormat, pads: &[ExportPad], opts: &ExportOptions) -> Result<Vec<PathBuf>> {
    let plan = plan(dir, kit, format, pads, opts)?;
    if !opts.overwrite {
        let existing: Vec<PathBuf> = plan.files.iter().map(|(p, _)| p.clone()).filter(|p| p.exists()).collect();
        if !existing.is_empty() {
            return Err(Error::ExportExists(existing));
        }
    }
    // Stage every file as a temporary file in its target folder.
    let mut staged = Vec::with_capacity(plan.files.len());
    for (path, content) in &plan.files {
        let err = |e: &dyn std::fmt::Display| Error::Write { path: path.clone(), reason: e.to_string() };
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| err(&e))?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".ndm-export-").suffix(".tmp");
        // An ordinary file's mode (0666 less the umask), not a temporary file's 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut tmp = builder.tempfile_in(parent).map_err(|e| err(&e))?;
        match content {
            Content::Wav(pad) => {
                let (rate, samples) = render(pad, opts.rate)?;
                encode_wav(tmp.as_file(), rate, &samples, opts.format).map_err(|e| err(&e))?;
            }
            Content::Text(text) => tmp.write_all(text.as_bytes()).map_err(|e| err(&e))?,
        }
        tmp.as_file().sync_all().map_err(|e| err(&e))?;
        staged.push((tmp, path.clone()));
    }
    // Move them into place.
    let mut written = Vec::with_capacity(staged.len());
    for (tmp, path) in staged {
        let persisted = if opts.overwrite { tmp.persist(&path) } else { tmp.persist_noclobber(&path) };
        persisted.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::ExportExists(vec![path.clone()])
            } else {
                Error::Write { path: path.clone(), reason: e.error.to_string() }
            }
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Writes each pad as a WAV file into `dir`: [`export_kit`] with [`KitFormat::Wav`].
///
/// # Errors
/// As [`export_kit`].
pub fn export_wavs(dir: &Path, pads: &[ExportPad], opts: &ExportOptions) -> Result<Vec<PathBuf>> {
    let kit = KitInfo { name: String::new(), model: String::new() };
    export_kit(dir, &kit, KitFormat::Wav, pads, opts)
}

/// A number without a trailing `.0…` noise and without `-0`.
fn num(x: f32, decimals: usize) -> String {
    let x = if x.is_finite() { x } else { 0.0 };
    let s = format!("{:.*}", decimals, x + 0.0);
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s };
    if s == "-0" {
        "0".to_owned()
    } else {
        s
    }
}

/// Relative path with forward slashes (SFZ's separator on every platform).
fn sfz_path(path: &str) -> String {
    path.replace('\\', "/")
}

/// Removes line breaks from text that goes into a one-line comment.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The SFZ preset of `pads` whose WAV files lie next to it. One `<region>` per pad (SFZ 1
/// opcodes unless noted, values in their spec ranges):
///
/// | opcode | value |
/// |---|---|
/// | `sample` | the pad's [`wav_file_name`], relative to the `.sfz`, forward slashes |
/// | `key` | the pad's note (sets `lokey` = `hikey` = `pitch_keycenter`) |
/// | `pitch_keycenter` | the pad's note again, explicit (the file plays at its own pitch) |
/// | `volume` | gain in dB, clamped to −144…6 (SFZ's range; a pad above +6 dB is exported at +6) |
/// | `pan` | pan × 100, −100…100 |
/// | `loop_mode` | `one_shot` (the whole sample plays, note-offs are ignored) |
/// | `group`, `off_by` | the choke group N, both = N (the standard hi-hat choke idiom); omitted for pads without one |
///
/// No `transpose` / `tune`: the files carry the tune (module doc). A header comment names the
/// kit, the model, the rate and the format; a comment before each region names its pad. Not
/// exported: length, velocity sensitivity (the player's default velocity curve applies), output
/// and mute; SFZ chokes with `off_mode`'s default (`fast`) instead of the plugin's 3 ms fade.
pub fn sfz_text(kit: &KitInfo, pads: &[ExportPad], opts: &ExportOptions) -> String {
    let mut s = String::new();
    let rate = match opts.rate {
        ExportRate::Model => pads.first().map_or_else(|| "model rate".to_owned(), |p| format!("{} Hz (model rate)", p.audio.sample_rate)),
        ExportRate::Host(r) => format!("{r} Hz"),
    };
    let bits = match opts.format {
        SampleFormat::Int24 => "24-bit",
        SampleFormat::Float32 => "32-bit float",
    };
    let _ = writeln!(s, "// Neural Drum Machine kit: {}", one_line(&kit.name));
    let _ = writeln!(s, "// model: {}", one_line(&kit.model));
    let _ = writeln!(s, "// {} pads, mono {bits} WAV at {rate}; the samples carry each pad's tune", pads.len());
    let _ = writeln!(s);
    for p in pads {
        let _ = writeln!(
            s,
            "// pad {}: {} ({}), note {} {}, {} dB, tune {} st",
            p.index + 1,
            one_line(&p.label),
            one_line(&p.class),
            p.note,
            note_name(p.note),
            num(p.gain_db, 2),
            num(p.tune_semitones, 2)
        );
        let _ = write!(
            s,
            "<region> sample={} key={} pitch_keycenter={} volume={} pan={} loop_mode=one_shot",
            sfz_path(&wav_file_name(p)),
            p.note,
            p.note,
            num(p.gain_db.clamp(-144.0, 6.0), 2),
            num((p.pan * 100.0).clamp(-100.0, 100.0), 1)
        );
        if p.choke_group != 0 {
            let _ = write!(s, " group={} off_by={}", p.choke_group, p.choke_group);
        }
        let _ = writeln!(s);
    }
    s
}

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The Hydrogen `drumkit.xml` of `pads` whose WAV files lie next to it (the layout of Hydrogen
/// 1.x kits, valid against `drumkit.xsd` of Hydrogen 1.2): one drumkit component "Main", one
/// instrument per pad in pad order with
/// - `id` = pad index, `name` = label;
/// - `volume` 1 (the fader), `gain` = the pad gain as a linear factor, `pan` −1…1;
/// - `muteGroup` = choke group (−1 = none), `midiOutNote` = the pad's note;
/// - `pitchOffset` 0 and layer `pitch` 0 (the files carry the tune);
/// - one component with one layer (velocity 0…1) holding the pad's file.
///
/// Hydrogen maps incoming MIDI notes to instruments by their order (36 = first instrument)
/// unless its "use output note as input note" option is on; with it, each pad plays on its note.
pub fn hydrogen_text(kit: &KitInfo, pads: &[ExportPad]) -> String {
    let mut s = String::new();
    let e = xml_escape;
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(s, r#"<drumkit_info xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://www.hydrogen-music.org/drumkit">"#);
    let _ = writeln!(s, " <name>{}</name>", e(&kit.name));
    let _ = writeln!(s, " <author>Neural Drum Machine</author>");
    let _ = writeln!(s, " <info>Generated by Neural Drum Machine with the model {}.</info>", e(&kit.model));
    let _ = writeln!(s, " <license></license>");
    let _ = writeln!(s, " <image></image>");
    let _ = writeln!(s, " <imageLicense></imageLicense>");
    let _ = writeln!(s, " <componentList>");
    let _ = writeln!(s, "  <drumkitComponent>\n   <id>0</id>\n   <name>Main</name>\n   <volume>1</volume>\n  </drumkitComponent>");
    let _ = writeln!(s, " </componentList>");
    let _ = writeln!(s, " <instrumentList>");
    for p in pads {
        let gain = if p.gain_db.is_finite() { 10f32.powf(p.gain_db / 20.0) } else { 1.0 };
        let mute_group = if p.choke_group == 0 { -1 } else { i32::from(p.choke_group) };
        let _ = writeln!(s, "  <instrument>");
        let _ = writeln!(s, "   <id>{}</id>", p.index);
        let _ = writeln!(s, "   <name>{}</name>", e(&p.label));
        let _ = writeln!(s, "   <volume>1</volume>");
        let _ = writeln!(s, "   <isMuted>false</isMuted>");
        let _ = writeln!(s, "   <isSoloed>false</isSoloed>");
        let _ = writeln!(s, "   <pan>{}</pan>", num(p.pan.clamp(-1.0, 1.0), 4));
        let _ = writeln!(s, "   <pitchOffset>0</pitchOffset>");
        let _ = writeln!(s, "   <randomPitchFactor>0</randomPitchFactor>");
        let _ = writeln!(s, "   <gain>{}</gain>", num(gain, 6));
        let _ = writeln!(s, "   <applyVelocity>true</applyVelocity>");
        let _ = writeln!(s, "   <filterActive>false</filterActive>");
        let _ = writeln!(s, "   <filterCutoff>1</filterCutoff>");
        let _ = writeln!(s, "   <filterResonance>0</filterResonance>");
        let _ = writeln!(s, "   <Attack>0</Attack>");
        let _ = writeln!(s, "   <Decay>0</Decay>");
        let _ = writeln!(s, "   <Sustain>1</Sustain>");
        let _ = writeln!(s, "   <Release>1000</Release>");
        let _ = writeln!(s, "   <muteGroup>{mute_group}</muteGroup>");
        let _ = writeln!(s, "   <midiOutChannel>-1</midiOutChannel>");
        let _ = writeln!(s, "   <midiOutNote>{}</midiOutNote>", p.note);
        let _ = writeln!(s, "   <isStopNote>false</isStopNote>");
        let _ = writeln!(s, "   <sampleSelectionAlgo>VELOCITY</sampleSelectionAlgo>");
        let _ = writeln!(s, "   <isHihat>-1</isHihat>");
        let _ = writeln!(s, "   <lower_cc>0</lower_cc>");
        let _ = writeln!(s, "   <higher_cc>127</higher_cc>");
        let _ = writeln!(s, "   <instrumentComponent>");
        let _ = writeln!(s, "    <component_id>0</component_id>");
        let _ = writeln!(s, "    <gain>1</gain>");
        let _ = writeln!(s, "    <layer>");
        let _ = writeln!(s, "     <filename>{}</filename>", e(&wav_file_name(p)));
        let _ = writeln!(s, "     <min>0</min>");
        let _ = writeln!(s, "     <max>1</max>");
        let _ = writeln!(s, "     <gain>1</gain>");
        let _ = writeln!(s, "     <pitch>0</pitch>");
        let _ = writeln!(s, "    </layer>");
        let _ = writeln!(s, "   </instrumentComponent>");
        let _ = writeln!(s, "  </instrument>");
    }
    let _ = writeln!(s, " </instrumentList>");
    let _ = writeln!(s, "</drumkit_info>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad(index: usize, note: u8, class: &str, tune: f32, choke: u8) -> ExportPad {
        // A deterministic hit covering the whole 16-bit range (both extremes included).
        let mut pcm: Vec<i16> = (0..2000).map(|i| ((i as f32 * 0.05).sin() * 30000.0 * (-(i as f32) / 600.0).exp()) as i16).collect();
        pcm.extend([i16::MAX, -i16::MAX, i16::MIN, 1, -1, 0]);
        ExportPad {
            index,
            label: format!("Pad <{index}> & co"),
            note,
            class: class.to_owned(),
            gain_db: -3.0,
            pan: 0.25,
            tune_semitones: tune,
            choke_group: choke,
            audio: NativeAudio { sample_rate: 22_050, pcm },
        }
    }

    fn kit() -> KitInfo {
        KitInfo { name: "Test kit".into(), model: "tiny".into() }
    }

    fn opts(rate: ExportRate, format: SampleFormat) -> ExportOptions {
        ExportOptions { rate, format, overwrite: false }
    }

    #[test]
    fn kit_export_file_names() {
        assert_eq!(wav_file_name(&pad(0, 36, "kick", 0.0, 0)), "01_C1-36_kick.wav");
        assert_eq!(wav_file_name(&pad(4, 42, "hihat_closed", 0.0, 1)), "05_F#1-42_hihat_closed.wav");
        assert_eq!(wav_file_name(&pad(15, 70, "Metal/Shaker ü", 0.0, 0)), "16_A#3-70_metal_shaker__.wav");
        assert_eq!(wav_file_name(&pad(9, 0, "", 0.0, 0)), "10_C-2-0_pad.wav");
        assert_eq!(note_name(60), "C3");
        assert_eq!(note_name(127), "G8");
        assert_eq!(sanitize_name("My kit/../x:y"), "My kit_.._x_y");
        assert_eq!(sanitize_name("../.."), "_..");
        assert_eq!(sanitize_name(" .hidden "), "hidden");
        assert_eq!(sanitize_name("///"), "___");
        assert_eq!(sanitize_name(""), "kit");
    }

    #[test]
    fn kit_export_refuses_to_overwrite_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pads = [pad(0, 36, "kick", 0.0, 0), pad(1, 38, "snare", 0.0, 0)];
        let existing = dir.path().join("02_D1-38_snare.wav");
        std::fs::write(&existing, b"keep me").unwrap();
        for format in [KitFormat::Wav, KitFormat::Sfz] {
            let o = opts(ExportRate::Model, SampleFormat::Int24);
            assert_eq!(existing_targets(dir.path(), &kit(), format, &pads, &o).unwrap(), vec![existing.clone()]);
            match export_kit(dir.path(), &kit(), format, &pads, &o) {
                Err(Error::ExportExists(paths)) => assert_eq!(paths, vec![existing.clone()]),
                other => panic!("expected ExportExists, got {other:?}"),
            }
            let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            names.sort();
            assert_eq!(names, vec![std::ffi::OsString::from("02_D1-38_snare.wav")], "nothing else written, no temp files left");
            assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
        }
        let msg = export_wavs(dir.path(), &pads, &opts(ExportRate::Model, SampleFormat::Int24)).unwrap_err().to_string();
        assert!(msg.contains("02_D1-38_snare.wav"), "{msg}");
        // With overwrite the file is replaced.
        let o = ExportOptions { overwrite: true, ..opts(ExportRate::Model, SampleFormat::Int24) };
        let written = export_kit(dir.path(), &kit(), KitFormat::Sfz, &pads, &o).unwrap();
        assert_eq!(written.len(), 3);
        assert!(written[2].ends_with("Test kit.sfz"));
        assert_ne!(std::fs::read(&existing).unwrap(), b"keep me");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
        // Written files get an ordinary file's permissions.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions();
        assert_eq!(mode(&written[0]), mode(&plain));
        assert_eq!(mode(&written[2]), mode(&plain));
    }

    #[test]
    fn kit_export_model_rate_is_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = pad(0, 36, "kick", 0.0, 0);
        for (format, sub) in [(SampleFormat::Int24, "i24"), (SampleFormat::Float32, "f32")] {
            let out = dir.path().join(sub);
            let written = export_wavs(&out, std::slice::from_ref(&p), &opts(ExportRate::Model, format)).unwrap();
            let mut r = hound::WavReader::open(&written[0]).unwrap();
            let spec = r.spec();
            assert_eq!((spec.channels, spec.sample_rate), (1, 22_050));
            match format {
                SampleFormat::Int24 => {
                    assert_eq!((spec.bits_per_sample, spec.sample_format), (24, hound::SampleFormat::Int));
                    let got: Vec<i32> = r.samples::<i32>().map(|s| s.unwrap()).collect();
                    let want: Vec<i32> = p.audio.pcm.iter().map(|&s| i32::from(s) << 8).collect();
                    assert_eq!(got, want);
                }
                SampleFormat::Float32 => {
                    assert_eq!((spec.bits_per_sample, spec.sample_format), (32, hound::SampleFormat::Float));
                    let got: Vec<u32> = r.samples::<f32>().map(|s| s.unwrap().to_bits()).collect();
                    let want: Vec<u32> = p.audio.to_f32().iter().map(|s| s.to_bits()).collect();
                    assert_eq!(got, want);
                }
            }
        }
        // The host rate equal to the model rate is the same untouched sound.
        let out = dir.path().join("host_same");
        let written = export_wavs(&out, std::slice::from_ref(&p), &opts(ExportRate::Host(22_050), SampleFormat::Int24)).unwrap();
        let got: Vec<i32> = hound::WavReader::open(&written[0]).unwrap().samples::<i32>().map(|s| s.unwrap()).collect();
        assert_eq!(got, p.audio.pcm.iter().map(|&s| i32::from(s) << 8).collect::<Vec<_>>());
    }

    #[test]
    fn kit_export_tuned_and_host_rate_use_the_plugin_resampler() {
        let dir = tempfile::tempdir().unwrap();
        let pads = [pad(0, 36, "kick", 0.0, 0), pad(1, 41, "tom", -5.0, 0)];
        let written = export_wavs(dir.path(), &pads, &opts(ExportRate::Host(48_000), SampleFormat::Float32)).unwrap();
        for (p, path) in pads.iter().zip(&written) {
            let mut r = hound::WavReader::open(path).unwrap();
            assert_eq!(r.spec().sample_rate, 48_000);
            let got: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).collect();
            let want = resample_tuned(&p.audio, 48_000, p.tune_semitones).unwrap();
            assert_eq!(got, want);
        }
        // 24-bit at the model rate with a tune: resampled, same scale as the exact path.
        let out = dir.path().join("i24");
        let w = export_wavs(&out, &pads[1..], &opts(ExportRate::Model, SampleFormat::Int24)).unwrap();
        let got: Vec<i32> = hound::WavReader::open(&w[0]).unwrap().samples::<i32>().map(|s| s.unwrap()).collect();
        let want: Vec<i32> = resample_tuned(&pads[1].audio, 22_050, -5.0)
            .unwrap()
            .iter()
            .map(|&s| (f64::from(s) * INT24_SCALE).round().clamp(-8_388_608.0, 8_388_607.0) as i32)
            .collect();
        assert_eq!(got, want);
        assert!(got.len() > pads[1].audio.pcm.len(), "tuned down = longer");
    }

    #[test]
    fn kit_export_rejects_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(ExportRate::Model, SampleFormat::Int24);
        let bad = |pads: &[ExportPad], o: &ExportOptions| matches!(export_wavs(dir.path(), pads, o), Err(Error::InvalidArgument { .. }));
        assert!(bad(&[pad(16, 36, "kick", 0.0, 0)], &o));
        assert!(bad(&[pad(3, 36, "kick", 0.0, 0), pad(3, 37, "rim", 0.0, 0)], &o));
        assert!(bad(&[pad(0, 128, "kick", 0.0, 0)], &o));
        assert!(bad(&[pad(0, 36, "kick", 0.0, 9)], &o));
        assert!(bad(&[pad(0, 36, "kick", 0.0, 0)], &opts(ExportRate::Host(1_000), SampleFormat::Int24)));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn kit_export_sfz_regions() {
        let mut pads = vec![pad(0, 36, "kick", 0.0, 0), pad(4, 42, "hihat_closed", 0.0, 1)];
        pads[1].gain_db = 12.0;
        pads[1].pan = -1.0;
        let text = sfz_text(&kit(), &pads, &opts(ExportRate::Model, SampleFormat::Int24));
        assert!(text.starts_with("// Neural Drum Machine kit: Test kit\n// model: tiny\n"), "{text}");
        let regions: Vec<&str> = text.lines().filter(|l| l.starts_with("<region>")).collect();
        assert_eq!(
            regions,
            vec![
                "<region> sample=01_C1-36_kick.wav key=36 pitch_keycenter=36 volume=-3 pan=25 loop_mode=one_shot",
                "<region> sample=05_F#1-42_hihat_closed.wav key=42 pitch_keycenter=42 volume=6 pan=-100 loop_mode=one_shot group=1 off_by=1",
            ]
        );
    }

    #[test]
    fn kit_export_hydrogen_xml_escapes_and_maps_settings() {
        let pads = [pad(0, 36, "kick", 0.0, 0), pad(4, 42, "hihat_closed", 0.0, 1)];
        let k = KitInfo { name: "A & B <kit>".into(), model: "m\"1'".into() };
        let xml = hydrogen_text(&k, &pads);
        assert!(xml.contains("<name>A &amp; B &lt;kit&gt;</name>"));
        assert!(xml.contains("model m&quot;1&apos;."));
        assert!(xml.contains("<name>Pad &lt;4&gt; &amp; co</name>"));
        assert_eq!(xml.matches("<muteGroup>-1</muteGroup>").count(), 1);
        assert_eq!(xml.matches("<muteGroup>1</muteGroup>").count(), 1);
        assert!(xml.contains("<midiOutNote>42</midiOutNote>"));
        assert!(xml.contains("<filename>05_F#1-42_hihat_closed.wav</filename>"));
        assert!(xml.contains("<pan>0.25</pan>"));
        assert!(xml.contains("<gain>0.707946</gain>"));
        assert_eq!(xml_escape("a\u{1}b"), "a b");
    }

    #[test]
    fn kit_export_hydrogen_folder() {
        let dir = tempfile::tempdir().unwrap();
        let pads = [pad(0, 36, "kick", 0.0, 0)];
        let o = opts(ExportRate::Model, SampleFormat::Float32);
        let written = export_kit(dir.path(), &kit(), KitFormat::Hydrogen, &pads, &o).unwrap();
        let folder = dir.path().join("Test kit");
        assert_eq!(written, vec![folder.join("01_C1-36_kick.wav"), folder.join("drumkit.xml")]);
        assert!(matches!(export_kit(dir.path(), &kit(), KitFormat::Hydrogen, &pads, &o), Err(Error::ExportExists(p)) if p.len() == 2));
    }
}
