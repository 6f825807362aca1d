//! `ndm kit --format sfz | hydrogen` on the tiny fixture model: the written presets are checked
//! against the formats' specifications (SFZ: every opcode against the SFZ 1 opcode table and its
//! ranges, sfzformat.com/misc/sfz1, and with sfzlint from PyPI; Hydrogen: `xmllint --schema` with
//! Debian `hydrogen-data`'s `drumkit.xsd`), and every pad's WAV file against the pad sound
//! generated in this process. No SFZ player with an offline renderer installs here (sfizz and
//! liquidsfz are not in Debian 12), so the SFZ is not rendered.

mod common;

use ndm_core::model::{configure_threads, ModelSet};
use ndm_core::{NativeAudio, GM_KIT};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Hydrogen's schema, from Debian's `hydrogen-data`.
const DRUMKIT_XSD: &str = "/usr/share/hydrogen/data/xsd/drumkit.xsd";

fn ndm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ndm")).arg("--model").arg(common::fixture_dir()).args(args).output().expect("cannot run ndm")
}

fn ok(out: Output) -> Vec<PathBuf> {
    assert!(out.status.success(), "ndm failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(PathBuf::from).collect()
}

/// The GM kit's pad sounds as the plugin stores them (16-bit at the model rate).
fn gm_sounds() -> Vec<NativeAudio> {
    configure_threads(1); // as the CLI (its default --threads 1): the same bits
    let model = ModelSet::load_dir(&common::fixture_dir()).unwrap();
    GM_KIT
        .iter()
        .map(|p| {
            let s = ndm_core::generate(&model, &p.params(model.meta()), None).unwrap();
            NativeAudio::from_f32(&s.samples, s.sample_rate)
        })
        .collect()
}

/// Checks one WAV file against pad `i`'s sound: bit-exact (`pcm << 8` / `pcm / 32767`) when the
/// pad is untuned and `rate` is the model's, else the plugin's tuned resampling.
fn check_wav(path: &Path, sound: &NativeAudio, tune: f32, rate: u32) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate), (1, rate), "{}", path.display());
    let (ints, floats): (Vec<i32>, Vec<f32>) = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 24) => (r.samples::<i32>().map(|s| s.unwrap()).collect(), Vec::new()),
        (hound::SampleFormat::Float, 32) => (Vec::new(), r.samples::<f32>().map(|s| s.unwrap()).collect()),
        other => panic!("{}: unexpected format {other:?}", path.display()),
    };
    if tune == 0.0 && rate == sound.sample_rate {
        if floats.is_empty() {
            let want: Vec<i32> = sound.pcm.iter().map(|&s| i32::from(s) << 8).collect();
            assert_eq!(ints, want, "{}: not the stored sound bit for bit", path.display());
        } else {
            let bits = |x: &[f32]| x.iter().map(|s| s.to_bits()).collect::<Vec<u32>>();
            assert_eq!(bits(&floats), bits(&sound.to_f32()), "{}: not the stored sound bit for bit", path.display());
        }
    } else {
        let got: Vec<f64> = if floats.is_empty() { ints.iter().map(|&s| f64::from(s) / (32767.0 * 256.0)).collect() } else { floats.iter().map(|&s| f64::from(s)).collect() };
        let want = ndm_core::engine::resample_tuned(sound, rate, tune).unwrap();
        assert_eq!(got.len(), want.len(), "{}", path.display());
        let err = got.iter().zip(&want).map(|(a, b)| (a - f64::from(*b)).abs()).fold(0.0, f64::max);
        assert!(err < 1e-6, "{}: differs from the plugin's tuned sound by {err}", path.display());
    }
}

// ---------------------------------------------------------------------------------------------
// SFZ

/// Value types and ranges of the SFZ 1 opcodes (sfzformat.com, "SFZ v1 Opcodes").
enum Spec {
    Str,
    Int(i64, i64),
    Float(f64, f64),
    Choice(&'static [&'static str]),
}

const SFZ_OPCODES: &[(&str, Spec)] = &[
    ("sample", Spec::Str),
    ("key", Spec::Int(0, 127)),
    ("lokey", Spec::Int(0, 127)),
    ("hikey", Spec::Int(0, 127)),
    ("pitch_keycenter", Spec::Int(0, 127)),
    ("lovel", Spec::Int(1, 127)),
    ("hivel", Spec::Int(1, 127)),
    ("volume", Spec::Float(-144.0, 6.0)),
    ("pan", Spec::Float(-100.0, 100.0)),
    ("amp_veltrack", Spec::Float(-100.0, 100.0)),
    ("transpose", Spec::Int(-127, 127)),
    ("tune", Spec::Int(-100, 100)),
    ("loop_mode", Spec::Choice(&["no_loop", "one_shot", "loop_continuous", "loop_sustain"])),
    ("group", Spec::Int(0, 4_294_967_296)),
    ("off_by", Spec::Int(0, 4_294_967_296)),
    ("off_mode", Spec::Choice(&["fast", "normal"])),
];

/// SFZ headers (SFZ 1: region, group; SFZ 2: control, global).
const SFZ_HEADERS: &[&str] = &["region", "group", "control", "global"];

/// Parses SFZ text into (header, opcodes) sections: `//` and `/* */` comments removed, a header
/// is `<name>`, an opcode `name=value` whose value runs to the next opcode, header or line end
/// (values may contain spaces, as sample paths do).
fn parse_sfz(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut no_block = String::new();
    let mut rest = text;
    while let Some(a) = rest.find("/*") {
        no_block.push_str(&rest[..a]);
        rest = rest[a..].find("*/").map_or("", |b| &rest[a + b + 2..]);
    }
    no_block.push_str(rest);
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in no_block.lines() {
        let line = line.find("//").map_or(line, |i| &line[..i]);
        let mut last_was_opcode = false;
        for token in line.split_whitespace() {
            if token.starts_with('<') {
                assert!(token.ends_with('>') && token.len() > 2, "bad header token {token:?}");
                sections.push((token[1..token.len() - 1].to_owned(), Vec::new()));
                last_was_opcode = false;
            } else if let Some((name, value)) = token.split_once('=').filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
                let section = sections.last_mut().unwrap_or_else(|| panic!("opcode {name} before any header"));
                section.1.push((name.to_owned(), value.to_owned()));
                last_was_opcode = true;
            } else {
                assert!(last_was_opcode, "stray token {token:?} in {line:?}");
                let value = &mut sections.last_mut().unwrap().1.last_mut().unwrap().1;
                value.push(' ');
                value.push_str(token);
            }
        }
    }
    sections
}

fn check_opcode(name: &str, value: &str) {
    let spec = &SFZ_OPCODES.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("{name} is not in the SFZ 1 opcode table")).1;
    match spec {
        Spec::Str => assert!(!value.is_empty(), "{name}= is empty"),
        Spec::Int(lo, hi) => {
            let v: i64 = value.parse().unwrap_or_else(|_| panic!("{name}={value} is not an integer"));
            assert!((*lo..=*hi).contains(&v), "{name}={v} outside {lo}..{hi}");
        }
        Spec::Float(lo, hi) => {
            let v: f64 = value.parse().unwrap_or_else(|_| panic!("{name}={value} is not a number"));
            assert!(v.is_finite() && (*lo..=*hi).contains(&v), "{name}={v} outside {lo}..{hi}");
        }
        Spec::Choice(values) => assert!(values.contains(&value), "{name}={value} is not one of {values:?}"),
    }
}

#[test]
fn kit_export_cli_sfz_is_valid_and_plays_the_pad_sounds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let written = ok(ndm(&["kit", "--format", "sfz", "--name", "GM test", "--out-dir", out.to_str().unwrap()]));
    assert_eq!(written.len(), 17, "16 WAV files + the preset: {written:?}");
    let sfz = out.join("GM test.sfz");
    assert_eq!(written.last(), Some(&sfz));
    let text = std::fs::read_to_string(&sfz).unwrap();
    assert!(text.starts_with("// Neural Drum Machine kit: GM test\n// model: tiny-test-fixture\n"), "{text}");

    let sections = parse_sfz(&text);
    for (header, opcodes) in &sections {
        assert!(SFZ_HEADERS.contains(&header.as_str()), "<{header}> is not an SFZ header");
        for (name, value) in opcodes {
            check_opcode(name, value);
        }
    }
    let regions: Vec<BTreeMap<&str, &str>> = sections
        .iter()
        .filter(|(h, _)| h == "region")
        .map(|(_, ops)| {
            let map: BTreeMap<&str, &str> = ops.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            assert_eq!(map.len(), ops.len(), "an opcode repeated in one region: {ops:?}");
            map
        })
        .collect();
    assert_eq!(regions.len(), 16);
    let sounds = gm_sounds();
    for ((pad, region), sound) in GM_KIT.iter().zip(&regions).zip(&sounds) {
        let note = pad.note.to_string();
        assert_eq!(region["key"], note);
        assert_eq!(region["pitch_keycenter"], note);
        assert_eq!(region["loop_mode"], "one_shot");
        assert_eq!(region["volume"], "0");
        assert_eq!(region["pan"], "0");
        assert!(!region.contains_key("transpose") && !region.contains_key("tune"), "the WAV files carry the tune");
        if pad.choke_group == 0 {
            assert!(!region.contains_key("group") && !region.contains_key("off_by"), "{region:?}");
        } else {
            let g = pad.choke_group.to_string();
            assert_eq!((region["group"], region["off_by"]), (g.as_str(), g.as_str()));
        }
        let sample = region["sample"];
        assert!(!sample.contains('\\') && !Path::new(sample).is_absolute(), "sample={sample}");
        let wav = sfz.parent().unwrap().join(sample);
        assert!(wav.is_file(), "sample={sample} does not exist");
        assert!(written.contains(&wav));
        check_wav(&wav, sound, pad.tune, sound.sample_rate);
    }
}

#[test]
fn kit_export_sfz_parser_catches_bad_opcodes() {
    // The checks above would catch these.
    for bad in ["<region> sample=a.wav volume=12", "<region> sample=a.wav pan=-101", "<region> loop_mode=oneshot", "<region> key=128", "<region> cutoff_hz=3"] {
        let sections = parse_sfz(bad);
        let r = std::panic::catch_unwind(|| sections[0].1.iter().for_each(|(n, v)| check_opcode(n, v)));
        assert!(r.is_err(), "{bad} passed");
    }
    let s = parse_sfz("// c\n<region> sample=My Kit/01 a.wav key=36 /* x */ <region>\nkey=37 // y");
    assert_eq!(s[0].1, vec![("sample".into(), "My Kit/01 a.wav".into()), ("key".into(), "36".into())]);
    assert_eq!(s[1].1, vec![("key".to_owned(), "37".to_owned())]);
}

/// Runs sfzlint (PyPI, an SFZ parser and linter on sfzformat.com's opcode data; installed into
/// the venv from tests/requirements.txt) on `file` and returns what it prints (empty: no
/// findings). Panics (never skips) without `NDM_PYTHON` or sfzlint.
fn sfzlint(file: &Path) -> String {
    let python = std::env::var_os("NDM_PYTHON").unwrap_or_else(|| {
        panic!(
            "NDM_PYTHON is not set: this test runs sfzlint with the venv's Python. Run `cargo xtask test`, \
             or set NDM_PYTHON to a Python with `pip install sfzlint` (tests/requirements.txt)"
        )
    });
    let out = Command::new(&python)
        .args(["-c", "import sys; from sfzlint.cli import sfzlint; sys.argv = ['sfzlint', sys.argv[1]]; sfzlint()"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run NDM_PYTHON={python:?}: {e}"));
    assert!(out.status.success(), "sfzlint failed (is it installed? pip install sfzlint): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kit_export_cli_sfz_passes_sfzlint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    ok(ndm(&["kit", "--format", "sfz", "--name", "GM kit", "--bits", "32f", "--rate", "44100", "--out-dir", d]));
    let findings = sfzlint(&dir.path().join("GM kit.sfz"));
    assert!(findings.trim().is_empty(), "sfzlint findings:\n{findings}");
    // sfzlint does check: bad values, unknown opcodes and missing samples are reported.
    let bad = dir.path().join("bad.sfz");
    std::fs::write(&bad, "<region> sample=missing.wav key=36 volume=12 loop_mode=oneshot cutoff_hz=3\n").unwrap();
    let findings = sfzlint(&bad);
    for what in ["missing.wav", "volume", "loop_mode", "cutoff_hz"] {
        assert!(findings.contains(what), "sfzlint missed {what}: {findings}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hydrogen

/// `xmllint --noout --schema drumkit.xsd FILE`; panics (never skips) without xmllint or the xsd.
fn xmllint(file: &Path) -> Output {
    assert!(
        Path::new(DRUMKIT_XSD).is_file(),
        "{DRUMKIT_XSD} is missing: install Debian's hydrogen-data (apt-get install hydrogen-data)"
    );
    Command::new("xmllint")
        .args(["--noout", "--schema", DRUMKIT_XSD])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmllint ({e}): install libxml2-utils (apt-get install libxml2-utils)"))
}

/// The text of every `<tag>…</tag>` in `xml` (the writer's one-element-per-line layout).
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.lines()
        .filter_map(|l| l.trim().strip_prefix(open.as_str()).and_then(|r| r.strip_suffix(close.as_str())))
        .collect()
}

#[test]
fn kit_export_cli_hydrogen_validates_against_drumkit_xsd() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["kit", "--format", "hydrogen", "--bits", "32f", "--rate", "48000", "--name", "NDM <test> & kit", "--out-dir"];
    let written = ok(ndm(&[&args[..], &[dir.path().to_str().unwrap()]].concat()));
    let folder = dir.path().join("NDM _test_ _ kit");
    let xml_path = folder.join("drumkit.xml");
    assert_eq!(written.len(), 17);
    assert_eq!(written.last(), Some(&xml_path));

    let out = xmllint(&xml_path);
    assert!(out.status.success(), "drumkit.xml does not validate:\n{}", String::from_utf8_lossy(&out.stderr));

    let xml = std::fs::read_to_string(&xml_path).unwrap();
    assert_eq!(elements(&xml, "name")[0], "NDM &lt;test&gt; &amp; kit");
    assert_eq!(xml.matches("<instrument>").count(), 16);
    let notes: Vec<String> = GM_KIT.iter().map(|p| p.note.to_string()).collect();
    assert_eq!(elements(&xml, "midiOutNote"), notes);
    let groups: Vec<String> = GM_KIT.iter().map(|p| if p.choke_group == 0 { "-1".to_owned() } else { p.choke_group.to_string() }).collect();
    assert_eq!(elements(&xml, "muteGroup"), groups);
    let labels: Vec<&str> = GM_KIT.iter().map(|p| p.label).collect();
    assert_eq!(elements(&xml, "name")[2..], labels[..], "kit name, component name, then the instruments");
    let files = elements(&xml, "filename");
    assert_eq!(files.len(), 16);
    assert_eq!(files.iter().collect::<BTreeSet<_>>().len(), 16);
    let sounds = gm_sounds();
    for ((file, pad), sound) in files.iter().zip(&GM_KIT).zip(&sounds) {
        let wav = folder.join(file);
        assert!(written.contains(&wav), "{file} is not one of the written files");
        check_wav(&wav, sound, pad.tune, 48_000);
    }

    // The schema check is real: a broken file is rejected.
    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, xml.replacen("<muteGroup>-1</muteGroup>", "<muteGroup>none</muteGroup>", 1)).unwrap();
    assert!(!xmllint(&broken).status.success(), "xmllint accepted an invalid drumkit.xml");
}

// ---------------------------------------------------------------------------------------------
// Overwriting, the default format

#[test]
fn kit_export_cli_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    ok(ndm(&["kit", "--format", "sfz", "--out-dir", d]));
    let sfz = dir.path().join("ndm_gm_kit.sfz");
    std::fs::write(&sfz, "mine").unwrap();
    let before: BTreeSet<PathBuf> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(before.len(), 17);

    let out = ndm(&["kit", "--format", "sfz", "--out-dir", d]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was written") && err.contains("ndm_gm_kit.sfz") && err.contains("--force"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&sfz).unwrap(), "mine");
    let after: BTreeSet<PathBuf> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(before, after, "no file added (no temporary files left)");

    assert_eq!(ok(ndm(&["kit", "--format", "sfz", "--force", "--out-dir", d])).len(), 17);
    assert!(std::fs::read_to_string(&sfz).unwrap().starts_with("// Neural Drum Machine kit"));
}

#[test]
fn kit_export_cli_wav_format_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let written = ok(ndm(&["kit", "--out-dir", d]));
    let model = ModelSet::load_dir(&common::fixture_dir()).unwrap();
    let want: Vec<PathBuf> = model.meta().classes.iter().map(|c| dir.path().join(format!("{c}_000.wav"))).collect();
    assert_eq!(written, want);
    let spec = hound::WavReader::open(&want[0]).unwrap().spec();
    assert_eq!((spec.bits_per_sample, spec.sample_format), (32, hound::SampleFormat::Float));
    // The preset options belong to sfz / hydrogen.
    let out = ndm(&["kit", "--force", "--out-dir", d]);
    assert_eq!(out.status.code(), Some(1));
}
