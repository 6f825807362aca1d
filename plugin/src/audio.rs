//! The audio thread's logic: MIDI note-ons → pads (by the note map) → voices, mixed into the
//! main and auxiliary outputs; finished sounds from the worker are taken in every block.
//!
//! [`AudioCore::process`] *is* the plugin's `process()`: `Plugin::process` only gathers the host's
//! channel slices and hands over its event iterator, so the allocation and render tests
//! (`tests/no_alloc.rs`) drive exactly the code a host runs. Every path is allocation-, lock- and
//! panic-free; only in offline rendering does it wait (bounded, [`OFFLINE_WAIT`]) for pads whose
//! new sound is still being computed.

use crate::params::NdmParams;
use ndm_core::engine::RtLink;
use ndm_core::kit::{PadPlayback, AUX_OUTPUTS, CHOKE_GROUPS, OUTPUTS, PADS};
use ndm_core::voices::{Voices, CHUNK, MIX_CHANNELS};
use nice_plug::midi::{Key, NoteEvent};
use rtrb::Consumer;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Longest wait of an offline block for pads whose sound is being computed.
pub const OFFLINE_WAIT: Duration = Duration::from_secs(2);
/// Velocity of an audition from the editor.
pub const AUDITION_VELOCITY: f32 = 0.85;

/// The pads' playback settings for one block, with the note map and choke masks derived from
/// them (see [`NdmParams::kit_snapshot`]). Audio thread.
#[derive(Debug, Clone, Copy)]
pub struct KitSnapshot {
    /// Playback settings per pad.
    pub play: [PadPlayback; PADS],
    /// Bit mask of the pads each MIDI note plays (bit `p` = pad `p`).
    pub note_pads: [u16; 128],
    /// Bit mask of the pads in each choke group (index 0 unused).
    pub choke_masks: [u16; CHOKE_GROUPS as usize + 1],
}

impl Default for KitSnapshot {
    fn default() -> Self {
        KitSnapshot { play: [PadPlayback::default(); PADS], note_pads: [0; 128], choke_masks: [0; CHOKE_GROUPS as usize + 1] }
    }
}

/// Per-pad note-on counters, written by the audio thread and read by the editor (pad flash).
#[derive(Default)]
pub struct PadActivity {
    /// Voices started per pad since the plugin was created.
    pub plays: [AtomicU32; PADS],
}

/// The audio thread's state: the link to the inference worker, the voices, the kit snapshot and
/// the editor's audition queue. Created on the main thread with the plugin, then used only by
/// the audio thread (and by `activate()`, which the host never runs concurrently with
/// `process()`).
pub struct AudioCore {
    link: RtLink,
    voices: Voices,
    kit: KitSnapshot,
    audition: Consumer<u8>,
    activity: Arc<PadActivity>,
    /// Aux outputs of the current layout (pads routed beyond them play on main).
    aux_outputs: usize,
}

impl AudioCore {
    /// A core for output at `sample_rate` Hz (allocates the voices: call off the audio thread).
    pub fn new(link: RtLink, sample_rate: f32, audition: Consumer<u8>, activity: Arc<PadActivity>) -> Self {
        AudioCore { link, voices: Voices::new(sample_rate), kit: KitSnapshot::default(), audition, activity, aux_outputs: AUX_OUTPUTS }
    }

    /// Sets how many aux outputs the host's current layout has (at activation): a pad routed to
    /// an aux output beyond them plays on the main output instead of being lost.
    pub fn set_aux_outputs(&mut self, aux_outputs: usize) {
        self.aux_outputs = aux_outputs.min(AUX_OUTPUTS);
    }

    /// Changes the output sample rate (ringing voices follow at once; the worker then delivers
    /// every pad made for the new rate).
    pub fn set_sample_rate(&mut self, sample_rate: f32) {
        self.voices.set_output_rate(sample_rate);
    }

    /// Waits (at most `timeout`) until every pad has a sound — for `activate()`, which may block.
    /// A pad that already has one (from an earlier activation) is not waited for even if its
    /// recipe changed since: the first activation waits for all 16, a re-activation (new sample
    /// rate, new process mode) returns at once; offline rendering waits per note anyway. Returns
    /// false on timeout, or when the worker delivered everything it can and pads are still
    /// silent (no model and no stored sound).
    pub fn wait_for_pads(&mut self, timeout: Duration) -> bool {
        let all = |v: &Voices| (0..PADS).all(|p| v.current(p).is_some());
        self.link.sync_until(&mut self.voices, timeout, all) && all(&self.voices)
    }

    /// True when pad `pad` has a sound to play.
    pub fn has_sound(&self, pad: usize) -> bool {
        self.voices.current(pad).is_some()
    }

    /// Voices sounding now (including fading ones).
    pub fn active_voices(&self) -> usize {
        self.voices.active_voices()
    }

    /// Fades out every voice (reset, all notes off).
    pub fn choke_all(&mut self) {
        self.voices.choke_all();
    }

    /// One block: reads the pads' playback values from `params`, takes new sounds, then renders
    /// `frames` samples into `outputs` (channel slices: main L, main R, aux 1 L, aux 1 R, …; any
    /// may be shorter or empty when the host did not connect it), starting every note on its
    /// exact sample. `next_event` yields the block's events in time order (the host's
    /// `context.next_event()`). With `offline` true, the first note-on of the block waits (at most
    /// [`OFFLINE_WAIT`]) until the worker has delivered every pad whose parameters changed.
    pub fn process(
        &mut self,
        params: &NdmParams,
        offline: bool,
        frames: usize,
        mut next_event: impl FnMut() -> Option<NoteEvent<()>>,
        outputs: &mut [&mut [f32]],
    ) {
        params.kit_snapshot(&mut self.kit);
        for play in self.kit.play.iter_mut() {
            if usize::from(play.output) > self.aux_outputs {
                play.output = 0;
            }
        }
        self.voices.set_choke_groups(&self.kit.choke_masks);
        self.link.exchange(&mut self.voices);
        let mut synced = !offline;
        while let Ok(pad) = self.audition.pop() {
            let pad = usize::from(pad).min(PADS - 1);
            if !synced {
                self.link.sync(&mut self.voices, OFFLINE_WAIT);
                synced = true;
            }
            self.start_pad(pad, AUDITION_VELOCITY);
        }
        let mut event = next_event();
        let mut pos = 0;
        loop {
            // Events due at this sample (or earlier): a note starts exactly here.
            while let Some(e) = event {
                if (e.timing() as usize).min(frames) > pos {
                    break;
                }
                match e {
                    NoteEvent::NoteOn { key: Key::Number(note), velocity, .. } => {
                        if !synced {
                            self.link.sync(&mut self.voices, OFFLINE_WAIT);
                            synced = true;
                        }
                        self.note_on(note, velocity);
                    }
                    NoteEvent::Choke { key, .. } => {
                        let pads = match key {
                            Key::Number(n) => self.kit.note_pads[usize::from(n & 127)],
                            Key::Wildcard => u16::MAX,
                        };
                        self.voices.choke_pads(pads);
                    }
                    _ => {}
                }
                event = next_event();
            }
            if pos >= frames {
                break;
            }
            let until = event.map_or(frames, |e| (e.timing() as usize).clamp(pos, frames));
            let end = until.min(pos + CHUNK);
            self.render(pos, end, outputs);
            pos = end;
        }
    }

    /// Note-on of MIDI `note` (any channel): every pad mapped to it.
    fn note_on(&mut self, note: u8, velocity: f32) {
        let mut pads = self.kit.note_pads[usize::from(note & 127)];
        while pads != 0 {
            let pad = pads.trailing_zeros() as usize;
            pads &= pads - 1;
            self.start_pad(pad, velocity);
        }
    }

    fn start_pad(&mut self, pad: usize, velocity: f32) {
        if self.voices.note_on(pad, velocity, &self.kit.play[pad]) {
            self.activity.plays[pad].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Renders samples `start..end` (≤ [`CHUNK`] long) of the block into `outputs`.
    fn render(&mut self, start: usize, end: usize, outputs: &mut [&mut [f32]]) {
        let len = end - start;
        let mix = self.voices.render(len);
        for (ch, out) in outputs.iter_mut().enumerate().take(MIX_CHANNELS) {
            if let Some(dst) = out.get_mut(start..end) {
                dst.copy_from_slice(&mix[ch][..len]);
            } else if let Some(dst) = out.get_mut(start..) {
                let n = dst.len();
                dst.copy_from_slice(&mix[ch][..n]);
            }
        }
    }
}

/// Channel slices per output: `2 × OUTPUTS`.
pub const OUTPUT_CHANNELS: usize = 2 * OUTPUTS;
