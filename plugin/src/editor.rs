//! The egui editor of the kit: a 4 × 4 pad grid (class and note on each pad, a flash when it
//! plays; a click selects and auditions), and the XY pad, sound controls, playback controls,
//! waveform, sample loading and export of the selected pad; "New kit", "Randomize pad",
//! "Reload model".
//!
//! Everything here runs on the GUI thread. It reads parameters directly, changes them only through
//! nice-plug's [`ParamSetter`] gestures (so hosts record automation and undo), reads the worker's
//! [`Status`](ndm_core::engine::Status), sends it [`Command`]s through the [`StateStore`], and
//! auditions pads through the GUI → audio queue.

pub mod browser;
pub mod chooser;
pub mod dnd;
pub mod export;
pub mod files;
pub mod waveform;
pub mod window;
pub mod xy_pad;

use crate::params::note_name;
use crate::EditorLink;
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
    /// The file dialog (native or in-editor) and the user's settings.
    pub dialogs: files::FileDialogs,
    /// Export choices.
    pub export: export::ExportSettings,
    /// An export waiting for "overwrite?" and the files it would replace.
    export_confirm: Option<(export::Job, Vec<PathBuf>)>,
    /// The export running on its thread.
    export_running: Option<std::sync::mpsc::Receiver<Result<Vec<PathBuf>, String>>>,
    /// The model chooser.
    chooser: chooser::Chooser,
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
            dialogs: files::FileDialogs::default(),
            export: export::ExportSettings::default(),
            export_confirm: None,
            export_running: None,
            chooser: chooser::Chooser::default(),
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
        let r = self.link.params.pad(pad).recipe();
        let w = crate::params::class_weights(r.class, r.blend_class, r.blend);
        let mut w = w[..classes.len().min(w.len())].to_vec();
        if w.iter().sum::<f32>() <= 0.0 {
            // The pad's class is not in this model: encode under its first class, as it plays.
            if let Some(first) = w.first_mut() {
                *first = 1.0;
            }
        }
        w
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
        self.link.params.state.set_sample(result.pad, &enc.latent, enc.position, Some(result.sample_name.clone()), Some(enc.residual.clone()));
        nice_log!("editor: pad {} anchored to the encoded sample {}", result.pad + 1, result.sample_name);
    }

    fn encode(&mut self, pad: usize, path: &Path, classes: Option<&[String]>) -> Result<(), String> {
        let Some(classes) = classes else { return Err("the model is not loaded".into()) };
        let class_weights = self.class_weights(pad, classes);
        let range = self.link.params.pad(pad).range.value();
        let refine = ndm_core::refine::RefineOptions::default();
        if self.link.params.state.send(Command::Encode { pad, path: path.to_path_buf(), class_weights, range, refine }) {
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

    /// The pad the controls act on (0…15).
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// Acts on a path chosen in a file dialog: encodes a sample onto its pad, starts an export
    /// (asking first when it would replace files), or adds a model folder. GUI thread.
    ///
    /// # Errors
    /// What went wrong, for the status line.
    pub fn on_chosen(&mut self, purpose: files::Purpose, path: &Path) -> Result<(), String> {
        match purpose {
            files::Purpose::LoadSample { pad } => {
                let classes = match &self.link.status.lock().model {
                    ModelState::Ready { classes, .. } => Some(classes.clone()),
                    _ => None,
                };
                self.encode(pad, path, classes.as_deref())
            }
            files::Purpose::Export => {
                let job = export::prepare(&self.link, &self.export, self.selected, path)?;
                let existing = job.existing()?;
                if existing.is_empty() {
                    self.export_running = Some(job.spawn());
                } else {
                    self.export_confirm = Some((job, existing));
                }
                Ok(())
            }
            files::Purpose::AddModelFolder => {
                if !self.dialogs.settings.model_folders.iter().any(|d| d == path) {
                    self.dialogs.settings.model_folders.push(path.to_path_buf());
                    self.dialogs.settings.save()?;
                }
                self.chooser.open = true;
                self.chooser.rescan(&self.dialogs.settings);
                Ok(())
            }
        }
    }

    /// Confirms (`true`) or cancels the export waiting for "overwrite?".
    pub fn confirm_overwrite(&mut self, overwrite: bool) {
        if let Some((mut job, _)) = self.export_confirm.take() {
            if overwrite {
                job.options.overwrite = true;
                self.export_running = Some(job.spawn());
            }
        }
    }

    /// The files the waiting export would replace.
    pub fn pending_overwrite(&self) -> Option<&[PathBuf]> {
        self.export_confirm.as_ref().map(|(_, files)| files.as_slice())
    }

    /// Waits (at most `timeout`) for the running export; its result (tests and the GUI's poll).
    pub fn finish_export(&mut self, timeout: Duration) -> Option<Result<Vec<PathBuf>, String>> {
        let rx = self.export_running.as_ref()?;
        let r = rx.recv_timeout(timeout).ok()?;
        self.export_running = None;
        Some(r)
    }

    /// The dialogs, the export confirmation and the model chooser (windows over the editor).
    fn windows(&mut self, ctx: &egui::Context) {
        if let Some((purpose, path)) = self.dialogs.poll(ctx) {
            self.local_error = self.on_chosen(purpose, &path).err();
        }
        if let Some(result) = self.finish_export(Duration::ZERO) {
            match result {
                Ok(files) => {
                    let first = files.last().map(|p| p.display().to_string()).unwrap_or_default();
                    self.link.status.lock().message = Some(format!("exported {} file(s): {first}", files.len()));
                    self.local_error = None;
                }
                Err(e) => self.local_error = Some(format!("export failed: {e}")),
            }
        } else if self.export_running.is_some() {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
        let mut answer = None;
        if let Some((_, files)) = &self.export_confirm {
            egui::Window::new("Replace files?").id(egui::Id::unique("ndm-overwrite")).collapsible(false).resizable(false).anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0]).show(ctx, |ui| {
                ui.label(format!("{} file(s) exist already:", files.len()));
                for f in files.iter().take(6) {
                    ui.monospace(f.display().to_string());
                }
                if files.len() > 6 {
                    ui.label(format!("… and {} more", files.len() - 6));
                }
                ui.horizontal(|ui| {
                    if ui.button("Replace them").clicked() {
                        answer = Some(true);
                    }
                    if ui.button("Cancel").clicked() {
                        answer = Some(false);
                    }
                });
            });
        }
        if let Some(a) = answer {
            self.confirm_overwrite(a);
        }
        let loaded_hash = match &self.link.status.lock().model {
            ModelState::Ready { hash, .. } => Some(hash.clone()),
            _ => None,
        };
        let link = self.link.clone();
        if self.chooser.show(ctx, &link, &self.dialogs.settings, loaded_hash.as_deref()) == chooser::ChooserAction::AddFolder {
            self.dialogs.open(files::Purpose::AddModelFolder, browser::BrowseMode::PickFolder, "Add a model folder", false);
        }
    }

    /// The export row: scope, format, rate, sample format, name, "Export…".
    fn export_row(&mut self, ui: &mut egui::Ui) {
        use ndm_core::kit_export::{KitFormat, SampleFormat};
        ui.horizontal(|ui| {
            ui.label("Export");
            let e = &mut self.export;
            ui.selectable_value(&mut e.scope, export::Scope::SelectedPad, "Pad");
            ui.selectable_value(&mut e.scope, export::Scope::Kit, "Kit");
            if e.scope == export::Scope::Kit {
                egui::ComboBox::from_id_salt("ndm-export-format")
                    .width(110.0)
                    .selected_text(match e.format {
                        KitFormat::Wav => "WAV files",
                        KitFormat::Sfz => "SFZ preset",
                        KitFormat::Hydrogen => "Hydrogen kit",
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut e.format, KitFormat::Wav, "WAV files");
                        ui.selectable_value(&mut e.format, KitFormat::Sfz, "SFZ preset");
                        ui.selectable_value(&mut e.format, KitFormat::Hydrogen, "Hydrogen kit");
                    });
                ui.add(egui::TextEdit::singleline(&mut e.name).desired_width(90.0).hint_text("kit name"));
            }
            ui.selectable_value(&mut e.host_rate, false, "model rate");
            ui.selectable_value(&mut e.host_rate, true, "host rate");
            ui.selectable_value(&mut e.sample_format, SampleFormat::Int24, "24-bit");
            ui.selectable_value(&mut e.sample_format, SampleFormat::Float32, "float");
            if ui.button("Export…").on_hover_text("Choose a folder; files are named from pad, note and class").clicked() {
                self.dialogs.open(files::Purpose::Export, browser::BrowseMode::PickFolder, "Export to folder", false);
            }
            if ui.small_button("in editor…").on_hover_text("Choose the folder with the editor's own browser").clicked() {
                self.dialogs.open(files::Purpose::Export, browser::BrowseMode::PickFolder, "Export to folder", true);
            }
        });
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
                    let class = p.class.value().max(0) as usize;
                    let known = classes.is_none_or(|c| class < c.len());
                    let base = if pad == self.selected { Color32::from_rgb(70, 90, 140) } else { Color32::from_gray(45) };
                    let fill = lerp_color(base, Color32::from_rgb(240, 200, 90), flash);
                    let drop_here = self.drop_pads.contains(&pad);
                    let fill = if drop_here { Color32::from_rgb(60, 140, 90) } else { fill };
                    let muted = p.mute.value();
                    let text = format!(
                        "{}  {}\n{}{}",
                        pad + 1,
                        note_name(p.note.value().clamp(0, 127) as u8),
                        self.link.params.classes.label(class as i32),
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

/// A selector of the loaded model's classes by name (slots beyond its class count are listed
/// as "not in model" only when the parameter is set to one).
fn class_combo(ui: &mut egui::Ui, id: &str, param: &IntParam, setter: &ParamSetter, names: &crate::params::ClassNames) {
    let current = param.value();
    let count = names.get().len() as i32;
    egui::ComboBox::from_id_salt(id).width(SLIDER_WIDTH - 8.0).selected_text(names.label(current)).show_ui(ui, |ui| {
        let slots = (0..count).chain((current >= count).then_some(current));
        for i in slots {
            if ui.selectable_label(i == current, names.label(i)).clicked() && i != current {
                setter.begin_set_parameter(param);
                setter.set_parameter(param, i);
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

        let (model, generating, encoding, last_error, message, pad_status, encoded) = {
            let st = link.status.lock();
            let ps = &st.pads[self.selected];
            (
                st.model.clone(),
                st.generating,
                st.encoding.clone(),
                st.last_error.clone(),
                st.message.clone(),
                (ps.preview.clone(), ps.timing.total_ms(), ps.from_state, ps.error.clone(), ps.audio.is_some()),
                st.encoded_recent.iter().filter(|e| e.serial > self.encoded_seen).cloned().collect::<Vec<_>>(),
            )
        };
        // Every result since the last frame (several dropped files finish together).
        for result in encoded {
            self.encoded_seen = result.serial;
            self.apply_encoded(&setter, &result);
        }
        let classes: Option<Vec<String>> = match &model {
            ModelState::Ready { classes, .. } => Some(classes.clone()),
            _ => None,
        };
        let busy = generating.is_some() || encoding.is_some() || matches!(model, ModelState::Loading { .. });
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
                if ui.button("Models…").on_hover_text("Choose the model set: embedded, user folder, added folders").clicked() {
                    self.chooser.open = true;
                }
                if ui.button("Reload model").on_hover_text("Load the model set again (e.g. after an error)").clicked() {
                    self.local_error = (!store.load_wanted_model()).then(|| "the engine has stopped".into());
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if let Some(pad) = generating {
                        ui.spinner();
                        ui.label(format!("generating pad {}…", pad + 1));
                    }
                    if let Some(e) = &encoding {
                        let fraction = if e.steps == 0 { 0.0 } else { e.step as f32 / e.steps as f32 };
                        let fit = if e.loss_db.is_finite() { format!(", fit {:.1} dB", e.loss_db) } else { String::new() };
                        ui.add(egui::ProgressBar::new(fraction).desired_width(110.0).text(format!("{}/{}", e.step, e.steps)));
                        ui.label(format!("encoding {} onto pad {}: refining{fit}", e.sample_name, e.pad + 1));
                    }
                });
            });
            let warning = match (store.warning(), store.missing_model()) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            };
            status_line(ui, &model, last_error.as_deref(), message.as_deref(), warning, self.local_error.as_deref());
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
                        class_combo(ui, "ndm-class", &p.class, &setter, &link.params.classes);
                        ui.end_row();
                        ui.label("Blend class");
                        class_combo(ui, "ndm-blend-class", &p.blend_class, &setter, &link.params.classes);
                        ui.end_row();
                        for (name, param) in [("Blend", &p.blend), ("Fine", &p.fine), ("Range", &p.range), ("Variation", &p.variation)] {
                            ui.label(name);
                            ui.add(ParamSlider::for_param(param, &setter).with_width(SLIDER_WIDTH));
                            ui.end_row();
                        }
                        ui.label("Seed");
                        ui.add(ParamSlider::for_param(&p.seed, &setter).with_width(SLIDER_WIDTH));
                        ui.end_row();
                        let anchored = store.sample(self.selected).2;
                        ui.label("Detail");
                        ui.add_enabled(anchored, ParamSlider::for_param(&p.detail, &setter).with_width(SLIDER_WIDTH)).on_hover_text(
                            "How much of the dropped sample's own spectrogram detail the pad keeps (100 % at the sample's position: the sample itself through the inverter)",
                        ).on_disabled_hover_text("Drop a sample on the pad first");
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

            // Sample loading and export.
            ui.horizontal(|ui| {
                ui.label("Sample");
                let (name, _, anchored) = store.sample(self.selected);
                ui.label(RichText::new(name.filter(|_| anchored).unwrap_or_else(|| "none (drop a file on a pad)".into())).weak());
                let open = browser::BrowseMode::OpenFile { extensions: browser::AUDIO_EXTENSIONS };
                let purpose = files::Purpose::LoadSample { pad: self.selected };
                if ui.button("Load sample…").on_hover_text("Encode an audio file onto the selected pad").clicked() {
                    self.dialogs.open(purpose, open.clone(), "Load a sample onto the pad", false);
                }
                if ui.small_button("in editor…").on_hover_text("Choose the file with the editor's own browser").clicked() {
                    self.dialogs.open(purpose, open, "Load a sample onto the pad", true);
                }
            });
            self.export_row(ui);
        });
        self.windows(ui.ctx());
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
