//! RUNPATH for the plugin library: `$ORIGIN/ndm-libtorch` (the LibTorch runtime that
//! `cargo xtask bundle` copies next to the `.clap` and into the `.vst3`), then the development
//! LibTorch that ndm-core linked (so `cargo test -p ndm-plugin` runs without LD_LIBRARY_PATH).
fn main() {
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/ndm-libtorch");
    if let Ok(lib) = std::env::var("DEP_NDM_CORE_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    println!("cargo:rerun-if-env-changed=DEP_NDM_CORE_LIBTORCH_LIB");
}
