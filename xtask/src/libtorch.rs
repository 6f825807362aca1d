//! Assemble a CPU-only LibTorch 2.13.0 from the PyPI wheels (see DESIGN.md, "Where it runs").
//!
//! The official libtorch zip host is unreachable here, and PyPI has no CPU-only Linux wheel, so
//! we take `include/`, `libtorch_cpu.so`, `libc10.so` and `libgomp` from the `torch` wheel, add the
//! two CUDA runtime libraries `libtorch_cpu.so` links against (no GPU or driver needed), and put an
//! empty stub `libtorch.so` in place of the real one (which would pull in the whole CUDA stack).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The LibTorch version `tch` 0.26 expects.
pub const TORCH_VERSION: &str = "2.13.0";
/// The wheels we take files from: (requirement, what we take).
const WHEELS: [&str; 3] = [
    "torch==2.13.0",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cupti==13.0.85",
];
/// Shared libraries a LibTorch runtime needs (also what goes into a plugin bundle).
pub const RUNTIME_LIBS: [&str; 5] = [
    "libtorch_cpu.so",
    "libc10.so",
    "libgomp.so.1",
    "libcudart.so.13",
    "libcupti.so.13",
];

/// Directory of the project-local LibTorch.
pub fn dir(root: &Path) -> PathBuf {
    root.join("libtorch")
}

/// Returns the LibTorch directory, assembling it first if it is missing or incomplete.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let dir = dir(root);
    if verify(&dir).is_ok() {
        eprintln!("libtorch {TORCH_VERSION}: ready in {}", dir.display());
        return Ok(dir);
    }
    let started = std::time::Instant::now();
    eprintln!("libtorch {TORCH_VERSION}: assembling a CPU-only copy in {} ...", dir.display());
    let download = root.join("target/libtorch-wheels");
    std::fs::create_dir_all(&download)?;
    let status = Command::new(python())
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d"])
        .arg(&download)
        .args(WHEELS)
        .status()
        .context("could not run `python3 -m pip` (install python3 and python3-pip)")?;
    if !status.success() {
        bail!(
            "`pip download {}` failed: is the PyPI registry reachable from this machine? \
             (see the pip output above)",
            WHEELS.join(" ")
        );
    }
    let staging = root.join("target/libtorch-staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(staging.join("lib"))?;
    extract(&download, &staging)?;
    write_stub_libtorch(&staging.join("lib/libtorch.so"))?;
    std::fs::write(staging.join("build-version"), format!("{TORCH_VERSION}+cpu-from-pypi\n"))?;
    verify(&staging).context("the assembled libtorch is incomplete")?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir)?;
    eprintln!(
        "libtorch {TORCH_VERSION}: ready in {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(dir)
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Unpacks the needed members of the downloaded wheels with Python's `zipfile`.
fn extract(download: &Path, staging: &Path) -> Result<()> {
    const SCRIPT: &str = r#"
import glob, os, shutil, sys, zipfile
download, staging = sys.argv[1], sys.argv[2]
wanted = {"libtorch_cpu.so", "libc10.so", "libcudart.so.13", "libcupti.so.13"}
found = set()
for wheel in sorted(glob.glob(os.path.join(download, "*.whl"))):
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            base = os.path.basename(name)
            if name.startswith("torch/include/") and not name.endswith("/"):
                dest = os.path.join(staging, "include", name[len("torch/include/"):])
            elif base in wanted or (base.startswith("libgomp") and ".so" in base):
                dest = os.path.join(staging, "lib", "libgomp.so.1" if base.startswith("libgomp") else base)
                found.add(os.path.basename(dest))
            else:
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)
missing = (wanted | {"libgomp.so.1"}) - found
if missing:
    sys.exit("wheels lack: " + ", ".join(sorted(missing)))
"#;
    let status = Command::new(python())
        .args(["-c", SCRIPT])
        .arg(download)
        .arg(staging)
        .status()
        .context("could not run python3 to unpack the wheels")?;
    if !status.success() {
        bail!("unpacking the torch wheels failed (see above)");
    }
    // libtorch_cpu.so may name an auditwheel-renamed libgomp (libgomp-<hash>.so.1): link that name
    // to our copy so the dynamic loader finds it next to libtorch_cpu.so.
    let needed = Command::new("readelf")
        .args(["-d"])
        .arg(staging.join("lib/libtorch_cpu.so"))
        .output();
    if let Ok(out) = needed {
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines().filter(|l| l.contains("NEEDED") && l.contains("libgomp")) {
            if let Some(name) = line.split('[').nth(1).and_then(|s| s.split(']').next()) {
                if name != "libgomp.so.1" {
                    std::fs::copy(staging.join("lib/libgomp.so.1"), staging.join("lib").join(name))?;
                }
            }
        }
    }
    Ok(())
}

/// Writes an empty shared library named `libtorch.so` (torch-sys links `-ltorch`; with
/// `--as-needed` it never becomes a runtime dependency).
fn write_stub_libtorch(path: &Path) -> Result<()> {
    let src = path.with_extension("c");
    std::fs::write(&src, "/* empty stub: CPU-only LibTorch lives in libtorch_cpu.so */\n")?;
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".to_owned()))
        .args(["-shared", "-fPIC", "-o"])
        .arg(path)
        .arg(&src)
        .status()
        .context("could not run the C compiler `cc` to build the libtorch.so stub (install gcc)")?;
    std::fs::remove_file(&src)?;
    if !status.success() {
        bail!("building the libtorch.so stub failed");
    }
    Ok(())
}

/// Checks the version file, the headers and every runtime library.
pub fn verify(dir: &Path) -> Result<()> {
    let version = std::fs::read_to_string(dir.join("build-version"))
        .with_context(|| format!("{} has no build-version file", dir.display()))?;
    if !version.starts_with(TORCH_VERSION) {
        bail!("{} holds libtorch {}, expected {TORCH_VERSION}", dir.display(), version.trim());
    }
    if !dir.join("include/torch/csrc/api/include/torch/torch.h").is_file() {
        bail!("{} lacks the C++ headers", dir.display());
    }
    for lib in RUNTIME_LIBS.iter().chain(["libtorch.so"].iter()) {
        let path = dir.join("lib").join(lib);
        if !is_elf(&path) {
            bail!("{} is missing or not an ELF shared library", path.display());
        }
    }
    if dir.join("lib/libtorch_cuda.so").exists() {
        bail!("{} contains libtorch_cuda.so; torch-sys would link CUDA", dir.display());
    }
    Ok(())
}

/// True when `path` is a readable file that starts with the ELF magic.
pub fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|_| &magic == b"\x7fELF")
        .unwrap_or(false)
}
