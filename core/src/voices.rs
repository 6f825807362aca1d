//! The real-time side: polyphonic one-shot voices over a fixed set of sound slots.
//!
//! Everything here runs on the audio thread: no allocation, no lock, no blocking call, no panic
//! path on valid indices. Sounds arrive as `Box<Sound>` (allocated by the worker) and leave the
//! same way through [`Voices::retire`], to be freed on the worker. A voice keeps playing the sound
//! that was current at its note-on, so a sound change never cuts a ringing note.

use crate::generate::Sound;

/// Most voices that can sound at once.
pub const MAX_VOICES: usize = 64;
/// Sound slots: one per voice plus the current sound plus one free, so a new sound always finds a
/// free slot without stealing.
const SLOTS: usize = MAX_VOICES + 2;
/// Fade applied to a stolen or choked voice, in seconds.
const STEAL_FADE_S: f32 = 0.003;

/// Playback settings, read from parameters each block.
#[derive(Debug, Clone, Copy)]
pub struct PlaySettings {
    /// Output gain, linear.
    pub gain: f32,
    /// Velocity sensitivity in [0, 1]: gain = (1 − s) + s · velocity² (≈ −12 dB at half velocity
    /// and full sensitivity).
    pub velocity_sensitivity: f32,
    /// Tune in semitones (playback-rate change with linear interpolation), [-24, 24].
    pub tune_semitones: f32,
    /// Length trim as a fraction of the sound, (0, 1]; below 1 the tail fades out linearly over
    /// the last fifth of the kept part.
    pub length: f32,
    /// Voices allowed at once, 1..=[`MAX_VOICES`]; the oldest is faded out beyond that.
    pub polyphony: usize,
}

impl Default for PlaySettings {
    fn default() -> Self {
        PlaySettings { gain: 1.0, velocity_sensitivity: 0.8, tune_semitones: 0.0, length: 1.0, polyphony: 16 }
    }
}

impl PlaySettings {
    /// Gain for a note-on velocity in [0, 1].
    pub fn velocity_gain(&self, velocity: f32) -> f32 {
        let v = velocity.clamp(0.0, 1.0);
        let s = self.velocity_sensitivity.clamp(0.0, 1.0);
        (1.0 - s) + s * v * v
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Voice {
    active: bool,
    slot: usize,
    /// Read position in samples of the sound.
    pos: f64,
    /// Read increment per output sample.
    step: f64,
    gain: f32,
    /// Position where the voice ends (length trim).
    end: f64,
    /// Position where the length-trim fade starts.
    fade_start: f64,
    /// Remaining samples of a steal/choke fade (0 = not fading).
    kill_left: u32,
    kill_len: u32,
    /// Note-on order, for stealing the oldest voice.
    age: u64,
}

/// Fixed-size voice and sound-slot arrays. Touched only by the audio thread (after construction).
pub struct Voices {
    slots: [Option<Box<Sound>>; SLOTS],
    users: [u16; SLOTS],
    current: Option<usize>,
    voices: [Voice; MAX_VOICES],
    notes: u64,
    output_rate: f32,
}

impl Voices {
    /// Empty voices for output at `output_rate` Hz (allocates; call off the audio thread).
    pub fn new(output_rate: f32) -> Self {
        Voices {
            slots: std::array::from_fn(|_| None),
            users: [0; SLOTS],
            current: None,
            voices: [Voice::default(); MAX_VOICES],
            notes: 0,
            output_rate: output_rate.max(1.0),
        }
    }

    /// Changes the output sample rate (sounds at another rate are played pitch-corrected).
    pub fn set_output_rate(&mut self, rate: f32) {
        self.output_rate = rate.max(1.0);
    }

    /// Makes `sound` the current sound. Voices already playing keep their sound. When every slot
    /// is taken (retired sounds not yet handed back), the sound is returned to try again later:
    /// dropping it here would free memory on the audio thread.
    pub fn install(&mut self, sound: Box<Sound>) -> Result<(), Box<Sound>> {
        match (0..SLOTS).find(|&i| self.slots[i].is_none()) {
            Some(idx) => {
                self.slots[idx] = Some(sound);
                self.current = Some(idx);
                Ok(())
            }
            None => Err(sound),
        }
    }

    /// The current sound, if any.
    pub fn current(&self) -> Option<&Sound> {
        self.current.and_then(|i| self.slots[i].as_deref())
    }

    /// Hands every sound that is neither current nor playing to `free` (e.g. a ring-buffer push
    /// back to the worker). `free` returns the sound when it cannot take it now; it is kept and
    /// offered again next time.
    pub fn retire(&mut self, mut free: impl FnMut(Box<Sound>) -> Option<Box<Sound>>) {
        for i in 0..SLOTS {
            if self.users[i] == 0 && Some(i) != self.current {
                if let Some(sound) = self.slots[i].take() {
                    if let Some(back) = free(sound) {
                        self.slots[i] = Some(back);
                        return;
                    }
                }
            }
        }
    }

    /// Starts a voice of the current sound with `velocity` in [0, 1]. Silently does nothing when no
    /// sound is loaded yet.
    pub fn note_on(&mut self, velocity: f32, settings: &PlaySettings) {
        let Some(slot) = self.current else { return };
        let Some((sound_len, sound_rate)) = self.slots[slot].as_deref().map(|s| (s.samples.len(), s.sample_rate)) else { return };
        let polyphony = settings.polyphony.clamp(1, MAX_VOICES);
        // Fade out the oldest sounding voices beyond the polyphony limit (incl. the new one).
        let sounding = self.voices.iter().filter(|v| v.active && v.kill_left == 0).count();
        for _ in 0..(sounding + 1).saturating_sub(polyphony) {
            if let Some(oldest) = self.oldest(|v| v.kill_left == 0) {
                self.start_kill(oldest);
            }
        }
        let idx = match self.voices.iter().position(|v| !v.active) {
            Some(i) => i,
            None => {
                // All physical voices busy (mostly fading): cut the oldest.
                let i = self.oldest(|_| true).unwrap_or(0);
                self.stop(i);
                i
            }
        };
        let len = sound_len as f64;
        let length = f64::from(if settings.length.is_finite() { settings.length.clamp(0.01, 1.0) } else { 1.0 });
        let end = len * length;
        let tune = if settings.tune_semitones.is_finite() { settings.tune_semitones.clamp(-24.0, 24.0) } else { 0.0 };
        let step = 2f64.powf(f64::from(tune) / 12.0) * f64::from(sound_rate) / f64::from(self.output_rate);
        self.notes += 1;
        self.voices[idx] = Voice {
            active: true,
            slot,
            pos: 0.0,
            step,
            gain: settings.velocity_gain(velocity),
            end,
            fade_start: if length < 1.0 { end * 0.8 } else { end },
            kill_left: 0,
            kill_len: 0,
            age: self.notes,
        };
        self.users[slot] += 1;
    }

    /// Adds the sum of all voices into `out` (mono; the caller copies to each channel), scaled by
    /// `gain`.
    pub fn render(&mut self, out: &mut [f32], gain: f32) {
        let gain = if gain.is_finite() { gain.clamp(0.0, 16.0) } else { 0.0 };
        for vi in 0..MAX_VOICES {
            if !self.voices[vi].active {
                continue;
            }
            let finished = match self.slots[self.voices[vi].slot].as_deref() {
                Some(sound) => render_voice(&mut self.voices[vi], &sound.samples, out, gain),
                None => true,
            };
            if finished {
                self.stop(vi);
            }
        }
    }

    /// Fades out every voice quickly (choke / all notes off).
    pub fn choke_all(&mut self) {
        for i in 0..MAX_VOICES {
            if self.voices[i].active && self.voices[i].kill_left == 0 {
                self.start_kill(i);
            }
        }
    }

    /// Voices currently sounding (including fading ones).
    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| v.active).count()
    }

    fn oldest(&self, filter: impl Fn(&Voice) -> bool) -> Option<usize> {
        (0..MAX_VOICES)
            .filter(|&i| self.voices[i].active && filter(&self.voices[i]))
            .min_by_key(|&i| self.voices[i].age)
    }

    fn start_kill(&mut self, i: usize) {
        let len = ((STEAL_FADE_S * self.output_rate) as u32).max(1);
        self.voices[i].kill_len = len;
        self.voices[i].kill_left = len;
    }

    fn stop(&mut self, i: usize) {
        if self.voices[i].active {
            self.voices[i].active = false;
            let slot = self.voices[i].slot;
            self.users[slot] = self.users[slot].saturating_sub(1);
        }
    }
}

/// Renders one voice into `out`; returns true when the voice has ended. Steady stretches (no
/// fade) at the sound's own rate run as a plain multiply-add that the compiler vectorises.
fn render_voice(v: &mut Voice, data: &[f32], out: &mut [f32], gain: f32) -> bool {
    let n = out.len();
    let mut i = 0;
    while i < n {
        if v.pos >= v.end || (v.kill_len > 0 && v.kill_left == 0) {
            return true;
        }
        let g = v.gain * gain;
        if v.kill_len == 0 && v.pos < v.fade_start {
            let steady = (((v.fade_start - v.pos) / v.step).ceil() as usize).clamp(1, n - i);
            if v.step == 1.0 && v.pos.fract() == 0.0 {
                let p = v.pos as usize;
                let avail = data.len().saturating_sub(p).min(steady);
                for (o, s) in out[i..i + avail].iter_mut().zip(&data[p..p + avail]) {
                    *o += s * g;
                }
            } else {
                for o in &mut out[i..i + steady] {
                    *o += sample_at(data, v.pos) * g;
                    v.pos += v.step;
                }
                i += steady;
                continue;
            }
            v.pos += steady as f64;
            i += steady;
            continue;
        }
        // Fading sample by sample: length-trim fade and/or steal fade.
        let mut gs = g;
        if v.pos > v.fade_start {
            gs *= ((v.end - v.pos) / (v.end - v.fade_start)).max(0.0) as f32;
        }
        if v.kill_len > 0 {
            gs *= v.kill_left as f32 / v.kill_len as f32;
            v.kill_left -= 1;
        }
        out[i] += sample_at(data, v.pos) * gs;
        v.pos += v.step;
        i += 1;
    }
    false
}

/// Linear interpolation of `data` at fractional position `pos` (0 past the end).
#[inline]
fn sample_at(data: &[f32], pos: f64) -> f32 {
    let i = pos as usize;
    let frac = (pos - i as f64) as f32;
    let a = data.get(i).copied().unwrap_or(0.0);
    let b = data.get(i + 1).copied().unwrap_or(0.0);
    a + (b - a) * frac
}
