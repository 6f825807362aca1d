//! The editor's window: nice-plug's [`Editor`] on top of baseview (with its OpenGL context),
//! egui and egui_glow — our own small integration layer in place of nice-plug-egui's, for one
//! reason: egui-baseview drops baseview's drag-and-drop events, and this layer delivers them
//! (`hovered_files` while files hover over the window, `dropped_files` on the drop, the pointer
//! at the drop position; the drop is accepted as a copy).
//!
//! - [`translate`]: baseview events → [`egui::RawInput`] (pure, unit-tested).
//! - `handler`: the baseview [`WindowHandler`](baseview::WindowHandler): GL context, egui
//!   context, egui_glow painter, frames, cursor icon and clipboard.
//! - this module: [`EguiEditor`] ([`Editor`]) and its [`EguiEditorHandle`] ([`EditorHandle`]):
//!   opening the window (parented to the host's, or standalone), size and scale, host resize
//!   callbacks, repaint requests from parameter changes.
//!
//! The app is a [`NiceEguiApp`]: `build` once per opened window (with nice-plug's
//! [`GuiContext`] for parameter gestures), `ui` every frame. The window is not resizable by the
//! host (as before). Nothing here runs on the audio thread: `param_value_changed` only sets an
//! atomic flag, which the window polls.

mod handler;
pub mod translate;

use baseview::dpi::{LogicalSize, Size};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::NativeSize;
use nice_plug::editor::{Editor, EditorHandle, HostMethods, ParentWindowHandle, SpawnedEditor};
use parking_lot::Mutex;
use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the editor needs from the app it shows.
pub trait NiceEguiApp: Send + 'static {
    /// A window was opened (again): set up egui (style, fonts) and keep `gui` for parameter
    /// gestures.
    fn build(&mut self, egui_ctx: &egui::Context, gui: GuiContext);

    /// Draws one frame into `ui`, which covers the whole window.
    fn ui(&mut self, ui: &mut egui::Ui);

    /// The window was closed (it may be opened again later).
    fn closed(&mut self) {}
}

/// The editor's size and whether it is open; shared by the plugin, the editor and its window.
#[derive(Debug)]
pub struct EditorState {
    /// Logical size of the window.
    size: Mutex<LogicalSize<f64>>,
    /// The window's scale factor once known, else the host's suggestion.
    scale: Mutex<Option<f64>>,
    open: AtomicBool,
}

impl EditorState {
    /// A state for a window of `width` × `height` logical pixels.
    pub fn from_size(width: f64, height: f64) -> Arc<Self> {
        Arc::new(EditorState {
            size: Mutex::new(LogicalSize::new(width, height)),
            scale: Mutex::new(None),
            open: AtomicBool::new(false),
        })
    }

    /// Logical size of the window.
    pub fn logical_size(&self) -> LogicalSize<f64> {
        *self.size.lock()
    }

    /// The scale factor in use (1 until a window or the host said otherwise).
    pub fn scale_factor(&self) -> f64 {
        self.scale.lock().unwrap_or(1.0)
    }

    /// Whether an editor window is open.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    fn store_size(&self, size: baseview::WindowSize) {
        *self.size.lock() = size.logical;
        *self.scale.lock() = Some(size.scale_factor);
    }
}

/// Settings of the editor window.
#[derive(Debug, Clone)]
pub struct WindowOptions {
    /// Window title (shown by the standalone; hosts use their own).
    pub title: String,
}

/// The [`Editor`] of an egui app in a baseview window.
pub struct EguiEditor<A: NiceEguiApp> {
    state: Arc<EditorState>,
    app: Arc<Mutex<A>>,
    options: WindowOptions,
    /// Set by the host's parameter callbacks (any thread), polled by the window.
    repaint: Arc<AtomicBool>,
}

/// The editor of `app` with the size in `state`.
pub fn create_egui_editor<A: NiceEguiApp>(state: Arc<EditorState>, options: WindowOptions, app: A) -> Option<EguiEditor<A>> {
    Some(EguiEditor { state, app: Arc::new(Mutex::new(app)), options, repaint: Arc::new(AtomicBool::new(true)) })
}

/// Forwards baseview's host callbacks to nice-plug's.
struct HostCallbacks(Box<dyn nice_plug::editor::HostCallbacks>);

impl baseview::host::HostCallbacks for HostCallbacks {
    fn request_resize(&mut self, new_size: baseview::WindowSize) -> Result<(), baseview::HandlerError> {
        self.0.request_resize(new_size.physical.into(), new_size.scale_factor).map_err(baseview::HandlerError::from_boxed)
    }

    fn destroyed(&mut self) {
        self.0.destroyed();
    }
}

/// Forwards baseview's main-thread requests (X11) to nice-plug's.
struct MainThread(Box<dyn nice_plug::editor::HostMainThreadCaller>);

impl baseview::host::HostMainThreadCaller for MainThread {
    fn call_main_thread(&mut self) {
        self.0.call_main_thread();
    }
}

impl<A: NiceEguiApp> Editor for EguiEditor<A> {
    type Handle = EguiEditorHandle;

    fn spawn(
        &self,
        parent: Option<ParentWindowHandle>,
        wait_for_parent: bool,
        fallback_scale_factor: Option<f64>,
        gui_context: GuiContext,
        host: Option<HostMethods>,
    ) -> Result<SpawnedEditor<Self::Handle>, Box<dyn Error>> {
        if let Some(scale) = fallback_scale_factor {
            let mut known = self.state.scale.lock();
            known.get_or_insert(scale);
        }
        let settings = baseview::WindowSettings::new()
            .with_title(self.options.title.clone())
            .with_size(Size::Logical(self.state.logical_size()))
            .with_parent(parent.as_ref())
            .with_wait_for_parent(wait_for_parent)
            .with_fallback_scale_factor(fallback_scale_factor)
            .with_resizable(false)
            .with_gl_config(Some(baseview::gl::GlConfig::default()));
        let host = host.map(|h| {
            baseview::host::Host::new().with_callbacks(HostCallbacks(h.callbacks)).with_main_thread(MainThread(h.main_thread_caller))
        });
        let (app, state, repaint) = (self.app.clone(), self.state.clone(), self.repaint.clone());
        let window = baseview::Window::create_with_host(
            settings,
            move |window| handler::Handler::new(window, app, gui_context, state, repaint),
            host,
        )?;
        self.state.open.store(true, Ordering::Release);
        Ok(SpawnedEditor { handle: EguiEditorHandle { state: self.state.clone(), repaint: self.repaint.clone() }, window })
    }

    fn size(&self) -> NativeSize<u32> {
        NativeSize::from_size(Size::Logical(self.state.logical_size()), self.state.scale_factor())
    }

    fn track_info_updated(&self, _info: nice_plug::plugin::TrackInfo) {
        self.repaint.store(true, Ordering::Relaxed);
    }

    unsafe fn assume_standalone_in_process(&self) {
        // SAFETY: the same contract as this method's (nice-plug calls it for standalone builds).
        unsafe { baseview::assume_standalone_in_process() }
    }
}

/// A spawned [`EguiEditor`] window; dropping it closes the window.
pub struct EguiEditorHandle {
    state: Arc<EditorState>,
    repaint: Arc<AtomicBool>,
}

impl EguiEditorHandle {
    fn request_repaint(&self) {
        self.repaint.store(true, Ordering::Relaxed);
    }
}

impl EditorHandle for EguiEditorHandle {
    type Window = baseview::Window;
    type Error = baseview::Error;

    fn run_until_closed(window: Self::Window) -> Result<(), Self::Error> {
        window.run_until_closed()
    }

    fn set_parent(&self, parent: ParentWindowHandle, window: &Self::Window) -> Result<(), Self::Error> {
        window.set_parent(&parent)
    }

    fn show(&self, window: &Self::Window) -> Result<(), Self::Error> {
        let shown = window.show();
        // Showing does not always produce an event that draws a frame.
        self.request_repaint();
        shown
    }

    fn hide(&self, window: &Self::Window) -> Result<(), Self::Error> {
        window.hide()
    }

    fn set_size(&self, new_size: NativeSize<u32>, window: &Self::Window) -> Result<(), Self::Error> {
        window.resize(new_size)
    }

    fn host_main_thread_callback(&self, window: &Self::Window) {
        window.host_main_thread_callback();
    }

    fn set_fallback_scale_factor(&self, scale_factor: f64, window: &Self::Window) -> Result<(), Self::Error> {
        window.suggest_fallback_scale_factor(scale_factor)
    }

    fn state_changed(&self) {
        self.request_repaint();
    }

    fn param_value_changed(&self, _id: &str, _normalized_value: f32) {
        self.request_repaint();
    }

    fn param_modulation_changed(&self, _id: &str, _modulation_offset: f32) {
        self.request_repaint();
    }
}

impl Drop for EguiEditorHandle {
    fn drop(&mut self) {
        self.state.open.store(false, Ordering::Release);
    }
}
