//! The HTML page of `yizhan sort-plan --html`: chute maps (inline SVG) and the indicators, our
//! plan against the baselines. Self-contained: no scripts, fonts or styles from elsewhere.

use std::fmt::Write;

use crate::layout::Hub;
use crate::{Evaluation, PlanResult};

/// Distinct colours for the busiest destinations; the rest are drawn grey.
const PALETTE: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#393b79", "#637939", "#843c39",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// How one indicator is shown for one plan.
type IndicatorCell = fn(&PlanResult) -> String;

/// Renders the page.
pub fn html(hub: &Hub, evaluation: &Evaluation) -> String {
    let layout = hub.layout();
    let results = [&evaluation.code_order, &evaluation.greedy, &evaluation.ours];
    let mut page = String::new();
    let title = format!("排格方案 (Sort plan) — {}", escape(&layout.name));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         .maps {{ display: flex; flex-wrap: wrap; gap: 1em; }}\n\
         .map {{ border: 1px solid #ddd; padding: 0.5em; }}\n\
         .ours {{ background: #f3fbf3; font-weight: bold; }}\n\
         .legend span {{ display: inline-block; margin-right: 1em; }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    let _ = writeln!(
        page,
        "<p>环线 (loop) {:.0} m, {} 个小车 (carriers), {:.2} m/s; {} 个供包台 (inductions), {} 个格口 (chutes), {} 个路向 (destinations); 仿真种子 (simulation seed) {}.</p>",
        layout.sorter.loop_length_m,
        hub.n_carriers(),
        layout.sorter.speed_m_per_s,
        layout.inductions.len(),
        layout.chutes.len(),
        layout.destinations.len(),
        evaluation.seed
    );

    page.push_str("<h2>指标 (Indicators)</h2>\n<table>\n<tr><th>指标 (indicator)</th>");
    for result in results {
        let class = if std::ptr::eq(result, &evaluation.ours) {
            " class=\"ours\""
        } else {
            ""
        };
        let _ = write!(page, "<th{class}>{}</th>", plan_label(&result.name));
    }
    page.push_str("</tr>\n");
    let rows: [(&str, IndicatorCell); 11] = [
        ("半圈落格率 (half-loop drop rate)", |r| {
            percent(r.indicators.half_loop_drop_rate)
        }),
        (
            "理论半圈落格率 (half-loop rate if no chute refused)",
            |r| percent(r.static_half_loop_rate),
        ),
        ("回流率 (recirculation rate)", |r| {
            percent(r.indicators.recirculation_rate)
        }),
        ("强排率 (force-eject rate)", |r| {
            format!("{:.3}%", r.indicators.force_eject_rate * 100.0)
        }),
        (
            "多路向格口件量占比 (items in multi-destination chutes)",
            |r| percent(r.indicators.multi_destination_share),
        ),
        ("实际吞吐 (throughput, items/h)", |r| {
            format!("{:.0}", r.indicators.throughput_per_hour)
        }),
        ("投入量 (offered, items/h)", |r| {
            format!("{:.0}", r.indicators.offered_per_hour)
        }),
        ("平均行程 (mean travel, loops)", |r| {
            format!("{:.3}", r.indicators.mean_travel_loops)
        }),
        ("格口利用率均值 (chute utilisation, mean)", |r| {
            percent(r.indicators.chute_utilisation_mean)
        }),
        ("格口利用率最高 (chute utilisation, max)", |r| {
            percent(r.indicators.chute_utilisation_max)
        }),
        ("仿真时长 (simulated time, s)", |r| {
            format!("{:.0}", r.indicators.simulated_s)
        }),
    ];
    for (label, value) in rows {
        let _ = write!(page, "<tr><td>{label}</td>");
        for result in results {
            let _ = write!(page, "<td>{}</td>", value(result));
        }
        page.push_str("</tr>\n");
    }
    for (wave_idx, wave) in layout.waves.iter().enumerate() {
        let _ = write!(
            page,
            "<tr><td>波次清空时间 (time to clear wave) {}, s</td>",
            escape(&wave.name)
        );
        for result in results {
            let cleared = result.indicators.waves[wave_idx]
                .clear_s
                .map(|s| format!("{s:.0}"))
                .unwrap_or_else(|| "—".into());
            let _ = write!(page, "<td>{cleared}</td>");
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");

    page.push_str("<h2>格口图 (Chute map)</h2>\n");
    page.push_str(&legend(hub));
    page.push_str("<div class=\"maps\">\n");
    for result in [&evaluation.ours, &evaluation.greedy, &evaluation.code_order] {
        let _ = write!(
            page,
            "<div class=\"map\"><h3>{}</h3>\n{}</div>\n",
            plan_label(&result.name),
            chute_map(hub, result)
        );
    }
    page.push_str("</div>\n");

    page.push_str("<h2>设备分配 (Equipment allocation)</h2>\n");
    match (&evaluation.allocation, &evaluation.allocation_error) {
        (_, Some(error)) => {
            let _ = writeln!(page, "<p>未能求解 (not solved): {}</p>", escape(error));
        }
        (None, None) => {}
        (Some(_), None) if layout.item_classes.is_empty() => {
            page.push_str(
                "<p>布局未给出件型与设备 (the layout gives no item classes or machines).</p>\n",
            );
        }
        (Some(allocation), None) => {
            let _ = writeln!(
                page,
                "<p>最忙波次 (busiest wave): {}; 最高设备利用率 (largest machine utilisation) {}.</p>",
                escape(&allocation.wave),
                percent(allocation.utilisation_max)
            );
            page.push_str("<table>\n<tr><th>件型 (class)</th><th>设备 (machine)</th><th>件/小时 (items/h)</th></tr>\n");
            for flow in &allocation.flows {
                let _ = writeln!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{:.0}</td></tr>",
                    escape(&flow.class),
                    escape(&flow.machine),
                    flow.items_per_hour
                );
            }
            page.push_str("</table>\n<table>\n<tr><th>设备 (machine)</th><th>负荷 (load/h)</th><th>能力 (capacity/h)</th><th>利用率 (utilisation)</th></tr>\n");
            for load in &allocation.machines {
                let _ = writeln!(
                    page,
                    "<tr><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td></tr>",
                    escape(&load.machine),
                    load.load_per_hour,
                    load.capacity_per_hour,
                    percent(load.utilisation)
                );
            }
            page.push_str("</table>\n");
            for unserved in &allocation.unserved {
                let _ = writeln!(
                    page,
                    "<p>未分配 (unserved): {} {:.0} 件/小时 (items/h) — {}</p>",
                    escape(&unserved.class),
                    unserved.items_per_hour,
                    escape(&unserved.reason)
                );
            }
        }
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn plan_label(name: &str) -> String {
    match name {
        "ours" => "本方案 (ours)".into(),
        "greedy" => "就近贪心 (greedy)".into(),
        "code order" => "代码顺序 (code order)".into(),
        other => escape(other),
    }
}

/// Destination indexes from busiest to quietest over the day.
fn busiest_destinations(hub: &Hub) -> Vec<usize> {
    let destinations = &hub.layout().destinations;
    let mut order: Vec<usize> = (0..destinations.len()).collect();
    order.sort_by_key(|&d| {
        (
            std::cmp::Reverse(destinations[d].volumes.iter().sum::<u64>()),
            d,
        )
    });
    order
}

fn legend(hub: &Hub) -> String {
    let destinations = &hub.layout().destinations;
    let mut legend = String::from("<p class=\"legend\">");
    for (rank, &d) in busiest_destinations(hub)
        .iter()
        .take(PALETTE.len())
        .enumerate()
    {
        let _ = write!(
            legend,
            "<span><svg width=\"12\" height=\"12\"><circle cx=\"6\" cy=\"6\" r=\"5\" fill=\"{}\"/></svg> {}</span>",
            PALETTE[rank],
            escape(&destinations[d].code)
        );
    }
    legend.push_str(
        "<span>灰 (grey): 其他路向 (other destinations)</span>\
         <span>浅蓝 (light blue): 多路向格口 (multi-destination chute)</span>\
         <span>红 (red): 异常口 (exception chute)</span>\
         <span>▲ 供包台 (induction)</span></p>\n",
    );
    legend
}

/// The loop as an ellipse, travel clockwise from the top; chutes as dots just off it (the
/// second chute at a position inside, the first outside), inductions as triangles.
fn chute_map(hub: &Hub, result: &PlanResult) -> String {
    let layout = hub.layout();
    let (width, height) = (420.0, 300.0);
    let (centre_x, centre_y, radius_x, radius_y) = (210.0, 150.0, 170.0, 110.0);
    let point = |position_m: f64, offset: f64| -> (f64, f64) {
        let angle = std::f64::consts::TAU * position_m / layout.sorter.loop_length_m
            - std::f64::consts::FRAC_PI_2;
        (
            centre_x + (radius_x + offset) * angle.cos(),
            centre_y + (radius_y + offset) * angle.sin(),
        )
    };
    let mut colour_of = vec!["#bbbbbb"; layout.destinations.len()];
    for (rank, &d) in busiest_destinations(hub)
        .iter()
        .take(PALETTE.len())
        .enumerate()
    {
        colour_of[d] = PALETTE[rank];
    }
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n\
         <ellipse cx=\"{centre_x}\" cy=\"{centre_y}\" rx=\"{radius_x}\" ry=\"{radius_y}\" fill=\"none\" stroke=\"#444\" stroke-width=\"2\"/>\n"
    );
    let mut seen_slots = std::collections::HashMap::new();
    for (chute_idx, chute) in layout.chutes.iter().enumerate() {
        let slot = hub.chute_slots()[chute_idx];
        let nth = seen_slots.entry(slot).or_insert(0u32);
        let offset = if *nth % 2 == 0 { 9.0 } else { -9.0 };
        *nth += 1;
        let destinations = &result.plan.chute_destinations[chute_idx];
        let colour = if chute_idx == hub.exception_chute_idx() {
            "#e00000"
        } else if destinations.is_empty() {
            "#ffffff"
        } else if destinations.len() > 1 {
            "#a6d8f0"
        } else {
            colour_of[destinations[0] as usize]
        };
        let codes: Vec<String> = destinations
            .iter()
            .map(|&d| escape(&layout.destinations[d as usize].code))
            .collect();
        let stats = &result.indicators.chutes[chute_idx];
        let (x, y) = point(chute.position_m, offset);
        let _ = writeln!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.2\" fill=\"{colour}\" stroke=\"#666\" stroke-width=\"0.4\"><title>{} → {} ({} items, {} refused)</title></circle>",
            escape(&chute.id),
            if codes.is_empty() {
                "—".to_string()
            } else {
                codes.join(", ")
            },
            stats.items,
            stats.refusals
        );
    }
    for induction in &layout.inductions {
        let (x, y) = point(induction.position_m, 0.0);
        let _ = writeln!(
            svg,
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"#000\"><title>{} ({:.0}/h)</title></polygon>",
            x,
            y - 6.0,
            x - 5.0,
            y + 4.0,
            x + 5.0,
            y + 4.0,
            escape(&induction.id),
            induction.rate_per_hour
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{centre_x}\" y=\"{centre_y}\" text-anchor=\"middle\" font-size=\"13\">半圈落格率 {}</text>\n<text x=\"{centre_x}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"11\">(half-loop drop rate) · 回流 (recirc.) {}</text>",
        percent(result.indicators.half_loop_drop_rate),
        centre_y + 18.0,
        percent(result.indicators.recirculation_rate)
    );
    svg.push_str("</svg>");
    svg
}
