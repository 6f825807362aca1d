//! The in-editor file browser: the fallback of the native file dialog (headless hosts, desktops
//! without an XDG desktop portal). Folders, files filtered by extension, recent places; three
//! modes: open a file, choose a folder, save under a name.
//!
//! The listing and navigation logic ([`Browser`]) is plain Rust, tested without a GUI; [`Browser::show`]
//! draws it with egui. GUI thread only. A listing reads one directory (`read_dir`, no recursion),
//! so it is quick enough for the GUI thread.

use std::path::{Path, PathBuf};

/// Audio file extensions the core decodes (symphonia: WAV, FLAC, AIFF, MP3, Ogg Vorbis, …).
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "flac", "aif", "aiff", "aifc", "mp3", "ogg", "oga", "m4a", "caf"];
/// Most recent places kept.
pub const MAX_RECENT: usize = 8;

/// What the browser is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowseMode {
    /// An existing file whose extension is one of these (lower case, without the dot).
    OpenFile { extensions: &'static [&'static str] },
    /// An existing folder.
    PickFolder,
    /// A file name (new or existing) in a folder, with this default name.
    SaveFile { default_name: String },
}

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File or folder name.
    pub name: String,
    /// True for a folder.
    pub is_dir: bool,
}

/// The state of one browsing session.
#[derive(Debug, Clone)]
pub struct Browser {
    /// What is being chosen.
    pub mode: BrowseMode,
    /// Window title ("Load sample", "Export kit to folder", …).
    pub title: String,
    dir: PathBuf,
    entries: Vec<Entry>,
    /// Name typed or clicked (a file in `dir`; in folder mode, a sub-folder).
    pub name: String,
    /// Error of the last listing (unreadable folder), shown in the window.
    pub error: Option<String>,
    /// Set by the Cancel button until [`Browser::show`] reports it.
    cancelled: bool,
}

/// Lists `dir` for `mode`: folders (not hidden ones) first, then matching files, each sorted by
/// name, case-insensitively.
///
/// # Errors
/// The `read_dir` error of an unreadable or missing folder, as text.
pub fn list_dir(dir: &Path, mode: &BrowseMode) -> Result<Vec<Entry>, String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut entries: Vec<Entry> = read
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name.starts_with('.') {
                return None;
            }
            // Follows symbolic links (a linked sample folder is a folder).
            let is_dir = e.path().is_dir();
            let keep = is_dir
                || match mode {
                    BrowseMode::OpenFile { extensions } => has_extension(&name, extensions),
                    BrowseMode::PickFolder => false,
                    BrowseMode::SaveFile { .. } => true,
                };
            keep.then_some(Entry { name, is_dir })
        })
        .collect();
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
    Ok(entries)
}

/// True when `name` ends in `.ext` for one of `extensions` (case-insensitive).
pub fn has_extension(name: &str, extensions: &[&str]) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Puts `dir` first in `recent` (no duplicates, at most [`MAX_RECENT`]).
pub fn remember(recent: &mut Vec<PathBuf>, dir: &Path) {
    recent.retain(|d| d != dir);
    recent.insert(0, dir.to_path_buf());
    recent.truncate(MAX_RECENT);
}

/// The places offered beside the listing: home, the user's music and model folders where they
/// exist, the file system root, then the recent folders.
pub fn places(recent: &[PathBuf]) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        out.push(("Home".to_string(), home.clone()));
        for (label, sub) in [("Music", "Music"), ("Desktop", "Desktop"), ("Downloads", "Downloads")] {
            let p = home.join(sub);
            if p.is_dir() {
                out.push((label.to_string(), p));
            }
        }
    }
    let models = ndm_core::catalog::user_model_dir();
    if models.is_dir() {
        out.push(("Models".to_string(), models));
    }
    out.push(("/".to_string(), PathBuf::from("/")));
    for d in recent {
        let label = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| d.display().to_string());
        out.push((format!("recent: {label}"), d.clone()));
    }
    out
}

impl Browser {
    /// A browser in `dir` (or the first readable of its ancestors, else the home folder).
    pub fn new(mode: BrowseMode, title: impl Into<String>, dir: &Path) -> Self {
        let name = match &mode {
            BrowseMode::SaveFile { default_name } => default_name.clone(),
            _ => String::new(),
        };
        let mut b = Browser { mode, title: title.into(), dir: PathBuf::new(), entries: Vec::new(), name, error: None, cancelled: false };
        let start = dir
            .ancestors()
            .find(|d| d.is_dir())
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/"));
        b.open_dir(&start);
        b
    }

    /// The folder shown.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The rows of the folder shown.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Shows `dir`; on an unreadable folder keeps the current one and sets [`Browser::error`].
    pub fn open_dir(&mut self, dir: &Path) {
        match list_dir(dir, &self.mode) {
            Ok(entries) => {
                self.dir = dir.to_path_buf();
                self.entries = entries;
                self.error = None;
                if !matches!(self.mode, BrowseMode::SaveFile { .. }) {
                    self.name.clear();
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Goes to the parent folder.
    pub fn up(&mut self) {
        if let Some(parent) = self.dir.parent().map(Path::to_path_buf) {
            self.open_dir(&parent);
        }
    }

    /// Activates a row by name: a folder opens, a file is selected (its name goes to
    /// [`Browser::name`]). Returns true when it was a file.
    pub fn activate(&mut self, name: &str) -> bool {
        match self.entries.iter().find(|e| e.name == name).cloned() {
            Some(Entry { is_dir: true, name }) => {
                let dir = self.dir.join(name);
                self.open_dir(&dir);
                false
            }
            Some(Entry { is_dir: false, name }) => {
                self.name = name;
                true
            }
            None => false,
        }
    }

    /// The chosen path, when the current choice is acceptable for the mode: an existing file
    /// with an accepted extension (open), the shown folder or a selected sub-folder (folder), a
    /// non-empty file name without path separators (save).
    ///
    /// # Errors
    /// Why the choice is not acceptable, as text for the window.
    pub fn chosen(&self) -> Result<PathBuf, String> {
        let name = self.name.trim();
        match &self.mode {
            BrowseMode::OpenFile { extensions } => {
                if name.is_empty() {
                    return Err("choose a file".into());
                }
                let p = self.dir.join(name);
                if !p.is_file() {
                    Err(format!("{} is not a file", p.display()))
                } else if !has_extension(name, extensions) {
                    Err(format!("{name}: not one of {}", extensions.join(", ")))
                } else {
                    Ok(p)
                }
            }
            BrowseMode::PickFolder => {
                let p = if name.is_empty() { self.dir.clone() } else { self.dir.join(name) };
                if p.is_dir() { Ok(p) } else { Err(format!("{} is not a folder", p.display())) }
            }
            BrowseMode::SaveFile { .. } => {
                if name.is_empty() || name.contains('/') || name.contains('\\') || name == "." || name == ".." {
                    Err("type a file name (without a folder)".into())
                } else {
                    Ok(self.dir.join(name))
                }
            }
        }
    }

    /// Draws the browser as a window. Returns `Some(Some(path))` when the user confirmed a
    /// choice, `Some(None)` when they cancelled, `None` while it stays open.
    pub fn show(&mut self, ctx: &egui::Context, recent: &[PathBuf]) -> Option<Option<PathBuf>> {
        let mut outcome = None;
        let mut go_to: Option<PathBuf> = None;
        let mut activated: Option<String> = None;
        egui::Window::new(self.title.clone())
            .id(egui::Id::unique("ndm-file-browser"))
            .collapsible(false)
            .resizable(false)
            .fixed_size([640.0, 420.0])
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    if ui.button("Up").clicked() {
                        go_to = self.dir.parent().map(Path::to_path_buf);
                    }
                    ui.monospace(self.dir.display().to_string());
                });
                ui.separator();
                ui.horizontal_top(|ui| {
                    ui.vertical(|ui| {
                        ui.set_width(130.0);
                        ui.label(egui::RichText::new("Places").strong());
                        egui::ScrollArea::vertical().id_salt("places").max_height(300.0).show(ui, |ui| {
                            for (label, dir) in places(recent) {
                                if ui.selectable_label(self.dir == dir, label).on_hover_text(dir.display().to_string()).clicked() {
                                    go_to = Some(dir);
                                }
                            }
                        });
                    });
                    ui.separator();
                    ui.vertical(|ui| {
                        egui::ScrollArea::vertical().id_salt("entries").max_height(300.0).auto_shrink([false, false]).show(ui, |ui| {
                            if self.entries.is_empty() {
                                ui.label(egui::RichText::new("(nothing to show here)").weak());
                            }
                            for e in &self.entries {
                                // egui's default fonts have no folder / note glyphs: a trailing slash marks folders.
                                let label = if e.is_dir { format!("{}/", e.name) } else { e.name.clone() };
                                let r = ui.selectable_label(!e.is_dir && self.name == e.name, label);
                                if r.clicked() {
                                    activated = Some(e.name.clone());
                                }
                                if r.double_clicked() && !e.is_dir {
                                    outcome = Some(());
                                }
                            }
                        });
                    });
                });
                ui.separator();
                ui.horizontal(|ui| {
                    match self.mode {
                        BrowseMode::PickFolder => ui.label("Folder: the one shown"),
                        _ => {
                            ui.label("Name");
                            ui.add(egui::TextEdit::singleline(&mut self.name).desired_width(360.0))
                        }
                    };
                    let ok = match self.mode {
                        BrowseMode::OpenFile { .. } => "Open",
                        BrowseMode::PickFolder => "Choose",
                        BrowseMode::SaveFile { .. } => "Save",
                    };
                    if ui.button(ok).clicked() {
                        outcome = Some(());
                    }
                    if ui.button("Cancel").clicked() {
                        self.cancelled = true;
                    }
                });
                if let Some(e) = &self.error {
                    ui.label(egui::RichText::new(e).color(egui::Color32::from_rgb(240, 110, 100)));
                }
            });
        if let Some(name) = activated {
            self.activate(&name);
        }
        if let Some(dir) = go_to {
            self.open_dir(&dir);
        }
        if std::mem::take(&mut self.cancelled) {
            return Some(None);
        }
        if outcome.is_some() {
            match self.chosen() {
                Ok(p) => return Some(Some(p)),
                Err(e) => self.error = Some(e),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("Snares")).unwrap();
        std::fs::create_dir(d.path().join(".hidden")).unwrap();
        for f in ["b.WAV", "a.flac", "notes.txt", "Snares/s1.wav"] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        d
    }

    #[test]
    fn lists_folders_first_and_filters_by_extension() {
        let d = tree();
        let open = BrowseMode::OpenFile { extensions: AUDIO_EXTENSIONS };
        let names: Vec<_> = list_dir(d.path(), &open).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["Snares", "a.flac", "b.WAV"]);
        let folders: Vec<_> = list_dir(d.path(), &BrowseMode::PickFolder).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(folders, ["Snares"]);
        let save = BrowseMode::SaveFile { default_name: "x.wav".into() };
        assert_eq!(list_dir(d.path(), &save).unwrap().len(), 4);
        assert!(list_dir(&d.path().join("missing"), &open).is_err());
    }

    #[test]
    fn navigates_and_accepts_only_what_the_mode_asks_for() {
        let d = tree();
        let mut b = Browser::new(BrowseMode::OpenFile { extensions: AUDIO_EXTENSIONS }, "Load", &d.path().join("gone/deeper"));
        assert_eq!(b.dir(), d.path(), "starts at the nearest existing ancestor");
        assert!(b.chosen().is_err());
        assert!(!b.activate("Snares"));
        assert_eq!(b.dir(), d.path().join("Snares"));
        assert!(b.activate("s1.wav"));
        assert_eq!(b.chosen().unwrap(), d.path().join("Snares/s1.wav"));
        b.up();
        assert_eq!(b.dir(), d.path());
        b.name = "notes.txt".into();
        assert!(b.chosen().unwrap_err().contains("not one of"));
        b.open_dir(&d.path().join("nope"));
        assert!(b.error.is_some());
        assert_eq!(b.dir(), d.path(), "an unreadable folder keeps the listing");

        let mut f = Browser::new(BrowseMode::PickFolder, "Folder", d.path());
        assert_eq!(f.chosen().unwrap(), d.path());
        f.activate("Snares");
        assert_eq!(f.chosen().unwrap(), d.path().join("Snares"));

        let mut s = Browser::new(BrowseMode::SaveFile { default_name: "kit.sfz".into() }, "Save", d.path());
        assert_eq!(s.chosen().unwrap(), d.path().join("kit.sfz"));
        s.name = "../escape.wav".into();
        assert!(s.chosen().is_err());
    }

    #[test]
    fn recent_places_are_unique_newest_first_and_bounded() {
        let mut recent = Vec::new();
        for i in 0..12 {
            remember(&mut recent, Path::new(&format!("/d{i}")));
        }
        remember(&mut recent, Path::new("/d5"));
        assert_eq!(recent.len(), MAX_RECENT);
        assert_eq!(recent[0], PathBuf::from("/d5"));
        assert_eq!(recent.iter().filter(|d| d.as_path() == Path::new("/d5")).count(), 1);
        assert!(places(&recent).iter().any(|(l, _)| l == "/"));
    }
}
