//! `ndm-standalone`: the plugin as a standalone application (JACK/ALSA, or `--backend dummy`
//! for headless GUI tests). Built only with `--features standalone`.

fn main() {
    nice_plug::nice_export_standalone::<ndm_plugin::NeuralDrumMachine>();
}
