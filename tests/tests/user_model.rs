//! A musician's own sample library, end to end: a tiny folder-labelled library (classes `zap`,
//! `thud`, `tick`, none of them among the shipped eleven, and one unreadable file) is trained for
//! a few steps by `training/train_library.py` under PyTorch's launcher with two processes
//! (`python -m torch.distributed.run --nproc_per_node 2`, DDP over gloo), exported into a model
//! directory, and then used by the release CLI: `ndm --model DIR info` lists the library's
//! classes and `ndm --model DIR render --class zap` writes a non-silent one-shot at the model's
//! rate; the bundled CLAP plugin, pointed at it, plays it and names its class parameters
//! after the library's classes.
//!
//! Needs the training venv's Python in `NDM_PYTHON` (`cargo xtask test` sets it) and
//! `target/release/ndm` (built on demand by `paths::ndm_cli`). Without `NDM_PYTHON` the test
//! FAILS; it never returns early as passed.

use ndm_tests::audio::{self, peak, rms};
use ndm_tests::clap::{Ev, Plugin};
use ndm_tests::paths;
use std::path::{Path, PathBuf};
use std::process::Command;

const CLASSES: [&str; 3] = ["thud", "tick", "zap"];

/// A 0.3 s synthetic one-shot of `kind` at `rate` Hz, after `lead` seconds of silence.
fn one_shot(kind: &str, rate: u32, i: usize, lead: f32) -> Vec<f32> {
    let n = (0.3 * rate as f32) as usize;
    let mut x = vec![0.0f32; (lead * rate as f32) as usize];
    let mut seed = 0x9e37_79b9_u32.wrapping_mul(i as u32 + 1);
    for k in 0..n {
        let t = k as f32 / rate as f32;
        let s = match kind {
            "zap" => {
                let f = 2500.0 - 2000.0 * t / 0.3;
                (2.0 * std::f32::consts::PI * f * t).sin() * (-t / 0.06).exp()
            }
            "thud" => {
                (2.0 * std::f32::consts::PI * (55.0 + 15.0 * i as f32) * t).sin()
                    * (-t / 0.12).exp()
            }
            _ => {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (seed as f32 / u32::MAX as f32 * 2.0 - 1.0) * (-t / 0.008).exp()
            }
        };
        x.push(0.7 * s);
    }
    x
}

fn make_library(root: &Path) {
    for (kind, rate) in [("zap", 44_100), ("thud", 48_000), ("tick", 22_050)] {
        let dir = root.join(kind);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..3 {
            let x = one_shot(kind, rate, i, 0.01 * (i + 1) as f32);
            audio::write_wav(&dir.join(format!("{kind}{i}.wav")), rate, &[&x]);
        }
    }
    std::fs::write(
        root.join("zap/broken.wav"),
        b"RIFF\x10\x00\x00\x00WAVEjunkjunk",
    )
    .unwrap();
}

fn python() -> PathBuf {
    match std::env::var_os("NDM_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "NDM_PYTHON is not set: this test trains a model with the training venv's Python. \
             Run `cargo xtask test`, or set NDM_PYTHON=training/.venv/bin/python \
             (python3.11 -m venv training/.venv && training/.venv/bin/pip install -r \
             training/requirements.txt)"
        ),
    }
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

#[test]
fn library_trained_with_torchrun_renders_in_the_cli() {
    let python = python();
    let root = paths::workspace_root();
    let tmp = tempfile::tempdir().unwrap();
    let library = tmp.path().join("library");
    let model = tmp.path().join("models/my-kit");
    make_library(&library);

    let log = run(
        Command::new(&python)
            .args([
                "-m",
                "torch.distributed.run",
                "--standalone",
                "--nproc_per_node",
                "2",
            ])
            .arg(root.join("training/train_library.py"))
            .arg(&library)
            .arg("--out")
            .arg(&model)
            .args([
                "--name",
                "my-kit",
                "--minutes",
                "5",
                "--max-steps",
                "2",
                "--no-timing",
            ])
            .args([
                "--enc-width",
                "32",
                "--dec-width",
                "32",
                "--spec-width",
                "32",
                "--spec-blocks",
                "1",
            ])
            .args(["--train-args", "--mmd-per-class 2 --mcnn-batch 2"])
            .env("OMP_NUM_THREADS", "1")
            .current_dir(root.join("training")),
        "torchrun train_library.py",
    );
    assert!(
        log.contains("world size 2 (gloo, cpu)"),
        "both ranks should train:\n{log}"
    );
    assert!(log.contains("rejected zap/broken.wav: unreadable"), "{log}");
    for f in [
        "decoder.pt",
        "mcnn.pt",
        "encoder.pt",
        "model.json",
        "dataset_report.json",
    ] {
        assert!(
            model.join(f).exists(),
            "{f} was not exported into {}",
            model.display()
        );
    }

    let ndm = paths::ndm_cli();
    let info = run(
        Command::new(&ndm).arg("--model").arg(&model).arg("info"),
        "ndm info",
    );
    let classes_line = info
        .lines()
        .find(|l| l.starts_with("classes:"))
        .unwrap_or_else(|| panic!("no classes line in `ndm info`:\n{info}"));
    assert_eq!(
        classes_line.trim_start_matches("classes:").trim(),
        CLASSES.join(", "),
        "{info}"
    );
    assert!(info.contains("name:        my-kit"), "{info}");
    let rate: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("sample rate:"))
        .and_then(|r| r.trim().trim_end_matches("Hz").trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample rate in `ndm info`:\n{info}"));
    assert_eq!(
        rate, 22_050,
        "the library model keeps the shipped contract (v1)"
    );

    let wav = tmp.path().join("x.wav");
    run(
        Command::new(&ndm)
            .arg("--model")
            .arg(&model)
            .args(["render", "--class", "zap", "-o"])
            .arg(&wav),
        "ndm render --class zap",
    );
    let (r, x) = audio::read_wav_mono(&wav);
    assert_eq!(r, rate, "rendered at {r} Hz, the model's rate is {rate} Hz");
    assert!(x.len() >= rate as usize / 2, "only {} samples", x.len());
    assert!(x.iter().all(|s| s.is_finite()));
    assert!(
        peak(&x) > 1e-3 && rms(&x) > 1e-5,
        "silent render: peak {}, rms {}",
        peak(&x),
        rms(&x)
    );
    std::fs::copy(&wav, paths::artifacts_dir().join("user_model_zap.wav")).unwrap();

    // an unknown class is refused with the model's own class list
    let out = Command::new(&ndm)
        .arg("--model")
        .arg(&model)
        .args(["render", "--class", "kick", "-o"])
        .arg(tmp.path().join("k.wav"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("thud, tick, zap"));

    // The bundled plugin plays it, and its class selectors show the library's own classes.
    std::env::set_var("NDM_MODEL_DIR", &model);
    std::env::set_var("XDG_CONFIG_HOME", tmp.path().join("config"));
    let mut plugin = Plugin::load_bundle();
    let (left, _) = plugin.run(48_000.0, 1024, |p| {
        p.render(48_000, 512, &[Ev::NoteOn { time: 0, key: 38, velocity: 1.0 }])
    });
    assert!(peak(&left) > 1e-3, "pad 2 (slot 2 = tick) is silent with the library model");
    let mut class_text = |pad: usize| {
        let id = format!("p{:02}_class", pad + 1);
        let v = plugin.param_value(&id);
        plugin.param_text(&id, v)
    };
    assert_eq!(class_text(0), "Thud", "pad 1 sits on the model's first class");
    assert_eq!(class_text(2), "Zap");
    assert_eq!(class_text(4), "Class 4 (not in model)", "slots beyond the model's 3 classes say so");
}
