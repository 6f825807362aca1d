//! File dialogs of the editor: the desktop's native dialog where there is one (rfd through the
//! XDG desktop portal, run on its own thread so the GUI never blocks), else the in-editor
//! [`Browser`]. A native dialog that returns nothing faster than a person could cancel it
//! (no portal answering) falls back to the in-editor browser at once.
//!
//! GUI thread, except the short-lived `ndm-file-dialog` thread that waits for the native dialog.

use super::browser::{remember, BrowseMode, Browser};
use crate::models::Settings;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Environment variable: `builtin` always uses the in-editor browser, `native` always tries the
/// native dialog; unset: native where a D-Bus session bus exists (Linux), else built-in.
pub const DIALOG_ENV: &str = "NDM_FILE_DIALOG";
/// A native dialog that answers "nothing chosen" sooner than this did not really open.
const NATIVE_MIN_HUMAN: Duration = Duration::from_millis(400);

/// What a chosen path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Encode an audio file onto pad `pad`.
    LoadSample { pad: usize },
    /// Export (the export settings say what) into a folder.
    Export,
    /// Add a folder to the model chooser.
    AddModelFolder,
}

/// Whether the native dialog is worth trying here (see [`DIALOG_ENV`]).
pub fn native_available() -> bool {
    match std::env::var(DIALOG_ENV).ok().as_deref() {
        Some("builtin") => false,
        Some("native") => true,
        _ => {
            if cfg!(target_os = "linux") {
                let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
                    || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).join("bus").exists());
                bus && std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
            } else {
                true
            }
        }
    }
}

struct Native {
    purpose: Purpose,
    mode: BrowseMode,
    title: String,
    start: PathBuf,
    opened: Instant,
    answer: mpsc::Receiver<Option<PathBuf>>,
}

/// The open dialog (at most one at a time) and the user's settings it keeps recent places in.
pub struct FileDialogs {
    native: Option<Native>,
    browser: Option<(Purpose, Browser)>,
    /// Model folders and recent places (saved when they change).
    pub settings: Settings,
}

impl Default for FileDialogs {
    fn default() -> Self {
        FileDialogs { native: None, browser: None, settings: Settings::load() }
    }
}

impl FileDialogs {
    /// True while a dialog is open.
    pub fn is_open(&self) -> bool {
        self.native.is_some() || self.browser.is_some()
    }

    /// The in-editor browser, if it is open (tests drive it through this).
    pub fn browser_mut(&mut self) -> Option<&mut Browser> {
        self.browser.as_mut().map(|(_, b)| b)
    }

    /// Where a dialog starts: the most recent place, else the home folder.
    pub fn start_dir(&self) -> PathBuf {
        self.settings
            .recent_places
            .iter()
            .find(|d| d.is_dir())
            .cloned()
            .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    /// Opens a dialog for `purpose`: native when available and `in_editor` is false, else the
    /// in-editor browser. Ignored while another dialog is open.
    pub fn open(&mut self, purpose: Purpose, mode: BrowseMode, title: &str, in_editor: bool) {
        if self.is_open() {
            return;
        }
        let start = self.start_dir();
        if in_editor || !native_available() {
            self.browser = Some((purpose, Browser::new(mode, title, &start)));
            return;
        }
        let (tx, rx) = mpsc::channel();
        let (m, t, s) = (mode.clone(), title.to_string(), start.clone());
        let spawned = std::thread::Builder::new().name("ndm-file-dialog".into()).spawn(move || {
            let _ = tx.send(run_native(&m, &t, &s));
        });
        match spawned {
            Ok(_) => self.native = Some(Native { purpose, mode, title: title.into(), start, opened: Instant::now(), answer: rx }),
            Err(_) => self.browser = Some((purpose, Browser::new(mode, title, &start))),
        }
    }

    /// Polls the native dialog and draws the browser; returns a confirmed choice once.
    pub fn poll(&mut self, ctx: &egui::Context) -> Option<(Purpose, PathBuf)> {
        if let Some(n) = &self.native {
            match n.answer.try_recv() {
                Ok(Some(path)) => {
                    let purpose = n.purpose;
                    self.native = None;
                    return Some(self.chosen(purpose, path));
                }
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                    let n = self.native.take()?;
                    if n.opened.elapsed() < NATIVE_MIN_HUMAN {
                        // No portal answered: the in-editor browser instead.
                        self.browser = Some((n.purpose, Browser::new(n.mode, n.title, &n.start)));
                    }
                }
                Err(mpsc::TryRecvError::Empty) => ctx.request_repaint_after(Duration::from_millis(100)),
            }
        }
        let (purpose, browser) = self.browser.as_mut()?;
        let purpose = *purpose;
        match browser.show(ctx, &self.settings.recent_places) {
            Some(Some(path)) => {
                self.browser = None;
                Some(self.chosen(purpose, path))
            }
            Some(None) => {
                self.browser = None;
                None
            }
            None => None,
        }
    }

    /// Confirms the in-editor browser's current choice as the OK button would (tests).
    ///
    /// # Errors
    /// Why the choice is not acceptable, or that no browser is open.
    pub fn confirm_browser(&mut self) -> Result<(Purpose, PathBuf), String> {
        let (purpose, browser) = self.browser.as_ref().ok_or("no file browser is open")?;
        let path = browser.chosen()?;
        let purpose = *purpose;
        self.browser = None;
        Ok(self.chosen(purpose, path))
    }

    /// Records the chosen place as recent.
    fn chosen(&mut self, purpose: Purpose, path: PathBuf) -> (Purpose, PathBuf) {
        let dir = if path.is_dir() { path.clone() } else { path.parent().map(Path::to_path_buf).unwrap_or_default() };
        if !dir.as_os_str().is_empty() {
            remember(&mut self.settings.recent_places, &dir);
            let _ = self.settings.save();
        }
        (purpose, path)
    }
}

/// Runs the native dialog (blocking: its own thread only).
fn run_native(mode: &BrowseMode, title: &str, start: &Path) -> Option<PathBuf> {
    let dialog = rfd::FileDialog::new().set_title(title).set_directory(start);
    match mode {
        BrowseMode::OpenFile { extensions } => dialog.add_filter("Audio files", extensions).pick_file(),
        BrowseMode::PickFolder => dialog.pick_folder(),
        BrowseMode::SaveFile { default_name } => dialog.set_file_name(default_name).save_file(),
    }
}
