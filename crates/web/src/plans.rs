//! Plans drawn for people, shared by the county centre's pages and the
//! command line (`yizhan dispatch --html`, `yizhan sort-plan --html`): one
//! renderer each, in one language at a time. The dispatch map is inline SVG
//! from the stations' coordinates (no tiles from the network): a scale bar,
//! a north arrow, one colour per route with a legend, and labels kept inside
//! the drawing by widening the view box around them. The sort plan page is
//! `sort::report`'s, given the page's language.

use crate::i18n::{Lang, Tr};
use app::dispatch::{DispatchPlan, PlannedRoute};
use app::ports::GeoPoint;
use askama::Template;
use std::fmt::Write;

/// One colour per route, in the order routes are listed; distinct for
/// colour-blind readers as far as eight colours go, then repeated.
pub const ROUTE_COLOURS: [&str; 8] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// The colour of the `idx`-th route.
pub fn route_colour(idx: usize) -> &'static str {
    ROUTE_COLOURS[idx % ROUTE_COLOURS.len()]
}

/// A vehicle's name as a driver reads it: "货车 1" / "Van 1".
pub fn vehicle_name(route: &PlannedRoute, t: Tr) -> String {
    let number = route.vehicle.rsplit('-').next().unwrap_or("");
    let kind = match route.kind.as_str() {
        "van" => t.get("plans.van"),
        "unmanned" => t.get("plans.unmanned"),
        _ => t.get("plans.vehicle"),
    };
    format!("{kind} {number}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Kilometres east and north of `origin` (an equirectangular projection:
/// true to well under 1 % across a county).
fn km_from(origin: GeoPoint, point: GeoPoint) -> (f64, f64) {
    const KM_PER_DEGREE_LAT: f64 = 110.574;
    const KM_PER_DEGREE_LON_AT_EQUATOR: f64 = 111.320;
    let east =
        (point.lon - origin.lon) * KM_PER_DEGREE_LON_AT_EQUATOR * origin.lat.to_radians().cos();
    let north = (point.lat - origin.lat) * KM_PER_DEGREE_LAT;
    (east, north)
}

/// A label's width in the drawing's units: CJK characters are about as wide
/// as the font is high, Latin letters and digits a little over half.
fn text_width(text: &str, font: f64) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.62 } else { 1.0 })
        .sum::<f64>()
        * font
}

/// The longest "nice" distance (1, 2 or 5 times a power of ten) up to `km`.
fn nice_km(km: f64) -> f64 {
    if !km.is_finite() || km <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(km.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&d| d <= km)
        .unwrap_or(power)
}

fn format_km(km: f64) -> String {
    if km >= 1.0 {
        format!("{km:.0}")
    } else {
        format!("{km}")
    }
}

/// A box in the drawing's units: left, top, right, bottom.
#[derive(Debug, Clone, Copy)]
struct Extent {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Extent {
    fn of_point(x: f64, y: f64) -> Extent {
        Extent {
            left: x,
            top: y,
            right: x,
            bottom: y,
        }
    }

    fn grow(&mut self, other: Extent) {
        self.left = self.left.min(other.left);
        self.top = self.top.min(other.top);
        self.right = self.right.max(other.right);
        self.bottom = self.bottom.max(other.bottom);
    }
}

/// The routes of a plan on a map of the centre and its stations.
pub fn dispatch_map(plan: &DispatchPlan, t: Tr) -> String {
    // The drawing area for the points; labels, the scale bar and the north
    // arrow go around it and the view box widens to hold them.
    const AREA: f64 = 560.0;
    const FONT: f64 = 13.0;
    let mut places: Vec<(GeoPoint, String, bool)> =
        vec![(plan.centre, t.get("plans.centre").to_string(), true)];
    for route in &plan.routes {
        for stop in &route.stops {
            if !places
                .iter()
                .any(|(point, name, _)| *point == stop.location && *name == stop.station)
            {
                places.push((stop.location, stop.station.clone(), false));
            }
        }
    }
    let km: Vec<(f64, f64)> = places
        .iter()
        .map(|(p, _, _)| km_from(plan.centre, *p))
        .collect();
    let (east_min, east_max) = km.iter().fold((0.0f64, 0.0f64), |(lo, hi), (e, _)| {
        (lo.min(*e), hi.max(*e))
    });
    let (north_min, north_max) = km.iter().fold((0.0f64, 0.0f64), |(lo, hi), (_, n)| {
        (lo.min(*n), hi.max(*n))
    });
    let span_km = (east_max - east_min).max(north_max - north_min).max(0.5);
    let px_per_km = AREA / span_km;
    let xy = |(east, north): (f64, f64)| {
        (
            (east - east_min) * px_per_km,
            (north_max - north) * px_per_km,
        )
    };
    let mut extent = Extent::of_point(0.0, 0.0);
    extent.grow(Extent::of_point(
        (east_max - east_min) * px_per_km,
        (north_max - north_min) * px_per_km,
    ));

    let mut svg = String::new();
    // Routes first, so the stations' marks and labels sit on top.
    for (idx, route) in plan.routes.iter().enumerate() {
        let mut points = vec![xy(km[0])];
        for stop in &route.stops {
            if let Some(at) = places
                .iter()
                .position(|(p, name, _)| *p == stop.location && *name == stop.station)
            {
                points.push(xy(km[at]));
            }
        }
        points.push(xy(km[0]));
        let text: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"3\" stroke-linejoin=\"round\" stroke-opacity=\"0.85\" points=\"{}\"><title>{}</title></polyline>",
            route_colour(idx),
            text.join(" "),
            escape(&vehicle_name(route, t))
        );
        // The order of the stops, a number beside each on this route's colour.
        for (n, (x, y)) in points[1..points.len() - 1].iter().enumerate() {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"7\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#fff\" text-anchor=\"middle\">{}</text>",
                x - 11.0,
                y + 9.0,
                route_colour(idx),
                x - 11.0,
                y + 12.0,
                n + 1
            );
            extent.grow(Extent::of_point(x - 19.0, y + 17.0));
        }
    }
    let middle_x = (east_max - east_min) * px_per_km / 2.0;
    for (idx, (_, name, is_centre)) in places.iter().enumerate() {
        let (x, y) = xy(km[idx]);
        if *is_centre {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"#222\"/>",
                x - 7.0,
                y - 7.0
            );
        } else {
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5.5\" fill=\"#fff\" stroke=\"#222\" stroke-width=\"2\"/>"
            );
        }
        // Right of the mark on the left half, left of it on the right half,
        // so labels run towards the middle; the view box holds them anyway.
        let width = text_width(name, FONT);
        let (anchor, left) = if x <= middle_x {
            ("start", x + 10.0)
        } else {
            ("end", x - 10.0 - width)
        };
        let text_x = if anchor == "start" {
            x + 10.0
        } else {
            x - 10.0
        };
        let baseline = y - 8.0;
        let _ = write!(
            svg,
            "<text x=\"{text_x:.1}\" y=\"{baseline:.1}\" font-size=\"{FONT}\" text-anchor=\"{anchor}\" paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\">{}</text>",
            escape(name)
        );
        extent.grow(Extent {
            left: left - 2.0,
            top: baseline - FONT - 2.0,
            right: left + width + 2.0,
            bottom: y + 8.0,
        });
    }
    // The scale bar under the drawing, a quarter of its width or less.
    let bar_km = nice_km(span_km / 4.0);
    let bar_px = bar_km * px_per_km;
    let bar_y = extent.bottom + 24.0;
    let bar_x = extent.left;
    let _ = write!(
        svg,
        "<g class=\"scale\"><path d=\"M{bar_x:.1},{:.1} V{bar_y:.1} H{:.1} V{:.1}\" fill=\"none\" stroke=\"#222\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{} {}</text></g>",
        bar_y - 6.0,
        bar_x + bar_px,
        bar_y - 6.0,
        bar_x + bar_px / 2.0,
        bar_y + 15.0,
        format_km(bar_km),
        t.get("plans.km")
    );
    extent.grow(Extent {
        left: bar_x,
        top: bar_y - 8.0,
        right: bar_x + bar_px.max(60.0),
        bottom: bar_y + 20.0,
    });
    // The north arrow in the top right corner, outside everything drawn.
    let arrow_x = extent.right + 24.0;
    let arrow_y = extent.top;
    let _ = write!(
        svg,
        "<g class=\"north\"><path d=\"M{arrow_x:.1},{:.1} l-8,22 l8,-6 l8,6 z\" fill=\"#222\"/><text x=\"{arrow_x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text></g>",
        arrow_y + 16.0,
        arrow_y + 12.0,
        t.get("plans.north")
    );
    extent.grow(Extent {
        left: arrow_x - 10.0,
        top: arrow_y - 2.0,
        right: arrow_x + 10.0,
        bottom: arrow_y + 40.0,
    });
    let pad = 12.0;
    let (left, top) = (extent.left - pad, extent.top - pad);
    let (width, height) = (
        extent.right - extent.left + 2.0 * pad,
        extent.bottom - extent.top + 2.0 * pad,
    );
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dispatch-map\" viewBox=\"{left:.1} {top:.1} {width:.1} {height:.1}\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\">{svg}</svg>",
        escape(t.get("plans.map"))
    )
}

/// One stop on a driver's list.
pub struct StopLine {
    pub n: usize,
    pub arrival: String,
    pub station: String,
    pub n_parcels: u32,
    /// For an unmanned vehicle: compartment and waybill, "3号:7312…".
    pub compartments: String,
}

/// One driver's route list (one A4 sheet when printed).
pub struct RouteSheet {
    pub vehicle: String,
    pub colour: &'static str,
    pub departure: String,
    pub return_time: String,
    pub distance_km: String,
    pub n_parcels: u32,
    pub stops: Vec<StopLine>,
}

/// A station the plan could not serve, and why in the page's language.
pub struct Unplanned {
    pub station: String,
    pub n_parcels: u32,
    pub reason: String,
}

/// Each route as its driver's list.
pub fn route_sheets(plan: &DispatchPlan, t: Tr) -> Vec<RouteSheet> {
    plan.routes
        .iter()
        .enumerate()
        .map(|(idx, route)| RouteSheet {
            vehicle: vehicle_name(route, t),
            colour: route_colour(idx),
            departure: route.departure.clone(),
            return_time: route.return_time.clone(),
            distance_km: format!("{:.1}", route.distance_km),
            n_parcels: route.stops.iter().map(|s| s.n_parcels).sum(),
            stops: route
                .stops
                .iter()
                .enumerate()
                .map(|(n, stop)| StopLine {
                    n: n + 1,
                    arrival: stop.arrival.clone(),
                    station: stop.station.clone(),
                    n_parcels: stop.n_parcels,
                    compartments: stop
                        .compartments
                        .iter()
                        .map(|c| format!("{}:{}", c.compartment, c.waybill))
                        .collect::<Vec<_>>()
                        .join(" "),
                })
                .collect(),
        })
        .collect()
}

/// The stations left out of a plan. The routing crate explains in English,
/// so a Chinese page gives its own words.
pub fn unplanned(plan: &DispatchPlan, t: Tr) -> Vec<Unplanned> {
    let no_location = plan
        .unlocated
        .iter()
        .map(|s| (s, t.get("plans.no_location")));
    let unserved = plan.unserved.iter().map(|s| (s, t.get("plans.unserved")));
    no_location
        .chain(unserved)
        .map(|(station, reason)| Unplanned {
            station: station.station.clone(),
            n_parcels: station.n_parcels,
            reason: if t.is_en() && !station.reason.is_empty() {
                station.reason.clone()
            } else {
                reason.to_string()
            },
        })
        .collect()
}

/// The dispatch plan as the page `yizhan dispatch --html` writes: the map,
/// the legend and each driver's route list on its own A4 sheet.
#[derive(Template)]
#[template(path = "centre/dispatch_document.html")]
pub struct DispatchDocument {
    pub t: Tr,
    pub map: String,
    pub day: String,
    pub sheets: Vec<RouteSheet>,
    pub unplanned: Vec<Unplanned>,
    pub n_parcels: u32,
    pub distance_km: String,
    pub feasible: bool,
    pub stopped_at_deadline: bool,
}

impl DispatchDocument {
    pub fn new(plan: &DispatchPlan, t: Tr, day: chrono::NaiveDate) -> DispatchDocument {
        DispatchDocument {
            t,
            map: dispatch_map(plan, t),
            day: day.to_string(),
            sheets: route_sheets(plan, t),
            unplanned: unplanned(plan, t),
            n_parcels: plan.n_parcels_planned,
            distance_km: format!("{:.1}", plan.distance_km),
            feasible: plan.feasible,
            stopped_at_deadline: plan.stopped_at_deadline,
        }
    }
}

/// The whole dispatch page in `lang`, for the command line.
pub fn dispatch_document(plan: &DispatchPlan, lang: Lang, day: chrono::NaiveDate) -> String {
    DispatchDocument::new(plan, Tr(lang), day)
        .render()
        .unwrap_or_else(|error| format!("<!doctype html><p>{}</p>", escape(&error.to_string())))
}

/// The sort plan's language for a page's.
pub fn sort_lang(lang: Lang) -> sort::report::Lang {
    match lang {
        Lang::En => sort::report::Lang::En,
        _ => sort::report::Lang::Zh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dispatch::{PlannedStop, UnservedStation};

    fn stop(station: &str, lat: f64, lon: f64) -> PlannedStop {
        PlannedStop {
            station_id: 1,
            station: station.into(),
            location: GeoPoint { lat, lon },
            arrival: "08:10".into(),
            n_parcels: 3,
            parcels_aboard_after: 0,
            compartments: Vec::new(),
            parcel_ids: vec![1, 2, 3],
        }
    }

    fn plan() -> DispatchPlan {
        let route = |vehicle: &str, stops: Vec<PlannedStop>| PlannedRoute {
            vehicle: vehicle.into(),
            kind: vehicle.split('-').next().unwrap().into(),
            departure: "07:00".into(),
            return_time: "11:00".into(),
            distance_km: 42.5,
            stops,
        };
        DispatchPlan {
            routes: vec![
                route(
                    "van-1",
                    vec![
                        stop("最东边一个名字很长的村级驿站", 30.95, 104.30),
                        stop("North end station", 31.20, 104.00),
                    ],
                ),
                route("unmanned-1", vec![stop("西头村驿站", 30.90, 103.70)]),
            ],
            unserved: Vec::new(),
            unlocated: vec![UnservedStation {
                station_id: 9,
                station: "无坐标驿站".into(),
                n_parcels: 2,
                reason: "the station has no location".into(),
            }],
            n_parcels_planned: 9,
            distance_km: 85.0,
            feasible: true,
            stopped_at_deadline: false,
            centre: GeoPoint {
                lat: 30.98,
                lon: 103.94,
            },
        }
    }

    fn attribute(tag: &str, name: &str) -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[start..start + tag[start..].find('"')?].to_string())
    }

    #[test]
    fn every_label_lies_inside_the_view_box_with_a_scale_bar_and_a_north_arrow() {
        for t in [Tr(Lang::Zh), Tr(Lang::En)] {
            let svg = dispatch_map(&plan(), t);
            let view: Vec<f64> = attribute(&svg, "viewBox")
                .unwrap()
                .split(' ')
                .map(|n| n.parse().unwrap())
                .collect();
            let (left, top, right, bottom) =
                (view[0], view[1], view[0] + view[2], view[1] + view[3]);
            let mut n_labels = 0;
            for piece in svg.split("<text").skip(1) {
                let tag = &piece[..piece.find('>').unwrap()];
                let text = &piece[piece.find('>').unwrap() + 1..piece.find("</text>").unwrap()];
                let x: f64 = attribute(tag, "x").unwrap().parse().unwrap();
                let y: f64 = attribute(tag, "y").unwrap().parse().unwrap();
                let font: f64 = attribute(tag, "font-size").unwrap().parse().unwrap();
                let width = text_width(text, font);
                let (from, to) = match attribute(tag, "text-anchor").as_deref() {
                    Some("end") => (x - width, x),
                    Some("middle") => (x - width / 2.0, x + width / 2.0),
                    _ => (x, x + width),
                };
                assert!(
                    from >= left && to <= right && y - font >= top && y <= bottom,
                    "{text:?} at {from:.0}..{to:.0}, {y:.0} outside {view:?}"
                );
                n_labels += 1;
            }
            assert!(n_labels >= 6, "stations, centre, scale and north: {svg}");
            assert!(svg.contains("class=\"scale\"") && svg.contains("class=\"north\""));
            for colour in &ROUTE_COLOURS[..2] {
                assert!(
                    svg.contains(&format!("stroke=\"{colour}\"")),
                    "one colour per route"
                );
            }
        }
    }

    #[test]
    fn the_scale_bar_is_a_round_distance() {
        assert_eq!(nice_km(3.7), 2.0);
        assert_eq!(nice_km(7.0), 5.0);
        assert_eq!(nice_km(12.0), 10.0);
        assert_eq!(nice_km(0.3), 0.2);
    }

    #[test]
    fn the_dispatch_page_speaks_one_language_at_a_time() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let zh = dispatch_document(&plan(), Lang::Zh, day);
        assert!(zh.contains("派送路单") && zh.contains("司机签字") && zh.contains("货车 1"));
        assert!(
            !zh.contains("Route list") && !zh.contains("no location"),
            "{zh}"
        );
        let en = dispatch_document(&plan(), Lang::En, day);
        assert!(en.contains("Route list") && en.contains("Driver") && en.contains("Van 1"));
        assert!(!en.contains("派送路单") && !en.contains("县中心"), "{en}");
    }
}
