//! The baseview window handler: the OpenGL context of the window, the egui context, the
//! egui_glow painter, and the app. Runs on the window's thread only.

use super::translate::{self, Input};
use super::{EditorState, NiceEguiApp};
use baseview::gl::GlContext;
use baseview::{Event, EventStatus, HandlerError, MouseCursor, MouseEvent, TimerHandle, WindowContext, WindowHandler, WindowSize};
use egui_glow::glow;
use nice_plug::context::gui::GuiContext;
use nice_plug::{nice_error, nice_log, nice_warn};
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the handler looks at the repaint flag set by the host's parameter callbacks.
const REPAINT_POLL: Duration = Duration::from_millis(16);

fn error(message: String) -> HandlerError {
    HandlerError::from_boxed(message.into())
}

/// The window's GL context with the painter that draws into it.
struct Gl {
    context: GlContext,
    painter: egui_glow::Painter,
}

impl Gl {
    /// Loads OpenGL through the window's context and makes the egui painter.
    fn new(window: &WindowContext) -> Result<Gl, HandlerError> {
        let context = window.gl_context().ok_or_else(|| error("the editor window has no OpenGL context".into()))?;
        // SAFETY: the context belongs to this window, whose thread this is.
        unsafe { context.make_current() }.map_err(|e| error(format!("OpenGL context: {e}")))?;
        // SAFETY: the function pointers come from the current context.
        let gl = unsafe { glow::Context::from_loader_function_cstr(|name| context.get_proc_address(name)) };
        let painter = egui_glow::Painter::new(Arc::new(gl), "", None, true);
        // SAFETY: as above.
        if let Err(e) = unsafe { context.make_not_current() } {
            nice_warn!("editor: releasing the OpenGL context: {e}");
        }
        let painter = painter.map_err(|e| error(format!("egui_glow painter: {e}")))?;
        Ok(Gl { context, painter })
    }
}

/// The window handler of [`super::EguiEditor`].
pub(super) struct Handler<A: NiceEguiApp> {
    window: WindowContext,
    app: Arc<Mutex<A>>,
    egui: egui::Context,
    gl: RefCell<Gl>,
    input: RefCell<Input>,
    state: Arc<EditorState>,
    repaint: Arc<AtomicBool>,
    timer: Option<TimerHandle>,
    cursor: Cell<MouseCursor>,
    clipboard: RefCell<Option<copypasta::ClipboardContext>>,
    start: Instant,
    /// A paint error was logged already (log once, not every frame).
    paint_failed: Cell<bool>,
}

impl<A: NiceEguiApp> Handler<A> {
    /// Sets up GL, egui and the app for `window` (an error closes the window).
    pub(super) fn new(
        window: WindowContext,
        app: Arc<Mutex<A>>,
        gui: GuiContext,
        state: Arc<EditorState>,
        repaint: Arc<AtomicBool>,
    ) -> Result<Self, HandlerError> {
        let gl = Gl::new(&window).inspect_err(|e| nice_error!("editor: {e}"))?;
        let egui = egui::Context::default();
        let waker = window.waker();
        egui.set_request_repaint_callback(move |info| waker.request_redraw_after(info.delay));
        let size = window.size();
        state.store_size(size);
        let input = Input::new(size.physical, size.scale_factor, gl.painter.max_texture_side());
        app.lock().build(&egui, gui);
        let timer = window.create_timer(REPAINT_POLL).inspect_err(|e| nice_warn!("editor: repaint timer: {e}")).ok();
        let clipboard = copypasta::ClipboardContext::new().inspect_err(|e| nice_warn!("editor: clipboard: {e}")).ok();
        Ok(Handler {
            window,
            app,
            egui,
            gl: RefCell::new(gl),
            input: RefCell::new(input),
            state,
            repaint,
            timer,
            cursor: Cell::new(MouseCursor::Default),
            clipboard: RefCell::new(clipboard),
            start: Instant::now(),
            paint_failed: Cell::new(false),
        })
    }

    fn paint_error(&self, what: &str, e: impl std::fmt::Display) {
        if !self.paint_failed.replace(true) {
            nice_error!("editor: {what}: {e}");
        }
    }

    fn paint(&self, output: &mut egui::FullOutput) {
        let mut gl = self.gl.borrow_mut();
        let Gl { context, painter } = &mut *gl;
        // SAFETY: this window's context, on its thread.
        if let Err(e) = unsafe { context.make_current() } {
            return self.paint_error("OpenGL make_current", e);
        }
        let physical = self.window.size().physical;
        let size = [physical.width, physical.height];
        let ppp = output.pixels_per_point;
        let fill = egui::Rgba::from(self.egui.global_style().visuals.panel_fill);
        painter.clear(size, fill.to_array());
        for (id, deltas) in output.textures_delta.set.drain() {
            for delta in &deltas {
                painter.set_texture(id, delta);
            }
        }
        let primitives = self.egui.tessellate(std::mem::take(&mut output.shapes), ppp);
        painter.paint_primitives(size, ppp, &primitives);
        for id in output.textures_delta.free.drain() {
            painter.free_texture(id);
        }
        if let Err(e) = context.swap_buffers() {
            self.paint_error("OpenGL swap_buffers", e);
        }
        // SAFETY: as above.
        if let Err(e) = unsafe { context.make_not_current() } {
            self.paint_error("OpenGL make_not_current", e);
        }
    }

    /// Cursor icon and copied text.
    fn platform_output(&self, output: &mut egui::PlatformOutput) {
        let cursor = translate::cursor(output.cursor_icon);
        if cursor != self.cursor.replace(cursor) {
            if let Err(e) = self.window.set_mouse_cursor(cursor) {
                nice_warn!("editor: cursor: {e}");
            }
        }
        for command in output.commands.drain(..) {
            let egui::OutputCommand::CopyText(text) = command else { continue };
            if let Some(clipboard) = self.clipboard.borrow_mut().as_mut() {
                if let Err(e) = copypasta::ClipboardProvider::set_contents(clipboard, text) {
                    nice_warn!("editor: copy: {e}");
                }
            }
        }
    }

    fn poll_repaint(&self) {
        if self.repaint.swap(false, Ordering::Relaxed) {
            self.window.request_redraw();
        }
    }
}

impl<A: NiceEguiApp> WindowHandler for Handler<A> {
    fn draw(&self) -> Result<(), HandlerError> {
        let raw = self.input.borrow_mut().take(self.start.elapsed().as_secs_f64());
        let mut output = {
            let mut app = self.app.lock();
            self.egui.run_ui(raw, |ui| app.ui(ui))
        };
        self.platform_output(&mut output.platform_output);
        self.paint(&mut output);
        Ok(())
    }

    fn poll(&self) {
        self.poll_repaint();
    }

    fn resized(&self, new_size: WindowSize) -> Result<(), HandlerError> {
        self.input.borrow_mut().resize(new_size.physical, new_size.scale_factor);
        self.state.store_size(new_size);
        self.window.request_redraw();
        Ok(())
    }

    fn on_event(&self, event: Event) -> EventStatus {
        if let Event::Mouse(MouseEvent::DragDropped { data, .. }) = &event {
            nice_log!("editor: {} file(s) dropped", translate::drop_paths(data).len());
        }
        let (status, effects) = self.input.borrow_mut().handle(&event);
        if effects.focus && !self.window.has_focus() {
            if let Err(e) = self.window.focus() {
                nice_warn!("editor: focus: {e}");
            }
        }
        if effects.paste {
            let text = self.clipboard.borrow_mut().as_mut().map(copypasta::ClipboardProvider::get_contents);
            match text {
                Some(Ok(text)) => self.input.borrow_mut().paste(text),
                Some(Err(e)) => nice_warn!("editor: paste: {e}"),
                None => {}
            }
        }
        if effects.repaint {
            self.window.request_redraw();
        }
        match event {
            // Keys egui does not want go back to the host (its shortcuts, a keyboard piano).
            Event::Keyboard(_) if !self.egui.egui_wants_keyboard_input() => EventStatus::Ignored,
            _ => status,
        }
    }

    fn on_timer(&self, timer: &TimerHandle) {
        if self.timer.as_ref() == Some(timer) {
            self.poll_repaint();
        }
    }
}

impl<A: NiceEguiApp> Drop for Handler<A> {
    fn drop(&mut self) {
        self.app.lock().closed();
        let gl = self.gl.get_mut();
        // SAFETY: this window's context, on its thread; the painter's GL objects live in it.
        match unsafe { gl.context.make_current() } {
            Ok(()) => {
                gl.painter.destroy();
                // SAFETY: as above.
                let _ = unsafe { gl.context.make_not_current() };
            }
            Err(e) => nice_warn!("editor: OpenGL context lost before clean-up: {e}"),
        }
    }
}
