//! The egui editor: XY pad, class selectors, sound controls, waveform, sample loading and export.
//!
//! Everything here runs on the GUI thread. It reads parameters directly, changes them only through
//! nice-plug's [`ParamSetter`] gestures (so hosts record automation and undo), reads the worker's
//! [`Status`](ndm_core::engine::Status) and sends it [`Command`]s through the [`StateStore`].

pub mod waveform;
pub mod xy_pad;

use crate::audio::ClassMap;
use crate::params::{DrumClass, NdmParams};
use crate::state::StateStore;
use egui::{Color32, RichText};
use ndm_core::engine::{Command, ModelState};
use ndm_core::generate::Encoded;
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use waveform::Waveform;
use xy_pad::XyPad;

/// Editor width in logical pixels.
pub const WIDTH: f64 = 780.0;
/// Editor height in logical pixels.
pub const HEIGHT: f64 = 680.0;
/// Side of the XY pad in logical pixels.
const PAD_SIZE: f32 = 330.0;
/// Width of the sliders.
const SLIDER_WIDTH: f32 = 250.0;

/// The editor type of the plugin.
pub type NdmEditor = EguiEditor<EditorApp>;

/// The editor's initial size.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(nice_plug::editor::dpi::LogicalSize::new(WIDTH, HEIGHT), 1.0)
}

/// Creates the editor (called by the host through `Plugin::editor`, main thread).
pub fn create(params: Arc<NdmParams>, state: Arc<EguiEditorState>) -> Option<NdmEditor> {
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::new().with_tile("Neural Drum Machine"),
        EditorApp::new(params),
    )
}

/// What the editor copies out of the worker's status each frame.
#[derive(Default)]
struct StatusView {
    engine: bool,
    model: Option<ModelState>,
    generating: bool,
    last_error: Option<String>,
    message: Option<String>,
    sounds_made: u64,
    timing_ms: f64,
    new_preview: Option<Vec<[f32; 2]>>,
    new_encoded: Option<(u64, Encoded)>,
}

/// The editor's GUI-thread state; lives as long as the plugin (kept across editor openings).
pub struct EditorApp {
    params: Arc<NdmParams>,
    gui: Option<GuiContext>,
    /// Waveform of the newest sound.
    preview: Vec<[f32; 2]>,
    /// `Status::sounds_made` of `preview`.
    sounds_seen: u64,
    /// Highest `Status::encoded` counter applied to the parameters.
    encoded_seen: u64,
    /// File name of the sample being encoded.
    pending_sample: Option<String>,
    /// Path field of "Load sample…".
    sample_path: String,
    /// Path field of "Export WAV…".
    export_path: String,
    export_count: u32,
    /// Error of the last editor action (e.g. no path given), shown in the status line.
    local_error: Option<String>,
    rng: u64,
}

impl EditorApp {
    /// A fresh editor state for `params`.
    pub fn new(params: Arc<NdmParams>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        EditorApp {
            params,
            gui: None,
            preview: Vec::new(),
            sounds_seen: 0,
            encoded_seen: 0,
            pending_sample: None,
            sample_path: String::new(),
            export_path: export_default(1),
            export_count: 1,
            local_error: None,
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

    fn poll_status(&mut self) -> StatusView {
        let Some(engine) = self.params.state.engine() else { return StatusView::default() };
        let (sounds_seen, encoded_seen) = (self.sounds_seen, self.encoded_seen);
        engine.with_status(|s| StatusView {
            engine: true,
            model: Some(s.model.clone()),
            generating: s.generating,
            last_error: s.last_error.clone(),
            message: s.message.clone(),
            sounds_made: s.sounds_made,
            timing_ms: s.last_timing.total_ms(),
            new_preview: (s.sounds_made != sounds_seen).then(|| s.preview.clone()),
            new_encoded: s.encoded.as_ref().filter(|(n, _)| *n > encoded_seen).cloned(),
        })
    }

    /// Class weights `[C]` of the current class settings for the loaded model.
    fn class_weights(&self, classes: &[String]) -> Vec<f32> {
        let map = ClassMap::from_names(classes);
        let p = &self.params;
        let w = map.weights(p.class.value().to_index(), p.blend_class.value().to_index(), p.blend.value());
        w[..classes.len().min(w.len())].to_vec()
    }

    /// Moves the pad to a newly encoded sample and stores it in the persisted state.
    fn apply_encoded(&mut self, setter: &ParamSetter, enc: &Encoded) {
        let p = &self.params;
        for (param, value) in [(&p.x, enc.position[0]), (&p.y, enc.position[1]), (&p.fine, enc.position[2]), (&p.variation, 0.0)] {
            setter.begin_set_parameter(param);
            setter.set_parameter(param, value);
            setter.end_set_parameter(param);
        }
        let seed = p.seed.value().max(0) as u64;
        p.state.set_sample(&enc.latent, enc.position, self.pending_sample.take(), enc.class_weights.clone(), seed);
    }

    fn encode(&mut self, path: &Path, classes: Option<&[String]>, store: &StateStore) -> Result<(), String> {
        let Some(classes) = classes else { return Err("the model is not loaded".into()) };
        let class_weights = self.class_weights(classes);
        let range = self.params.range.value();
        self.pending_sample = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if store.send(Command::Encode { path: path.to_path_buf(), class_weights, range }) {
            Ok(())
        } else {
            Err("the engine is not running (plugin not activated)".into())
        }
    }

    fn vary(&mut self, setter: &ParamSetter) {
        let p = self.params.clone();
        let current = p.seed.value();
        let mut seed = (self.next_random() % 10_000) as i32;
        if seed == current {
            seed = (seed + 1) % 10_000;
        }
        setter.begin_set_parameter(&p.seed);
        setter.set_parameter(&p.seed, seed);
        setter.end_set_parameter(&p.seed);
        if p.variation.value() <= 0.0 {
            setter.begin_set_parameter(&p.variation);
            setter.set_parameter(&p.variation, 0.5);
            setter.end_set_parameter(&p.variation);
        }
        p.state.set_seed(seed as u64);
    }
}

/// `~/ndm-export-<n>.wav`.
fn export_default(n: u32) -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    format!("{home}/ndm-export-{n}.wav")
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
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(nice_gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else { return };
        let setter = gui.param_setter();
        let params = self.params.clone();
        let store = params.state.clone();

        let mut status = self.poll_status();
        if let Some(preview) = status.new_preview.take() {
            self.preview = preview;
            self.sounds_seen = status.sounds_made;
        }
        if let Some((n, enc)) = &status.new_encoded {
            self.encoded_seen = *n;
            self.apply_encoded(&setter, enc);
        }
        let classes: Option<Vec<String>> = match &status.model {
            Some(ModelState::Ready { classes, .. }) => Some(classes.clone()),
            _ => None,
        };
        let busy = status.generating || matches!(status.model, Some(ModelState::Loading));
        ui.ctx().request_repaint_after(Duration::from_millis(if busy { 30 } else { 200 }));

        // Files dropped onto the editor (only where the windowing layer delivers them).
        let dropped: Vec<PathBuf> = ui.ctx().input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
        if let Some(path) = dropped.first() {
            self.sample_path = path.display().to_string();
            self.local_error = self.encode(path, classes.as_deref(), &store).err();
        }

        let saved = store.state();
        egui::Frame::new().inner_margin(egui::Margin::same(12)).show(ui, |ui| {
            ui.spacing_mut().item_spacing = egui::vec2(8.0, 6.0);
            // Header and status line.
            ui.horizontal(|ui| {
                ui.heading(RichText::new("Neural Drum Machine").strong());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if status.generating {
                        ui.spinner();
                        ui.label("generating…");
                    } else if status.sounds_made > 0 {
                        ui.label(RichText::new(format!("sound #{} · {:.1} ms", status.sounds_made, status.timing_ms)).weak());
                    }
                });
            });
            status_line(ui, &status, store.warning(), self.local_error.as_deref());
            ui.separator();

            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    let marker = saved.position.map(|p| [p[0], p[1]]);
                    let label = saved.sample_name.clone().map(|n| format!("sample: {n}")).unwrap_or_default();
                    ui.add(XyPad::new(&params.x, &params.y, &setter, PAD_SIZE).marker(marker).label(label));
                    ui.label(
                        RichText::new(format!(
                            "X {:+.2}   Y {:+.2}   fine {:+.2}",
                            params.x.value(),
                            params.y.value(),
                            params.fine.value()
                        ))
                        .monospace()
                        .weak(),
                    );
                });
                ui.add_space(10.0);
                ui.vertical(|ui| {
                    egui::Grid::new("ndm-controls").num_columns(2).spacing([10.0, 7.0]).show(ui, |ui| {
                        ui.label("Class");
                        class_combo(ui, "ndm-class", &params.class, &setter, classes.as_deref());
                        ui.end_row();
                        ui.label("Blend class");
                        class_combo(ui, "ndm-blend-class", &params.blend_class, &setter, classes.as_deref());
                        ui.end_row();
                        let slider_row = |ui: &mut egui::Ui, name: &str, param: &FloatParam| {
                            ui.label(name);
                            ui.add(ParamSlider::for_param(param, &setter).with_width(SLIDER_WIDTH));
                            ui.end_row();
                        };
                        slider_row(ui, "Blend", &params.blend);
                        slider_row(ui, "Fine", &params.fine);
                        slider_row(ui, "Range", &params.range);
                        slider_row(ui, "Variation", &params.variation);
                        ui.label("Seed");
                        ui.horizontal(|ui| {
                            ui.add(ParamSlider::for_param(&params.seed, &setter).with_width(SLIDER_WIDTH - 60.0));
                            if ui.button("Vary").on_hover_text("New random variation seed").clicked() {
                                self.vary(&setter);
                            }
                        });
                        ui.end_row();
                        slider_row(ui, "Gain", &params.gain);
                        slider_row(ui, "Velocity", &params.vel_sens);
                        slider_row(ui, "Tune", &params.tune);
                        slider_row(ui, "Length", &params.length);
                        ui.label("Polyphony");
                        ui.add(ParamSlider::for_param(&params.polyphony, &setter).with_width(SLIDER_WIDTH));
                        ui.end_row();
                    });
                });
            });

            ui.add_space(6.0);
            let caption = if status.generating { Some("generating…") } else { None };
            ui.add(Waveform::new(&self.preview, 84.0).busy(status.generating).caption(caption));
            ui.add_space(4.0);

            // Sample loading.
            ui.horizontal(|ui| {
                ui.label("Sample");
                let name = saved.sample_name.as_deref().unwrap_or(if saved.anchor.is_some() { "(encoded)" } else { "none" });
                ui.label(RichText::new(name).strong());
                ui.add(
                    egui::TextEdit::singleline(&mut self.sample_path)
                        .hint_text("path to a WAV/FLAC/MP3/OGG file")
                        .desired_width(300.0),
                );
                if ui.button("Load sample…").on_hover_text("Encode this file and move the pad to it").clicked() {
                    let path = expand_path(&self.sample_path);
                    self.local_error = if self.sample_path.trim().is_empty() {
                        Some("enter the path of an audio file first".into())
                    } else {
                        self.encode(&path, classes.as_deref(), &store).err()
                    };
                }
                if ui.add_enabled(saved.anchor.is_some(), egui::Button::new("Clear sample")).clicked() {
                    store.clear_sample();
                }
            });
            // Export.
            ui.horizontal(|ui| {
                ui.label("Export");
                ui.add(egui::TextEdit::singleline(&mut self.export_path).desired_width(370.0));
                if ui.button("Export WAV…").on_hover_text("Write the current sound (model sample rate)").clicked() {
                    let path = expand_path(&self.export_path);
                    if store.send(Command::ExportWav(path)) {
                        self.local_error = None;
                        self.export_count += 1;
                        self.export_path = export_default(self.export_count);
                    } else {
                        self.local_error = Some("the engine is not running (plugin not activated)".into());
                    }
                }
            });
            let hint = if hovering { "Drop the file to encode it" } else { "Tip: drop an audio file onto the editor to encode it" };
            ui.label(RichText::new(hint).small().weak());
        });
    }
}

fn status_line(ui: &mut egui::Ui, status: &StatusView, warning: Option<String>, local_error: Option<&str>) {
    let red = Color32::from_rgb(240, 110, 100);
    let amber = Color32::from_rgb(240, 190, 90);
    ui.horizontal_wrapped(|ui| {
        match (&status.model, status.engine) {
            (_, false) => {
                ui.label(RichText::new("Engine starts when the host activates the plugin").weak());
            }
            (Some(ModelState::Loading) | None, true) => {
                ui.spinner();
                ui.label("Loading model…");
            }
            (Some(ModelState::Ready { name, source, sample_rate, .. }), true) => {
                ui.label(RichText::new(format!("Model: {name}")).strong());
                ui.label(RichText::new(format!("({source}, {sample_rate} Hz)")).weak());
            }
            (Some(ModelState::Failed { source, error }), true) => {
                ui.label(RichText::new(format!("Model failed to load from {source}: {error}")).color(red));
            }
        }
        if let Some(e) = &status.last_error {
            ui.label(RichText::new(format!("Error: {e}")).color(red));
        } else if let Some(m) = &status.message {
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
