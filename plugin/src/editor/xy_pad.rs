//! The XY pad: a square that drives two parameters ("x" and "y") as one host gesture per drag
//! (begin/set/end for both), after Diopser's XY pad. Shows the current position and, when the pad
//! is anchored on an encoded sample, the sample's position.

use egui::{Color32, Pos2, Rect, Response, Sense, Stroke, StrokeKind, Ui, Vec2, Widget};
use nice_plug::prelude::{FloatParam, Param, ParamSetter};

/// The pad widget. GUI thread only.
pub struct XyPad<'a> {
    x: &'a FloatParam,
    y: &'a FloatParam,
    setter: &'a ParamSetter<'a>,
    size: f32,
    marker: Option<[f32; 2]>,
    label: Option<String>,
}

impl<'a> XyPad<'a> {
    /// A pad of `size` × `size` logical pixels for the parameters `x` (left → right) and `y`
    /// (bottom → top), both ranging −1…1.
    pub fn new(x: &'a FloatParam, y: &'a FloatParam, setter: &'a ParamSetter<'a>, size: f32) -> Self {
        XyPad { x, y, setter, size, marker: None, label: None }
    }

    /// Marks a position (e.g. the encoded sample's), in −1…1 pad coordinates.
    pub fn marker(mut self, position: Option<[f32; 2]>) -> Self {
        self.marker = position;
        self
    }

    /// A caption drawn in the pad's corner.
    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.label = Some(text.into());
        self
    }
}

/// Pad coordinates (−1…1, y up) → screen position inside `rect`.
pub fn to_screen(rect: Rect, p: [f32; 2]) -> Pos2 {
    Pos2::new(
        rect.left() + (p[0].clamp(-1.0, 1.0) + 1.0) * 0.5 * rect.width(),
        rect.bottom() - (p[1].clamp(-1.0, 1.0) + 1.0) * 0.5 * rect.height(),
    )
}

/// Screen position → pad coordinates (−1…1, y up), clamped to the pad.
pub fn from_screen(rect: Rect, pos: Pos2) -> [f32; 2] {
    let x = ((pos.x - rect.left()) / rect.width().max(1.0)) * 2.0 - 1.0;
    let y = ((rect.bottom() - pos.y) / rect.height().max(1.0)) * 2.0 - 1.0;
    [x.clamp(-1.0, 1.0), y.clamp(-1.0, 1.0)]
}

impl Widget for XyPad<'_> {
    fn ui(self, ui: &mut Ui) -> Response {
        let (rect, mut response) = ui.allocate_exact_size(Vec2::splat(self.size), Sense::click_and_drag());
        let pointer = response.interact_pointer_pos();

        let set = |p: [f32; 2]| {
            self.setter.set_parameter(self.x, p[0]);
            self.setter.set_parameter(self.y, p[1]);
        };
        if response.drag_started() {
            self.setter.begin_set_parameter(self.x);
            self.setter.begin_set_parameter(self.y);
        }
        if response.dragged() {
            if let Some(pos) = pointer {
                set(from_screen(rect, pos));
                response.mark_changed();
            }
        } else if response.clicked() {
            if let Some(pos) = pointer {
                self.setter.begin_set_parameter(self.x);
                self.setter.begin_set_parameter(self.y);
                set(from_screen(rect, pos));
                self.setter.end_set_parameter(self.x);
                self.setter.end_set_parameter(self.y);
                response.mark_changed();
            }
        }
        if response.drag_stopped() {
            self.setter.end_set_parameter(self.x);
            self.setter.end_set_parameter(self.y);
        }
        if response.double_clicked() {
            self.setter.begin_set_parameter(self.x);
            self.setter.begin_set_parameter(self.y);
            self.setter.set_parameter(self.x, self.x.default_plain_value());
            self.setter.set_parameter(self.y, self.y.default_plain_value());
            self.setter.end_set_parameter(self.x);
            self.setter.end_set_parameter(self.y);
        }

        if ui.is_rect_visible(rect) {
            let painter = ui.painter_at(rect.expand(2.0));
            let visuals = ui.visuals();
            painter.rect_filled(rect, 6.0, Color32::from_rgb(24, 28, 34));
            let grid = Stroke::new(1.0, Color32::from_rgb(44, 50, 60));
            for i in 1..8 {
                let t = i as f32 / 8.0;
                painter.vline(rect.left() + t * rect.width(), rect.y_range(), grid);
                painter.hline(rect.x_range(), rect.top() + t * rect.height(), grid);
            }
            let axis = Stroke::new(1.0, Color32::from_rgb(70, 80, 96));
            painter.vline(rect.center().x, rect.y_range(), axis);
            painter.hline(rect.x_range(), rect.center().y, axis);
            let border = if response.hovered() || response.dragged() {
                visuals.widgets.hovered.bg_stroke
            } else {
                Stroke::new(1.0, Color32::from_rgb(80, 90, 110))
            };
            painter.rect_stroke(rect, 6.0, border, StrokeKind::Inside);

            let small = egui::FontId::proportional(11.0);
            let dim = Color32::from_rgb(120, 130, 150);
            painter.text(rect.left_bottom() + Vec2::new(6.0, -4.0), egui::Align2::LEFT_BOTTOM, "X", small.clone(), dim);
            painter.text(rect.left_top() + Vec2::new(6.0, 4.0), egui::Align2::LEFT_TOP, "Y", small.clone(), dim);
            if let Some(label) = &self.label {
                painter.text(rect.right_top() + Vec2::new(-6.0, 4.0), egui::Align2::RIGHT_TOP, label, small, dim);
            }

            let p = to_screen(rect, [self.x.value(), self.y.value()]);
            let accent = Color32::from_rgb(90, 200, 250);
            painter.vline(p.x, rect.y_range(), Stroke::new(1.0, accent.gamma_multiply(0.35)));
            painter.hline(rect.x_range(), p.y, Stroke::new(1.0, accent.gamma_multiply(0.35)));
            painter.circle_filled(p, 7.0, accent);
            painter.circle_stroke(p, 7.0, Stroke::new(1.5, Color32::WHITE));

            // The encoded sample's position, drawn on top so it stays visible under the cursor.
            if let Some(m) = self.marker {
                let c = to_screen(rect, m);
                let r = 5.0;
                let diamond = vec![c + Vec2::new(0.0, -r), c + Vec2::new(r, 0.0), c + Vec2::new(0.0, r), c + Vec2::new(-r, 0.0)];
                painter.add(egui::Shape::convex_polygon(diamond, Color32::from_rgb(240, 180, 60), Stroke::new(1.0, Color32::BLACK)));
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_mapping_round_trips() {
        let rect = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::splat(200.0));
        for p in [[-1.0, -1.0], [0.0, 0.0], [0.5, -0.25], [1.0, 1.0]] {
            let back = from_screen(rect, to_screen(rect, p));
            assert!((back[0] - p[0]).abs() < 1e-5 && (back[1] - p[1]).abs() < 1e-5);
        }
        assert_eq!(from_screen(rect, rect.left_top()), [-1.0, 1.0]);
    }
}
