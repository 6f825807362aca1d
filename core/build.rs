//! Gives every binary, test and bench of ndm-core a RUNPATH to the LibTorch that torch-sys linked,
//! so nothing needs LD_LIBRARY_PATH (DESIGN.md, "Where it runs").
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        // Dependents (the plugin's tests) read this as DEP_NDM_CORE_LIBTORCH_LIB.
        println!("cargo:libtorch_lib={lib}");
    }
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=../assets");
}
