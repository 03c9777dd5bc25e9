//! Printed paper of the centre: bag labels with a QR code and the handover
//! list (交接单), as self-contained HTML pages sized for A4 (labels for a
//! 100 × 150 mm label printer). Chinese first; nothing personal on them:
//! counts per carrier, never names or phone numbers.

use super::{BagContents, HandoverList};
use domain::Carrier;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The QR code of a payload as an inline SVG element.
pub fn qr_svg(payload: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::new(payload.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<svg::Color>()
                .min_dimensions(180, 180)
                .quiet_zone(true)
                .build();
            // Inline in HTML: drop the XML declaration the renderer writes.
            match svg.find("<svg") {
                Some(start) => svg[start..].to_string(),
                None => svg,
            }
        }
        // Short ASCII payloads always fit a QR code; say so on the label
        // rather than fail the page if that ever changes.
        Err(error) => format!("<p>二维码生成失败: {}</p>", escape(&error.to_string())),
    }
}

/// A Code 128 barcode of a short ASCII payload (`YZBAG:42`) as an inline
/// SVG element, for the handover list that drivers and contractors scan
/// with ordinary 1D scanners (crate `barcoders`; no image crate). The SVG
/// has no quiet zone of its own: the page leaves white space around it.
pub fn code128_svg(payload: &str) -> String {
    use barcoders::generators::svg::SVG;
    use barcoders::sym::code128::Code128;
    // Character set B (Ɓ) covers printable ASCII.
    let svg = Code128::new(format!("\u{0181}{payload}"))
        .and_then(|code| SVG::new(48).xdim(2).generate(code.encode()));
    match svg {
        Ok(svg) => svg.replacen(
            "<svg ",
            &format!(
                "<svg class=\"barcode\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}\" ",
                escape(payload)
            ),
            1,
        ),
        Err(error) => format!("<p>条码生成失败: {}</p>", escape(&error.to_string())),
    }
}

fn carrier_counts(per_carrier: &[(Carrier, u32)]) -> String {
    per_carrier
        .iter()
        .map(|(carrier, n)| {
            format!(
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{n}</td></tr>",
                carrier.name_zh(),
                carrier.code()
            )
        })
        .collect()
}

/// One bag label: destination, mode, day, counts and the QR code of the
/// bag's payload (`YZBAG:<id>`).
pub fn bag_label_html(contents: &BagContents) -> String {
    let bag = &contents.bag;
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>袋标 {id}</title>\
         <style>@page{{size:100mm 150mm;margin:5mm}}body{{font-family:sans-serif;margin:0}}h1{{font-size:20pt;margin:0 0 4mm}}\
         table{{border-collapse:collapse}}td{{border:1px solid #000;padding:1mm 3mm}}.n{{text-align:right}}</style></head><body>\
         <h1>{destination}</h1><p>袋号 {payload} · {mode} · {day} · {status}</p>{qr}\
         <table>{rows}<tr><td colspan=\"2\">合计</td><td class=\"n\">{n}</td></tr></table></body></html>",
        id = bag.id,
        destination = escape(&contents.destination),
        payload = bag.label_payload(),
        mode = bag.mode.name_zh(),
        day = bag.day,
        status = status_zh(bag.status),
        qr = qr_svg(&bag.label_payload()),
        rows = carrier_counts(&contents.per_carrier),
        n = contents.n_parcels,
    )
}

fn status_zh(status: super::BagStatus) -> &'static str {
    match status {
        super::BagStatus::Open => "装袋中",
        super::BagStatus::Closed => "已封袋",
        super::BagStatus::Dispatched => "已交接",
        super::BagStatus::Accepted => "已签收",
    }
}

/// The handover list of one route or contractor for one day, printable on
/// A4, with a signature line for both sides.
pub fn handover_html(list: &HandoverList) -> String {
    let mut html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>交接单 {title} {day}</title>\
         <style>@page{{size:A4;margin:15mm}}body{{font-family:sans-serif;font-size:11pt}}h1{{font-size:18pt}}\
         table{{border-collapse:collapse;width:100%;margin-bottom:6mm}}td,th{{border:1px solid #000;padding:1.5mm 3mm;text-align:left}}\
         .n{{text-align:right}}.sign{{margin-top:12mm;display:flex;justify-content:space-between}}\
         td.bar{{padding:2mm 4mm}}td.bar svg{{display:block;width:60mm;height:12mm}}.warn{{border:2px solid #c53030;color:#c53030;padding:3mm;font-weight:700}}</style></head><body>\
         <h1>县域共配交接单</h1><p>{title} · 日期 {day} · 共 {n_bags} 袋 {n} 件</p>\
         {empty}<table><tr><th>袋号</th><th>去向</th><th>模式</th><th>各快递件数</th><th class=\"n\">件数</th></tr>",
        title = escape(&list.title),
        day = list.day,
        n_bags = list.bags.len(),
        n = list.n_parcels,
        empty = if list.bags.is_empty() {
            "<p class=\"warn\">注意：这一天没有已交接的袋子，交接单为空。请先在县中心封袋并发运，或检查日期。</p>"
        } else {
            ""
        },
    );
    for bag in &list.bags {
        let counts: Vec<String> = bag
            .per_carrier
            .iter()
            .map(|(carrier, n)| format!("{} {n}", carrier.name_zh()))
            .collect();
        html.push_str(&format!(
            "<tr><td class=\"bar\">{}<div>{}</div></td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            code128_svg(&bag.bag.label_payload()),
            bag.bag.label_payload(),
            escape(&bag.destination),
            bag.bag.mode.name_zh(),
            counts.join("，"),
            bag.n_parcels
        ));
    }
    html.push_str("</table><h2>按快递公司汇总</h2><table><tr><th>快递公司</th><th>代码</th><th class=\"n\">件数</th></tr>");
    html.push_str(&carrier_counts(&list.per_carrier));
    html.push_str(&format!(
        "<tr><td colspan=\"2\">合计</td><td class=\"n\">{}</td></tr></table>\
         <div class=\"sign\"><span>交件人（县共配中心）签字：__________</span><span>接件人签字：__________</span><span>时间：__________</span></div></body></html>",
        list.n_parcels
    ));
    html
}
