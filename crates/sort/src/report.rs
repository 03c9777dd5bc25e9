//! The sort plan page: chute maps (inline SVG) and the indicators, our plan against the
//! baselines, in one language at a time (Chinese unless English is asked for).
//! [`html`] is the whole page `yizhan sort-plan --html` writes; [`body`] is the same content
//! without the document around it, for the county centre's page (`/centre/sort`).
//! Self-contained: no scripts, fonts or styles from elsewhere.

use std::fmt::Write;

use crate::layout::Hub;
use crate::{Evaluation, PlanResult};

/// The language a page is written in. The crate is pure and knows no web or cookie: the
/// caller says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// `"en"` is English; anything else Chinese.
    pub fn from_code(code: &str) -> Lang {
        if code.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// One of the two texts.
    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Distinct colours for the busiest destinations; the rest are drawn grey.
const PALETTE: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#393b79", "#637939", "#843c39",
];

/// The page's styles, for [`html`]; a page embedding [`body`] brings its own or uses these.
pub const STYLE: &str = "\
.sortplan table { border-collapse: collapse; margin: 1em 0; }\n\
.sortplan th, .sortplan td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }\n\
.sortplan th:first-child, .sortplan td:first-child { text-align: left; }\n\
.sortplan .maps { display: flex; flex-wrap: wrap; gap: 1em; }\n\
.sortplan .map { border: 1px solid #ddd; padding: 0.5em; max-width: 100%; }\n\
.sortplan .map svg { max-width: 100%; height: auto; }\n\
.sortplan .ours { background: #f3fbf3; font-weight: bold; }\n\
.sortplan .legend span { display: inline-block; margin-right: 1em; }\n\
.sortplan .scroll { overflow-x: auto; }\n";

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

/// The page's title for a hub.
pub fn title(hub: &Hub, lang: Lang) -> String {
    format!(
        "{} — {}",
        lang.pick("排格方案", "Sort plan"),
        escape(&hub.layout().name)
    )
}

/// Renders the whole page, in Chinese ([`html_in`] for another language).
pub fn html(hub: &Hub, evaluation: &Evaluation) -> String {
    html_in(hub, evaluation, Lang::Zh)
}

/// Renders the whole page in `lang`.
pub fn html_in(hub: &Hub, evaluation: &Evaluation, lang: Lang) -> String {
    let title = title(hub, lang);
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; color: #222; }}\n{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{}</body>\n</html>\n",
        lang.code(),
        body(hub, evaluation, lang)
    )
}

/// The page's content without the document around it (no title heading), inside
/// `<div class="sortplan">`.
pub fn body(hub: &Hub, evaluation: &Evaluation, lang: Lang) -> String {
    let layout = hub.layout();
    let results = [&evaluation.code_order, &evaluation.greedy, &evaluation.ours];
    let mut page = String::from("<div class=\"sortplan\">\n");
    let _ = match lang {
        Lang::Zh => writeln!(
            page,
            "<p>环线 {:.0} 米，{} 个小车，{:.2} 米/秒；{} 个供包台，{} 个格口，{} 个路向；仿真种子 {}。</p>",
            layout.sorter.loop_length_m,
            hub.n_carriers(),
            layout.sorter.speed_m_per_s,
            layout.inductions.len(),
            layout.chutes.len(),
            layout.destinations.len(),
            evaluation.seed
        ),
        Lang::En => writeln!(
            page,
            "<p>Loop {:.0} m, {} carriers, {:.2} m/s; {} inductions, {} chutes, {} destinations; simulation seed {}.</p>",
            layout.sorter.loop_length_m,
            hub.n_carriers(),
            layout.sorter.speed_m_per_s,
            layout.inductions.len(),
            layout.chutes.len(),
            layout.destinations.len(),
            evaluation.seed
        ),
    };

    let _ = write!(
        page,
        "<h2>{}</h2>\n<div class=\"scroll\"><table>\n<tr><th>{}</th>",
        lang.pick("指标", "Indicators"),
        lang.pick("指标", "Indicator")
    );
    for result in results {
        let class = if std::ptr::eq(result, &evaluation.ours) {
            " class=\"ours\""
        } else {
            ""
        };
        let _ = write!(page, "<th{class}>{}</th>", plan_label(&result.name, lang));
    }
    page.push_str("</tr>\n");
    let rows: [(&str, &str, IndicatorCell); 11] = [
        ("半圈落格率", "Half-loop drop rate", |r| {
            percent(r.indicators.half_loop_drop_rate)
        }),
        (
            "理论半圈落格率（无格口拒收时）",
            "Half-loop rate if no chute refused",
            |r| percent(r.static_half_loop_rate),
        ),
        ("回流率", "Recirculation rate", |r| {
            percent(r.indicators.recirculation_rate)
        }),
        ("强排率", "Force-eject rate", |r| {
            format!("{:.3}%", r.indicators.force_eject_rate * 100.0)
        }),
        (
            "多路向格口件量占比",
            "Items in multi-destination chutes",
            |r| percent(r.indicators.multi_destination_share),
        ),
        (
            "实际吞吐（件/小时）",
            "Throughput (items/h)",
            |r| format!("{:.0}", r.indicators.throughput_per_hour),
        ),
        ("投入量（件/小时）", "Offered (items/h)", |r| {
            format!("{:.0}", r.indicators.offered_per_hour)
        }),
        ("平均行程（圈）", "Mean travel (loops)", |r| {
            format!("{:.3}", r.indicators.mean_travel_loops)
        }),
        ("格口利用率均值", "Chute utilisation, mean", |r| {
            percent(r.indicators.chute_utilisation_mean)
        }),
        ("格口利用率最高", "Chute utilisation, max", |r| {
            percent(r.indicators.chute_utilisation_max)
        }),
        ("仿真时长（秒）", "Simulated time (s)", |r| {
            format!("{:.0}", r.indicators.simulated_s)
        }),
    ];
    for (zh, en, value) in rows {
        let _ = write!(page, "<tr><td>{}</td>", lang.pick(zh, en));
        for result in results {
            let _ = write!(page, "<td>{}</td>", value(result));
        }
        page.push_str("</tr>\n");
    }
    for (wave_idx, wave) in layout.waves.iter().enumerate() {
        let _ = write!(
            page,
            "<tr><td>{} {}{}</td>",
            lang.pick("波次清空时间", "Time to clear wave"),
            escape(&wave.name),
            lang.pick("（秒）", ", s")
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
    page.push_str("</table></div>\n");

    let _ = writeln!(page, "<h2>{}</h2>", lang.pick("格口图", "Chute map"));
    page.push_str(&legend(hub, lang));
    page.push_str("<div class=\"maps\">\n");
    for result in [&evaluation.ours, &evaluation.greedy, &evaluation.code_order] {
        let _ = write!(
            page,
            "<div class=\"map\"><h3>{}</h3>\n{}</div>\n",
            plan_label(&result.name, lang),
            chute_map(hub, result, lang)
        );
    }
    page.push_str("</div>\n");

    let _ = writeln!(
        page,
        "<h2>{}</h2>",
        lang.pick("设备分配", "Equipment allocation")
    );
    match (&evaluation.allocation, &evaluation.allocation_error) {
        (_, Some(error)) => {
            // The solver's own words are English; the Chinese page says so without them.
            match lang {
                Lang::Zh => page.push_str("<p>未能求解设备分配，请检查布局中的件型与设备。</p>\n"),
                Lang::En => {
                    let _ = writeln!(page, "<p>Not solved: {}</p>", escape(error));
                }
            }
        }
        (None, None) => {}
        (Some(_), None) if layout.item_classes.is_empty() => {
            let _ = writeln!(
                page,
                "<p>{}</p>",
                lang.pick(
                    "布局未给出件型与设备。",
                    "The layout gives no item classes or machines."
                )
            );
        }
        (Some(allocation), None) => {
            let _ = writeln!(
                page,
                "<p>{} {}{} {}{}</p>",
                lang.pick("最忙波次：", "Busiest wave:"),
                escape(&allocation.wave),
                lang.pick("；最高设备利用率", "; largest machine utilisation"),
                percent(allocation.utilisation_max),
                lang.pick("。", ".")
            );
            let _ = writeln!(
                page,
                "<div class=\"scroll\"><table>\n<tr><th>{}</th><th>{}</th><th>{}</th></tr>",
                lang.pick("件型", "Class"),
                lang.pick("设备", "Machine"),
                lang.pick("件/小时", "Items/h")
            );
            for flow in &allocation.flows {
                let _ = writeln!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{:.0}</td></tr>",
                    escape(&flow.class),
                    escape(&flow.machine),
                    flow.items_per_hour
                );
            }
            let _ = writeln!(
                page,
                "</table></div>\n<div class=\"scroll\"><table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                lang.pick("设备", "Machine"),
                lang.pick("负荷（件/小时）", "Load/h"),
                lang.pick("能力（件/小时）", "Capacity/h"),
                lang.pick("利用率", "Utilisation")
            );
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
            page.push_str("</table></div>\n");
            for unserved in &allocation.unserved {
                match lang {
                    Lang::Zh => {
                        let _ = writeln!(
                            page,
                            "<p>未分配：{} {:.0} 件/小时</p>",
                            escape(&unserved.class),
                            unserved.items_per_hour
                        );
                    }
                    Lang::En => {
                        let _ = writeln!(
                            page,
                            "<p>Unserved: {} {:.0} items/h — {}</p>",
                            escape(&unserved.class),
                            unserved.items_per_hour,
                            escape(&unserved.reason)
                        );
                    }
                }
            }
        }
    }
    page.push_str("</div>\n");
    page
}

fn plan_label(name: &str, lang: Lang) -> String {
    match name {
        "ours" => lang.pick("本方案", "Ours").into(),
        "greedy" => lang.pick("就近贪心", "Greedy").into(),
        "code order" => lang.pick("代码顺序", "Code order").into(),
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

fn legend(hub: &Hub, lang: Lang) -> String {
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
    legend.push_str(match lang {
        Lang::Zh => {
            "<span>灰：其他路向</span><span>浅蓝：多路向格口</span>\
             <span>红：异常口</span><span>▲ 供包台</span></p>\n"
        }
        Lang::En => {
            "<span>grey: other destinations</span><span>light blue: multi-destination chute</span>\
             <span>red: exception chute</span><span>▲ induction</span></p>\n"
        }
    });
    legend
}

/// The loop as an ellipse, travel clockwise from the top; chutes as dots just off it (the
/// second chute at a position inside, the first outside), inductions as triangles.
fn chute_map(hub: &Hub, result: &PlanResult, lang: Lang) -> String {
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
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.2\" fill=\"{colour}\" stroke=\"#666\" stroke-width=\"0.4\"><title>{} → {} ({} {}, {} {})</title></circle>",
            escape(&chute.id),
            if codes.is_empty() {
                "—".to_string()
            } else {
                codes.join(", ")
            },
            stats.items,
            lang.pick("件", "items"),
            stats.refusals,
            lang.pick("次拒收", "refused")
        );
    }
    for induction in &layout.inductions {
        let (x, y) = point(induction.position_m, 0.0);
        let _ = writeln!(
            svg,
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"#000\"><title>{} ({:.0}{})</title></polygon>",
            x,
            y - 6.0,
            x - 5.0,
            y + 4.0,
            x + 5.0,
            y + 4.0,
            escape(&induction.id),
            induction.rate_per_hour,
            lang.pick(" 件/小时", "/h")
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{centre_x}\" y=\"{centre_y}\" text-anchor=\"middle\" font-size=\"13\">{} {}</text>\n<text x=\"{centre_x}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"11\">{} {}</text>",
        lang.pick("半圈落格率", "Half-loop drop rate"),
        percent(result.indicators.half_loop_drop_rate),
        centre_y + 18.0,
        lang.pick("回流率", "Recirculation"),
        percent(result.indicators.recirculation_rate)
    );
    svg.push_str("</svg>");
    svg
}
