//! Pictures to share: the diagram at the current instant as a self-contained SVG or a PNG,
//! written where the user chose ("Export…" in the top bar), and the PNG renderer that
//! `archsim diagram` uses too.
//!
//! Owns turning a snapshot into a file. Must never: change the run or the model.

use std::path::Path;

use eframe::egui;
use resvg::{tiny_skia, usvg};

use super::ArchsimApp;
use crate::experiment::diagram::live_diagram_svg;

impl ArchsimApp {
    /// Writes the diagram of the latest snapshot to `path` (`.svg` or `.png`) and says so on
    /// the status line.
    pub(super) fn export_diagram(&mut self, path: &Path) {
        let Some(snap) = self.snapshot.clone() else {
            self.status = Some("Nothing to export yet: the run has not started".into());
            return;
        };
        let svg = live_diagram_svg(&snap.model, &snap.report, &snap.live);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let written = match ext.as_deref() {
            Some("svg") => super::editor::write_atomic(path, &svg)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
            Some("png") => svg_to_png(&svg, path),
            _ => Err(anyhow::anyhow!(
                "{}: name a .svg or .png file to export the diagram",
                path.display()
            )),
        };
        self.status = Some(match written {
            Ok(()) => format!(
                "Exported the diagram at {} to {}",
                crate::observe::explain::clock(snap.live.now),
                path.display()
            ),
            Err(e) => format!("Export failed: {e}"),
        });
    }
}

/// Renders an SVG as PNG with the app's own font (no system font is read), so the picture is the
/// same on every machine, at twice its size for sharp text.
pub fn svg_to_png(svg: &str, path: &Path) -> anyhow::Result<()> {
    let mut options = usvg::Options::default();
    let fonts = egui::FontDefinitions::default();
    for data in fonts.font_data.values() {
        options
            .fontdb_mut()
            .load_font_data((*data.font).as_ref().to_vec());
    }
    // The app's proportional face (egui's default fonts also hold a monospace one).
    let families: Vec<String> = options
        .fontdb
        .faces()
        .filter_map(|f| f.families.first().map(|(name, _)| name.clone()))
        .collect();
    let family = families
        .iter()
        .find(|name| name.contains("Ubuntu"))
        .or_else(|| families.first())
        .cloned()
        .unwrap_or_default();
    options.fontdb_mut().set_sans_serif_family(&family);
    options.font_family = family;
    let tree = usvg::Tree::from_str(svg, &options)
        .map_err(|e| anyhow::anyhow!("the diagram's SVG did not parse (a bug): {e}"))?;
    let size = tree.size().to_int_size().scale_by(2.0).ok_or_else(|| {
        anyhow::anyhow!("the diagram is too large to render as PNG; write an .svg instead")
    })?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        anyhow::anyhow!("the diagram is too large to render as PNG; write an .svg instead")
    })?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(2.0, 2.0),
        &mut pixmap.as_mut(),
    );
    pixmap
        .save_png(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
