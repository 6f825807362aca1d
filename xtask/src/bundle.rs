//! `cargo xtask bundle`: nice-plug-xtask's CLAP/VST3 bundler plus the LibTorch runtime.
//!
//! The plugin's RUNPATH is `$ORIGIN/ndm-libtorch` (see `plugin/build.rs`), so the stripped
//! runtime libraries go into an `ndm-libtorch/` folder next to each plugin library:
//! `target/bundled/ndm-libtorch/` beside the `.clap` file, and
//! `<name>.vst3/Contents/x86_64-linux/ndm-libtorch/` inside the VST3 bundle.

use crate::libtorch;
use crate::tasks::run;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Name of the runtime-library folder next to the plugin library (matches plugin/build.rs).
pub const LIB_DIR: &str = "ndm-libtorch";

/// Builds and bundles, then installs the LibTorch runtime next to every plugin library.
pub fn bundle(root: &Path, args: Vec<String>) -> Result<()> {
    let libtorch = libtorch::ensure(root)?;
    let mut full = vec!["bundle".to_owned()];
    full.extend(args);
    nice_plug_xtask::main_with_args("cargo xtask", full)?;
    let stripped = stripped_runtime(root, &libtorch)?;
    let bundled = root.join("target/bundled");
    for entry in std::fs::read_dir(&bundled)? {
        let path = entry?.path();
        let lib_home = match path.extension().and_then(|e| e.to_str()) {
            Some("clap") => bundled.clone(),
            Some("vst3") => path.join("Contents/x86_64-linux"),
            _ => continue,
        };
        let dest = lib_home.join(LIB_DIR);
        std::fs::create_dir_all(&dest)?;
        for lib in libtorch::RUNTIME_LIBS {
            let target = dest.join(lib);
            let source = stripped.join(lib);
            let same = std::fs::metadata(&target).map(|m| m.len()).ok()
                == std::fs::metadata(&source).map(|m| m.len()).ok();
            if !same {
                std::fs::copy(&source, &target)
                    .with_context(|| format!("copying {} into the bundle", source.display()))?;
            }
        }
        eprintln!("bundle: LibTorch runtime in {}", dest.display());
    }
    Ok(())
}

/// `strip --strip-unneeded` copies of the runtime libraries, cached in `target/`.
fn stripped_runtime(root: &Path, libtorch: &Path) -> Result<PathBuf> {
    let dir = root.join("target/libtorch-runtime-stripped");
    std::fs::create_dir_all(&dir)?;
    for lib in libtorch::RUNTIME_LIBS {
        let out = dir.join(lib);
        if libtorch::is_elf(&out) {
            continue;
        }
        let tmp = dir.join(format!("{lib}.tmp"));
        run(
            Command::new("strip")
                .arg("--strip-unneeded")
                .arg(libtorch.join("lib").join(lib))
                .arg("-o")
                .arg(&tmp),
            "strip (binutils)",
        )?;
        std::fs::rename(&tmp, &out)?;
    }
    Ok(dir)
}
