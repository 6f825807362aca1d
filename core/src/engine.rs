//! The inference worker: one thread per engine instance that owns the [`ModelSet`], generates
//! sounds for the newest request, encodes dropped samples, and frees retired sounds.
//!
//! ```text
//! audio thread ── Request (rtrb, Copy) ──▶ worker ── Box<Sound> (rtrb) ──▶ audio thread
//! audio thread ── retired Box<Sound> (rtrb) ──▶ worker (frees it)
//! GUI/main     ── Command (mpsc) ──▶ worker ── Status (parking_lot::Mutex) ──▶ GUI
//! ```
//! Pattern after creek's client/server (MeadowlarkDAW) and nn_tilde's one compute thread per
//! instance. Requests are coalesced: only the newest pending one is computed.

use crate::audio_file::{decode_file, write_wav};
use crate::control::{Latent, SoundParams};
use crate::error::{Error, Result};
use crate::generate::{encode, generate, Encoded, Sound, Timing};
use crate::model::{configure_threads, ModelBytes, ModelSet};
use crate::voices::{PlaySettings, Voices};
use parking_lot::Mutex;
use rtrb::{Consumer, Producer, RingBuffer};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Capacity of the audio → worker request queue (coalesced, so small is fine).
const REQUEST_CAPACITY: usize = 64;
/// Capacity of the worker → audio sound queue.
const SOUND_CAPACITY: usize = 4;
/// Capacity of the audio → worker queue of retired sounds.
const RETIRED_CAPACITY: usize = 128;
/// How long the worker sleeps when idle before polling the queues again.
const IDLE_WAIT: Duration = Duration::from_millis(2);
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

impl ModelSource {
    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        match self {
            ModelSource::Dir(d) => d.display().to_string(),
            ModelSource::Bytes(_) => "embedded model set".into(),
        }
    }
}

/// What the audio thread asks for: the sound for `params` at `sample_rate` Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Sound parameters (the worker substitutes its own anchor, see [`Command::SetAnchor`]).
    pub params: SoundParams,
    /// Host sample rate in Hz.
    pub sample_rate: u32,
}

/// Non-real-time commands (GUI or main thread → worker).
#[derive(Debug)]
pub enum Command {
    /// Decode and encode an audio file under class weights `[C]` at pad range `range`; on success
    /// the anchor moves to its latent and [`Status::encoded`] is published.
    Encode { path: PathBuf, class_weights: Vec<f32>, range: f32 },
    /// Set or clear the anchor latent (state recall, "clear sample").
    SetAnchor(Option<Latent>),
    /// Write the current sound to a WAV file at the model's sample rate.
    ExportWav(PathBuf),
}

/// Model state as shown in the editor.
#[derive(Debug, Clone)]
pub enum ModelState {
    /// Loading in progress.
    Loading,
    /// Loaded: model name, where from, class names, model sample rate.
    Ready { name: String, source: String, classes: Vec<String>, sample_rate: u32 },
    /// Loading failed (the engine stays silent).
    Failed { source: String, error: String },
}

/// What the worker publishes for the editor. Written by the worker, read by the GUI thread.
#[derive(Debug, Clone)]
pub struct Status {
    /// Model state.
    pub model: ModelState,
    /// True while a sound is being computed.
    pub generating: bool,
    /// Last error (generation, encoding, export), cleared by the next success of that kind.
    pub last_error: Option<String>,
    /// Last informational message (e.g. "exported …").
    pub message: Option<String>,
    /// Counts finished sounds; the preview belongs to this number.
    pub sounds_made: u64,
    /// Min/max pairs of the latest sound, `[PREVIEW_COLUMNS][2]`.
    pub preview: Vec<[f32; 2]>,
    /// Params of the latest sound (with the anchor used).
    pub last_params: Option<SoundParams>,
    /// Stage timing of the latest sound.
    pub last_timing: Timing,
    /// Latest encoding result and a counter that increases with each.
    pub encoded: Option<(u64, Encoded)>,
    /// Current anchor latent.
    pub anchor: Option<Latent>,
}

/// The engine's non-real-time handle. Dropping it stops and joins the worker thread.
pub struct Engine {
    commands: mpsc::Sender<Command>,
    status: Arc<Mutex<Status>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The audio thread's end of the engine: post requests, receive sounds, hand back old ones.
/// Every method is wait-free and allocation-free.
pub struct RtLink {
    requests: Producer<Request>,
    sounds: Consumer<Box<Sound>>,
    retired: Producer<Box<Sound>>,
    last_posted: Option<Request>,
    waiting: Option<Box<Sound>>,
}

impl Engine {
    /// Starts the worker thread; it loads the model set (and warms it up) in the background.
    /// `intra_op_threads` is LibTorch's operator thread count on the worker (1 is best in a DAW).
    pub fn start(source: ModelSource, intra_op_threads: usize) -> (Engine, RtLink) {
        let (req_tx, req_rx) = RingBuffer::new(REQUEST_CAPACITY);
        let (snd_tx, snd_rx) = RingBuffer::new(SOUND_CAPACITY);
        let (ret_tx, ret_rx) = RingBuffer::new(RETIRED_CAPACITY);
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let status = Arc::new(Mutex::new(Status {
            model: ModelState::Loading,
            generating: false,
            last_error: None,
            message: None,
            sounds_made: 0,
            preview: Vec::new(),
            last_params: None,
            last_timing: Timing::default(),
            encoded: None,
            anchor: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            source,
            intra_op_threads,
            requests: req_rx,
            sounds: snd_tx,
            retired: ret_rx,
            commands: cmd_rx,
            status: status.clone(),
            stop: stop.clone(),
            model: None,
            anchor: None,
            pending: None,
            last_made: None,
            outgoing: None,
            current_copy: None,
            encodes: 0,
        };
        let thread = std::thread::Builder::new()
            .name("ndm-inference".into())
            .spawn(move || worker.run())
            .ok();
        let engine = Engine { commands: cmd_tx, status, stop, thread };
        let link = RtLink { requests: req_tx, sounds: snd_rx, retired: ret_tx, last_posted: None, waiting: None };
        (engine, link)
    }

    /// Sends a command to the worker.
    ///
    /// # Errors
    /// [`Error::WorkerStopped`] when the worker thread is gone.
    pub fn send(&self, command: Command) -> Result<()> {
        self.commands.send(command).map_err(|_| Error::WorkerStopped)?;
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
        Ok(())
    }

    /// A snapshot of the worker's status.
    pub fn status(&self) -> Status {
        self.status.lock().clone()
    }

    /// Runs `f` on the status without cloning it.
    pub fn with_status<R>(&self, f: impl FnOnce(&Status) -> R) -> R {
        f(&self.status.lock())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl RtLink {
    /// Posts `request` unless it equals the last one posted. Never blocks; when the queue is
    /// full the request is retried on the next call.
    pub fn post(&mut self, request: Request) {
        if self.last_posted == Some(request) {
            return;
        }
        if self.requests.push(request).is_ok() {
            self.last_posted = Some(request);
        }
    }

    /// Forgets the last posted request, so the next [`RtLink::post`] is sent even if unchanged
    /// (e.g. after the worker's anchor changed).
    pub fn repost(&mut self) {
        self.last_posted = None;
    }

    /// Moves finished sounds into `voices` and hands retired ones back to the worker.
    /// Returns true when a new sound became current.
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
}

/// The worker thread's state. Lives only on the worker thread.
struct Worker {
    source: ModelSource,
    intra_op_threads: usize,
    requests: Consumer<Request>,
    sounds: Producer<Box<Sound>>,
    retired: Consumer<Box<Sound>>,
    commands: mpsc::Receiver<Command>,
    status: Arc<Mutex<Status>>,
    stop: Arc<AtomicBool>,
    model: Option<ModelSet>,
    anchor: Option<Latent>,
    /// Newest request not yet computed.
    pending: Option<Request>,
    /// Request (with anchor) of the newest computed sound.
    last_made: Option<Request>,
    /// A finished sound the audio thread has not taken yet (queue full).
    outgoing: Option<Box<Sound>>,
    /// The current sound at the model rate, for export.
    current_copy: Option<Vec<f32>>,
    encodes: u64,
}

impl Worker {
    fn run(mut self) {
        configure_threads(self.intra_op_threads);
        self.load_model();
        while !self.stop.load(Ordering::Acquire) {
            while let Ok(old) = self.retired.pop() {
                drop(old);
            }
            let mut worked = false;
            while let Ok(cmd) = self.commands.try_recv() {
                self.handle(cmd);
                worked = true;
            }
            while let Ok(req) = self.requests.pop() {
                self.pending = Some(req);
            }
            if let Some(sound) = self.outgoing.take() {
                if let Err(rtrb::PushError::Full(s)) = self.sounds.push(sound) {
                    self.outgoing = Some(s);
                }
            }
            if let Some(req) = self.pending.take() {
                self.compute(req);
                worked = true;
            }
            if !worked {
                std::thread::park_timeout(IDLE_WAIT);
            }
        }
    }

    fn load_model(&mut self) {
        let source = self.source.describe();
        let loaded = match &self.source {
            ModelSource::Dir(dir) => ModelSet::load_dir(dir),
            ModelSource::Bytes(bytes) => ModelSet::from_bytes(bytes, &source),
        };
        let mut st = self.status.lock();
        match loaded {
            Ok(model) => {
                let m = model.meta();
                st.model = ModelState::Ready {
                    name: m.name.clone(),
                    source,
                    classes: m.classes.clone(),
                    sample_rate: m.sample_rate,
                };
                self.model = Some(model);
            }
            Err(e) => st.model = ModelState::Failed { source, error: e.to_string() },
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::SetAnchor(anchor) => {
                self.anchor = anchor;
                self.status.lock().anchor = anchor;
                self.regenerate();
            }
            Command::Encode { path, class_weights, range } => {
                let Some(model) = &self.model else {
                    self.status.lock().last_error = Some("cannot encode: no model loaded".into());
                    return;
                };
                let result = decode_file(&path).and_then(|audio| encode(model, &audio, &class_weights, range));
                match result {
                    Ok(enc) => {
                        self.encodes += 1;
                        self.anchor = Some(enc.latent);
                        let mut st = self.status.lock();
                        st.anchor = self.anchor;
                        st.encoded = Some((self.encodes, enc.clone()));
                        st.last_error = None;
                        st.message = Some(format!("encoded {}", path.display()));
                        drop(st);
                        // Regenerate at the sample's own pad position: the sample's sound.
                        if let Some(mut req) = self.last_made.or(self.pending) {
                            req.params.x = enc.position[0];
                            req.params.y = enc.position[1];
                            req.params.fine = enc.position[2];
                            req.params.variation = 0.0;
                            self.pending = Some(req);
                        }
                    }
                    Err(e) => self.status.lock().last_error = Some(e.to_string()),
                }
            }
            Command::ExportWav(path) => {
                let rate = self.model.as_ref().map(|m| m.meta().sample_rate);
                let result = match (&self.current_copy, rate) {
                    (Some(samples), Some(rate)) => write_wav(&path, samples, rate),
                    _ => Err(Error::InvalidArgument { what: "export", reason: "no sound generated yet".into() }),
                };
                let mut st = self.status.lock();
                match result {
                    Ok(()) => st.message = Some(format!("exported {}", path.display())),
                    Err(e) => st.last_error = Some(e.to_string()),
                }
            }
        }
    }

    /// Recomputes the latest sound (after an anchor change).
    fn regenerate(&mut self) {
        if self.pending.is_none() {
            self.pending = self.last_made;
            self.last_made = None;
        }
    }

    fn compute(&mut self, mut req: Request) {
        let Some(model) = &self.model else { return };
        req.params.anchor = self.anchor;
        if self.last_made == Some(req) {
            return;
        }
        self.status.lock().generating = true;
        // Generate at the model rate (kept for export), then resample to the host rate.
        let result = generate(model, &req.params, None).and_then(|native| {
            let samples = crate::dsp::resample(&native.samples, native.sample_rate, req.sample_rate)?;
            Ok((native, samples))
        });
        let mut st = self.status.lock();
        st.generating = false;
        match result {
            Ok((native, samples)) => {
                st.preview = preview(&native.samples, PREVIEW_COLUMNS);
                st.sounds_made += 1;
                st.last_params = Some(req.params);
                st.last_timing = native.timing;
                st.last_error = None;
                drop(st);
                let sound = Box::new(Sound { samples, sample_rate: req.sample_rate, params: req.params, timing: native.timing });
                self.current_copy = Some(native.samples);
                self.last_made = Some(req);
                // A newer sound replaces one the audio thread has not taken yet (freed here).
                self.outgoing = None;
                if let Err(rtrb::PushError::Full(s)) = self.sounds.push(sound) {
                    self.outgoing = Some(s);
                }
            }
            Err(e) => st.last_error = Some(e.to_string()),
        }
    }
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

/// The audio thread's whole engine side in one struct: link + voices + settings, for hosts that
/// want the simplest use (the plugin and tests).
pub struct Player {
    /// Link to the worker.
    pub link: RtLink,
    /// The voices.
    pub voices: Voices,
}

impl Player {
    /// A player for output at `output_rate` Hz.
    pub fn new(link: RtLink, output_rate: f32) -> Self {
        Player { link, voices: Voices::new(output_rate) }
    }

    /// Per-block housekeeping: post `request`, take new sounds, return old ones.
    pub fn update(&mut self, request: Request) -> bool {
        self.link.post(request);
        self.link.exchange(&mut self.voices)
    }

    /// Starts a note (see [`Voices::note_on`]).
    pub fn note_on(&mut self, velocity: f32, settings: &PlaySettings) {
        self.voices.note_on(velocity, settings);
    }
}
