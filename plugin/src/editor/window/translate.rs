//! baseview events → egui input, as plain data: no window, no GL, so it is unit-tested.
//!
//! [`Input`] accumulates one frame's [`egui::RawInput`]: pointer moves, buttons and scrolling
//! (physical pixels → egui points through the window's scale factor), keys, text, modifiers,
//! focus, the screen size, and the files of a drag-and-drop session (`hovered_files` while they
//! hover, `dropped_files` on the drop, with the pointer moved to where they are).

use baseview::dpi::{PhysicalPosition, PhysicalSize};
use baseview::{DropData, DropEffect, Event, EventStatus, MouseButton, MouseCursor, MouseEvent, ScrollDelta, WindowEvent};
use egui::{CursorIcon, HoveredFile, Pos2, RawInput, Rect};
use keyboard_types::{Code, KeyState, KeyboardEvent};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the window has to do after an event, besides handing the input to egui.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// The input changed: draw a new frame.
    pub repaint: bool,
    /// The paste shortcut: read the clipboard and pass its text to [`Input::paste`].
    pub paste: bool,
    /// A mouse button went down: take the keyboard focus (parented windows do not get it by
    /// themselves).
    pub focus: bool,
}

/// A file dropped onto the window: a path on the local file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedPath(pub PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| format!("{}: {e}", self.0.display()))
    }
}

/// The egui input of the next frame, built from baseview events.
#[derive(Debug)]
pub struct Input {
    raw: RawInput,
    /// Physical pixels per egui point (the window's scale factor).
    scale: f32,
    modifiers: egui::Modifiers,
    /// Last pointer position, in points (`None` outside the window).
    pointer: Option<Pos2>,
}

/// A usable scale factor: positive and finite, else 1.
pub fn sane_scale(scale: f64) -> f32 {
    let s = scale as f32;
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

/// A physical window position in egui points.
pub fn to_points(position: PhysicalPosition<f64>, scale: f32) -> Pos2 {
    Pos2::new(position.x as f32 / scale, position.y as f32 / scale)
}

/// The window's area in egui points.
pub fn screen_rect(physical: PhysicalSize<u32>, scale: f32) -> Rect {
    Rect::from_min_size(Pos2::ZERO, egui::vec2(physical.width as f32 / scale, physical.height as f32 / scale))
}

/// egui's modifiers; `command` is Ctrl, or ⌘ on macOS.
pub fn modifiers(m: &keyboard_types::Modifiers) -> egui::Modifiers {
    let mac = cfg!(target_os = "macos");
    egui::Modifiers {
        alt: m.alt(),
        ctrl: m.ctrl(),
        shift: m.shift(),
        mac_cmd: mac && m.meta(),
        command: if mac { m.meta() } else { m.ctrl() },
    }
}

/// egui's pointer button (`None` for buttons egui has no use for).
pub fn pointer_button(button: MouseButton) -> Option<egui::PointerButton> {
    match button {
        MouseButton::Left => Some(egui::PointerButton::Primary),
        MouseButton::Right => Some(egui::PointerButton::Secondary),
        MouseButton::Middle => Some(egui::PointerButton::Middle),
        MouseButton::Back => Some(egui::PointerButton::Extra1),
        MouseButton::Forward => Some(egui::PointerButton::Extra2),
        _ => None,
    }
}

/// egui's key for a keyboard-types key, by name (`ArrowDown`, `Enter`, `a`, `7`, `-`, `F5` …).
pub fn key(key: &keyboard_types::Key) -> Option<egui::Key> {
    match key {
        keyboard_types::Key::Character(s) => egui::Key::from_name(s),
        keyboard_types::Key::Named(named) => egui::Key::from_name(&named.to_string()),
    }
}

/// baseview's cursor for egui's cursor icon (the default arrow where baseview has no match).
pub fn cursor(icon: CursorIcon) -> MouseCursor {
    use CursorIcon as C;
    use MouseCursor as M;
    match icon {
        C::None => M::Hidden,
        C::PointingHand | C::ContextMenu | C::Grab => M::Hand,
        C::Grabbing => M::HandGrabbing,
        C::Help => M::Help,
        C::Progress => M::PtrWorking,
        C::Wait => M::Working,
        C::Text => M::Text,
        C::VerticalText => M::VerticalText,
        C::Crosshair => M::Crosshair,
        C::Cell => M::Cell,
        C::Copy => M::Copy,
        C::Alias => M::Alias,
        C::Move => M::Move,
        C::AllScroll => M::AllScroll,
        C::NoDrop | C::NotAllowed => M::NotAllowed,
        C::ResizeHorizontal | C::ResizeColumn => M::EwResize,
        C::ResizeVertical | C::ResizeRow => M::NsResize,
        C::ResizeNeSw => M::NeswResize,
        C::ResizeNwSe => M::NwseResize,
        C::ResizeEast => M::EResize,
        C::ResizeWest => M::WResize,
        C::ResizeNorth => M::NResize,
        C::ResizeSouth => M::SResize,
        C::ResizeNorthEast => M::NeResize,
        C::ResizeNorthWest => M::NwResize,
        C::ResizeSouthEast => M::SeResize,
        C::ResizeSouthWest => M::SwResize,
        C::ZoomIn => M::ZoomIn,
        C::ZoomOut => M::ZoomOut,
        _ => M::Default,
    }
}

/// The paths of a drag's data (none for data that is not files).
pub fn drop_paths(data: &DropData) -> &[PathBuf] {
    match data {
        DropData::Files(paths) => paths,
        _ => &[],
    }
}

impl Input {
    /// Input for a window of `physical` pixels at `scale` physical pixels per point.
    pub fn new(physical: PhysicalSize<u32>, scale: f64, max_texture_side: usize) -> Self {
        let mut input = Input {
            raw: RawInput { max_texture_side: Some(max_texture_side), ..RawInput::default() },
            scale: 1.0,
            modifiers: egui::Modifiers::default(),
            pointer: None,
        };
        input.resize(physical, scale);
        input
    }

    /// The window now has `physical` pixels at `scale` physical pixels per point.
    pub fn resize(&mut self, physical: PhysicalSize<u32>, scale: f64) {
        self.scale = sane_scale(scale);
        let rect = screen_rect(physical, self.scale);
        self.raw.screen_rect = Some(rect);
        let viewport = self.raw.viewports.entry(self.raw.viewport_id).or_default();
        viewport.native_pixels_per_point = Some(self.scale);
        viewport.inner_rect = Some(rect);
    }

    /// Physical pixels per point.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The files hovering over the window now.
    pub fn hovered_files(&self) -> &[HoveredFile] {
        &self.raw.hovered_files
    }

    /// Text from the clipboard, after [`Effects::paste`].
    pub fn paste(&mut self, text: String) {
        if !text.is_empty() {
            self.raw.events.push(egui::Event::Paste(text));
        }
    }

    /// The input of the next frame at `time` seconds (hovered files stay until the drag ends).
    pub fn take(&mut self, time: f64) -> RawInput {
        self.raw.time = Some(time);
        self.raw.take()
    }

    fn set_modifiers(&mut self, m: &keyboard_types::Modifiers) {
        let m = modifiers(m);
        if m != self.modifiers {
            self.modifiers = m;
            self.raw.events.push(egui::Event::ModifiersChanged(m));
        }
    }

    fn move_pointer(&mut self, position: PhysicalPosition<f64>) -> Pos2 {
        let pos = to_points(position, self.scale);
        self.pointer = Some(pos);
        self.raw.events.push(egui::Event::PointerMoved(pos));
        pos
    }

    fn button(&mut self, button: MouseButton, pressed: bool) {
        if let (Some(pos), Some(button)) = (self.pointer, pointer_button(button)) {
            self.raw.events.push(egui::Event::PointerButton { pos, button, pressed, modifiers: self.modifiers });
        }
    }

    fn hover(&mut self, data: &DropData) {
        self.raw.hovered_files =
            drop_paths(data).iter().map(|p| HoveredFile { path: Some(p.clone()), mime: String::new() }).collect();
    }

    fn files_status(data: &DropData) -> EventStatus {
        if drop_paths(data).is_empty() { EventStatus::Ignored } else { EventStatus::AcceptDrop(DropEffect::Copy) }
    }

    /// Adds one baseview event; returns the reply to baseview and what the window has to do.
    /// Keyboard events are answered `Captured` here; the window passes them back to the host
    /// (`Ignored`) when egui does not want the keyboard.
    pub fn handle(&mut self, event: &Event) -> (EventStatus, Effects) {
        let mut effects = Effects { repaint: true, ..Effects::default() };
        let status = match event {
            Event::Mouse(mouse) => match mouse {
                MouseEvent::CursorMoved { position, modifiers } => {
                    self.set_modifiers(modifiers);
                    self.move_pointer(*position);
                    EventStatus::Captured
                }
                MouseEvent::ButtonPressed { button, modifiers } => {
                    self.set_modifiers(modifiers);
                    self.button(*button, true);
                    effects.focus = true;
                    EventStatus::Captured
                }
                MouseEvent::ButtonReleased { button, modifiers } => {
                    self.set_modifiers(modifiers);
                    self.button(*button, false);
                    EventStatus::Captured
                }
                MouseEvent::WheelScrolled { delta, modifiers } => {
                    self.set_modifiers(modifiers);
                    let (unit, delta) = match *delta {
                        ScrollDelta::Lines { x, y } => (egui::MouseWheelUnit::Line, egui::vec2(x, y)),
                        ScrollDelta::Pixels { x, y } => (egui::MouseWheelUnit::Point, egui::vec2(x, y) / self.scale),
                    };
                    self.raw.events.push(egui::Event::MouseWheel {
                        unit,
                        delta,
                        modifiers: self.modifiers,
                        phase: egui::TouchPhase::Move,
                        source: egui::MouseWheelSource::Unknown,
                    });
                    EventStatus::Captured
                }
                MouseEvent::CursorLeft => {
                    self.pointer = None;
                    self.raw.events.push(egui::Event::PointerGone);
                    EventStatus::Captured
                }
                MouseEvent::DragEntered { position, modifiers, data } | MouseEvent::DragMoved { position, modifiers, data } => {
                    self.set_modifiers(modifiers);
                    self.move_pointer(*position);
                    self.hover(data);
                    Self::files_status(data)
                }
                MouseEvent::DragLeft => {
                    self.raw.hovered_files.clear();
                    self.pointer = None;
                    self.raw.events.push(egui::Event::PointerGone);
                    EventStatus::Captured
                }
                MouseEvent::DragDropped { position, modifiers, data } => {
                    self.set_modifiers(modifiers);
                    self.move_pointer(*position);
                    self.raw.hovered_files.clear();
                    let dropped = drop_paths(data).iter().map(|p| Arc::new(DroppedPath(p.clone())) as egui::DroppedFileHandle);
                    self.raw.dropped_files.extend(dropped);
                    Self::files_status(data)
                }
                _ => {
                    effects.repaint = false;
                    EventStatus::Ignored
                }
            },
            Event::Keyboard(key_event) => {
                self.key(key_event, &mut effects);
                EventStatus::Captured
            }
            Event::Window(WindowEvent::Focused) => {
                self.focus(true);
                EventStatus::Captured
            }
            Event::Window(WindowEvent::Unfocused) => {
                self.focus(false);
                EventStatus::Captured
            }
            _ => {
                effects.repaint = false;
                EventStatus::Ignored
            }
        };
        (status, effects)
    }

    fn focus(&mut self, focused: bool) {
        self.raw.focused = focused;
        self.raw.events.push(egui::Event::WindowFocused(focused));
        self.raw.viewports.entry(self.raw.viewport_id).or_default().focused = Some(focused);
    }

    fn key(&mut self, event: &KeyboardEvent, effects: &mut Effects) {
        self.set_modifiers(&event.modifiers);
        let pressed = event.state == KeyState::Down;
        let modifiers = self.modifiers;
        if let Some(key) = key(&event.key) {
            self.raw.events.push(egui::Event::Key { key, physical_key: None, pressed, repeat: event.repeat, modifiers });
        }
        if !pressed {
            return;
        }
        // Shortcuts by physical key: the character may be a control code with Ctrl held.
        match event.code {
            Code::KeyC if modifiers.command => self.raw.events.push(egui::Event::Copy),
            Code::KeyX if modifiers.command => self.raw.events.push(egui::Event::Cut),
            Code::KeyV if modifiers.command => effects.paste = true,
            _ => match &event.key {
                keyboard_types::Key::Character(text)
                    if !modifiers.ctrl && !modifiers.mac_cmd && !text.chars().any(char::is_control) =>
                {
                    self.raw.events.push(egui::Event::Text(text.clone()))
                }
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboard_types::{Key, Location, Modifiers, NamedKey};

    fn input(scale: f64) -> Input {
        Input::new(PhysicalSize::new(1880, 1540), scale, 2048)
    }

    fn files(paths: &[&str]) -> DropData {
        DropData::Files(paths.iter().map(PathBuf::from).collect())
    }

    fn at(x: f64, y: f64) -> PhysicalPosition<f64> {
        PhysicalPosition::new(x, y)
    }

    fn key_event(key: Key, code: Code, modifiers: Modifiers, state: KeyState) -> Event {
        Event::Keyboard(KeyboardEvent {
            state,
            key,
            code,
            location: Location::Standard,
            modifiers,
            repeat: false,
            is_composing: false,
        })
    }

    #[test]
    fn screen_and_pointer_are_in_points() {
        let mut inp = input(2.0);
        let (status, fx) = inp.handle(&Event::Mouse(MouseEvent::CursorMoved { position: at(200.0, 100.0), modifiers: Modifiers::empty() }));
        assert_eq!(status, EventStatus::Captured);
        assert!(fx.repaint);
        let raw = inp.take(1.5);
        assert_eq!(raw.screen_rect, Some(Rect::from_min_size(Pos2::ZERO, egui::vec2(940.0, 770.0))));
        assert_eq!(raw.viewports[&raw.viewport_id].native_pixels_per_point, Some(2.0));
        assert_eq!(raw.time, Some(1.5));
        assert_eq!(raw.events, vec![egui::Event::PointerMoved(Pos2::new(100.0, 50.0))]);
        // A bad scale factor falls back to 1.
        assert_eq!(input(0.0).scale(), 1.0);
        assert_eq!(input(f64::NAN).scale(), 1.0);
    }

    #[test]
    fn buttons_use_the_last_pointer_position() {
        let mut inp = input(1.0);
        // No position yet: nothing egui could use.
        inp.handle(&Event::Mouse(MouseEvent::ButtonPressed { button: MouseButton::Left, modifiers: Modifiers::empty() }));
        assert!(inp.take(0.0).events.is_empty());
        inp.handle(&Event::Mouse(MouseEvent::CursorMoved { position: at(10.0, 20.0), modifiers: Modifiers::empty() }));
        let (_, fx) = inp.handle(&Event::Mouse(MouseEvent::ButtonPressed { button: MouseButton::Left, modifiers: Modifiers::SHIFT }));
        assert!(fx.focus);
        inp.handle(&Event::Mouse(MouseEvent::ButtonReleased { button: MouseButton::Right, modifiers: Modifiers::SHIFT }));
        let shift = egui::Modifiers { shift: true, ..Default::default() };
        let pos = Pos2::new(10.0, 20.0);
        assert_eq!(
            inp.take(0.0).events,
            vec![
                egui::Event::PointerMoved(pos),
                egui::Event::ModifiersChanged(shift),
                egui::Event::PointerButton { pos, button: egui::PointerButton::Primary, pressed: true, modifiers: shift },
                egui::Event::PointerButton { pos, button: egui::PointerButton::Secondary, pressed: false, modifiers: shift },
            ]
        );
        inp.handle(&Event::Mouse(MouseEvent::CursorLeft));
        assert_eq!(inp.take(0.0).events, vec![egui::Event::PointerGone]);
    }

    #[test]
    fn scrolling_in_lines_and_pixels() {
        let mut inp = input(2.0);
        inp.handle(&Event::Mouse(MouseEvent::WheelScrolled { delta: ScrollDelta::Lines { x: 0.0, y: -1.0 }, modifiers: Modifiers::empty() }));
        inp.handle(&Event::Mouse(MouseEvent::WheelScrolled { delta: ScrollDelta::Pixels { x: 4.0, y: 8.0 }, modifiers: Modifiers::empty() }));
        let wheel: Vec<_> = inp
            .take(0.0)
            .events
            .into_iter()
            .filter_map(|e| match e {
                egui::Event::MouseWheel { unit, delta, .. } => Some((unit, delta)),
                _ => None,
            })
            .collect();
        assert_eq!(wheel, vec![(egui::MouseWheelUnit::Line, egui::vec2(0.0, -1.0)), (egui::MouseWheelUnit::Point, egui::vec2(2.0, 4.0))]);
    }

    #[test]
    fn drag_hover_then_leave() {
        let mut inp = input(2.0);
        let data = files(&["/tmp/kick.wav"]);
        let (status, _) = inp.handle(&Event::Mouse(MouseEvent::DragEntered { position: at(40.0, 60.0), modifiers: Modifiers::empty(), data: data.clone() }));
        assert_eq!(status, EventStatus::AcceptDrop(DropEffect::Copy));
        let (status, _) = inp.handle(&Event::Mouse(MouseEvent::DragMoved { position: at(50.0, 70.0), modifiers: Modifiers::empty(), data }));
        assert_eq!(status, EventStatus::AcceptDrop(DropEffect::Copy));
        assert_eq!(inp.hovered_files(), &[HoveredFile { path: Some(PathBuf::from("/tmp/kick.wav")), mime: String::new() }]);
        let raw = inp.take(0.0);
        assert_eq!(raw.hovered_files.len(), 1);
        assert!(raw.dropped_files.is_empty());
        assert_eq!(raw.events, vec![egui::Event::PointerMoved(Pos2::new(20.0, 30.0)), egui::Event::PointerMoved(Pos2::new(25.0, 35.0))]);
        // Hovering lasts across frames until the drag leaves.
        assert_eq!(inp.take(0.0).hovered_files.len(), 1);
        inp.handle(&Event::Mouse(MouseEvent::DragLeft));
        let raw = inp.take(0.0);
        assert!(raw.hovered_files.is_empty());
        assert!(raw.dropped_files.is_empty());
        assert_eq!(raw.events, vec![egui::Event::PointerGone]);
    }

    #[test]
    fn drop_delivers_paths_once_at_the_pointer() {
        let mut inp = input(1.5);
        let data = files(&["/a/1.wav", "/a/2.flac"]);
        inp.handle(&Event::Mouse(MouseEvent::DragEntered { position: at(30.0, 30.0), modifiers: Modifiers::empty(), data: data.clone() }));
        let (status, fx) = inp.handle(&Event::Mouse(MouseEvent::DragDropped { position: at(150.0, 300.0), modifiers: Modifiers::empty(), data }));
        assert_eq!(status, EventStatus::AcceptDrop(DropEffect::Copy));
        assert!(fx.repaint);
        let raw = inp.take(0.0);
        assert!(raw.hovered_files.is_empty());
        let paths: Vec<_> = raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect();
        assert_eq!(paths, vec![PathBuf::from("/a/1.wav"), PathBuf::from("/a/2.flac")]);
        assert_eq!(raw.events.last(), Some(&egui::Event::PointerMoved(Pos2::new(100.0, 200.0))));
        assert!(inp.take(0.0).dropped_files.is_empty());
    }

    #[test]
    fn drags_without_files_are_refused() {
        let mut inp = input(1.0);
        let (status, _) = inp.handle(&Event::Mouse(MouseEvent::DragEntered { position: at(1.0, 1.0), modifiers: Modifiers::empty(), data: DropData::None }));
        assert_eq!(status, EventStatus::Ignored);
        assert!(inp.hovered_files().is_empty());
        inp.handle(&Event::Mouse(MouseEvent::DragDropped { position: at(1.0, 1.0), modifiers: Modifiers::empty(), data: DropData::None }));
        assert!(inp.take(0.0).dropped_files.is_empty());
    }

    #[test]
    fn dropped_file_reads_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        std::fs::write(&path, b"RIFF").unwrap();
        let f = DroppedPath(path.clone());
        assert_eq!(egui::DroppedFile::bytes(&f).unwrap(), b"RIFF");
        assert!(egui::DroppedFile::bytes(&DroppedPath(dir.path().join("missing"))).is_err());
    }

    #[test]
    fn keys_text_and_shortcuts() {
        let mut inp = input(1.0);
        inp.handle(&key_event(Key::Character("a".into()), Code::KeyA, Modifiers::empty(), KeyState::Down));
        inp.handle(&key_event(Key::Named(NamedKey::Backspace), Code::Backspace, Modifiers::empty(), KeyState::Down));
        inp.handle(&key_event(Key::Named(NamedKey::Backspace), Code::Backspace, Modifiers::empty(), KeyState::Up));
        let none = egui::Modifiers::default();
        assert_eq!(
            inp.take(0.0).events,
            vec![
                egui::Event::Key { key: egui::Key::A, physical_key: None, pressed: true, repeat: false, modifiers: none },
                egui::Event::Text("a".into()),
                egui::Event::Key { key: egui::Key::Backspace, physical_key: None, pressed: true, repeat: false, modifiers: none },
                egui::Event::Key { key: egui::Key::Backspace, physical_key: None, pressed: false, repeat: false, modifiers: none },
            ]
        );
        let command = if cfg!(target_os = "macos") { Modifiers::META } else { Modifiers::CONTROL };
        inp.handle(&key_event(Key::Character("c".into()), Code::KeyC, command, KeyState::Down));
        let (_, fx) = inp.handle(&key_event(Key::Character("v".into()), Code::KeyV, command, KeyState::Down));
        assert!(fx.paste);
        inp.paste("pasted".into());
        let events = inp.take(0.0).events;
        assert!(events.contains(&egui::Event::Copy));
        assert!(events.contains(&egui::Event::Paste("pasted".into())));
        assert!(!events.iter().any(|e| matches!(e, egui::Event::Text(_))), "{events:?}");
        // A control character is not text.
        inp.handle(&key_event(Key::Character("\u{7f}".into()), Code::Delete, Modifiers::empty(), KeyState::Down));
        assert!(!inp.take(0.0).events.iter().any(|e| matches!(e, egui::Event::Text(_))));
    }

    #[test]
    fn focus_and_names() {
        let mut inp = input(1.0);
        inp.handle(&Event::Window(WindowEvent::Unfocused));
        let raw = inp.take(0.0);
        assert!(!raw.focused);
        assert_eq!(raw.events, vec![egui::Event::WindowFocused(false)]);
        assert_eq!(key(&Key::Named(NamedKey::ArrowLeft)), Some(egui::Key::ArrowLeft));
        assert_eq!(key(&Key::Named(NamedKey::Enter)), Some(egui::Key::Enter));
        assert_eq!(key(&Key::Character("7".into())), Some(egui::Key::Num7));
        assert_eq!(key(&Key::Character("é".into())), None);
        assert_eq!(pointer_button(MouseButton::Other(9)), None);
        assert_eq!(cursor(CursorIcon::PointingHand), MouseCursor::Hand);
        assert_eq!(cursor(CursorIcon::Default), MouseCursor::Default);
    }
}
