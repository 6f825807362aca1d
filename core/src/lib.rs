//! # ndm-core — the Neural Drum Machine engine
//!
//! Generates drum one-shots with a conditional Wasserstein autoencoder decoder and a multi-head
//! convolutional (MCNN) spectrogram inverter, run through LibTorch (`tch`), after Aouameur,
//! Esling, Hadjeres, "Neural Drum Machine", ICCC 2019 (arXiv 1907.02637) and Arık et al., "Fast
//! Spectrogram Inversion using Multi-head Convolutional Neural Networks", 2018.
//!
//! - [`model`]: loading and validating the TorchScript model set (`assets/`).
//! - [`catalog`]: the installed model sets (embedded, user folder, added folders), their names and
//!   hashes.
//! - [`control`]: pad/fine/range/variation controls → latent `z` and class weights.
//! - [`generate`]: `z` → log-Mel → waveform → post-processing; encoding of a user's sample.
//! - [`kit`]: the 16 pads: recipes the worker reads, playback settings, the GM default kit.
//! - [`kit_export`]: the pads as WAV files, the kit as an SFZ preset or a Hydrogen kit.
//! - [`engine`]: the per-instance inference worker (per-pad, coalesced) and its lock-free link
//!   to the audio thread.
//! - [`voices`]: the allocation-free polyphonic one-shot player of the pads (audio thread).
//! - [`mel`]: the model's log-Mel front end (the target of refinement and of the detail residual).
//! - [`refine`]: latent refinement of an encoded sample by gradient steps through the decoder.
//! - [`audio_file`], [`dsp`]: file decoding/writing, onset, fades, resampling.
//!
//! No plugin or GUI code lives here: the CLI (`ndm`), the tests and the plugin all drive it.

pub mod audio_file;
pub mod bench;
pub mod catalog;
pub mod control;
pub mod dsp;
pub mod engine;
pub mod error;
pub mod generate;
pub mod kit;
pub mod kit_export;
pub mod mel;
pub mod meta;
pub mod model;
pub mod refine;
pub mod voices;

pub use control::{Latent, SoundParams};
pub use engine::{Command, Commander, Engine, EngineConfig, ModelSource, ModelState, RtLink, Status, StatusHandle};
pub use error::{Error, Result};
pub use generate::{generate, Sound};
pub use meta::{ModelMeta, LATENT_DIM, MAX_CLASSES};
pub use model::ModelSet;
pub use kit::{KitSource, ManualKit, NativeAudio, PadPlayback, PadTarget, GM_KIT, PADS};
pub use voices::{Voices, MAX_VOICES};
