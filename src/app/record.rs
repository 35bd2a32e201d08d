//! `archsim open MODEL --record out.gif --from T --to T [--fps N]`: the window as an
//! animated GIF. The run is stepped by `1/fps` simulated seconds at a time (run to the next
//! instant, let the view settle, take the window), so the GIF plays at one simulated second
//! per second, and the same model and seed give the same frames however fast the machine.
//!
//! Frames are quantised and written by a thread of their own as they come, so memory holds
//! a frame or two, not the whole film. Owns the stepping and the file; must never change the
//! model or the run beyond the instants it asks for.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;

use eframe::egui::{self, Color32};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbaImage};

use super::ArchsimApp;
use super::worker::Command;
use crate::sim::SimTime;

/// What to record.
#[derive(Debug, Clone)]
pub struct RecordPlan {
    pub path: PathBuf,
    pub from: SimTime,
    pub to: SimTime,
    pub fps: u32,
}

/// Frames drawn at each instant before it is taken: the dots and the measured rates catch
/// up with the new snapshot.
const SETTLE_FRAMES: u32 = 3;
/// The quantiser's (`NeuQuant`) sampling: 1 is best and slowest, 30 fastest; 10 keeps a diagram's flat
/// colours clean at about a tenth of a second a frame.
const QUANTISE_SPEED: i32 = 10;

pub(super) struct Recording {
    plan: RecordPlan,
    /// The instant of the next frame.
    next: SimTime,
    settled: u32,
    /// A screenshot was asked for and has not come back.
    waiting: Arc<AtomicBool>,
    frames: Option<SyncSender<RgbaImage>>,
    writer: Option<JoinHandle<Result<u32, String>>>,
    /// The run was asked to go to `next`.
    asked: bool,
}

impl Recording {
    pub(super) fn new(plan: RecordPlan) -> Self {
        let (frames, received) = sync_channel(2);
        let path = plan.path.clone();
        let fps = plan.fps;
        let writer = std::thread::spawn(move || write_gif(&path, fps, &received));
        Recording {
            next: plan.from,
            plan,
            settled: 0,
            waiting: Arc::new(AtomicBool::new(false)),
            frames: Some(frames),
            writer: Some(writer),
            asked: false,
        }
    }

    fn step(&self) -> SimTime {
        SimTime::from_nanos(1_000_000_000 / u64::from(self.plan.fps.max(1)))
    }
}

fn write_gif(
    path: &std::path::Path,
    fps: u32,
    frames: &Receiver<RgbaImage>,
) -> Result<u32, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = GifEncoder::new_with_speed(std::io::BufWriter::new(file), QUANTISE_SPEED);
    encoder
        .set_repeat(Repeat::Infinite)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let delay = Delay::from_numer_denom_ms(1000, fps.max(1));
    let mut written = 0;
    for image in frames {
        encoder
            .encode_frame(Frame::from_parts(image, 0, 0, delay))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        written += 1;
    }
    Ok(written)
}

impl ArchsimApp {
    /// One frame of a recording: start it, wait for the run to reach the next instant, take
    /// the window, and at the end close the file and the window.
    pub(super) fn record_step(&mut self, ctx: &egui::Context) {
        let Some(rec) = self.recording.as_mut() else {
            return;
        };
        ctx.request_repaint();
        if rec.waiting.load(Ordering::SeqCst) {
            return;
        }
        let Some(worker) = self.worker.as_ref() else {
            if !self.errors.is_empty() {
                *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(self.errors.join("\n"));
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            return;
        };
        let Some(snap) = self.snapshot.as_ref() else {
            return;
        };
        let end = snap.end.min(rec.plan.to);
        if !rec.asked && rec.next <= end {
            // Only once the last frame is taken: the window must not change under it.
            rec.asked = true;
            worker.send(Command::RunTo(rec.next));
            return;
        }
        if rec.next > end {
            // Done: close the file (the writer ends when the channel does), then the window.
            rec.frames = None;
            let result = rec.writer.take().map_or(Ok(0), |w| {
                w.join()
                    .unwrap_or_else(|_| Err("the GIF writer failed".into()))
            });
            match result {
                Ok(n) => eprintln!(
                    "{}: {n} frames, {} to {} at {} a second",
                    rec.plan.path.display(),
                    rec.plan.from,
                    end,
                    rec.plan.fps
                ),
                Err(e) => {
                    *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                }
            }
            self.recording = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if snap.playing || snap.live.now < rec.next.min(snap.end) {
            return;
        }
        rec.settled += 1;
        if rec.settled < SETTLE_FRAMES {
            return;
        }
        rec.settled = 0;
        rec.waiting.store(true, Ordering::SeqCst);
        let waiting = Arc::clone(&rec.waiting);
        let Some(frames) = rec.frames.clone() else {
            return;
        };
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let [w, h] = image.size;
            let bytes: Vec<u8> = image.pixels.iter().flat_map(Color32::to_array).collect();
            if let Some(img) = u32::try_from(w)
                .ok()
                .zip(u32::try_from(h).ok())
                .and_then(|(w, h)| RgbaImage::from_raw(w, h, bytes))
            {
                // A closed channel means the writer failed; its error is reported at the end.
                let _ = frames.send(img);
            }
            waiting.store(false, Ordering::SeqCst);
            repaint.request_repaint();
        });
        rec.next += rec.step();
        rec.asked = false;
    }
}
