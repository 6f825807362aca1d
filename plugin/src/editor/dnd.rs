//! Where files dragged onto the editor go (plain logic, unit-tested).
//!
//! A file dropped on a pad of the grid is encoded onto that pad; dropped anywhere else (the XY
//! pad, the waveform, the rest of the window) it goes to the selected pad. Several files fill
//! consecutive pads from the target pad on; files beyond pad 16 are left out.

use egui::{Pos2, Rect};
use ndm_core::kit::PADS;

/// The pads that `files` files dropped (or hovering) at `pointer` are encoded onto, in order:
/// the target pad (the pad of `pad_rects` under `pointer`, else `selected`) and the ones after
/// it. Shorter than `files` when they run past the last pad. `pad_rects[i]` is pad `i`'s area in
/// the last frame.
pub fn drop_targets(pointer: Option<Pos2>, pad_rects: &[Rect], selected: usize, files: usize) -> Vec<usize> {
    let under = pointer.and_then(|p| pad_rects.iter().position(|r| r.contains(p)));
    let first = under.unwrap_or(selected).min(PADS - 1);
    (first..PADS).take(files).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::vec2;

    /// The 4 × 4 grid: 96 × 62 pads, 6 apart, from (10, 80).
    fn grid() -> Vec<Rect> {
        (0..PADS)
            .map(|i| {
                let (row, col) = ((i / 4) as f32, (i % 4) as f32);
                Rect::from_min_size(Pos2::new(10.0 + col * 102.0, 80.0 + row * 68.0), vec2(96.0, 62.0))
            })
            .collect()
    }

    #[test]
    fn the_pad_under_the_pointer() {
        let g = grid();
        // Pad 6 (index 5): row 1, column 1.
        assert_eq!(drop_targets(Some(Pos2::new(10.0 + 102.0 + 50.0, 80.0 + 68.0 + 30.0)), &g, 0, 1), vec![5]);
        assert_eq!(drop_targets(Some(g[15].center()), &g, 2, 1), vec![15]);
    }

    #[test]
    fn elsewhere_the_selected_pad() {
        let g = grid();
        // The XY pad below the grid, the gap between two pads, no pointer position.
        assert_eq!(drop_targets(Some(Pos2::new(100.0, 500.0)), &g, 3, 1), vec![3]);
        assert_eq!(drop_targets(Some(Pos2::new(108.0, 100.0)), &g, 7, 1), vec![7]);
        assert_eq!(drop_targets(None, &g, 9, 1), vec![9]);
        // No pad areas yet (first frame).
        assert_eq!(drop_targets(Some(Pos2::new(20.0, 90.0)), &[], 4, 1), vec![4]);
    }

    #[test]
    fn several_files_fill_consecutive_pads() {
        let g = grid();
        assert_eq!(drop_targets(Some(g[2].center()), &g, 0, 3), vec![2, 3, 4]);
        // Past pad 16 the rest is left out.
        assert_eq!(drop_targets(Some(g[14].center()), &g, 0, 5), vec![14, 15]);
        assert!(drop_targets(Some(g[0].center()), &g, 0, 0).is_empty());
        // A selected index out of range is clamped.
        assert_eq!(drop_targets(None, &g, 99, 2), vec![15]);
    }
}
