//! Error type of ndm-core. Every fallible public function returns [`Error`]; nothing in this
//! crate panics on bad models, files or parameters.

use std::path::PathBuf;

/// What went wrong, with enough context for a one-line message to a musician.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file (`decoder.pt`, `mcnn.pt`, `encoder.pt`, `model.json`) does not exist.
    #[error("model file {0} is missing")]
    ModelFileMissing(PathBuf),
    /// A model file exists but is not a loadable TorchScript archive.
    #[error("{file} is not a loadable TorchScript module: {reason}")]
    ModelCorrupt { file: String, reason: String },
    /// `model.json` is unreadable, malformed or inconsistent.
    #[error("model.json: {0}")]
    ModelMeta(String),
    /// `model.json` was written for another schema version.
    #[error("model.json has schema_version {found}; this build reads versions 1 to {expected}")]
    ModelVersion { found: u64, expected: u64 },
    /// A module does not take or return the shapes `model.json` promises.
    #[error("{module}: {reason}")]
    ModelSignature { module: &'static str, reason: String },
    /// LibTorch raised an error while running a module.
    #[error("inference in {module} failed: {reason}")]
    Inference { module: &'static str, reason: String },
    /// An audio file path does not exist.
    #[error("{0}: no such file")]
    FileNotFound(PathBuf),
    /// An audio file path is a directory.
    #[error("{0}: is a directory, not an audio file")]
    IsDirectory(PathBuf),
    /// The file is empty (0 bytes).
    #[error("{0}: the file is empty")]
    EmptyFile(PathBuf),
    /// The file is not in an audio format we can read (or is damaged).
    #[error("{path}: not a readable audio file ({reason})")]
    UnreadableAudio { path: PathBuf, reason: String },
    /// The file decodes to no audio frames.
    #[error("{0}: contains no audio")]
    NoAudio(PathBuf),
    /// The file is longer than a one-shot may be.
    #[error("{path}: {seconds:.1} s long; a sample to encode may be at most {max_seconds:.0} s")]
    TooLong { path: PathBuf, seconds: f64, max_seconds: f64 },
    /// The file holds only silence (or denormal noise).
    #[error("{0}: is silent")]
    Silent(PathBuf),
    /// Writing a file failed.
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    /// An argument is out of its documented range.
    #[error("invalid {what}: {reason}")]
    InvalidArgument { what: &'static str, reason: String },
    /// Sample-rate conversion failed.
    #[error("resampling failed: {0}")]
    Resample(String),
    /// An export would replace these existing files; it wrote nothing (ask, then export again
    /// with overwriting allowed).
    #[error("nothing was written: {} file{} already exist{} ({})", .0.len(), if .0.len() == 1 { "" } else { "s" }, if .0.len() == 1 { "s" } else { "" }, path_list(.0))]
    ExportExists(Vec<PathBuf>),
    /// The inference worker thread is gone.
    #[error("the inference worker has stopped")]
    WorkerStopped,
}

fn path_list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Result alias of ndm-core.
pub type Result<T> = std::result::Result<T, Error>;
