//! A minimal headless CLAP host built on `clack-host` 0.2: loads the bundled `.clap`, lists its
//! parameters and ports, saves/loads state, and runs processing on a dedicated audio thread while
//! the calling (main) thread services the plugin's `request_callback`s.

use clack_extensions::audio_ports_config::PluginAudioPortsConfig;
use clack_extensions::audio_ports::{AudioPortFlags, AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::note_ports::{NotePortInfoBuffer, PluginNotePorts};
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent};
use clack_host::events::Match;
use clack_host::prelude::*;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The plugin's audio-ports configuration with main + 8 aux stereo outputs.
pub const KIT_PORT_CONFIG: u32 = 1;

/// The id nice-plug's wrappers give a parameter: a hash of its string id
/// (`nice_plug::wrapper::util::hash_param_id`, 31·h + byte, top bit cleared).
pub fn param_hash(string_id: &str) -> u32 {
    let mut hash: u32 = 0;
    for b in string_id.bytes() {
        hash = hash.wrapping_mul(31).wrapping_add(b as u32);
    }
    hash & !(1 << 31)
}

// ---------------------------------------------------------------------------------------------
// Host handlers

pub struct TestHost;

#[derive(Default)]
pub struct TestHostShared {
    callback_requested: AtomicBool,
    restart_requests: AtomicU64,
    process_requests: AtomicU64,
}

impl SharedHandler<'_> for TestHostShared {
    fn request_restart(&self) {
        self.restart_requests.fetch_add(1, Ordering::Relaxed);
    }
    fn request_process(&self) {
        self.process_requests.fetch_add(1, Ordering::Relaxed);
    }
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::Release);
    }
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

// ---------------------------------------------------------------------------------------------
// Plugin

/// One parameter as the plugin describes it over CLAP.
#[derive(Clone, Debug)]
pub struct ParamDesc {
    pub id: u32,
    pub name: String,
    pub module: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    pub stepped: bool,
}

impl ParamDesc {
    /// The CLAP value for a position `t` in 0..1 of the parameter's range (rounded for stepped
    /// parameters).
    pub fn at(&self, t: f64) -> f64 {
        let v = self.min + t.clamp(0.0, 1.0) * (self.max - self.min);
        if self.stepped {
            v.round()
        } else {
            v
        }
    }
}

/// One audio port as the plugin describes it.
#[derive(Clone, Debug)]
pub struct PortInfo {
    pub id: u32,
    pub name: String,
    pub channels: u32,
    pub is_main: bool,
}

/// A loaded, instantiated (not yet active) plugin.
pub struct Plugin {
    // Field order matters: the instance must be dropped before the entry (library).
    instance: PluginInstance<TestHost>,
    pub params: Vec<ParamDesc>,
    _entry: PluginEntry,
}

pub fn host_info() -> HostInfo {
    HostInfo::new(
        "ndm-tests",
        "Neural Drum Machine developers",
        "https://example.invalid",
        "0.1.0",
    )
    .unwrap()
}

impl Plugin {
    /// Loads `target/bundled/Neural Drum Machine.clap` and instantiates the NDM plugin.
    pub fn load_bundle() -> Self {
        Self::load(&crate::paths::clap_bundle(), crate::paths::CLAP_ID)
    }

    pub fn load(path: &Path, plugin_id: &str) -> Self {
        let path: PathBuf = path.to_path_buf();
        // SAFETY: loading a plugin library runs its initialisers; that is what a host does.
        let entry = unsafe { PluginEntry::load(&path) }
            .unwrap_or_else(|e| panic!("cannot load CLAP entry {}: {e:?}", path.display()));
        // Keep the library loaded for the rest of the process, as most hosts do: unloading and
        // reloading LibTorch (dlclose with its thread pools alive) is not what is under test.
        std::mem::forget(entry.clone());
        let factory = entry
            .get_plugin_factory()
            .expect("the CLAP entry has a plugin factory");
        let ids: Vec<String> = factory
            .plugin_descriptors()
            .filter_map(|d| d.id().map(|id| id.to_string_lossy().into_owned()))
            .collect();
        assert!(
            ids.iter().any(|id| id == plugin_id),
            "plugin id {plugin_id:?} not offered by {} (it offers {ids:?})",
            path.display()
        );
        let id = CString::new(plugin_id).unwrap();
        let instance = PluginInstance::<TestHost>::new(
            |_| TestHostShared::default(),
            |_| (),
            &entry,
            &id,
            &host_info(),
        )
        .unwrap_or_else(|e| panic!("cannot instantiate {plugin_id}: {e:?}"));
        let mut plugin = Plugin {
            instance,
            params: Vec::new(),
            _entry: entry,
        };
        plugin.params = plugin.read_params();
        // The plugin's default port configuration (0) is the main stereo mix alone; the kit
        // configuration (1) adds the 8 stereo aux outputs. Select it, as a musician does in a
        // CLAP host to get per-pad outputs.
        assert!(plugin.select_port_config(KIT_PORT_CONFIG), "the kit port configuration could not be selected");
        plugin
    }

    /// Selects audio-ports configuration `id` (deactivated plugin only). False when the plugin
    /// has no audio-ports-config extension or refuses.
    pub fn select_port_config(&mut self, id: u32) -> bool {
        let handle = self.instance.plugin_handle();
        let Some(ext) = handle.get_extension::<PluginAudioPortsConfig>() else {
            return false;
        };
        ext.select(&handle, ClapId::new(id)).is_ok()
    }

    fn read_params(&mut self) -> Vec<ParamDesc> {
        let handle = self.instance.plugin_handle();
        let Some(ext) = handle.get_extension::<PluginParams>() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut buffer = ParamInfoBuffer::new();
        for i in 0..ext.count(&handle) {
            let info = ext.get_info(&handle, i, &mut buffer).expect("param info");
            out.push(ParamDesc {
                id: info.id.get(),
                name: String::from_utf8_lossy(info.name).into_owned(),
                module: String::from_utf8_lossy(info.module).into_owned(),
                min: info.min_value,
                max: info.max_value,
                default: info.default_value,
                stepped: info.flags.contains(ParamInfoFlags::IS_STEPPED),
            });
        }
        out
    }

    /// The parameter with nice-plug string id `string_id`.
    pub fn param(&self, string_id: &str) -> &ParamDesc {
        let id = param_hash(string_id);
        self.params.iter().find(|p| p.id == id).unwrap_or_else(|| {
            panic!(
                "the plugin has no parameter with string id {string_id:?} (CLAP id {id}); it has: {:?}",
                self.params.iter().map(|p| (&p.name, p.id)).collect::<Vec<_>>()
            )
        })
    }

    /// The current CLAP value of a parameter.
    pub fn param_value(&mut self, string_id: &str) -> f64 {
        let id = self.param(string_id).id;
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginParams>()
            .expect("params extension");
        ext.get_value(&handle, ClapId::new(id))
            .expect("param value")
    }

    /// The plugin's own text for the CLAP value `value` of a parameter (`params.value_to_text`,
    /// what a host shows).
    pub fn param_text(&mut self, string_id: &str, value: f64) -> String {
        let id = self.param(string_id).id;
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginParams>()
            .expect("params extension");
        let mut buf = [0u8; 256];
        match ext.value_to_text(&handle, ClapId::new(id), value, &mut buf) {
            Ok(text) => String::from_utf8_lossy(text).into_owned(),
            Err(_) => panic!("{string_id}: value_to_text({value}) failed"),
        }
    }

    /// Sets parameters while the plugin is inactive (`params.flush`, as a host does when the
    /// user edits a parameter of a stopped plugin). Values are CLAP values.
    pub fn flush_params(&mut self, values: &[(&str, f64)]) {
        let mut events = EventBuffer::with_capacity(values.len());
        for (string_id, value) in values {
            let id = self.param(string_id).id;
            events.push(&ParamValueEvent::new(
                0,
                ClapId::new(id),
                Pckn::match_all(),
                *value,
            ));
        }
        let mut out = EventBuffer::new();
        let mut handle = self
            .instance
            .inactive_plugin_handle()
            .expect("plugin is inactive");
        let ext = handle
            .get_extension::<PluginParams>()
            .expect("params extension");
        ext.flush(&mut handle, &events.as_input(), &mut out.as_output());
        self.pump_main_thread();
    }

    /// `(input, output)` audio ports as `(channel_count)` lists.
    pub fn audio_ports(&mut self) -> (Vec<u32>, Vec<u32>) {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginAudioPorts>()
            .expect("audio-ports extension");
        let mut buf = AudioPortInfoBuffer::new();
        let mut list = |is_input: bool| -> Vec<u32> {
            (0..ext.count(&handle, is_input))
                .map(|i| {
                    ext.get(&handle, i, is_input, &mut buf)
                        .expect("port info")
                        .channel_count
                })
                .collect()
        };
        (list(true), list(false))
    }

    /// Every audio port of one direction, as the plugin describes it.
    pub fn audio_port_infos(&mut self, is_input: bool) -> Vec<PortInfo> {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginAudioPorts>()
            .expect("audio-ports extension");
        let mut buf = AudioPortInfoBuffer::new();
        (0..ext.count(&handle, is_input))
            .map(|i| {
                let info = ext.get(&handle, i, is_input, &mut buf).expect("port info");
                PortInfo {
                    id: info.id.get(),
                    name: String::from_utf8_lossy(info.name).into_owned(),
                    channels: info.channel_count,
                    is_main: info.flags.contains(AudioPortFlags::IS_MAIN),
                }
            })
            .collect()
    }

    /// Switches the render mode (`clap_plugin_render.set`): `true` = offline (a bounce: the
    /// plugin may take its time in `process()`), `false` = real time. Call while inactive (the
    /// next [`Plugin::run`] activates in that mode), as a host does before a bounce.
    pub fn set_render_mode(&mut self, offline: bool) {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginRender>()
            .expect("the plugin has no render extension (clap_plugin_render)");
        let mode = if offline {
            RenderMode::Offline
        } else {
            RenderMode::Realtime
        };
        ext.set(&handle, mode)
            .unwrap_or_else(|e| panic!("render mode {mode:?} refused: {e}"));
        self.pump_main_thread();
    }

    /// How many restarts the plugin has requested (`host.request_restart`).
    pub fn restart_requests(&self) -> u64 {
        self.instance
            .access_shared_handler(|s| s.restart_requests.load(Ordering::Relaxed))
    }

    /// `(input, output)` note port counts.
    pub fn note_ports(&mut self) -> (u32, u32) {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginNotePorts>()
            .expect("note-ports extension");
        let mut buf = NotePortInfoBuffer::new();
        if ext.count(&handle, true) > 0 {
            ext.get(&handle, 0, true, &mut buf).expect("note port info");
        }
        (ext.count(&handle, true), ext.count(&handle, false))
    }

    pub fn save_state(&mut self) -> Vec<u8> {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginState>()
            .expect("state extension");
        let mut out = Vec::new();
        ext.save(&handle, &mut out).expect("state save");
        out
    }

    pub fn load_state(&mut self, state: &[u8]) {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginState>()
            .expect("state extension");
        let mut reader = state;
        ext.load(&handle, &mut reader).expect("state load");
        self.pump_main_thread();
    }

    /// Runs the plugin's `on_main_thread` if it asked for it.
    pub fn pump_main_thread(&mut self) {
        let requested = self
            .instance
            .access_shared_handler(|s| s.callback_requested.swap(false, Ordering::AcqRel));
        if requested {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Activates the plugin with `sample_rate` and `max_frames`, starts processing on a fresh
    /// audio thread, runs `f` there, then stops processing and deactivates. Meanwhile this
    /// (main) thread services the plugin's main-thread callbacks. Every output port the plugin
    /// declares gets its buffers (see [`Processor::outputs`]).
    pub fn run<T: Send>(
        &mut self,
        sample_rate: f64,
        max_frames: u32,
        f: impl FnOnce(&mut Processor) -> T + Send,
    ) -> T {
        let out_channels: Vec<u32> = self.audio_ports().1;
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_frames,
        };
        let stopped = self
            .instance
            .activate(|_, _| (), config)
            .unwrap_or_else(|e| panic!("activation at {sample_rate} Hz failed: {e:?}"));
        let result = std::thread::scope(|scope| {
            let audio = scope.spawn(move || {
                let started = stopped.start_processing().expect("start_processing");
                let mut p = Processor::new(started, sample_rate, max_frames, &out_channels);
                let out = f(&mut p);
                (p.proc.stop_processing(), out)
            });
            while !audio.is_finished() {
                self.pump_main_thread();
                std::thread::sleep(Duration::from_millis(1));
            }
            audio.join()
        });
        match result {
            Ok((stopped, out)) => {
                self.instance.deactivate(stopped);
                self.pump_main_thread();
                out
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processing

/// Output magnitude regarded as silence by the readiness loops (a sound's tail may decay into
/// denormals rather than end at exactly zero).
pub const SILENCE: f32 = 1e-6;

/// An input event, timed in samples from the start of the block (or of a [`Processor::render`]
/// call).
#[derive(Clone, Copy, Debug)]
pub enum Ev {
    NoteOn {
        time: u32,
        key: u8,
        velocity: f64,
    },
    NoteOff {
        time: u32,
        key: u8,
    },
    /// A CLAP parameter value event (the CLAP value, see [`ParamDesc::at`]).
    Param {
        time: u32,
        id: u32,
        value: f64,
    },
    /// A raw MIDI 1.0 message on note port 0.
    Midi {
        time: u32,
        data: [u8; 3],
    },
}

impl Ev {
    pub fn time(&self) -> u32 {
        match *self {
            Ev::NoteOn { time, .. }
            | Ev::NoteOff { time, .. }
            | Ev::Param { time, .. }
            | Ev::Midi { time, .. } => time,
        }
    }

    fn with_time(mut self, t: u32) -> Self {
        match &mut self {
            Ev::NoteOn { time, .. }
            | Ev::NoteOff { time, .. }
            | Ev::Param { time, .. }
            | Ev::Midi { time, .. } => *time = t,
        }
        self
    }
}

/// An active, processing plugin on the audio thread.
pub struct Processor {
    proc: StartedPluginAudioProcessor<TestHost>,
    pub sample_rate: f64,
    pub max_frames: u32,
    steady_time: u64,
    /// Channel count of each output port (port 0 = main).
    port_channels: Vec<u32>,
    /// Output channels of every port, in port order (main L, main R, aux 1 L, …).
    outs: Vec<Vec<f32>>,
    /// Frames of the last block.
    last_frames: usize,
    in_events: EventBuffer,
    out_events: EventBuffer,
    out_ports: AudioPorts,
    sorted: Vec<Ev>,
    /// Value written into the output buffers before each `process()` (the plugin must overwrite
    /// every sample). 0 by default; the fuzz test uses NaN.
    pub prefill: f32,
}

impl Processor {
    fn new(
        proc: StartedPluginAudioProcessor<TestHost>,
        sample_rate: f64,
        max_frames: u32,
        port_channels: &[u32],
    ) -> Self {
        assert!(
            port_channels.first().copied().unwrap_or(0) >= 2,
            "the plugin's first output port is not stereo: {port_channels:?}"
        );
        let total: usize = port_channels.iter().map(|&c| c as usize).sum();
        Processor {
            proc,
            sample_rate,
            max_frames,
            steady_time: 0,
            port_channels: port_channels.to_vec(),
            outs: vec![vec![0.0; max_frames as usize]; total],
            last_frames: 0,
            in_events: EventBuffer::with_capacity(256),
            out_events: EventBuffer::with_capacity(256),
            out_ports: AudioPorts::with_capacity(total, port_channels.len()),
            sorted: Vec::with_capacity(256),
            prefill: 0.0,
        }
    }

    /// Output ports connected (all the plugin declares).
    pub fn port_count(&self) -> usize {
        self.port_channels.len()
    }

    /// Total output channels over all ports.
    pub fn channel_count(&self) -> usize {
        self.outs.len()
    }

    /// Index into [`Processor::outputs`] of channel `ch` of output port `port`.
    pub fn channel_index(&self, port: usize, ch: usize) -> usize {
        assert!(ch < self.port_channels[port] as usize);
        self.port_channels[..port]
            .iter()
            .map(|&c| c as usize)
            .sum::<usize>()
            + ch
    }

    /// Every output channel of the last block (main L, main R, aux 1 L, aux 1 R, …).
    pub fn outputs(&self) -> Vec<&[f32]> {
        self.outs.iter().map(|c| &c[..self.last_frames]).collect()
    }

    /// One `process()` call of `frames` (1..=max_frames) samples with `events` (times within the
    /// block, any order). Returns the main stereo output; [`Processor::outputs`] has every port.
    pub fn process(&mut self, frames: usize, events: &[Ev]) -> (&[f32], &[f32]) {
        assert!(
            frames >= 1 && frames <= self.max_frames as usize,
            "block size {frames}"
        );
        self.sorted.clear();
        self.sorted.extend_from_slice(events);
        self.sorted.sort_by_key(|e| e.time());
        self.in_events.clear();
        for e in &self.sorted {
            assert!(
                (e.time() as usize) < frames,
                "event {e:?} outside a {frames}-sample block"
            );
            match *e {
                Ev::NoteOn {
                    time,
                    key,
                    velocity,
                } => self.in_events.push(&NoteOnEvent::new(
                    time,
                    Pckn::new(0u16, 0u16, key as u16, Match::All),
                    velocity,
                )),
                Ev::NoteOff { time, key } => self.in_events.push(&NoteOffEvent::new(
                    time,
                    Pckn::new(0u16, 0u16, key as u16, Match::All),
                    0.0,
                )),
                Ev::Param { time, id, value } => self.in_events.push(&ParamValueEvent::new(
                    time,
                    ClapId::new(id),
                    Pckn::match_all(),
                    value,
                )),
                Ev::Midi { time, data } => self.in_events.push(&MidiEvent::new(time, 0, data)),
            }
        }
        self.out_events.clear();
        let prefill = self.prefill;
        for ch in &mut self.outs {
            ch[..frames].fill(prefill);
        }
        {
            let mut rest: &mut [Vec<f32>] = &mut self.outs;
            let mut ports: Vec<AudioPortBuffer<_, _>> =
                Vec::with_capacity(self.port_channels.len());
            for &n in &self.port_channels {
                let (mine, tail) = std::mem::take(&mut rest).split_at_mut(n as usize);
                rest = tail;
                let channels: Vec<&mut [f32]> = mine.iter_mut().map(|c| &mut c[..frames]).collect();
                ports.push(AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_output_only(channels.into_iter()),
                });
            }
            let mut outputs = self.out_ports.with_output_buffers(ports);
            let inputs = InputAudioBuffers::empty();
            self.proc
                .process(
                    &inputs,
                    &mut outputs,
                    &self.in_events.as_input(),
                    &mut self.out_events.as_output(),
                    Some(self.steady_time),
                    None,
                )
                .expect("process() failed");
        }
        self.steady_time += frames as u64;
        self.last_frames = frames;
        (&self.outs[0][..frames], &self.outs[1][..frames])
    }

    /// Renders `frames` samples in blocks of at most `block` samples, delivering `events` (times
    /// relative to the start of this call) in the right blocks. Returns every output channel
    /// (main L, main R, aux 1 L, …), `frames` samples each.
    pub fn render_all(&mut self, frames: usize, block: usize, events: &[Ev]) -> Vec<Vec<f32>> {
        self.render_blocks(frames, |_| block, events)
    }

    /// Like [`Processor::render_all`], with the size of each block chosen by `block_size(i)` for
    /// the `i`-th block (clamped to 1..=max_frames).
    pub fn render_blocks(
        &mut self,
        frames: usize,
        mut block_size: impl FnMut(usize) -> usize,
        events: &[Ev],
    ) -> Vec<Vec<f32>> {
        let mut out: Vec<Vec<f32>> = (0..self.outs.len())
            .map(|_| Vec::with_capacity(frames))
            .collect();
        let mut pos = 0usize;
        let mut block_events = Vec::new();
        let mut i = 0usize;
        while pos < frames {
            let n = block_size(i)
                .clamp(1, self.max_frames as usize)
                .min(frames - pos);
            i += 1;
            block_events.clear();
            block_events.extend(
                events
                    .iter()
                    .filter(|e| (e.time() as usize) >= pos && (e.time() as usize) < pos + n)
                    .map(|e| e.with_time(e.time() - pos as u32)),
            );
            self.process(n, &block_events);
            for (dst, src) in out.iter_mut().zip(&self.outs) {
                dst.extend_from_slice(&src[..n]);
            }
            pos += n;
        }
        out
    }

    /// Renders `frames` samples in blocks of at most `block` samples, delivering `events` (times
    /// relative to the start of this call) in the right blocks. Returns the main (left, right).
    pub fn render(&mut self, frames: usize, block: usize, events: &[Ev]) -> (Vec<f32>, Vec<f32>) {
        let mut all = self.render_all(frames, block, events);
        all.truncate(2);
        let r = all.pop().unwrap();
        let l = all.pop().unwrap();
        (l, r)
    }

    /// Renders silence (no events) until 4 consecutive `block`-sized blocks are silent
    /// (`|s| <= SILENCE`), or `timeout` passes. Returns whether it went silent.
    pub fn render_until_silent(&mut self, block: usize, timeout: Duration) -> bool {
        let start = Instant::now();
        let mut silent = 0;
        while start.elapsed() < timeout {
            let (l, r) = self.process(block.min(self.max_frames as usize), &[]);
            if l.iter().chain(r).all(|&s| s.abs() <= SILENCE) {
                silent += 1;
                if silent >= 4 {
                    return true;
                }
            } else {
                silent = 0;
            }
        }
        false
    }

    /// Plays a note (`events` first, then a note-on of `key`/`velocity` at sample 0) and renders
    /// `frames` samples of it, repeating (after letting the output go silent and sleeping a
    /// little) until the output is non-silent or `timeout` passes. Use this after activation or
    /// a parameter change, while the plugin's worker may still be generating the sound. `accept`
    /// can reject a non-silent take (e.g. "still the old sound") to keep waiting.
    pub fn play_when_ready(
        &mut self,
        key: u8,
        velocity: f64,
        frames: usize,
        block: usize,
        timeout: Duration,
        mut accept: impl FnMut(&[f32], &[f32]) -> bool,
    ) -> Option<(Vec<f32>, Vec<f32>)> {
        let start = Instant::now();
        let silence_block = block.min(self.max_frames as usize);
        loop {
            let (l, r) = self.render(
                frames,
                block,
                &[Ev::NoteOn {
                    time: 0,
                    key,
                    velocity,
                }],
            );
            let sounding = l.iter().chain(&r).any(|&s| s.abs() > SILENCE);
            if sounding && accept(&l, &r) {
                return Some((l, r));
            }
            if start.elapsed() > timeout {
                return None;
            }
            if sounding {
                self.render_until_silent(silence_block, Duration::from_secs(10));
            }
            // Keep the "audio thread" going in real-ish time while the worker runs.
            std::thread::sleep(Duration::from_millis(5));
            self.process(silence_block, &[]);
        }
    }
}
