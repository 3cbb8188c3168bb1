//! The report's plots, drawn by plotters as inline SVG.

use super::Run;
use crate::eval::pairwise::WinTieLose;
use crate::rl::Metrics;
use plotters::prelude::*;

const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// The same model keeps its colour in every plot: PPO blue, TPPO red, TPPO at α = 0.5 green.
fn colour(name: &str, i: usize) -> RGBColor {
    let n = name.to_lowercase();
    if n.starts_with("tppo-alpha") {
        COLOURS[2]
    } else if n.starts_with("tppo") {
        COLOURS[1]
    } else if n.starts_with("ppo") {
        COLOURS[0]
    } else {
        COLOURS[(i + 3) % COLOURS.len()]
    }
}

pub type Series = (String, Vec<(f64, f64)>, Option<Vec<(f64, f64, f64)>>);

fn plot_err<E: std::fmt::Debug>(e: E) -> crate::Error {
    crate::Error::Invalid(format!("drawing a plot: {e:?}"))
}

/// Lines (with optional lo–hi bands) over a shared x axis, as an SVG string.
pub fn lines(title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> crate::Result<String> {
    let pts = || series.iter().flat_map(|s| s.1.iter().copied());
    let bands = || series.iter().flat_map(|s| s.2.iter().flatten().copied());
    let x1 = pts().map(|p| p.0).fold(1.0, f64::max);
    let x0 = pts().map(|p| p.0).fold(x1, f64::min);
    let mut y0 = pts()
        .map(|p| p.1)
        .chain(bands().map(|b| b.1))
        .fold(f64::INFINITY, f64::min);
    let mut y1 = pts()
        .map(|p| p.1)
        .chain(bands().map(|b| b.2))
        .fold(f64::NEG_INFINITY, f64::max);
    if !y0.is_finite() || !y1.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        for (i, (name, points, band)) in series.iter().enumerate() {
            let c = colour(name, i);
            if let Some(b) = band {
                let mut poly: Vec<(f64, f64)> = b.iter().map(|p| (p.0, p.2)).collect();
                poly.extend(b.iter().rev().map(|p| (p.0, p.1)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.15).filled())))
                    .map_err(plot_err)?;
            }
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                .map_err(plot_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Stacked win / tie / lose bars (percent), one row per comparison.
pub fn wtl_bars(rows: &[(String, &WinTieLose)]) -> crate::Result<String> {
    let mut svg = String::new();
    {
        let h = 70 + 44 * rows.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (560, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Win / tie / lose (paper Fig. 7), pooled over seeds",
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..100.0, 0.0..rows.len() as f64)
            .map_err(plot_err)?;
        let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("% of users")
            .y_labels(rows.len() * 2 + 1)
            .y_label_formatter(&|y| {
                let i = y.floor() as usize;
                if (y - i as f64 - 0.5).abs() < 0.26 {
                    names.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(plot_err)?;
        for (i, (_, s)) in rows.iter().enumerate() {
            let y = i as f64;
            let parts = [
                (100.0 * s.win_rate, COLOURS[2], "win"),
                (100.0 * s.tie_rate, RGBColor(180, 180, 180), "tie"),
                (100.0 * s.lose_rate, COLOURS[1], "lose"),
            ];
            let mut x = 0.0;
            for (w, c, name) in parts {
                let rect = Rectangle::new([(x, y + 0.2), (x + w, y + 0.8)], c.filled());
                let series = chart.draw_series(std::iter::once(rect)).map_err(plot_err)?;
                if i == 0 {
                    series.label(name).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled())
                    });
                }
                x += w;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Mean over seeds (and the mean ± the batch std as a band) of a metric per iteration.
pub fn curve(
    runs: &[Run],
    name: &str,
    f: impl Fn(&Metrics) -> f32,
    std: Option<&dyn Fn(&Metrics) -> f32>,
) -> Series {
    let mine: Vec<&Run> = runs.iter().filter(|r| r.name == name).collect();
    let n = mine.iter().map(|r| r.metrics.len()).min().unwrap_or(0);
    let mean = |g: &dyn Fn(&Metrics) -> f32, i: usize| {
        mine.iter()
            .map(|r| f64::from(g(&r.metrics[i])))
            .sum::<f64>()
            / mine.len().max(1) as f64
    };
    let points = (0..n).map(|i| ((i + 1) as f64, mean(&f, i))).collect();
    let band = std.map(|s| {
        (0..n)
            .map(|i| {
                let (m, d) = (mean(&f, i), mean(s, i));
                ((i + 1) as f64, m - d, m + d)
            })
            .collect()
    });
    (
        format!("{} ({} seeds)", name.to_uppercase(), mine.len()),
        points,
        band,
    )
}
