//! The TorchScript model set: decoder, MCNN inverter and encoder, loaded with `tch` (LibTorch).
//!
//! Contract (docs/ARCHITECTURE.md, "Model contract"):
//! - `decoder.pt`: `forward(z [B,64] f32, c [B,C] f32) -> [B,n_mels,n_frames]` normalised log-Mel
//! - `mcnn.pt`: `forward(mel [B,n_mels,n_frames]) -> [B,n_samples]`, waveform in [-1, 1]
//! - `encoder.pt`: `forward(wav [B,n_samples], c [B,C]) -> [B,64]`
//!
//! Loading validates `model.json` and runs every module once on the shapes it promises (this is
//! also the warm-up: LibTorch's first forward is slow), then picks the GEMM precision of
//! the inverter from this CPU's features (bfloat16 or float32, never by timing). A bad set gives a typed [`Error`].

use crate::error::{Error, Result};
use crate::mel::LogMel;
use crate::meta::{ModelMeta, LATENT_DIM};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Once;
use tch::{CModule, Kind, Tensor};

/// File names of a model set inside its directory.
pub const FILES: [&str; 4] = ["model.json", "decoder.pt", "mcnn.pt", "encoder.pt"];

/// Directory of the shipped model set (`assets/` of this repository), used by the CLI and tests.
pub fn default_model_dir() -> PathBuf {
    match std::env::var_os("NDM_MODEL_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"),
    }
}

static INTEROP_THREADS: Once = Once::new();

/// Sets LibTorch's thread counts for the calling thread: `intra_op` threads for its operators
/// (call it on every thread that runs inference), and a single inter-op thread, set once per
/// process (setting it again can crash hosts that load several instances).
pub fn configure_threads(intra_op: usize) {
    INTEROP_THREADS.call_once(|| tch::set_num_interop_threads(1));
    tch::set_num_threads(intra_op.clamp(1, 64) as i32);
}

/// A loaded, validated model set. Used from one thread at a time (the worker or the CLI), so
/// every field is touched only by that thread.
pub struct ModelSet {
    meta: ModelMeta,
    decoder: CModule,
    mcnn: CModule,
    encoder: CModule,
    source: String,
    /// [`crate::catalog::hash_bytes`] of the set's files (its identity in saved projects).
    hash: String,
    /// GEMM precision of the inverter in force: `Some(true)` bfloat16, `Some(false)` float32,
    /// `None` when `mcnn.pt` has no `set_gemm_bf16` switch (models exported before it).
    inverter_bf16: Option<bool>,
    /// The contract's log-Mel front end (refinement targets, detail residuals, resynthesis).
    logmel: LogMel,
}

/// Raw bytes of a model set (e.g. embedded in a plugin binary).
pub struct ModelBytes<'a> {
    /// `model.json`
    pub meta: &'a [u8],
    /// `decoder.pt`
    pub decoder: &'a [u8],
    /// `mcnn.pt`
    pub mcnn: &'a [u8],
    /// `encoder.pt`
    pub encoder: &'a [u8],
}

#[cfg(feature = "embedded-model")]
/// The shipped model set (`assets/`), compiled into the binary.
pub const EMBEDDED: ModelBytes<'static> = ModelBytes {
    meta: include_bytes!("../../assets/model.json"),
    decoder: include_bytes!("../../assets/decoder.pt"),
    mcnn: include_bytes!("../../assets/mcnn.pt"),
    encoder: include_bytes!("../../assets/encoder.pt"),
};

fn load_module(file: &str, bytes: &[u8]) -> Result<CModule> {
    let mut module = CModule::load_data(&mut Cursor::new(bytes))
        .map_err(|e| Error::ModelCorrupt { file: file.to_owned(), reason: first_line(&e) })?;
    module.f_set_eval().map_err(|e| Error::ModelCorrupt { file: file.into(), reason: first_line(&e) })?;
    Ok(module)
}

/// The first line of a LibTorch error (its C++ backtraces are long).
fn first_line(e: &tch::TchError) -> String {
    e.to_string().lines().next().unwrap_or("unknown error").trim().to_owned()
}

impl ModelSet {
    /// Loads `model.json`, `decoder.pt`, `mcnn.pt` and `encoder.pt` from `dir` and validates them.
    ///
    /// # Errors
    /// [`Error::ModelFileMissing`] naming the first missing file, then the errors of
    /// [`ModelSet::from_bytes`].
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let mut data = Vec::with_capacity(FILES.len());
        for file in FILES {
            let path = dir.join(file);
            if !path.is_file() {
                return Err(Error::ModelFileMissing(path));
            }
            data.push(std::fs::read(&path).map_err(|e| Error::ModelCorrupt {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?);
        }
        let bytes =
            ModelBytes { meta: &data[0], decoder: &data[1], mcnn: &data[2], encoder: &data[3] };
        Self::from_bytes(&bytes, &dir.display().to_string())
    }

    /// Loads the model set compiled into the binary.
    #[cfg(feature = "embedded-model")]
    pub fn load_embedded() -> Result<Self> {
        Self::from_bytes(&EMBEDDED, "embedded model set")
    }

    /// Loads a model set from bytes; `source` names it in messages.
    ///
    /// # Errors
    /// [`Error::ModelMeta`] / [`Error::ModelVersion`] for bad metadata, [`Error::ModelCorrupt`] for
    /// an unloadable archive, [`Error::ModelSignature`] when a module's output shape differs from
    /// what `model.json` promises or is not finite.
    pub fn from_bytes(bytes: &ModelBytes<'_>, source: &str) -> Result<Self> {
        let meta = ModelMeta::parse(bytes.meta)?;
        let decoder = load_module("decoder.pt", bytes.decoder)?;
        // refinement differentiates the decoder with respect to `z` only
        for (_, p) in decoder.named_parameters().map_err(|e| Error::ModelCorrupt { file: "decoder.pt".into(), reason: first_line(&e) })? {
            let _ = p.set_requires_grad(false);
        }
        let mut set = ModelSet {
            logmel: LogMel::new(&meta),
            decoder,
            mcnn: load_module("mcnn.pt", bytes.mcnn)?,
            encoder: load_module("encoder.pt", bytes.encoder)?,
            meta,
            source: source.to_owned(),
            hash: crate::catalog::hash_bytes(bytes),
            inverter_bf16: None,
        };
        // validate in float32 GEMMs (works on every CPU), then try bf16 as a candidate only
        let _ = set.set_inverter_gemm_bf16(false);
        set.validate()?;
        set.choose_inverter_precision();
        Ok(set)
    }

    /// Picks the inverter's GEMM precision from the CPU's features, never from a timing, so that
    /// two loads on one machine always make the same bits (exact recall, docs/ARCHITECTURE.md):
    /// bfloat16 where the CPU has native bf16 arithmetic ([`cpu_has_native_bf16`]: ~1.4x faster
    /// per sound), float32 elsewhere (bf16 would run through a slow emulation). If the bf16 call
    /// fails the inverter stays on float32, which was validated before. Inverters without the
    /// `set_gemm_bf16` switch are left as they are.
    fn choose_inverter_precision(&mut self) {
        if self.inverter_bf16.is_none() {
            return;
        }
        let mel = vec![0.0f32; self.meta.n_mels * self.meta.n_frames];
        let bf16 = cpu_has_native_bf16();
        if bf16 && (self.set_inverter_gemm_bf16(true).is_err() || self.invert(&mel).is_err()) {
            let _ = self.set_inverter_gemm_bf16(false);
        }
    }

    /// Switches the inverter's GEMMs (input conv, 1x1 convs, output projection) between
    /// bfloat16 (`true`) and float32; both use the same bf16-stored weights.
    ///
    /// # Errors
    /// [`Error::ModelSignature`] when `mcnn.pt` has no `set_gemm_bf16` method.
    pub fn set_inverter_gemm_bf16(&mut self, enabled: bool) -> Result<()> {
        let _guard = tch::no_grad_guard();
        self.mcnn
            .method_is("set_gemm_bf16", &[tch::IValue::Bool(enabled)])
            .map_err(|e| Error::ModelSignature { module: "mcnn.pt", reason: first_line(&e) })?;
        self.inverter_bf16 = Some(enabled);
        Ok(())
    }

    /// The inverter's GEMM precision in force (see [`ModelSet::set_inverter_gemm_bf16`]):
    /// `Some(true)` bfloat16, `Some(false)` float32, `None` for inverters without the switch.
    pub fn inverter_gemm_bf16(&self) -> Option<bool> {
        self.inverter_bf16
    }

    /// Runs each module on the shapes the metadata promises (twice: the first forward of a
    /// TorchScript module is slow, so this doubles as the warm-up).
    fn validate(&self) -> Result<()> {
        let m = &self.meta;
        let c = one_hot(0, m.classes.len());
        let z = vec![0.0f32; LATENT_DIM];
        for _ in 0..2 {
            let mel = self.decode(&z, &c)?;
            let wav = self.invert(&mel)?;
            let code = self.encode(&wav, &c)?;
            if code.iter().any(|v| !v.is_finite()) {
                return Err(Error::ModelSignature {
                    module: "encoder.pt",
                    reason: "returned non-finite values".into(),
                });
            }
        }
        Ok(())
    }

    /// The model's metadata.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Where the set was loaded from (a directory, or "embedded model set").
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The set's identity: FNV-1a 64 over its files, 16 hex digits (see [`crate::catalog`]).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Decoder: latent `z` `[64]` and class weights `c` `[C]` → normalised log-Mel spectrogram,
    /// row-major `[n_mels][n_frames]`.
    pub fn decode(&self, z: &[f32], c: &[f32]) -> Result<Vec<f32>> {
        let m = &self.meta;
        self.check_len("z", z.len(), LATENT_DIM)?;
        self.check_len("class weights", c.len(), m.classes.len())?;
        let out = run(&self.decoder, "decoder.pt", &[
            Tensor::from_slice(z).view([1, LATENT_DIM as i64]),
            Tensor::from_slice(c).view([1, c.len() as i64]),
        ])?;
        expect_shape("decoder.pt", &out, &[1, m.n_mels as i64, m.n_frames as i64])?;
        to_vec("decoder.pt", &out)
    }

    /// The decoder as a differentiable function (latent refinement): `z` `[1,64]` (may require
    /// grad) and class weights `c` `[1,C]` → normalised log-Mel `[1,n_mels,n_frames]`, with the
    /// autograd graph kept (the decoder's own weights are frozen at load).
    ///
    /// # Errors
    /// [`Error::ModelSignature`] when the decoder fails or returns another shape.
    pub fn decode_tensor(&self, z: &Tensor, c: &Tensor) -> Result<Tensor> {
        let m = &self.meta;
        let out = self
            .decoder
            .forward_ts(&[z, c])
            .map_err(|e| Error::ModelSignature { module: "decoder.pt", reason: first_line(&e) })?;
        expect_shape("decoder.pt", &out, &[1, m.n_mels as i64, m.n_frames as i64])?;
        Ok(out)
    }

    /// The contract's log-Mel front end.
    pub fn logmel(&self) -> &LogMel {
        &self.logmel
    }

    /// MCNN inverter: normalised log-Mel `[n_mels][n_frames]` → waveform `[n_samples]` at
    /// `sample_rate` Hz.
    pub fn invert(&self, mel: &[f32]) -> Result<Vec<f32>> {
        let m = &self.meta;
        self.check_len("Mel spectrogram", mel.len(), m.n_mels * m.n_frames)?;
        let out = run(&self.mcnn, "mcnn.pt", &[Tensor::from_slice(mel).view([
            1,
            m.n_mels as i64,
            m.n_frames as i64,
        ])])?;
        expect_shape("mcnn.pt", &out, &[1, m.n_samples as i64])?;
        to_vec("mcnn.pt", &out)
    }

    /// Encoder: waveform `[n_samples]` at `sample_rate` Hz and class weights `[C]` → latent `z`
    /// `[64]`.
    pub fn encode(&self, wav: &[f32], c: &[f32]) -> Result<Vec<f32>> {
        let m = &self.meta;
        self.check_len("waveform", wav.len(), m.n_samples)?;
        self.check_len("class weights", c.len(), m.classes.len())?;
        let out = run(&self.encoder, "encoder.pt", &[
            Tensor::from_slice(wav).view([1, m.n_samples as i64]),
            Tensor::from_slice(c).view([1, c.len() as i64]),
        ])?;
        expect_shape("encoder.pt", &out, &[1, LATENT_DIM as i64])?;
        to_vec("encoder.pt", &out)
    }

    fn check_len(&self, what: &'static str, got: usize, want: usize) -> Result<()> {
        if got != want {
            return Err(Error::InvalidArgument {
                what,
                reason: format!("{got} values, the model expects {want}"),
            });
        }
        Ok(())
    }
}

/// True when the CPU does bfloat16 arithmetic natively (x86-64: AVX512-BF16;
/// AArch64: the BF16 extension). Decides the inverter's GEMM precision.
pub fn cpu_has_native_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("bf16")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// One-hot class weight vector `[n]` with a 1 at `index`.
pub fn one_hot(index: usize, n: usize) -> Vec<f32> {
    (0..n).map(|i| if i == index { 1.0 } else { 0.0 }).collect()
}

fn run(module: &CModule, name: &'static str, inputs: &[Tensor]) -> Result<Tensor> {
    let _guard = tch::no_grad_guard();
    module
        .forward_ts(inputs)
        .map_err(|e| Error::ModelSignature { module: name, reason: first_line(&e) })
}

fn expect_shape(module: &'static str, t: &Tensor, want: &[i64]) -> Result<()> {
    let got = t.size();
    if got != want {
        return Err(Error::ModelSignature {
            module,
            reason: format!("returned shape {got:?}, model.json promises {want:?}"),
        });
    }
    if t.kind() != Kind::Float {
        return Err(Error::ModelSignature { module, reason: format!("returned {:?}, not f32", t.kind()) });
    }
    Ok(())
}

fn to_vec(module: &'static str, t: &Tensor) -> Result<Vec<f32>> {
    let flat = t.contiguous().view([-1]);
    let v = Vec::<f32>::try_from(&flat)
        .map_err(|e| Error::Inference { module, reason: first_line(&e) })?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::Inference { module, reason: "output contains NaN or infinity".into() });
    }
    Ok(v)
}
