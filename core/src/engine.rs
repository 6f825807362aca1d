//! The inference worker of a kit: one thread per engine instance that owns the [`ModelSet`],
//! keeps every pad's sound up to date with its [`KitSource`], encodes dropped samples, and frees
//! retired sounds.
//!
//! ```text
//! params (atomics) ──KitSource, polled──▶ worker ── Box<Sound> per pad (rtrb) ──▶ audio thread
//! audio thread ── retired Box<Sound> (rtrb) ──▶ worker (frees it)
//! audio thread / main ── sync request (atomic) ──▶ worker ── sync done (atomic) ──▶
//! GUI/main     ── Command (mpsc) ──▶ worker ── Status (StatusHandle, a mutex) ──▶ GUI, state save
//! ```
//! The worker reads the kit itself (every [`POLL_INTERVAL`] while idle), so a parameter change
//! reaches it whether or not the host calls `process()`. Requests are coalesced per pad: a pad is
//! regenerated only when its recipe key changed, and only its newest recipe is computed. Tune and
//! the host sample rate are applied by resampling the pad's stored model-rate sound, without a
//! model call. Pattern after creek's client/server (MeadowlarkDAW) and nn_tilde's one compute
//! thread per instance.

use crate::audio_file::{decode_file, write_wav};
use crate::dsp;
use crate::error::{Error, Result};
use crate::generate::{encode_refined, generate_detailed, Encoded, Sound, Timing};
use crate::refine::{RefineOptions, RefineProgress};
use crate::kit::{KitSource, NativeAudio, PADS};
use crate::model::{configure_threads, ModelBytes, ModelSet};
use crate::voices::Voices;
use parking_lot::{Mutex, MutexGuard};
use rtrb::{Consumer, Producer, RingBuffer};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// Capacity of the worker → audio sound queue (every pad can have a sound in flight, twice).
const SOUND_CAPACITY: usize = 2 * PADS;
/// Capacity of the audio → worker queue of retired sounds.
const RETIRED_CAPACITY: usize = 256;
/// How long the worker sleeps when idle before reading the kit again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Columns of the waveform preview published for the editor.
pub const PREVIEW_COLUMNS: usize = 256;

/// Where the worker loads its model set from.
#[derive(Clone)]
pub enum ModelSource {
    /// A directory with `model.json`, `decoder.pt`, `mcnn.pt`, `encoder.pt`.
    Dir(PathBuf),
    /// Bytes compiled into the binary.
    Bytes(&'static ModelBytes<'static>),
}

impl std::fmt::Debug for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl ModelSource {
    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        match self {
            ModelSource::Dir(d) => d.display().to_string(),
            ModelSource::Bytes(_) => "embedded model set".into(),
        }
    }
}

/// Non-real-time commands (GUI or main thread → worker).
#[derive(Debug)]
pub enum Command {
    /// Loads (or reloads, e.g. after a failure) the model set. Pads keep their sounds; a pad is
    /// regenerated only when its recipe key differs from its sound's.
    Load(ModelSource),
    /// Switches to another model set (the model chooser): loads it like [`Command::Load`] and,
    /// once it has loaded, regenerates every pad with it (stored and recalled sounds are
    /// replaced; each pad keeps playing its old sound until its new one is made). When loading
    /// fails, the previous model stays loaded and the pads keep their sounds.
    Switch(ModelSource),
    /// Decodes and encodes an audio file for pad `pad` under class weights `[C]` at pad range
    /// `range`; the result is published in [`Status::encoded`] (the owner of the kit then anchors
    /// the pad on it, which changes the pad's recipe). The encoder's guess is refined under
    /// `refine` ([`crate::refine`]; progress in [`Status::encoding`]).
    Encode { pad: usize, path: PathBuf, class_weights: Vec<f32>, range: f32, refine: RefineOptions },
    /// A pad's sound recalled from a saved project: played as it is (no model call) for as long as
    /// the pad's recipe key equals `key`.
    SetStored { pad: usize, key: u64, audio: Arc<NativeAudio> },
    /// Writes pad `pad`'s sound to a WAV file at the model's sample rate.
    ExportWav { pad: usize, path: PathBuf },
}

/// Model state as shown in the editor.
#[derive(Debug, Clone)]
pub enum ModelState {
    /// Not asked to load yet (the plugin loads at activation).
    Idle,
    /// Loading in progress.
    Loading { source: String },
    /// Loaded: model name, where from (a folder, or "embedded model set"), class names, model
    /// sample rate, and the set's hash ([`ModelSet::hash`]).
    Ready { name: String, source: String, classes: Vec<String>, sample_rate: u32, hash: String },
    /// Loading failed: pads keep the sounds they have (e.g. from the saved project).
    Failed { source: String, error: String },
}

/// One pad as the worker last made it.
#[derive(Debug, Clone, Default)]
pub struct PadStatus {
    /// The pad's sound at the model rate (what a project saves), and its recipe key.
    pub audio: Option<(u64, Arc<NativeAudio>)>,
    /// True when `audio` came from a saved project rather than from the model.
    pub from_state: bool,
    /// Counts new sounds of this pad; `preview` belongs to this number.
    pub version: u64,
    /// Min/max pairs of the sound, `[PREVIEW_COLUMNS][2]`.
    pub preview: Arc<Vec<[f32; 2]>>,
    /// Stage timing of the last generation.
    pub timing: Timing,
    /// Last generation error of this pad (the pad keeps its previous sound).
    pub error: Option<String>,
}

/// An encoding in progress (the editor shows it: refinement takes up to ~1.5 s a sample).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeProgress {
    /// The pad the sample was dropped on.
    pub pad: usize,
    /// File name of the sample.
    pub sample_name: String,
    /// Refinement steps done and planned.
    pub step: usize,
    /// Refinement steps planned (0: no refinement).
    pub steps: usize,
    /// Best log-Mel L1 between the sample and its decoded latent so far, in dB.
    pub loss_db: f32,
}

/// The result of a [`Command::Encode`].
#[derive(Debug, Clone)]
pub struct EncodeResult {
    /// Increases with each result.
    pub serial: u64,
    /// The pad the sample was dropped on.
    pub pad: usize,
    /// The sample's latent and pad position.
    pub encoded: Encoded,
    /// File name of the sample.
    pub sample_name: String,
}

/// What the worker publishes. Written by the worker; read by the GUI thread and by the main
/// thread when a project is saved.
#[derive(Debug, Clone)]
pub struct Status {
    /// Model state.
    pub model: ModelState,
    /// The pad being computed now.
    pub generating: Option<usize>,
    /// The encoding being computed now.
    pub encoding: Option<EncodeProgress>,
    /// Last error (loading, encoding, export), cleared by the next success of that kind.
    pub last_error: Option<String>,
    /// Last informational message (e.g. "exported …").
    pub message: Option<String>,
    /// Every pad.
    pub pads: [PadStatus; PADS],
    /// Sounds generated by the model since start (not counting recalled or resampled ones).
    pub sounds_made: u64,
    /// Latest encoding result.
    pub encoded: Option<EncodeResult>,
    /// The last [`ENCODED_KEPT`] encoding results, oldest first (several files dropped at once
    /// finish between two editor frames: each must reach its pad).
    pub encoded_recent: VecDeque<EncodeResult>,
}

/// How many encoding results [`Status::encoded_recent`] keeps (one per pad).
pub const ENCODED_KEPT: usize = PADS;

impl Default for Status {
    fn default() -> Self {
        Status {
            model: ModelState::Idle,
            generating: None,
            encoding: None,
            last_error: None,
            message: None,
            pads: std::array::from_fn(|_| PadStatus::default()),
            sounds_made: 0,
            encoded: None,
            encoded_recent: VecDeque::new(),
        }
    }
}

/// Shared handle to a worker's [`Status`]. Cloneable; the lock is held only briefly by the
/// worker and never by the audio thread.
#[derive(Clone, Default)]
pub struct StatusHandle(Arc<Mutex<Status>>);

impl StatusHandle {
    /// A fresh status (model not loaded).
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks the status (GUI, main and worker threads only).
    pub fn lock(&self) -> MutexGuard<'_, Status> {
        self.0.lock()
    }
}

/// Atomics shared by the worker, the audio thread and the engine handle.
struct Shared {
    stop: AtomicBool,
    /// Host sample rate in Hz (0 = not activated yet: nothing is delivered).
    host_rate: AtomicU32,
    /// Raised by [`RtLink::sync`]; the worker answers in `sync_done` once every pad it has read
    /// after seeing the request is delivered.
    sync_request: AtomicU64,
    sync_done: AtomicU64,
    /// Offline waits that ran out of time (reported in the editor).
    sync_timeouts: Arc<AtomicU64>,
}

/// The engine's non-real-time handle. Dropping it stops and joins the worker thread.
pub struct Engine {
    commands: mpsc::Sender<Command>,
    status: StatusHandle,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A cloneable sender of [`Command`]s to one engine's worker (GUI and main threads).
#[derive(Clone)]
pub struct Commander {
    tx: mpsc::Sender<Command>,
    worker: Option<Thread>,
}

impl Commander {
    /// Sends a command and wakes the worker.
    ///
    /// # Errors
    /// [`Error::WorkerStopped`] when the worker thread is gone.
    pub fn send(&self, command: Command) -> Result<()> {
        self.tx.send(command).map_err(|_| Error::WorkerStopped)?;
        if let Some(t) = &self.worker {
            t.unpark();
        }
        Ok(())
    }
}

/// The audio thread's end of the engine: receive sounds, hand back old ones, and (offline or at
/// activation only) wait for the worker. [`RtLink::exchange`] is wait-free and allocation-free.
pub struct RtLink {
    sounds: Consumer<Box<Sound>>,
    retired: Producer<Box<Sound>>,
    shared: Arc<Shared>,
    worker: Option<Thread>,
    waiting: Option<Box<Sound>>,
}

/// How an engine is started.
pub struct EngineConfig {
    /// Where the worker reads the pads' targets.
    pub kit: Arc<dyn KitSource>,
    /// Where the worker publishes its status (created by the owner, so that it can be shared
    /// before the engine exists).
    pub status: StatusHandle,
    /// LibTorch's operator thread count on the worker (1 is best in a DAW).
    pub intra_op_threads: usize,
}

impl Engine {
    /// Starts the worker thread. It loads no model until [`Command::Load`] arrives, so an
    /// instance that is only scanned costs one idle thread.
    pub fn start(config: EngineConfig) -> (Engine, RtLink) {
        let (snd_tx, snd_rx) = RingBuffer::new(SOUND_CAPACITY);
        let (ret_tx, ret_rx) = RingBuffer::new(RETIRED_CAPACITY);
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            host_rate: AtomicU32::new(0),
            sync_request: AtomicU64::new(0),
            sync_done: AtomicU64::new(0),
            sync_timeouts: Arc::new(AtomicU64::new(0)),
        });
        let worker = Worker {
            kit: config.kit,
            intra_op_threads: config.intra_op_threads,
            sounds: snd_tx,
            retired: ret_rx,
            commands: cmd_rx,
            status: config.status.clone(),
            shared: shared.clone(),
            model: None,
            pads: std::array::from_fn(|_| PadState::default()),
            outgoing: VecDeque::with_capacity(4 * PADS),
            encodes: 0,
        };
        let thread = std::thread::Builder::new().name("ndm-inference".into()).spawn(move || worker.run()).ok();
        let handle = thread.as_ref().map(|t| t.thread().clone());
        let engine = Engine { commands: cmd_tx, status: config.status, shared: shared.clone(), thread };
        let link = RtLink { sounds: snd_rx, retired: ret_tx, shared, worker: handle, waiting: None };
        (engine, link)
    }

    /// Sends a command to the worker.
    ///
    /// # Errors
    /// [`Error::WorkerStopped`] when the worker thread is gone.
    pub fn send(&self, command: Command) -> Result<()> {
        self.commands.send(command).map_err(|_| Error::WorkerStopped)?;
        self.wake();
        Ok(())
    }

    /// A sender of commands that can be kept apart from the engine (it does not keep the worker
    /// alive).
    pub fn commander(&self) -> Commander {
        Commander { tx: self.commands.clone(), worker: self.thread.as_ref().map(|t| t.thread().clone()) }
    }

    /// Sets the host sample rate the pads are delivered at (main thread, at activation).
    pub fn set_sample_rate(&self, rate: f32) {
        let rate = if rate.is_finite() && rate >= 1.0 { rate.round() as u32 } else { 44_100 };
        self.shared.host_rate.store(rate, Ordering::Release);
        self.wake();
    }

    /// The status handle.
    pub fn status(&self) -> &StatusHandle {
        &self.status
    }

    /// Counter of the waits ([`RtLink::sync`]) that ran out of time since start (for the editor).
    pub fn sync_timeouts(&self) -> Arc<AtomicU64> {
        self.shared.sync_timeouts.clone()
    }

    fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl RtLink {
    /// Moves finished sounds into `voices` and hands retired ones back to the worker. Wait-free
    /// and allocation-free. Returns true when a pad got a new sound.
    pub fn exchange(&mut self, voices: &mut Voices) -> bool {
        let mut changed = false;
        loop {
            let next = match self.waiting.take() {
                Some(s) => s,
                None => match self.sounds.pop() {
                    Ok(s) => s,
                    Err(_) => break,
                },
            };
            match voices.install(next) {
                Ok(()) => changed = true,
                Err(back) => {
                    self.waiting = Some(back);
                    break;
                }
            }
            // Give the replaced sound back right away so slots stay free.
            voices.retire(|s| self.retired.push(s).err().map(|rtrb::PushError::Full(s)| s));
        }
        voices.retire(|s| self.retired.push(s).err().map(|rtrb::PushError::Full(s)| s));
        changed
    }

    /// Waits, at most `timeout`, until the worker has read the kit once more and delivered every
    /// pad whose target changed, then takes the sounds into `voices`. **Blocks**: call it only
    /// where waiting is allowed (offline rendering, activation), never in real-time processing.
    /// Allocation-free. Returns false when the time ran out (then what has arrived is installed,
    /// and the timeout is counted for [`Engine::sync_timeouts`]).
    pub fn sync(&mut self, voices: &mut Voices, timeout: Duration) -> bool {
        self.sync_until(voices, timeout, |_| false)
    }

    /// [`RtLink::sync`] that also returns (true) as soon as `enough(voices)` holds, e.g. once
    /// every pad has some sound. **Blocks**, allocation-free.
    pub fn sync_until(&mut self, voices: &mut Voices, timeout: Duration, enough: impl Fn(&Voices) -> bool) -> bool {
        let ticket = self.shared.sync_request.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(t) = &self.worker {
            t.unpark();
        }
        let deadline = Instant::now() + timeout;
        let mut ok = true;
        while self.shared.sync_done.load(Ordering::Acquire) < ticket {
            self.exchange(voices);
            if enough(voices) {
                return true;
            }
            if self.worker.is_none() || Instant::now() >= deadline {
                self.shared.sync_timeouts.fetch_add(1, Ordering::Relaxed);
                ok = false;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        self.exchange(voices);
        ok
    }
}

/// What the worker knows of one pad.
#[derive(Default)]
struct PadState {
    /// The pad's sound at the model rate and its recipe key.
    native: Option<(u64, Arc<NativeAudio>)>,
    /// What was last delivered to the audio thread: (key, tune bits, host rate).
    delivered: Option<(u64, u32, u32)>,
    /// Key whose generation failed (not retried until the recipe changes or the model reloads).
    failed: Option<u64>,
}

/// The worker thread's state. Lives only on the worker thread.
struct Worker {
    kit: Arc<dyn KitSource>,
    intra_op_threads: usize,
    sounds: Producer<Box<Sound>>,
    retired: Consumer<Box<Sound>>,
    commands: mpsc::Receiver<Command>,
    status: StatusHandle,
    shared: Arc<Shared>,
    model: Option<ModelSet>,
    pads: [PadState; PADS],
    /// Finished sounds the audio thread has not taken yet (queue full).
    outgoing: VecDeque<Box<Sound>>,
    encodes: u64,
}

impl Worker {
    fn run(mut self) {
        configure_threads(self.intra_op_threads);
        while !self.shared.stop.load(Ordering::Acquire) {
            while let Ok(old) = self.retired.pop() {
                drop(old);
            }
            let mut worked = false;
            while let Ok(cmd) = self.commands.try_recv() {
                self.handle(cmd);
                worked = true;
            }
            let ticket = self.shared.sync_request.load(Ordering::Acquire);
            worked |= self.update_pads();
            self.flush();
            if self.outgoing.is_empty() {
                self.shared.sync_done.fetch_max(ticket, Ordering::AcqRel);
            }
            if !worked {
                std::thread::park_timeout(POLL_INTERVAL);
            }
        }
    }

    fn flush(&mut self) {
        while let Some(sound) = self.outgoing.pop_front() {
            if let Err(rtrb::PushError::Full(s)) = self.sounds.push(sound) {
                self.outgoing.push_front(s);
                break;
            }
        }
    }

    /// Loads a model set; returns true on success (on failure the worker has no model).
    fn load_model(&mut self, source: ModelSource) -> bool {
        let described = source.describe();
        self.status.lock().model = ModelState::Loading { source: described.clone() };
        let loaded = match &source {
            ModelSource::Dir(dir) => ModelSet::load_dir(dir),
            ModelSource::Bytes(bytes) => ModelSet::from_bytes(bytes, &described),
        };
        let mut st = self.status.lock();
        match loaded {
            Ok(model) => {
                let m = model.meta();
                st.model = ModelState::Ready {
                    name: m.name.clone(),
                    source: described,
                    classes: m.classes.clone(),
                    sample_rate: m.sample_rate,
                    hash: model.hash().to_string(),
                };
                st.last_error = None;
                self.model = Some(model);
                for pad in &mut self.pads {
                    pad.failed = None;
                }
                true
            }
            Err(e) => {
                st.model = ModelState::Failed { source: described, error: e.to_string() };
                self.model = None;
                false
            }
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Load(source) => {
                self.load_model(source);
            }
            Command::Switch(source) => {
                let previous = self.model.take();
                let previous_state = self.status.lock().model.clone();
                if self.load_model(source) {
                    for pad in &mut self.pads {
                        pad.native = None;
                    }
                } else {
                    // Keep the model that works; report the failure.
                    let mut st = self.status.lock();
                    if let ModelState::Failed { source, error } = &st.model {
                        st.last_error = Some(format!("cannot switch to {source}: {error}"));
                    }
                    if previous.is_some() {
                        st.model = previous_state;
                    }
                    drop(st);
                    self.model = previous;
                }
            }
            Command::SetStored { pad, key, audio } => {
                if let Some(p) = self.pads.get_mut(pad) {
                    p.native = Some((key, audio.clone()));
                    p.delivered = None;
                    p.failed = None;
                    let mut st = self.status.lock();
                    let ps = &mut st.pads[pad];
                    ps.preview = Arc::new(preview(&audio.to_f32(), PREVIEW_COLUMNS));
                    ps.audio = Some((key, audio));
                    ps.from_state = true;
                    ps.version += 1;
                    ps.error = None;
                }
            }
            Command::Encode { pad, path, class_weights, range, refine } => {
                let Some(model) = &self.model else {
                    self.status.lock().last_error = Some("cannot encode: no model loaded".into());
                    return;
                };
                let sample_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let progress = EncodeProgress { pad, sample_name: sample_name.clone(), step: 0, steps: refine.steps, loss_db: f32::NAN };
                self.status.lock().encoding = Some(progress);
                let status = self.status.clone();
                let mut report = |p: RefineProgress| {
                    if let Some(e) = status.lock().encoding.as_mut() {
                        e.step = p.step;
                        e.loss_db = p.loss_db;
                    }
                };
                let result = decode_file(&path).and_then(|audio| encode_refined(model, &audio, &class_weights, range, &refine, &mut report));
                let mut st = self.status.lock();
                st.encoding = None;
                match result {
                    Ok(encoded) => {
                        self.encodes += 1;
                        let fit = match encoded.refined {
                            Some(r) if r.kept_guess => format!("fit {:.1} dB, not refined", r.start_db),
                            Some(r) => format!("fit {:.1} dB, refined from {:.1} dB", r.loss_db, r.start_db),
                            None => format!("fit {:.1} dB", encoded.guess_db),
                        };
                        st.message = Some(format!("encoded {sample_name} onto pad {} ({fit})", pad + 1));
                        let result = EncodeResult { serial: self.encodes, pad, encoded, sample_name };
                        if st.encoded_recent.len() >= ENCODED_KEPT {
                            st.encoded_recent.pop_front();
                        }
                        st.encoded_recent.push_back(result.clone());
                        st.encoded = Some(result);
                        st.last_error = None;
                    }
                    Err(e) => st.last_error = Some(e.to_string()),
                }
            }
            Command::ExportWav { pad, path } => {
                let result = match self.pads.get(pad).and_then(|p| p.native.as_ref()) {
                    Some((_, audio)) => write_wav(&path, &audio.to_f32(), audio.sample_rate),
                    None => Err(Error::InvalidArgument { what: "export", reason: format!("pad {} has no sound yet", pad + 1) }),
                };
                let mut st = self.status.lock();
                match result {
                    Ok(()) => st.message = Some(format!("exported pad {} to {}", pad + 1, path.display())),
                    Err(e) => st.last_error = Some(e.to_string()),
                }
            }
        }
    }

    /// Reads every pad's target and brings the pads up to date: generates the ones whose key
    /// changed (model call), re-delivers the ones whose tune or host rate changed (resampling).
    /// Returns true when anything was computed.
    fn update_pads(&mut self) -> bool {
        let rate = self.shared.host_rate.load(Ordering::Acquire);
        if rate == 0 {
            return false;
        }
        let mut worked = false;
        for pad in 0..PADS {
            let target = self.model.as_ref().map(|m| (self.kit.target(pad, m.meta()), self.kit.playable(pad, m.meta())));
            if let Some((target, playable)) = target {
                let state = &self.pads[pad];
                let stale = state.native.as_ref().is_none_or(|(k, _)| *k != target.key);
                if stale && state.failed != Some(target.key) {
                    let has_sound = state.native.is_some() || state.delivered.is_some();
                    match playable {
                        Ok(()) => self.generate_pad(pad, target.key, &target.params),
                        Err(reason) if has_sound => {
                            // Not generated: the pad keeps the sound it has and says why.
                            self.status.lock().pads[pad].error = Some(reason);
                            self.pads[pad].failed = Some(target.key);
                        }
                        Err(reason) => {
                            // Nothing to keep: the model's fallback (its first class) rather than
                            // a silent pad, and the reason stays shown.
                            self.generate_pad(pad, target.key, &target.params);
                            self.status.lock().pads[pad].error = Some(format!("{reason} (playing its first class meanwhile)"));
                        }
                    }
                    worked = true;
                }
            }
            let tune = self.kit.tune_semitones(pad);
            let tune = if tune.is_finite() { tune.clamp(-24.0, 24.0) } else { 0.0 };
            let Some((key, audio)) = self.pads[pad].native.clone() else { continue };
            let want = (key, tune.to_bits(), rate);
            if self.pads[pad].delivered == Some(want) {
                continue;
            }
            worked = true;
            match resample_tuned(&audio, rate, tune) {
                Ok(samples) => {
                    let params = crate::control::SoundParams::for_class(0);
                    let sound = Box::new(Sound { samples, sample_rate: rate, pad, params, timing: Timing::default() });
                    // A newer sound of the same pad replaces one not taken yet (freed here).
                    self.outgoing.retain(|s| s.pad != pad);
                    self.outgoing.push_back(sound);
                    self.pads[pad].delivered = Some(want);
                }
                Err(e) => {
                    self.status.lock().pads[pad].error = Some(e.to_string());
                    self.pads[pad].delivered = Some(want);
                }
            }
            self.flush();
        }
        worked
    }

    fn generate_pad(&mut self, pad: usize, key: u64, params: &crate::control::SoundParams) {
        let Some(model) = &self.model else { return };
        self.status.lock().generating = Some(pad);
        let residual = self.kit.detail(pad);
        let result = generate_detailed(model, params, residual.as_deref(), None);
        let mut st = self.status.lock();
        st.generating = None;
        match result {
            Ok(sound) => {
                let audio = Arc::new(NativeAudio::from_f32(&sound.samples, sound.sample_rate));
                st.sounds_made += 1;
                let ps = &mut st.pads[pad];
                ps.preview = Arc::new(preview(&sound.samples, PREVIEW_COLUMNS));
                ps.audio = Some((key, audio.clone()));
                ps.from_state = false;
                ps.version += 1;
                ps.timing = sound.timing;
                ps.error = None;
                self.pads[pad].native = Some((key, audio));
                self.pads[pad].failed = None;
            }
            Err(e) => {
                st.pads[pad].error = Some(e.to_string());
                self.pads[pad].failed = Some(key);
            }
        }
    }
}

/// `audio` at `host_rate` Hz, pitched by `tune` semitones (a playback-rate change: up is
/// shorter), band-limited: rubato's FFT resampler without tune, its sinc resampler with tune.
///
/// # Errors
/// [`Error::Resample`].
pub fn resample_tuned(audio: &NativeAudio, host_rate: u32, tune: f32) -> Result<Vec<f32>> {
    let samples = audio.to_f32();
    if tune == 0.0 {
        return dsp::resample(&samples, audio.sample_rate, host_rate);
    }
    let ratio = f64::from(host_rate) / f64::from(audio.sample_rate) / 2f64.powf(f64::from(tune) / 12.0);
    dsp::resample_ratio(&samples, ratio)
}

/// Min/max pairs of `samples` over `columns` equal spans (for a waveform view).
pub fn preview(samples: &[f32], columns: usize) -> Vec<[f32; 2]> {
    if samples.is_empty() || columns == 0 {
        return Vec::new();
    }
    (0..columns)
        .map(|c| {
            let a = c * samples.len() / columns;
            let b = ((c + 1) * samples.len() / columns).max(a + 1).min(samples.len());
            let span = &samples[a..b];
            [span.iter().copied().fold(f32::MAX, f32::min), span.iter().copied().fold(f32::MIN, f32::max)]
        })
        .collect()
}
