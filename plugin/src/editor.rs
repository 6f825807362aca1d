//! The egui editor of the kit: a 4 × 4 pad grid (class and note on each pad, a flash when it
//! plays; a click selects and auditions), and the XY pad, sound controls, playback controls,
//! waveform, sample loading and export of the selected pad; "New kit", "Randomize pad",
//! "Reload model".
//!
//! Everything here runs on the GUI thread. It reads parameters directly, changes them only through
//! nice-plug's [`ParamSetter`] gestures (so hosts record automation and undo), reads the worker's
//! [`Status`](ndm_core::engine::Status), sends it [`Command`]s through the [`StateStore`], and
//! auditions pads through the GUI → audio queue.

pub mod dnd;
pub mod waveform;
pub mod window;
pub mod xy_pad;

use crate::audio::ClassMap;
use crate::params::{note_name, DrumClass};
use crate::{model_source, EditorLink};
use egui::{Color32, RichText};
use ndm_core::engine::{Command, EncodeResult, ModelState};
use ndm_core::kit::{GM_KIT, PADS};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use window::{create_egui_editor, EditorState, EguiEditor, NiceEguiApp, WindowOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use waveform::Waveform;
use xy_pad::XyPad;

/// Editor width in logical pixels.
pub const WIDTH: f64 = 940.0;
/// Editor height in logical pixels.
pub const HEIGHT: f64 = 770.0;
/// Side of the XY pad in logical pixels.
const XY_SIZE: f32 = 250.0;
/// Size of one pad of the grid.
const PAD_W: f32 = 96.0;
const PAD_H: f32 = 62.0;
/// Width of the sliders.
const SLIDER_WIDTH: f32 = 190.0;
/// How long a pad lights up after a note, in seconds.
const FLASH_S: f32 = 0.25;

/// The editor type of the plugin.
pub type NdmEditor = EguiEditor<EditorApp>;

/// The editor's initial size.
pub fn default_state() -> Arc<EditorState> {
    EditorState::from_size(WIDTH, HEIGHT)
}

/// Creates the editor (called by the host through `Plugin::editor`, main thread).
pub fn create(link: Arc<EditorLink>, state: Arc<EditorState>) -> Option<NdmEditor> {
    create_egui_editor(state, WindowOptions { title: "Neural Drum Machine".into() }, EditorApp::new(link))
}

/// The editor's GUI-thread state; lives as long as the editor.
pub struct EditorApp {
    link: Arc<EditorLink>,
    gui: Option<GuiContext>,
    /// The pad the controls act on (0…15).
    selected: usize,
    /// Highest encode serial applied to the parameters.
    encoded_seen: u64,
    /// Path field of "Load sample…".
    sample_path: String,
    /// Path field of "Export WAV…", and the pad it was proposed for.
    export_path: String,
    export_pad: usize,
    /// Error of the last editor action, shown in the status line.
    local_error: Option<String>,
    /// Per pad: the play counter last seen and when it changed (flash).
    flashes: [(u32, Option<Instant>); PADS],
    /// Each pad's area in the last frame (drop targets).
    pad_rects: [egui::Rect; PADS],
    /// The pads that the files hovering over the editor would be encoded onto (highlighted).
    drop_pads: Vec<usize>,
    rng: u64,
}

impl EditorApp {
    /// A fresh editor state.
    pub fn new(link: Arc<EditorLink>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        EditorApp {
            link,
            gui: None,
            selected: 0,
            encoded_seen: 0,
            sample_path: String::new(),
            export_path: export_default(0),
            export_pad: 0,
            local_error: None,
            flashes: [(0, None); PADS],
            pad_rects: [egui::Rect::NOTHING; PADS],
            drop_pads: Vec::new(),
            rng: seed | 1,
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Class weights `[C]` of pad `pad`'s class settings for the loaded model.
    fn class_weights(&self, pad: usize, classes: &[String]) -> Vec<f32> {
        let map = ClassMap::from_names(classes);
        let p = self.link.params.pad(pad);
        let w = map.weights(p.class.value().to_index(), p.blend_class.value().to_index(), p.blend.value());
        w[..classes.len().min(w.len())].to_vec()
    }

    /// Moves a pad to a newly encoded sample and anchors it there (the worker then regenerates it:
    /// at the sample's own position the pad plays the sample's reconstruction).
    fn apply_encoded(&mut self, setter: &ParamSetter, result: &EncodeResult) {
        let p = self.link.params.pad(result.pad);
        let enc = &result.encoded;
        for (param, value) in [(&p.x, enc.position[0]), (&p.y, enc.position[1]), (&p.fine, enc.position[2]), (&p.variation, 0.0)] {
            setter.begin_set_parameter(param);
            setter.set_parameter(param, value);
            setter.end_set_parameter(param);
        }
        self.link.params.state.set_sample(result.pad, &enc.latent, enc.position, Some(result.sample_name.clone()));
        nice_log!("editor: pad {} anchored to the encoded sample {}", result.pad + 1, result.sample_name);
    }

    fn encode(&mut self, pad: usize, path: &Path, classes: Option<&[String]>) -> Result<(), String> {
        let Some(classes) = classes else { return Err("the model is not loaded".into()) };
        let class_weights = self.class_weights(pad, classes);
        let range = self.link.params.pad(pad).range.value();
        if self.link.params.state.send(Command::Encode { pad, path: path.to_path_buf(), class_weights, range }) {
            Ok(())
        } else {
            Err("the engine has stopped".into())
        }
    }

    fn set_int(setter: &ParamSetter, param: &IntParam, value: i32) {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }

    fn new_seed(&mut self, current: i32) -> i32 {
        let seed = (self.next_random() % 10_000) as i32;
        if seed == current { (seed + 1) % 10_000 } else { seed }
    }

    /// "Vary": a new variation seed for the selected pad (and some variation if there is none).
    fn vary(&mut self, setter: &ParamSetter) {
        let link = self.link.clone();
        let p = link.params.pad(self.selected);
        let seed = self.new_seed(p.seed.value());
        Self::set_int(setter, &p.seed, seed);
        if p.variation.value() <= 0.0 {
            setter.begin_set_parameter(&p.variation);
            setter.set_parameter(&p.variation, 0.5);
            setter.end_set_parameter(&p.variation);
        }
    }

    /// "Randomize pad": a new seed and a random position on the XY pad, in the pad's class.
    fn randomize(&mut self, setter: &ParamSetter, pad: usize) {
        let link = self.link.clone();
        let p = link.params.pad(pad);
        let seed = self.new_seed(p.seed.value());
        Self::set_int(setter, &p.seed, seed);
        for param in [&p.x, &p.y] {
            let v = (self.next_random() % 20_001) as f32 / 10_000.0 - 1.0;
            setter.begin_set_parameter(param);
            setter.set_parameter(param, v * 0.6);
            setter.end_set_parameter(param);
        }
    }

    /// "New kit": every pad gets a new seed in its own class (the worker regenerates all 16).
    fn new_kit(&mut self, setter: &ParamSetter) {
        let link = self.link.clone();
        for pad in 0..PADS {
            let p = link.params.pad(pad);
            let seed = self.new_seed(p.seed.value());
            Self::set_int(setter, &p.seed, seed);
        }
    }

    fn audition(&mut self, pad: usize) {
        if self.link.audition.lock().push(pad as u8).is_err() {
            self.local_error = Some("audition queue full (is the host processing audio?)".into());
        }
    }

    fn pad_grid(&mut self, ui: &mut egui::Ui, classes: Option<&[String]>) {
        let now = Instant::now();
        egui::Grid::new("ndm-pads").spacing([6.0, 6.0]).show(ui, |ui| {
            for row in 0..4 {
                for col in 0..4 {
                    let pad = row * 4 + col;
                    let plays = self.link.activity.plays[pad].load(Ordering::Relaxed);
                    if plays != self.flashes[pad].0 {
                        self.flashes[pad] = (plays, Some(now));
                    }
                    let flash = self.flashes[pad].1.map_or(0.0, |t| (1.0 - t.elapsed().as_secs_f32() / FLASH_S).max(0.0));
                    let p = self.link.params.pad(pad);
                    let class = p.class.value();
                    let known = classes.is_none_or(|c| c.iter().any(|m| m == crate::params::CLASS_NAMES[class.to_index()]));
                    let base = if pad == self.selected { Color32::from_rgb(70, 90, 140) } else { Color32::from_gray(45) };
                    let fill = lerp_color(base, Color32::from_rgb(240, 200, 90), flash);
                    let drop_here = self.drop_pads.contains(&pad);
                    let fill = if drop_here { Color32::from_rgb(60, 140, 90) } else { fill };
                    let muted = p.mute.value();
                    let text = format!(
                        "{}  {}\n{}{}",
                        pad + 1,
                        note_name(p.note.value().clamp(0, 127) as u8),
                        DrumClass::variants()[class.to_index()],
                        if muted { " · muted" } else if !known { " · ?" } else { "" }
                    );
                    let button = egui::Button::new(RichText::new(text).size(11.5)).fill(fill).min_size(egui::vec2(PAD_W, PAD_H));
                    let button = if drop_here { button.stroke(egui::Stroke::new(2.0, Color32::from_rgb(150, 240, 170))) } else { button };
                    let response = ui.add(button).on_hover_text(GM_KIT[pad].label);
                    self.pad_rects[pad] = response.rect;
                    if response.clicked() {
                        self.selected = pad;
                        self.audition(pad);
                    }
                }
                ui.end_row();
            }
        });
        if self.flashes.iter().any(|(_, t)| t.is_some_and(|t| t.elapsed().as_secs_f32() < FLASH_S)) {
            ui.ctx().request_repaint_after(Duration::from_millis(16));
        }
    }
}

fn lerp_color(a: Color32, b: Color32, t: f32) -> Color32 {
    let t = t.clamp(0.0, 1.0);
    let m = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t) as u8;
    Color32::from_rgb(m(a.r(), b.r()), m(a.g(), b.g()), m(a.b(), b.b()))
}

/// `~/ndm-pad<NN>.wav`.
fn export_default(pad: usize) -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    format!("{home}/ndm-pad{:02}-{}.wav", pad + 1, GM_KIT[pad.min(PADS - 1)].class)
}

/// Expands a leading `~/`.
fn expand_path(text: &str) -> PathBuf {
    let text = text.trim();
    match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(text),
    }
}

fn class_combo(ui: &mut egui::Ui, id: &str, param: &EnumParam<DrumClass>, setter: &ParamSetter, classes: Option<&[String]>) {
    let names = DrumClass::variants();
    let ids = DrumClass::ids().unwrap_or(&[]);
    let known = |i: usize| match (classes, ids.get(i)) {
        (Some(c), Some(id)) => c.iter().any(|m| m.eq_ignore_ascii_case(id)),
        _ => true,
    };
    let label = |i: usize| {
        let name = names.get(i).copied().unwrap_or("?");
        if known(i) { name.to_owned() } else { format!("{name} (not in model)") }
    };
    let current = param.value().to_index();
    egui::ComboBox::from_id_salt(id).width(SLIDER_WIDTH - 8.0).selected_text(label(current)).show_ui(ui, |ui| {
        for i in 0..names.len() {
            if ui.selectable_label(i == current, label(i)).clicked() && i != current {
                setter.begin_set_parameter(param);
                setter.set_parameter(param, DrumClass::from_index(i));
                setter.end_set_parameter(param);
            }
        }
    });
}

impl NiceEguiApp for EditorApp {
    fn build(&mut self, egui_ctx: &egui::Context, gui: GuiContext) {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(gui);
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        let Some(gui) = self.gui.clone() else { return };
        let setter = gui.param_setter();
        let link = self.link.clone();
        let store = link.params.state.clone();

        let (model, generating, last_error, message, pad_status, encoded) = {
            let st = link.status.lock();
            let ps = &st.pads[self.selected];
            (
                st.model.clone(),
                st.generating,
                st.last_error.clone(),
                st.message.clone(),
                (ps.preview.clone(), ps.timing.total_ms(), ps.from_state, ps.error.clone(), ps.audio.is_some()),
                st.encoded.clone().filter(|e| e.serial > self.encoded_seen),
            )
        };
        if let Some(result) = encoded {
            self.encoded_seen = result.serial;
            self.apply_encoded(&setter, &result);
        }
        let classes: Option<Vec<String>> = match &model {
            ModelState::Ready { classes, .. } => Some(classes.clone()),
            _ => None,
        };
        let busy = generating.is_some() || matches!(model, ModelState::Loading { .. });
        ui.ctx().request_repaint_after(Duration::from_millis(if busy { 30 } else { 120 }));

        // Files dragged onto the editor: a pad under the pointer is the target, else the selected
        // pad; several files fill the pads after it (dnd::drop_targets).
        let (hovering, dropped, pointer) = ui.ctx().input(|i| {
            let dropped: Vec<PathBuf> = i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect();
            (i.raw.hovered_files.len(), dropped, i.pointer.latest_pos())
        });
        self.drop_pads = dnd::drop_targets(pointer, &self.pad_rects, self.selected, hovering);
        if !dropped.is_empty() {
            let pads = dnd::drop_targets(pointer, &self.pad_rects, self.selected, dropped.len());
            let mut errors = Vec::new();
            for (&pad, path) in pads.iter().zip(&dropped) {
                nice_log!("editor: encoding {} onto pad {}", path.display(), pad + 1);
                if let Err(e) = self.encode(pad, path, classes.as_deref()) {
                    errors.push(format!("pad {}: {e}", pad + 1));
                }
            }
            if dropped.len() > pads.len() {
                errors.push(format!("{} file(s) past pad 16 left out", dropped.len() - pads.len()));
            }
            if let Some(&first) = pads.first() {
                self.selected = first;
            }
            self.local_error = (!errors.is_empty()).then(|| errors.join("; "));
        }

        egui::Frame::new().inner_margin(egui::Margin::same(10)).show(ui, |ui| {
            ui.spacing_mut().item_spacing = egui::vec2(8.0, 5.0);
            // Header: title, kit actions, generation state.
            ui.horizontal(|ui| {
                ui.heading(RichText::new("Neural Drum Machine").strong());
                if ui.button("New kit").on_hover_text("New seeds for all 16 pads, each in its class").clicked() {
                    self.new_kit(&setter);
                }
                if ui.button("Reload model").on_hover_text("Load the model set again (e.g. after an error)").clicked() {
                    self.local_error = (!store.send(Command::Load(model_source()))).then(|| "the engine has stopped".into());
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if let Some(pad) = generating {
                        ui.spinner();
                        ui.label(format!("generating pad {}…", pad + 1));
                    }
                });
            });
            status_line(ui, &model, last_error.as_deref(), message.as_deref(), store.warning(), self.local_error.as_deref());
            let timeouts = link.sync_timeouts.load(Ordering::Relaxed);
            if timeouts > 0 {
                ui.label(
                    RichText::new(format!(
                        "Offline render: {timeouts} note(s) played an older pad sound (new sound not ready within {} s)",
                        crate::audio::OFFLINE_WAIT.as_secs()
                    ))
                    .color(Color32::from_rgb(240, 190, 90)),
                );
            }
            ui.separator();

            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    self.pad_grid(ui, classes.as_deref());
                    ui.add_space(6.0);
                    let pad = self.selected;
                    let p = link.params.pad(pad);
                    let (sample_name, position, anchored) = store.sample(pad);
                    let label = sample_name.clone().map(|n| format!("sample: {n}")).unwrap_or_default();
                    ui.horizontal(|ui| {
                        ui.add(XyPad::new(&p.x, &p.y, &setter, XY_SIZE).marker(position.map(|q| [q[0], q[1]])).label(label));
                        ui.vertical(|ui| {
                            ui.label(RichText::new(format!("Pad {} · {}", pad + 1, GM_KIT[pad].label)).strong());
                            ui.label(
                                RichText::new(format!("X {:+.2}\nY {:+.2}\nfine {:+.2}", p.x.value(), p.y.value(), p.fine.value()))
                                    .monospace()
                                    .weak(),
                            );
                            if ui.button("Randomize pad").clicked() {
                                self.randomize(&setter, pad);
                            }
                            if ui.button("Vary").on_hover_text("New random variation seed").clicked() {
                                self.vary(&setter);
                            }
                            if ui.add_enabled(anchored, egui::Button::new("Clear sample")).clicked() {
                                store.clear_sample(pad);
                            }
                        });
                    });
                });
                ui.add_space(8.0);
                ui.vertical(|ui| {
                    let p = link.params.pad(self.selected);
                    ui.label(RichText::new("Sound").strong());
                    egui::Grid::new("ndm-sound").num_columns(2).spacing([10.0, 5.0]).show(ui, |ui| {
                        ui.label("Class");
                        class_combo(ui, "ndm-class", &p.class, &setter, classes.as_deref());
                        ui.end_row();
                        ui.label("Blend class");
                        class_combo(ui, "ndm-blend-class", &p.blend_class, &setter, classes.as_deref());
                        ui.end_row();
                        for (name, param) in [("Blend", &p.blend), ("Fine", &p.fine), ("Range", &p.range), ("Variation", &p.variation)] {
                            ui.label(name);
                            ui.add(ParamSlider::for_param(param, &setter).with_width(SLIDER_WIDTH));
                            ui.end_row();
                        }
                        ui.label("Seed");
                        ui.add(ParamSlider::for_param(&p.seed, &setter).with_width(SLIDER_WIDTH));
                        ui.end_row();
                    });
                    ui.add_space(4.0);
                    ui.label(RichText::new("Playback").strong());
                    egui::Grid::new("ndm-play").num_columns(2).spacing([10.0, 5.0]).show(ui, |ui| {
                        ui.label("Note");
                        ui.add(ParamSlider::for_param(&p.note, &setter).with_width(SLIDER_WIDTH));
                        ui.end_row();
                        for (name, param) in
                            [("Gain", &p.gain), ("Pan", &p.pan), ("Tune", &p.tune), ("Length", &p.length), ("Velocity", &p.vel_sens)]
                        {
                            ui.label(name);
                            ui.add(ParamSlider::for_param(param, &setter).with_width(SLIDER_WIDTH));
                            ui.end_row();
                        }
                        ui.label("Choke group");
                        ui.add(ParamSlider::for_param(&p.choke, &setter).with_width(SLIDER_WIDTH));
                        ui.end_row();
                        ui.label("Output");
                        ui.add(ParamSlider::for_param(&p.output, &setter).with_width(SLIDER_WIDTH));
                        ui.end_row();
                        ui.label("Mute");
                        ui.add(ParamSlider::for_param(&p.mute, &setter).with_width(SLIDER_WIDTH));
                        ui.end_row();
                    });
                });
            });

            ui.add_space(4.0);
            let (preview, timing_ms, from_state, pad_error, has_audio) = pad_status;
            let caption = if generating == Some(self.selected) {
                "generating…".to_string()
            } else if !has_audio {
                "no sound yet".to_string()
            } else if from_state {
                "pad sound: recalled from the project".to_string()
            } else {
                format!("pad sound: generated in {timing_ms:.1} ms")
            };
            ui.add(Waveform::new(&preview, 70.0).busy(generating == Some(self.selected)).caption(Some(&caption)));
            if let Some(e) = pad_error {
                ui.label(RichText::new(format!("Pad {}: {e}", self.selected + 1)).color(Color32::from_rgb(240, 110, 100)));
            }

            // Sample loading and export for the selected pad.
            ui.horizontal(|ui| {
                ui.label("Sample");
                ui.add(
                    egui::TextEdit::singleline(&mut self.sample_path)
                        .hint_text("path to a WAV/FLAC/MP3/OGG file")
                        .desired_width(420.0),
                );
                if ui.button("Load sample…").on_hover_text("Encode this file onto the selected pad").clicked() {
                    let path = expand_path(&self.sample_path);
                    self.local_error = if self.sample_path.trim().is_empty() {
                        Some("enter the path of an audio file first".into())
                    } else {
                        self.encode(self.selected, &path, classes.as_deref()).err()
                    };
                }
            });
            ui.horizontal(|ui| {
                ui.label("Export");
                if self.export_path.is_empty() || self.export_pad != self.selected {
                    self.export_path = export_default(self.selected);
                    self.export_pad = self.selected;
                }
                ui.add(egui::TextEdit::singleline(&mut self.export_path).desired_width(420.0));
                if ui.button("Export WAV…").on_hover_text("Write the selected pad's sound (model sample rate)").clicked() {
                    let path = expand_path(&self.export_path);
                    self.local_error = if path.exists() {
                        Some(format!("{} exists; choose another name", path.display()))
                    } else if store.send(Command::ExportWav { pad: self.selected, path }) {
                        None
                    } else {
                        Some("the engine has stopped".into())
                    };
                }
            });
        });
    }
}

fn status_line(
    ui: &mut egui::Ui,
    model: &ModelState,
    last_error: Option<&str>,
    message: Option<&str>,
    warning: Option<String>,
    local_error: Option<&str>,
) {
    let red = Color32::from_rgb(240, 110, 100);
    let amber = Color32::from_rgb(240, 190, 90);
    ui.horizontal_wrapped(|ui| {
        match model {
            ModelState::Idle => {
                ui.label(RichText::new("The model loads when the host activates the plugin").weak());
            }
            ModelState::Loading { source } => {
                ui.spinner();
                ui.label(format!("Loading model from {source}…"));
            }
            ModelState::Ready { name, source, sample_rate, .. } => {
                ui.label(RichText::new(format!("Model: {name}")).strong());
                ui.label(RichText::new(format!("({source}, {sample_rate} Hz)")).weak());
            }
            ModelState::Failed { source, error } => {
                ui.label(
                    RichText::new(format!("Model failed to load from {source}: {error} — pads keep their sounds; “Reload model” retries"))
                        .color(red),
                );
            }
        }
        if let Some(e) = last_error {
            ui.label(RichText::new(format!("Error: {e}")).color(red));
        } else if let Some(m) = message {
            ui.label(RichText::new(m).weak());
        }
        if let Some(w) = warning {
            ui.label(RichText::new(format!("Warning: {w}")).color(amber));
        }
        if let Some(e) = local_error {
            ui.label(RichText::new(e).color(red));
        }
    });
}
