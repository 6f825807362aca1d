//! The Python virtual environment of `training/` (PyTorch 2.13.0 and friends).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Requirement files installed into the venv: the training pipeline's and the host tests'
/// (pedalboard for the VST3 test).
const REQUIREMENTS: [&str; 2] = ["training/requirements.txt", "tests/requirements.txt"];

/// Creates `training/.venv` from [`REQUIREMENTS`] when missing or out of date and returns the
/// path of its Python interpreter.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let venv = root.join("training/.venv");
    let python = venv.join("bin/python");
    let mut wanted = String::new();
    for file in REQUIREMENTS {
        let path = root.join(file);
        wanted += &std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    let stamp = venv.join(".ndm-requirements");
    if python.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    let started = std::time::Instant::now();
    if !python.is_file() {
        eprintln!("venv: creating {}", venv.display());
        let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let ok = Command::new(py).args(["-m", "venv"]).arg(&venv).status()?.success();
        if !ok {
            bail!("`python3 -m venv` failed (on Debian: apt-get install python3-venv)");
        }
    }
    eprintln!("venv: installing {} (PyTorch is ~4.7 GB on first install)", REQUIREMENTS.join(", "));
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check", "-q"]);
    for file in REQUIREMENTS {
        pip.arg("-r").arg(root.join(file));
    }
    if !pip.status()?.success() {
        bail!("pip install of {} failed: is PyPI reachable? (see above)", REQUIREMENTS.join(", "));
    }
    std::fs::write(&stamp, wanted)?;
    eprintln!("venv: ready ({:.0} s)", started.elapsed().as_secs_f64());
    Ok(python)
}
