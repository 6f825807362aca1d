//! The real-time side: polyphonic one-shot voices of a 16-pad kit over a fixed set of sound slots,
//! mixed into a main and [`AUX_OUTPUTS`](crate::kit::AUX_OUTPUTS) stereo outputs.
//!
//! Everything here runs on the audio thread: no allocation, no lock, no blocking call, no panic
//! path on valid indices. Sounds arrive as `Box<Sound>` (allocated by the worker), each tagged with
//! its pad, and leave the same way through [`Voices::retire`], to be freed on the worker. A voice
//! keeps playing the sound that was current for its pad at its note-on, so a sound change never
//! cuts a ringing note. Voices never stop abruptly: stealing and choking fade out over
//! [`FADE_S`] (3 ms).

use crate::generate::Sound;
use crate::kit::{PadPlayback, CHOKE_GROUPS, OUTPUTS, PADS};

/// Most voices sounding at once (not counting voices that are fading out).
pub const MAX_VOICES: usize = 64;
/// Physical voices: the sounding ones plus room for voices that are fading out, so a steal
/// fades the old voice instead of cutting it.
const PHYSICAL_VOICES: usize = MAX_VOICES + 32;
/// Sound slots: one per physical voice plus, per pad, the current sound and one free slot.
const SLOTS: usize = PHYSICAL_VOICES + 2 * PADS;
/// Fade applied to a stolen or choked voice, in seconds.
pub const FADE_S: f32 = 0.003;
/// Samples mixed per call of [`Voices::render`].
pub const CHUNK: usize = 256;
/// Mix channels: left and right of every output.
pub const MIX_CHANNELS: usize = 2 * OUTPUTS;

#[derive(Debug, Clone, Copy, Default)]
struct Voice {
    active: bool,
    pad: usize,
    slot: usize,
    /// Read position in samples of the sound.
    pos: f64,
    gain_l: f32,
    gain_r: f32,
    /// Output index (0 = main).
    output: usize,
    /// Position where the voice ends (length trim).
    end: f64,
    /// Position where the length-trim fade starts.
    fade_start: f64,
    /// Remaining samples of a steal/choke fade (0 with `kill_len` 0 = not fading).
    kill_left: u32,
    kill_len: u32,
    /// Note-on order, for stealing the oldest voice.
    age: u64,
}

impl Voice {
    fn fading(&self) -> bool {
        self.kill_len > 0
    }
}

/// Fixed-size voice, sound-slot and mix arrays. Touched only by the audio thread after
/// construction.
pub struct Voices {
    slots: [Option<Box<Sound>>; SLOTS],
    users: [u16; SLOTS],
    current: [Option<usize>; PADS],
    voices: [Voice; PHYSICAL_VOICES],
    notes: u64,
    output_rate: f32,
    /// Bit mask of the pads in each choke group (index 0 unused), see [`Voices::set_choke_groups`].
    group_masks: [u16; CHOKE_GROUPS as usize + 1],
    /// The mix of the last [`Voices::render`] call, `[MIX_CHANNELS][CHUNK]`: output `o` is
    /// channels `2o` (left) and `2o + 1` (right).
    mix: Box<[[f32; CHUNK]; MIX_CHANNELS]>,
}

impl Voices {
    /// Empty voices for output at `output_rate` Hz (allocates; call off the audio thread).
    pub fn new(output_rate: f32) -> Self {
        Voices {
            slots: std::array::from_fn(|_| None),
            users: [0; SLOTS],
            current: [None; PADS],
            voices: [Voice::default(); PHYSICAL_VOICES],
            notes: 0,
            output_rate: sane_rate(output_rate),
            group_masks: [0; CHOKE_GROUPS as usize + 1],
            mix: Box::new([[0.0; CHUNK]; MIX_CHANNELS]),
        }
    }

    /// Changes the output sample rate. Ringing voices follow at once: the read step is derived
    /// from each sound's own rate at every render, so a sound made for another rate plays at its
    /// right pitch until the worker delivers one made for this rate.
    pub fn set_output_rate(&mut self, rate: f32) {
        self.output_rate = sane_rate(rate);
    }

    /// The output sample rate in Hz.
    pub fn output_rate(&self) -> f32 {
        self.output_rate
    }

    /// Makes `sound` the current sound of its pad (`sound.pad`). Voices already playing keep
    /// their sound. When every slot is taken (retired sounds not yet handed back), the sound is
    /// returned to try again later: dropping it here would free memory on the audio thread.
    pub fn install(&mut self, sound: Box<Sound>) -> Result<(), Box<Sound>> {
        if sound.pad >= PADS {
            return Err(sound);
        }
        match (0..SLOTS).find(|&i| self.slots[i].is_none()) {
            Some(idx) => {
                self.current[sound.pad] = Some(idx);
                self.slots[idx] = Some(sound);
                Ok(())
            }
            None => Err(sound),
        }
    }

    /// The current sound of pad `pad`, if any.
    pub fn current(&self, pad: usize) -> Option<&Sound> {
        self.current.get(pad).copied().flatten().and_then(|i| self.slots[i].as_deref())
    }

    /// Hands every sound that is neither current nor playing to `free` (e.g. a ring-buffer push
    /// back to the worker). `free` returns the sound when it cannot take it now; it is kept and
    /// offered again next time.
    pub fn retire(&mut self, mut free: impl FnMut(Box<Sound>) -> Option<Box<Sound>>) {
        for i in 0..SLOTS {
            if self.users[i] == 0 && !self.current.contains(&Some(i)) {
                if let Some(sound) = self.slots[i].take() {
                    if let Some(back) = free(sound) {
                        self.slots[i] = Some(back);
                        return;
                    }
                }
            }
        }
    }

    /// Starts a voice of pad `pad`'s current sound with `velocity` in [0, 1] and the pad's
    /// `play` settings; first fades out the other pads of its choke group. Returns false (and
    /// does nothing) when the pad is muted or has no sound yet.
    pub fn note_on(&mut self, pad: usize, velocity: f32, play: &PadPlayback) -> bool {
        if pad >= PADS || play.mute {
            return false;
        }
        let Some(slot) = self.current[pad] else { return false };
        let Some(sound_len) = self.slots[slot].as_deref().map(|s| s.samples.len()) else { return false };
        if play.choke_group != 0 {
            let group = usize::from(play.choke_group.min(CHOKE_GROUPS));
            self.choke_pads(self.group_masks[group] & !(1u16 << pad));
        }
        // Fade out the oldest sounding voices beyond the limit (including the new one).
        let sounding = self.voices.iter().filter(|v| v.active && !v.fading()).count();
        for _ in 0..(sounding + 1).saturating_sub(MAX_VOICES) {
            if let Some(oldest) = self.pick(|v| !v.fading(), |v| v.age) {
                self.start_fade(oldest);
            }
        }
        let idx = match self.voices.iter().position(|v| !v.active) {
            Some(i) => i,
            None => {
                // Every physical voice is busy, so at least 32 are fading: reuse the one closest
                // to the end of its fade (at most a few per cent of its level is left).
                let i = self.pick(|v| v.fading(), |v| u64::from(v.kill_left)).unwrap_or(0);
                self.stop(i);
                i
            }
        };
        let len = sound_len as f64;
        let length = f64::from(if play.length.is_finite() { play.length.clamp(0.01, 1.0) } else { 1.0 });
        let end = len * length;
        let gain = play.velocity_gain(velocity) * if play.gain.is_finite() { play.gain.clamp(0.0, 16.0) } else { 0.0 };
        let (pl, pr) = play.pan_gains();
        self.notes += 1;
        self.voices[idx] = Voice {
            active: true,
            pad,
            slot,
            pos: 0.0,
            gain_l: gain * pl,
            gain_r: gain * pr,
            output: usize::from(play.output).min(OUTPUTS - 1),
            end,
            fade_start: if length < 1.0 { end * 0.8 } else { end },
            kill_left: 0,
            kill_len: 0,
            age: self.notes,
        };
        self.users[slot] += 1;
        true
    }

    /// Fades out (over [`FADE_S`]) every voice of the pads in bit mask `pads` (bit `p` = pad `p`).
    pub fn choke_pads(&mut self, pads: u16) {
        for i in 0..PHYSICAL_VOICES {
            let v = &self.voices[i];
            if v.active && !v.fading() && pads & (1u16 << v.pad) != 0 {
                self.start_fade(i);
            }
        }
    }

    /// Fades out every voice quickly (all notes off, reset).
    pub fn choke_all(&mut self) {
        self.choke_pads(u16::MAX);
    }

    /// Mixes the next `len` (≤ [`CHUNK`]) samples of every voice into the mix buffer and returns
    /// it, `[MIX_CHANNELS][CHUNK]` (only the first `len` samples of each channel are valid).
    pub fn render(&mut self, len: usize) -> &[[f32; CHUNK]; MIX_CHANNELS] {
        let len = len.min(CHUNK);
        for ch in self.mix.iter_mut() {
            ch[..len].fill(0.0);
        }
        for vi in 0..PHYSICAL_VOICES {
            if !self.voices[vi].active {
                continue;
            }
            let v = &mut self.voices[vi];
            let finished = match self.slots[v.slot].as_deref() {
                Some(sound) => {
                    let step = f64::from(sound.sample_rate) / f64::from(self.output_rate);
                    let (left, right) = stereo_pair(&mut self.mix, v.output);
                    render_voice(v, &sound.samples, step, &mut left[..len], &mut right[..len])
                }
                None => true,
            };
            if finished {
                self.stop(vi);
            }
        }
        &self.mix
    }

    /// Voices currently sounding (including fading ones).
    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| v.active).count()
    }

    /// Voices of pad `pad` currently sounding (including fading ones).
    pub fn active_voices_of(&self, pad: usize) -> usize {
        self.voices.iter().filter(|v| v.active && v.pad == pad).count()
    }

    /// Sets which pads belong to which choke group: `masks[g]` is the bit mask of the pads in
    /// group `g` (index 0 unused). Called once per block from the pads' settings.
    pub fn set_choke_groups(&mut self, masks: &[u16; CHOKE_GROUPS as usize + 1]) {
        self.group_masks = *masks;
    }

    /// The active voice that `filter` accepts with the smallest `key`.
    fn pick(&self, filter: impl Fn(&Voice) -> bool, key: impl Fn(&Voice) -> u64) -> Option<usize> {
        (0..PHYSICAL_VOICES)
            .filter(|&i| self.voices[i].active && filter(&self.voices[i]))
            .min_by_key(|&i| key(&self.voices[i]))
    }

    fn start_fade(&mut self, i: usize) {
        let len = ((FADE_S * self.output_rate) as u32).max(1);
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

fn sane_rate(rate: f32) -> f32 {
    if rate.is_finite() && rate >= 1.0 { rate } else { 44_100.0 }
}

/// The left and right channels of output `output` in the mix.
fn stereo_pair(mix: &mut [[f32; CHUNK]; MIX_CHANNELS], output: usize) -> (&mut [f32; CHUNK], &mut [f32; CHUNK]) {
    let (l, r) = mix[2 * output..2 * output + 2].split_at_mut(1);
    (&mut l[0], &mut r[0])
}

/// Renders one voice into `left`/`right` (added); returns true when the voice has ended. Steady
/// stretches (no fade) at the sound's own rate run as a plain multiply-add that the compiler
/// vectorises; other rates read with linear interpolation (the worker already made the sound at
/// the output rate and pitch, so this only bridges a sample-rate change).
fn render_voice(v: &mut Voice, data: &[f32], step: f64, left: &mut [f32], right: &mut [f32]) -> bool {
    let n = left.len().min(right.len());
    let mut i = 0;
    while i < n {
        if v.pos >= v.end || (v.kill_len > 0 && v.kill_left == 0) {
            return true;
        }
        if v.kill_len == 0 && v.pos < v.fade_start {
            let steady = (((v.fade_start - v.pos) / step).ceil() as usize).clamp(1, n - i);
            if step == 1.0 && v.pos.fract() == 0.0 {
                let p = v.pos as usize;
                let avail = data.len().saturating_sub(p).min(steady);
                let src = &data[p..p + avail];
                for ((l, r), s) in left[i..i + avail].iter_mut().zip(&mut right[i..i + avail]).zip(src) {
                    *l += s * v.gain_l;
                    *r += s * v.gain_r;
                }
                v.pos += steady as f64;
            } else {
                for k in i..i + steady {
                    let s = sample_at(data, v.pos);
                    left[k] += s * v.gain_l;
                    right[k] += s * v.gain_r;
                    v.pos += step;
                }
            }
            i += steady;
            continue;
        }
        // Fading sample by sample: length-trim fade and/or steal/choke fade.
        let mut g = 1.0f32;
        if v.pos > v.fade_start {
            g *= ((v.end - v.pos) / (v.end - v.fade_start)).max(0.0) as f32;
        }
        if v.kill_len > 0 {
            g *= v.kill_left as f32 / v.kill_len as f32;
            v.kill_left -= 1;
        }
        let s = sample_at(data, v.pos) * g;
        left[i] += s * v.gain_l;
        right[i] += s * v.gain_r;
        v.pos += step;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::SoundParams;

    fn sound(pad: usize, len: usize, value: f32) -> Box<Sound> {
        Box::new(Sound { samples: vec![value; len], sample_rate: 48_000, pad, params: SoundParams::for_class(0), timing: Default::default() })
    }

    fn render_all(v: &mut Voices, n: usize) -> Vec<[f32; MIX_CHANNELS]> {
        let mut out = Vec::new();
        let mut done = 0;
        while done < n {
            let len = (n - done).min(CHUNK);
            let mix = v.render(len);
            for i in 0..len {
                out.push(std::array::from_fn(|c| mix[c][i]));
            }
            done += len;
        }
        out
    }

    #[test]
    fn a_pad_routed_to_an_aux_output_is_not_in_the_main_mix() {
        let mut v = Voices::new(48_000.0);
        v.install(sound(0, 1000, 0.5)).unwrap();
        v.install(sound(1, 1000, 0.25)).unwrap();
        assert!(v.note_on(0, 1.0, &PadPlayback { velocity_sensitivity: 0.0, ..Default::default() }));
        assert!(v.note_on(1, 1.0, &PadPlayback { velocity_sensitivity: 0.0, output: 3, pan: -1.0, ..Default::default() }));
        let out = render_all(&mut v, 10);
        assert_eq!((out[5][0], out[5][1]), (0.5, 0.5));
        assert_eq!((out[5][6], out[5][7]), (0.25, 0.0));
        assert!(out[5].iter().enumerate().all(|(c, &s)| [0, 1, 6].contains(&c) || s == 0.0));
    }

    #[test]
    fn a_choke_group_fades_the_other_pads_within_5_ms() {
        let mut v = Voices::new(48_000.0);
        for p in 0..3 {
            v.install(sound(p, 48_000, 1.0)).unwrap();
        }
        let mut masks = [0u16; CHOKE_GROUPS as usize + 1];
        masks[1] = 0b011;
        v.set_choke_groups(&masks);
        let hat = |pad| PadPlayback { choke_group: if pad < 2 { 1 } else { 0 }, velocity_sensitivity: 0.0, output: pad as u8, ..Default::default() };
        v.note_on(0, 1.0, &hat(0)); // open hat, output 0
        v.note_on(2, 1.0, &hat(2)); // not in the group, output 2
        render_all(&mut v, 100);
        v.note_on(1, 1.0, &hat(1)); // closed hat, output 1: chokes pad 0 only
        let out = render_all(&mut v, 480);
        // Output 0 fades (no jump larger than one fade step) and is silent after 3 ms.
        let fade = (FADE_S * 48_000.0) as usize;
        for w in out.windows(2).take(fade + 2) {
            assert!((w[0][0] - w[1][0]).abs() <= 1.0 / fade as f32 + 1e-6, "click: {} -> {}", w[0][0], w[1][0]);
        }
        assert!(out[fade + 1..].iter().all(|s| s[0] == 0.0));
        assert!(out.iter().all(|s| s[2] == 1.0 && s[4] == 1.0));
        assert_eq!(v.active_voices_of(0), 0);
    }

    #[test]
    fn stealing_beyond_the_voice_limit_fades_instead_of_cutting() {
        let mut v = Voices::new(48_000.0);
        v.install(sound(0, 48_000, 0.01)).unwrap();
        let play = PadPlayback { velocity_sensitivity: 0.0, ..Default::default() };
        let mut last = 0.0f32;
        for _ in 0..200 {
            assert!(v.note_on(0, 1.0, &play));
            let out = render_all(&mut v, 7);
            for s in &out {
                // One new voice adds 0.01; a cut would drop the sum by 0.01 at once.
                assert!(s[0] >= last - 0.01 / (FADE_S * 48_000.0) * 40.0 - 1e-4, "{last} -> {}", s[0]);
                last = s[0];
            }
        }
        assert!(v.voices.iter().filter(|x| x.active && !x.fading()).count() <= MAX_VOICES);
    }

    #[test]
    fn muted_pads_and_pads_without_sound_start_nothing() {
        let mut v = Voices::new(48_000.0);
        assert!(!v.note_on(0, 1.0, &PadPlayback::default()));
        v.install(sound(0, 100, 0.5)).unwrap();
        assert!(!v.note_on(0, 1.0, &PadPlayback { mute: true, ..Default::default() }));
        assert!(!v.note_on(PADS, 1.0, &PadPlayback::default()));
        assert_eq!(v.active_voices(), 0);
    }
}
