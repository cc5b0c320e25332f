//! The experiments' figures, drawn with plotters as PNG and SVG from the same code.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::JobError;

/// DejaVu Sans (Bitstream Vera licence, `assets/DejaVuSans-LICENSE`): text renders the same on
/// every machine, no system fonts needed.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let registered = register_font(FAMILY, FontStyle::Normal, FONT);
        assert!(registered.is_ok(), "the bundled font is valid");
    });
}

/// Something drawn on one drawing area, whatever the backend.
pub trait Figure {
    /// Draws on `area`, already filled white.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>;
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
}

/// Writes `stem.png` and `stem.svg`; returns both paths.
pub fn save(figure: &impl Figure, stem: &Path) -> Result<Vec<PathBuf>, JobError> {
    register_fonts();
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |message: String| JobError::corrupt(path, message)
    };
    {
        let area = BitMapBackend::new(&png, figure.size()).into_drawing_area();
        render(figure, &area).map_err(failed(&png))?;
    }
    {
        let area = SVGBackend::new(&svg, figure.size()).into_drawing_area();
        render(figure, &area).map_err(failed(&svg))?;
    }
    Ok(vec![png, svg])
}

fn render<DB: DrawingBackend>(
    figure: &impl Figure,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    figure.draw(area)?;
    area.present().map_err(|e| e.to_string())
}

/// A padded range around finite `values` (never empty).
fn span(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let margin = ((hi - lo) * pad).max(1e-9 + lo.abs() * 1e-3);
    lo - margin..hi + margin
}

fn color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    COLORS[index % COLORS.len()]
}

fn error(e: impl std::fmt::Display) -> String {
    e.to_string()
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled chart with labelled axes on `area`.
fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    axes: [&str; 2],
    ranges: (Range<f64>, Range<f64>),
) -> Result<Chart<'a, DB>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(ranges.0, ranges.1)
        .map_err(error)?;
    chart
        .configure_mesh()
        .x_desc(axes[0])
        .y_desc(axes[1])
        .label_style((FAMILY, 13))
        .draw()
        .map_err(error)?;
    Ok(chart)
}

/// The legend of the labelled series of `chart`.
fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut Chart<'a, DB>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(error)
}

/// A named line of `(x, mean, std)` points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its legend entry.
    pub name: String,
    /// The points; `std` draws an error bar when positive. Without points the series is not
    /// drawn (nor named in the legend) but keeps its colour.
    pub points: Vec<(f64, f64, f64)>,
}

/// A chart of lines with error bars.
#[derive(Debug, Clone)]
pub struct LinePanel {
    /// Title above the chart.
    pub title: String,
    /// Horizontal axis label.
    pub x_label: String,
    /// Vertical axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
}

/// Line charts side by side.
#[derive(Debug, Clone)]
pub struct LineFigure(pub Vec<LinePanel>);

impl Figure for LineFigure {
    fn size(&self) -> (u32, u32) {
        (560 * self.0.len() as u32, 420)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        for (panel, area) in self.0.iter().zip(area.split_evenly((1, self.0.len()))) {
            let points = || panel.series.iter().flat_map(|s| s.points.iter());
            let x = span(points().map(|p| p.0), 0.05);
            let y = span(
                points().flat_map(|p| [p.1 - p.2.max(0.0), p.1 + p.2.max(0.0)]),
                0.08,
            );
            let axes = [panel.x_label.as_str(), panel.y_label.as_str()];
            let mut chart = chart(&area, &panel.title, axes, (x, y))?;
            // A series without points is left out of the chart and its legend; its colour
            // stays unused, so a configuration has the same colour in every panel.
            for (index, series) in panel.series.iter().enumerate() {
                if series.points.is_empty() {
                    continue;
                }
                let c = color(index);
                chart
                    .draw_series(LineSeries::new(
                        series.points.iter().map(|p| (p.0, p.1)),
                        c.stroke_width(2),
                    ))
                    .map_err(error)?
                    .label(&series.name)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], c.stroke_width(2))
                    });
                chart
                    .draw_series(
                        series
                            .points
                            .iter()
                            .map(|p| Circle::new((p.0, p.1), 3, c.filled())),
                    )
                    .map_err(error)?;
                chart
                    .draw_series(series.points.iter().filter(|p| p.2 > 0.0).map(|p| {
                        ErrorBar::new_vertical(p.0, p.1 - p.2, p.1, p.1 + p.2, c.stroke_width(1), 8)
                    }))
                    .map_err(error)?;
            }
            legend(&mut chart)?;
        }
        Ok(())
    }
}

/// Overlaid histograms of pairwise angles (degrees) of one layer.
#[derive(Debug, Clone)]
pub struct HistogramPanel {
    /// Title above the chart.
    pub title: String,
    /// Named samples of angles in degrees.
    pub series: Vec<(String, Vec<f64>)>,
}

/// Histogram panels side by side, angles 0..180 degrees in 5-degree bins (as fractions).
#[derive(Debug, Clone)]
pub struct HistogramFigure(pub Vec<HistogramPanel>);

const BIN_DEG: f64 = 5.0;

/// Fraction of `angles` in each `BIN_DEG` bin of `[0, 180]`.
pub fn angle_histogram(angles: &[f64]) -> Vec<f64> {
    let bins = (180.0 / BIN_DEG) as usize;
    let mut counts = vec![0.0; bins];
    for a in angles.iter().filter(|a| a.is_finite()) {
        counts[((a / BIN_DEG) as usize).min(bins - 1)] += 1.0;
    }
    let total = angles.len().max(1) as f64;
    counts.iter().map(|c| c / total).collect()
}

impl Figure for HistogramFigure {
    fn size(&self) -> (u32, u32) {
        (560 * self.0.len() as u32, 420)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        for (panel, area) in self.0.iter().zip(area.split_evenly((1, self.0.len()))) {
            let histograms: Vec<Vec<f64>> = panel
                .series
                .iter()
                .map(|(_, a)| angle_histogram(a))
                .collect();
            let top = histograms.iter().flatten().fold(0.0f64, |m, &v| m.max(v)) * 1.1;
            let axes = ["pairwise angle (degrees)", "fraction of pairs"];
            let ranges = (0.0..180.0, 0.0..top.max(1e-3));
            let mut chart = chart(&area, &panel.title, axes, ranges)?;
            for (index, ((name, _), histogram)) in panel.series.iter().zip(&histograms).enumerate()
            {
                let c = color(index);
                chart
                    .draw_series(histogram.iter().enumerate().map(|(bin, &h)| {
                        let x0 = bin as f64 * BIN_DEG;
                        Rectangle::new([(x0, 0.0), (x0 + BIN_DEG, h)], c.mix(0.45).filled())
                    }))
                    .map_err(error)?
                    .label(name)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.mix(0.45).filled())
                    });
            }
            legend(&mut chart)?;
        }
        Ok(())
    }
}

/// 2-D features of test items, coloured by class, and the classifier neurons as arrows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeaturePanel {
    /// Title above the chart.
    pub title: String,
    /// `(x, y, class)` of each test item.
    pub points: Vec<(f64, f64, usize)>,
    /// The classifier neuron of each class, a 2-D vector.
    pub neurons: Vec<(f64, f64)>,
}

/// Feature panels side by side (the paper's Figure 4).
#[derive(Debug, Clone)]
pub struct FeatureFigure(pub Vec<FeaturePanel>);

impl Figure for FeatureFigure {
    fn size(&self) -> (u32, u32) {
        (520 * self.0.len() as u32, 540)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        for (panel, area) in self.0.iter().zip(area.split_evenly((1, self.0.len()))) {
            let reach = panel
                .points
                .iter()
                .map(|p| p.0.abs().max(p.1.abs()))
                .filter(|r| r.is_finite())
                .fold(1e-6f64, f64::max)
                * 1.1;
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.title, (FAMILY, 18))
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(50)
                .build_cartesian_2d(-reach..reach, -reach..reach)
                .map_err(error)?;
            chart
                .configure_mesh()
                .label_style((FAMILY, 12))
                .draw()
                .map_err(error)?;
            chart
                .draw_series(
                    panel.points.iter().map(|&(x, y, class)| {
                        Circle::new((x, y), 2, color(class).mix(0.6).filled())
                    }),
                )
                .map_err(error)?;
            // Arrows scaled so the longest neuron reaches 90% of the plot.
            let longest = panel
                .neurons
                .iter()
                .map(|n| n.0.hypot(n.1))
                .fold(1e-12f64, f64::max);
            let scale = 0.9 * reach / longest;
            for (class, &(x, y)) in panel.neurons.iter().enumerate() {
                let (tx, ty) = (x * scale, y * scale);
                let style = color(class).stroke_width(3);
                let head = 0.06 * reach;
                let angle = ty.atan2(tx);
                let barb = |turn: f64| {
                    let a = angle + std::f64::consts::PI + turn;
                    (tx + head * a.cos(), ty + head * a.sin())
                };
                chart
                    .draw_series([
                        PathElement::new(vec![(0.0, 0.0), (tx, ty)], style),
                        PathElement::new(vec![barb(0.4), (tx, ty), barb(-0.4)], style),
                    ])
                    .map_err(error)?;
                chart
                    .draw_series([Text::new(
                        class.to_string(),
                        (tx * 1.06, ty * 1.06),
                        (FAMILY, 16).into_font().color(&BLACK),
                    )])
                    .map_err(error)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_are_fractions_of_all_pairs() {
        let h = angle_histogram(&[0.0, 4.9, 90.0, 92.0, 180.0]);
        assert_eq!(h.len(), 36);
        assert_eq!((h[0], h[18], h[35]), (0.4, 0.4, 0.2));
        assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn spans_pad_and_never_collapse() {
        let s = span([1.0, 3.0, f64::NAN].into_iter(), 0.5);
        assert_eq!(s, 0.0..4.0);
        let flat = span([2.0, 2.0].into_iter(), 0.1);
        assert!(flat.start < 2.0 && flat.end > 2.0);
        assert_eq!(span(std::iter::empty(), 0.1), 0.0..1.0);
    }
}
