//! Line plots as PNG, for results such as accuracy against sampling ratio.
//!
//! Text is rasterised with ab_glyph from a TrueType font: `DPS_PLOT_FONT` when set, else
//! DejaVu Sans from Debian's `fonts-dejavu-core` (which `scripts/setup.sh` installs). Without a
//! font the plot is drawn without text and a warning is logged.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

/// Default font location of Debian's `fonts-dejavu-core`.
const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

const WIDTH: u32 = 960;
const HEIGHT: u32 = 640;
const LEFT: i32 = 90;
const RIGHT: i32 = 220;
const TOP: i32 = 50;
const BOTTOM: i32 = 80;

/// Colours of successive series (colour-blind-safe palette of Wong, Nature Methods 2011).
const PALETTE: [[u8; 3]; 8] = [
    [0, 114, 178],
    [213, 94, 0],
    [0, 158, 115],
    [204, 121, 167],
    [230, 159, 0],
    [86, 180, 233],
    [0, 0, 0],
    [240, 228, 66],
];

/// Failure to write a plot.
#[derive(Debug, thiserror::Error)]
#[error("cannot write plot {}: {message}", path.display())]
pub struct PlotError {
    pub path: PathBuf,
    pub message: String,
}

/// One named line of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line plot with axis labels and a legend.
#[derive(Debug, Clone)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Logarithmic x axis (for sampling ratios spanning decades).
    pub log_x: bool,
    pub series: Vec<Series>,
}

struct Canvas {
    image: RgbImage,
    font: Option<FontVec>,
}

impl Canvas {
    fn line(&mut self, from: (i32, i32), to: (i32, i32), colour: [u8; 3], thickness: i32) {
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let steps = dx.abs().max(dy.abs()).max(1);
        for step in 0..=steps {
            let x = from.0 + dx * step / steps;
            let y = from.1 + dy * step / steps;
            self.square((x, y), thickness / 2, colour);
        }
    }

    fn square(&mut self, centre: (i32, i32), half: i32, colour: [u8; 3]) {
        for y in centre.1 - half..=centre.1 + half {
            for x in centre.0 - half..=centre.0 + half {
                if x >= 0 && y >= 0 && (x as u32) < WIDTH && (y as u32) < HEIGHT {
                    self.image.put_pixel(x as u32, y as u32, Rgb(colour));
                }
            }
        }
    }

    /// Draws `text` with its left edge at `x` (or centred on `x`) and its baseline at `y`.
    fn text(&mut self, text: &str, x: i32, y: i32, size: f32, centred: bool) {
        let Some(font) = &self.font else {
            return;
        };
        let scaled = font.as_scaled(PxScale::from(size));
        let width: f32 = text
            .chars()
            .map(|c| scaled.h_advance(font.glyph_id(c)))
            .sum();
        let mut caret = if centred {
            x as f32 - width / 2.0
        } else {
            x as f32
        };
        let mut glyphs = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            glyphs.push(id.with_scale_and_position(size, ab_glyph::point(caret, y as f32)));
            caret += scaled.h_advance(id);
        }
        for glyph in glyphs {
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let image = &mut self.image;
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i32 + gx as i32;
                let py = bounds.min.y as i32 + gy as i32;
                if px < 0 || py < 0 || px as u32 >= WIDTH || py as u32 >= HEIGHT {
                    return;
                }
                let pixel = image.get_pixel_mut(px as u32, py as u32);
                for channel in pixel.0.iter_mut() {
                    *channel = (*channel as f32 * (1.0 - coverage)).round() as u8;
                }
            });
        }
    }
}

fn load_font() -> Option<FontVec> {
    let path = std::env::var("DPS_PLOT_FONT").unwrap_or_else(|_| DEFAULT_FONT.to_string());
    match std::fs::read(&path)
        .ok()
        .and_then(|bytes| FontVec::try_from_vec(bytes).ok())
    {
        Some(font) => Some(font),
        None => {
            tracing::warn!(font = %path, "font not found, plot drawn without text; install fonts-dejavu-core or set DPS_PLOT_FONT");
            None
        }
    }
}

/// Rounds a span to a tick step of 1, 2 or 5 times a power of ten, about `count` ticks.
fn tick_step(span: f64, count: f64) -> f64 {
    let raw = span / count;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn format_tick(value: f64) -> String {
    if value == value.round() && value.abs() < 1e6 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl LinePlot {
    /// Draws the plot and writes it as a PNG.
    ///
    /// # Errors
    ///
    /// [`PlotError`] when there is nothing to draw (no finite points, or a non-positive x on a
    /// logarithmic axis) or the file cannot be written.
    pub fn save_png(&self, path: &Path) -> Result<(), PlotError> {
        let failed = |message: String| PlotError {
            path: path.to_path_buf(),
            message,
        };
        let transform_x = |x: f64| if self.log_x { x.log10() } else { x };
        let points: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!self.log_x || *x > 0.0))
            .collect();
        if points.is_empty() {
            return Err(failed("no finite points to plot".into()));
        }
        let (mut x_min, mut x_max) = min_max(points.iter().map(|p| transform_x(p.0)));
        let (mut y_min, mut y_max) = min_max(points.iter().map(|p| p.1));
        pad_range(&mut x_min, &mut x_max);
        pad_range(&mut y_min, &mut y_max);

        let mut canvas = Canvas {
            image: RgbImage::from_pixel(WIDTH, HEIGHT, Rgb([255, 255, 255])),
            font: load_font(),
        };
        let plot_width = WIDTH as i32 - LEFT - RIGHT;
        let plot_height = HEIGHT as i32 - TOP - BOTTOM;
        let to_pixel = |x: f64, y: f64| {
            let px = LEFT + ((transform_x(x) - x_min) / (x_max - x_min) * plot_width as f64) as i32;
            let py =
                TOP + plot_height - ((y - y_min) / (y_max - y_min) * plot_height as f64) as i32;
            (px, py)
        };

        // Grid and ticks: y linear; x at powers of 1, 2, 5 on a log axis.
        let grey = [225, 225, 225];
        let step = tick_step(y_max - y_min, 6.0);
        let mut y = (y_min / step).ceil() * step;
        while y <= y_max {
            let (_, py) = to_pixel(if self.log_x { 10f64.powf(x_min) } else { x_min }, y);
            canvas.line((LEFT, py), (LEFT + plot_width, py), grey, 1);
            canvas.text(&format_tick(y), LEFT - 50, py + 5, 15.0, false);
            y += step;
        }
        for x in self.x_ticks(x_min, x_max) {
            let (px, _) = to_pixel(x, y_min);
            canvas.line((px, TOP), (px, TOP + plot_height), grey, 1);
            canvas.text(&format_tick(x), px, TOP + plot_height + 22, 15.0, true);
        }
        let black = [0, 0, 0];
        canvas.line((LEFT, TOP), (LEFT, TOP + plot_height), black, 2);
        canvas.line(
            (LEFT, TOP + plot_height),
            (LEFT + plot_width, TOP + plot_height),
            black,
            2,
        );

        for (index, series) in self.series.iter().enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            let mut sorted: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && (!self.log_x || *x > 0.0))
                .collect();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            for pair in sorted.windows(2) {
                canvas.line(
                    to_pixel(pair[0].0, pair[0].1),
                    to_pixel(pair[1].0, pair[1].1),
                    colour,
                    3,
                );
            }
            for (x, y) in &sorted {
                canvas.square(to_pixel(*x, *y), 4, colour);
            }
            let legend_y = TOP + 20 + 28 * index as i32;
            let legend_x = LEFT + plot_width + 20;
            canvas.line(
                (legend_x, legend_y - 5),
                (legend_x + 30, legend_y - 5),
                colour,
                3,
            );
            canvas.text(&series.name, legend_x + 40, legend_y, 16.0, false);
        }
        canvas.text(&self.title, LEFT + plot_width / 2, TOP - 18, 20.0, true);
        canvas.text(
            &self.x_label,
            LEFT + plot_width / 2,
            HEIGHT as i32 - 25,
            17.0,
            true,
        );
        canvas.text(&self.y_label, 10, TOP - 18, 17.0, false);

        canvas
            .image
            .save(path)
            .map_err(|error| failed(error.to_string()))
    }

    fn x_ticks(&self, x_min: f64, x_max: f64) -> Vec<f64> {
        if !self.log_x {
            let step = tick_step(x_max - x_min, 8.0);
            let mut ticks = Vec::new();
            let mut x = (x_min / step).ceil() * step;
            while x <= x_max {
                ticks.push(x);
                x += step;
            }
            return ticks;
        }
        let mut ticks = Vec::new();
        for exponent in x_min.floor() as i32..=x_max.ceil() as i32 {
            for mantissa in [1.0, 2.0, 5.0] {
                let x = mantissa * 10f64.powi(exponent);
                if (x_min..=x_max).contains(&x.log10()) {
                    ticks.push(x);
                }
            }
        }
        ticks
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Widens a range by 5 % on each side, and a single value to a unit range.
fn pad_range(low: &mut f64, high: &mut f64) {
    let span = *high - *low;
    if span <= 0.0 {
        *low -= 0.5;
        *high += 0.5;
    } else {
        *low -= 0.05 * span;
        *high += 0.05 * span;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step(1.0, 5.0), 0.2);
        assert_eq!(tick_step(100.0, 6.0), 20.0);
        assert_eq!(tick_step(0.03, 6.0), 0.005);
    }

    #[test]
    fn plot_draws_series_colours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        let plot = LinePlot {
            title: "accuracy".into(),
            x_label: "sampling ratio (%)".into(),
            y_label: "accuracy (%)".into(),
            log_x: true,
            series: vec![
                Series {
                    name: "dps_topk".into(),
                    points: vec![(1.0, 60.0), (3.2, 90.0), (25.0, 98.0)],
                },
                Series {
                    name: "random".into(),
                    points: vec![(1.0, 30.0), (3.2, 60.0), (25.0, 95.0)],
                },
            ],
        };
        plot.save_png(&path).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (WIDTH, HEIGHT));
        for colour in [PALETTE[0], PALETTE[1]] {
            let count = image.pixels().filter(|p| p.0 == colour).count();
            assert!(count > 100, "colour {colour:?} drawn on {count} pixels");
        }
    }

    #[test]
    fn empty_plot_is_an_error() {
        let plot = LinePlot {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            log_x: true,
            series: vec![Series {
                name: "a".into(),
                points: vec![(0.0, 1.0)],
            }],
        };
        let error = plot.save_png(Path::new("/tmp/never.png")).unwrap_err();
        assert!(error.message.contains("no finite points"));
    }
}
