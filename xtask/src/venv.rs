//! The Python virtual environment of `training/` (PyTorch 2.13.0 and friends).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Creates `training/.venv` from `training/requirements.txt` when missing or out of date and
/// returns the path of its Python interpreter.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let venv = root.join("training/.venv");
    let python = venv.join("bin/python");
    let requirements = root.join("training/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
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
    eprintln!("venv: installing training/requirements.txt (PyTorch is ~4.7 GB on first install)");
    let ok = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
        .arg(&requirements)
        .status()?
        .success();
    if !ok {
        bail!("pip install -r training/requirements.txt failed: is PyPI reachable? (see above)");
    }
    std::fs::write(&stamp, wanted)?;
    eprintln!("venv: ready ({:.0} s)", started.elapsed().as_secs_f64());
    Ok(python)
}
