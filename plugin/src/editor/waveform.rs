//! Waveform view of the current sound: min/max columns from `Status::preview`.

use egui::{Color32, Rect, Response, Sense, Stroke, StrokeKind, Ui, Vec2, Widget};

/// Draws `columns` (min/max pairs in −1…1) across the available width. GUI thread only.
pub struct Waveform<'a> {
    columns: &'a [[f32; 2]],
    height: f32,
    busy: bool,
    caption: Option<&'a str>,
}

impl<'a> Waveform<'a> {
    /// A view `height` logical pixels high.
    pub fn new(columns: &'a [[f32; 2]], height: f32) -> Self {
        Waveform { columns, height, busy: false, caption: None }
    }

    /// Dims the waveform while a new sound is being generated.
    pub fn busy(mut self, busy: bool) -> Self {
        self.busy = busy;
        self
    }

    /// Text shown in the view's corner.
    pub fn caption(mut self, caption: Option<&'a str>) -> Self {
        self.caption = caption;
        self
    }
}

impl Widget for Waveform<'_> {
    fn ui(self, ui: &mut Ui) -> Response {
        let width = ui.available_width().max(50.0);
        let (rect, response) = ui.allocate_exact_size(Vec2::new(width, self.height), Sense::hover());
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, Color32::from_rgb(20, 23, 28));
        let mid = rect.center().y;
        painter.hline(rect.x_range(), mid, Stroke::new(1.0, Color32::from_rgb(50, 56, 66)));
        let color = if self.busy { Color32::from_rgb(90, 110, 130) } else { Color32::from_rgb(110, 210, 160) };
        let n = self.columns.len();
        if n == 0 {
            painter.text(rect.center(), egui::Align2::CENTER_CENTER, "no sound yet", egui::FontId::proportional(12.0), Color32::GRAY);
        } else {
            let half = rect.height() * 0.5 - 2.0;
            let step = rect.width() / n as f32;
            for (i, [lo, hi]) in self.columns.iter().enumerate() {
                let x = rect.left() + (i as f32 + 0.5) * step;
                let (lo, hi) = (lo.clamp(-1.0, 1.0), hi.clamp(-1.0, 1.0));
                let top = mid - hi * half;
                let bottom = (mid - lo * half).max(top + 1.0);
                painter.line_segment([egui::pos2(x, top), egui::pos2(x, bottom)], Stroke::new(step.max(1.0), color));
            }
        }
        if let Some(caption) = self.caption {
            painter.text(
                rect.right_top() + Vec2::new(-6.0, 4.0),
                egui::Align2::RIGHT_TOP,
                caption,
                egui::FontId::proportional(11.0),
                Color32::from_rgb(140, 150, 165),
            );
        }
        painter.rect_stroke(Rect::from_min_max(rect.min, rect.max), 4.0, Stroke::new(1.0, Color32::from_rgb(60, 68, 80)), StrokeKind::Inside);
        response
    }
}
