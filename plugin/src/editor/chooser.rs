//! The model chooser: lists the embedded model and the model sets in the user model folder and
//! in the folders the user added — name, sample rate, length, classes, training summary, where
//! it is — and switches the instance to one without reloading the plugin (the worker loads it
//! and regenerates every pad; on failure the old model keeps playing).
//!
//! GUI thread; the scan (reads and hashes the model files) runs on an `ndm-model-scan` thread.

use crate::models::{self, ModelRef, Settings};
use crate::EditorLink;
use egui::{Color32, RichText};
use ndm_core::catalog::{Catalog, ModelInfo, ModelLocation};
use ndm_core::engine::Command;
use std::sync::mpsc;

/// The chooser's state.
#[derive(Default)]
pub struct Chooser {
    /// Shown?
    pub open: bool,
    catalog: Option<Catalog>,
    scanning: Option<mpsc::Receiver<Catalog>>,
}

/// What the user asked for in the chooser this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ChooserAction {
    /// Nothing.
    None,
    /// Open a folder dialog to add a model folder.
    AddFolder,
}

/// Switches the instance to `info`: remembered in the project, loaded by the worker.
pub fn switch_to(link: &EditorLink, info: &ModelInfo) -> bool {
    let dir = match &info.location {
        ModelLocation::Embedded => None,
        ModelLocation::Dir(d) => Some(d.clone()),
    };
    link.params.state.set_wanted_model(Some(ModelRef { name: info.name.clone(), hash: info.hash.clone(), dir }));
    link.params.state.send(Command::Switch(models::source_of(info)))
}

impl Chooser {
    /// Starts a scan of `settings`' folders (replacing the shown list when it finishes).
    pub fn rescan(&mut self, settings: &Settings) {
        let (tx, rx) = mpsc::channel();
        let settings = settings.clone();
        if std::thread::Builder::new()
            .name("ndm-model-scan".into())
            .spawn(move || {
                let _ = tx.send(models::scan(&settings));
            })
            .is_ok()
        {
            self.scanning = Some(rx);
        }
    }

    /// The last scan's result.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_ref()
    }

    /// Draws the chooser window when open.
    pub fn show(&mut self, ctx: &egui::Context, link: &EditorLink, settings: &Settings, loaded_hash: Option<&str>) -> ChooserAction {
        if let Some(rx) = &self.scanning {
            if let Ok(cat) = rx.try_recv() {
                self.catalog = Some(cat);
                self.scanning = None;
            } else {
                ctx.request_repaint_after(std::time::Duration::from_millis(100));
            }
        }
        if !self.open {
            return ChooserAction::None;
        }
        if self.catalog.is_none() && self.scanning.is_none() {
            self.rescan(settings);
        }
        let mut action = ChooserAction::None;
        let mut open = self.open;
        let mut rescan = false;
        egui::Window::new("Models").id(egui::Id::unique("ndm-model-chooser")).open(&mut open).resizable(false).default_width(620.0).show(ctx, |ui| {
            ui.horizontal(|ui| {
                if ui.button("Add folder…").on_hover_text("A model set, or a folder of model sets").clicked() {
                    action = ChooserAction::AddFolder;
                }
                if ui.button("Rescan").clicked() {
                    rescan = true;
                }
                if self.scanning.is_some() {
                    ui.spinner();
                }
            });
            ui.label(RichText::new(format!("Looked in: {}", models::model_folders(settings).iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "))).weak().small());
            ui.separator();
            let Some(cat) = &self.catalog else { return };
            egui::ScrollArea::vertical().max_height(380.0).show(ui, |ui| {
                for info in &cat.models {
                    let current = loaded_hash == Some(info.hash.as_str());
                    ui.horizontal(|ui| {
                        ui.vertical(|ui| {
                            ui.set_width(480.0);
                            let title = if current { format!("{} (playing)", info.name) } else { info.name.clone() };
                            ui.label(RichText::new(title).strong());
                            ui.label(format!(
                                "{} Hz · {:.2} s · schema {} · {} classes: {}",
                                info.sample_rate,
                                info.duration_s,
                                info.schema_version,
                                info.classes.len(),
                                info.classes.join(", ")
                            ));
                            if !info.training_summary.is_empty() {
                                ui.label(RichText::new(format!("Training: {}", info.training_summary)).weak());
                            }
                            let place = match &info.location {
                                ModelLocation::Embedded => "embedded in the plugin".to_string(),
                                ModelLocation::Dir(d) => d.display().to_string(),
                            };
                            ui.label(RichText::new(format!("{place} · hash {}", info.hash)).weak().small());
                        });
                        if !current && ui.button("Use").on_hover_text("Switch to this model; every pad is made again").clicked() {
                            switch_to(link, info);
                        }
                    });
                    ui.separator();
                }
                for r in &cat.rejected {
                    ui.label(RichText::new(format!("{}: {}", r.dir.display(), r.reason)).color(Color32::from_rgb(240, 110, 100)));
                }
            });
        });
        self.open = open;
        if rescan {
            self.rescan(settings);
        }
        action
    }
}
