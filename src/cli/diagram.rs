//! `archsim diagram MODEL -o FILE.svg|FILE.png [--at T]`: the architecture at one instant
//! of a run, with each component's health, how busy it is and its queue.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::experiment::diagram::live_diagram_svg;
use crate::sim::{RunOptions, SimTime, Simulation};

#[derive(clap::Args)]
pub(super) struct DiagramArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// Where to write the picture: `.svg` (self-contained) or `.png`.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    /// The simulated instant drawn, e.g. 90s [default: the end of the run].
    #[arg(long, value_parser = super::duration_arg)]
    at: Option<SimTime>,
    /// Seed of the random streams [default: the model's `seed`].
    #[arg(long)]
    seed: Option<u64>,
}

pub(super) fn diagram_cmd(args: &DiagramArgs) -> ExitCode {
    match diagram(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::fail(&e),
    }
}

fn diagram(args: &DiagramArgs) -> anyhow::Result<()> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => Format::Svg,
        Some(e) if e.eq_ignore_ascii_case("png") => Format::Png,
        _ => anyhow::bail!(
            "{}: name a .svg or .png file; nothing was run",
            args.out.display()
        ),
    };
    let m = super::load(&args.model)?;
    let mut sim = Simulation::new(
        Arc::clone(&m),
        RunOptions {
            seed: args.seed,
            ..RunOptions::default()
        },
    );
    let at = args.at.unwrap_or(sim.end());
    if at > sim.end() {
        anyhow::bail!(
            "--at {at}: after the end of the run ({}); nothing was run",
            sim.end()
        );
    }
    sim.run_until(at);
    let report = sim.report_now()?;
    let svg = live_diagram_svg(&m, &report, &sim.live());
    match format {
        Format::Svg => std::fs::write(&args.out, svg)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.out.display())),
        Format::Png => write_png(&svg, &args.out),
    }
}

enum Format {
    Svg,
    Png,
}

#[cfg(feature = "gui")]
fn write_png(svg: &str, path: &Path) -> anyhow::Result<()> {
    crate::app::export::svg_to_png(svg, path)
}

#[cfg(not(feature = "gui"))]
fn write_png(_svg: &str, path: &Path) -> anyhow::Result<()> {
    anyhow::bail!(
        "{}: this archsim was built without the `gui` feature, which renders PNG; write an .svg \
         instead, or build with the default features",
        path.display()
    )
}
