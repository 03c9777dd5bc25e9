//! The privacy label for printers beyond the page: TSPL (TSC and most
//! kiosk and station thermal printers) and PDF (any printer, a print
//! shop's or an office's), both 76×130 mm like the ZPL and the page. The
//! same fields as [`SendLabel`], nothing more: masked names and phones,
//! the recipient's address, the sender's divisions, the route, the
//! waybill's Code 128 and the tracking link's QR code.

use super::label::{SendLabel, label_zpl};
use crate::error::{AppError, AppResult, Code};

/// The label's size in millimetres.
const WIDTH_MM: f32 = 76.0;
const HEIGHT_MM: f32 = 130.0;

/// A printer language the label comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    /// ZPL II for Zebra and compatibles (UTF-8, `^CI28`).
    Zpl,
    /// TSPL for TSC and compatibles, text in GB 18030 for the printer's
    /// Simplified Chinese font `TSS24.BF2`.
    Tspl,
    /// PDF 1.7, one page of 76×130 mm.
    Pdf,
}

impl LabelFormat {
    pub const ALL: [LabelFormat; 3] = [LabelFormat::Zpl, LabelFormat::Tspl, LabelFormat::Pdf];

    /// The file extension the routes use (`label.zpl`, `label.tspl`,
    /// `label.pdf`).
    pub fn extension(self) -> &'static str {
        match self {
            LabelFormat::Zpl => "zpl",
            LabelFormat::Tspl => "tspl",
            LabelFormat::Pdf => "pdf",
        }
    }

    pub fn parse(text: &str) -> AppResult<LabelFormat> {
        let text = text.strip_prefix("label.").unwrap_or(text);
        LabelFormat::ALL
            .into_iter()
            .find(|format| format.extension() == text)
            .ok_or_else(|| {
                AppError::new(Code::LabelFormatUnknown).with(
                    "formats",
                    LabelFormat::ALL.map(LabelFormat::extension).join(", "),
                )
            })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            LabelFormat::Zpl => "application/zpl; charset=utf-8",
            LabelFormat::Tspl => "application/tspl; charset=gb18030",
            LabelFormat::Pdf => "application/pdf",
        }
    }

    pub fn file_name(self, label: &SendLabel) -> String {
        // The waybill is digits and letters from the pool; nothing in it
        // can break the header, but keep it to what a file name takes.
        let waybill: String = label
            .waybill
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        format!("label-{waybill}.{}", self.extension())
    }

    pub fn render(self, label: &SendLabel) -> Vec<u8> {
        match self {
            LabelFormat::Zpl => label_zpl(label).into_bytes(),
            LabelFormat::Tspl => label_tspl(label),
            LabelFormat::Pdf => label_pdf(label),
        }
    }
}

/// The lines of text a label prints, top to bottom, with their size in
/// points and whether they may wrap: one list for TSPL and PDF, so both
/// print the same thing.
fn text_lines(label: &SendLabel) -> Vec<(String, f32)> {
    let mut lines = vec![
        (format!("收 {} {}", label.to_name, label.to_phone), 12.0_f32),
        (label.to_address.clone(), 10.0),
        (format!("寄 {} {}", label.from_name, label.from_phone), 10.0),
        (label.from_place.clone(), 9.0),
        (label.route.clone(), 9.0),
    ];
    if let Some(grams) = label.weight_grams {
        lines.push((format!("{grams} g"), 9.0));
    }
    lines
}

/// Splits text into lines of at most `width` units, a CJK character two
/// units and any other one (the printers' fonts are twice as wide for
/// Chinese as for ASCII). At most `max_lines`; the rest is dropped with an
/// ellipsis rather than run off the label.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = if c.is_ascii() { 1 } else { 2 };
        if used + w > width {
            lines.push(std::mem::take(&mut line));
            used = 0;
            if lines.len() == max_lines {
                // More is left than fits: say so on the last line.
                if let Some(last) = lines.last_mut() {
                    last.pop();
                    last.push('…');
                }
                return lines;
            }
        }
        line.push(c);
        used += w;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

// ---- TSPL ----

/// TSPL strings are in double quotes; a quote inside is written `\["]`.
/// Control characters would end the command.
fn tspl_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\[\"]"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The label as TSPL at 203 dpi (8 dots a millimetre): `TSS24.BF2` is the
/// Simplified Chinese font TSC printers carry (24 dots high), which reads
/// GB 18030 bytes, so the program is encoded in GB 18030.
pub fn label_tspl(label: &SendLabel) -> Vec<u8> {
    let dots = |mm: f32| (mm * 8.0).round() as i32;
    let mut program = String::new();
    let mut line = |text: String| {
        program.push_str(&text);
        program.push_str("\r\n");
    };
    line(format!("SIZE {WIDTH_MM} mm,{HEIGHT_MM} mm"));
    line("GAP 2 mm,0 mm".into());
    line("DIRECTION 1".into());
    line("CLS".into());
    line(format!(
        "TEXT {},{},\"TSS24.BF2\",0,2,2,\"{}\"",
        dots(3.0),
        dots(3.0),
        tspl_text(label.carrier.name_zh())
    ));
    line(format!(
        "BARCODE {},{},\"128\",{},1,0,2,4,\"{}\"",
        dots(3.0),
        dots(11.0),
        dots(15.0),
        tspl_text(&label.waybill)
    ));
    let mut y = 32.0_f32;
    for (text, points) in text_lines(label) {
        // TSS24.BF2 is 24 dots (3 mm) high; twice as large for the
        // recipient's line.
        let (scale, row_mm, width) = if points >= 12.0 {
            (2, 6.5, 22)
        } else {
            (1, 3.6, 44)
        };
        for part in wrap(&text, width, 3) {
            line(format!(
                "TEXT {},{},\"TSS24.BF2\",0,{scale},{scale},\"{}\"",
                dots(3.0),
                dots(y),
                tspl_text(&part)
            ));
            y += row_mm;
        }
        y += 1.0;
    }
    line(format!(
        "QRCODE {},{},M,6,A,0,\"{}\"",
        dots(44.0),
        dots(92.0),
        tspl_text(&label.qr_payload)
    ));
    line("PRINT 1,1".into());
    let (bytes, _, _) = encoding_rs::GB18030.encode(&program);
    bytes.into_owned()
}

// ---- PDF ----

/// About how wide an ASCII character of a Song face is, in thousandths of
/// the font size.
fn latin_width(c: u8) -> f32 {
    match c {
        b' ' | b'!' | b'\'' | b',' | b'.' | b':' | b';' | b'|' | b'i' | b'j' | b'l' => 300.0,
        b'A'..=b'Z' | b'@' | b'%' | b'&' | b'm' | b'w' => 700.0,
        _ => 520.0,
    }
}

/// Millimetres to PDF points.
fn pt(mm: f32) -> f32 {
    mm * 72.0 / 25.4
}

/// Text as the font's encoding `UniGB-UCS2-H` reads it: UCS-2 big-endian.
/// A character outside the Basic Multilingual Plane (rare in names; none
/// in the division table) prints as `?`.
fn ucs2(text: &str) -> Vec<u8> {
    text.chars()
        .flat_map(|c| {
            let unit = u16::try_from(u32::from(c)).unwrap_or(u16::from(b'?'));
            unit.to_be_bytes()
        })
        .collect()
}

/// The label as a one-page PDF of 76×130 mm. The text is set in Adobe's
/// `STSong-Light` through the predefined CMap `UniGB-UCS2-H`, not
/// embedded: every PDF reader and printer driver with Chinese support has
/// it (or substitutes its own Song face), and the file stays a few
/// kilobytes instead of carrying a Chinese font of several megabytes. The
/// barcode and the QR code are drawn as filled rectangles, sharp at any
/// resolution.
pub fn label_pdf(label: &SendLabel) -> Vec<u8> {
    use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

    let catalog = Ref::new(1);
    let pages = Ref::new(2);
    let page = Ref::new(3);
    let contents = Ref::new(4);
    let font = Ref::new(5);
    let cid_font = Ref::new(6);
    let descriptor = Ref::new(7);
    let font_name = Name(b"F1");

    let mut content = Content::new();
    let height = pt(HEIGHT_MM);
    // From the top, as the layout is thought of; PDF counts from the bottom.
    let top = |mm: f32| height - pt(mm);
    let text = |content: &mut Content, x_mm: f32, y_mm: f32, size: f32, line: &str| {
        content
            .begin_text()
            .set_font(font_name, size)
            .next_line(pt(x_mm), top(y_mm))
            .show(Str(&ucs2(line)))
            .end_text();
    };

    text(&mut content, 3.0, 8.0, 16.0, label.carrier.name_zh());

    // Code 128 of the waybill: 60 mm wide, 15 mm high.
    content.set_fill_gray(0.0);
    if let Ok(code) = barcoders::sym::code128::Code128::new(format!("\u{0181}{}", label.waybill)) {
        let modules = code.encode();
        let module = pt(60.0) / modules.len().max(1) as f32;
        for (i, bar) in modules.iter().enumerate() {
            if *bar == 1 {
                content.rect(pt(3.0) + module * i as f32, top(27.0), module, pt(15.0));
            }
        }
        content.fill_nonzero();
    }
    text(&mut content, 3.0, 31.0, 10.0, &label.waybill);

    let mut y = 38.0_f32;
    for (line, points) in text_lines(label) {
        let width = ((WIDTH_MM - 6.0) / (points * 25.4 / 72.0) * 2.0) as usize;
        for part in wrap(&line, width, 3) {
            text(&mut content, 3.0, y, points, &part);
            y += points * 25.4 / 72.0 * 1.35;
        }
        y += 1.0;
    }

    // The QR code of the tracking link: 30 mm square, bottom right.
    if let Ok(qr) = qrcode::QrCode::new(label.qr_payload.as_bytes()) {
        let n = qr.width();
        let cell = pt(30.0) / n as f32;
        let (x0, y0) = (pt(WIDTH_MM - 33.0), pt(3.0));
        for (i, colour) in qr.to_colors().iter().enumerate() {
            if *colour == qrcode::Color::Dark {
                let (col, row) = (i % n, i / n);
                content.rect(
                    x0 + cell * col as f32,
                    y0 + cell * (n - 1 - row) as f32,
                    cell,
                    cell,
                );
            }
        }
        content.fill_nonzero();
    }

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    {
        let mut page_writer = pdf.page(page);
        page_writer
            .parent(pages)
            .media_box(Rect::new(0.0, 0.0, pt(WIDTH_MM), height))
            .contents(contents);
        page_writer.resources().fonts().pair(font_name, font);
    }
    pdf.type0_font(font)
        .base_font(Name(b"STSong-Light"))
        .encoding_predefined(Name(b"UniGB-UCS2-H"))
        .descendant_font(cid_font);
    {
        let mut cid = pdf.cid_font(cid_font);
        cid.subtype(CidFontType::Type0)
            .base_font(Name(b"STSong-Light"))
            .system_info(SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"GB1"),
                supplement: 2,
            })
            .font_descriptor(descriptor)
            .default_width(1000.0);
        // Adobe-GB1's proportional Latin (CIDs 1–95, what UniGB-UCS2-H maps
        // ASCII 0x20–0x7E to) is narrower than a Chinese character; close
        // enough widths keep a substituted face from overlapping letters.
        cid.widths()
            .consecutive(1, (0x20u8..=0x7E).map(latin_width));
    }
    pdf.font_descriptor(descriptor)
        .name(Name(b"STSong-Light"))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(-25.0, -254.0, 1000.0, 880.0))
        .italic_angle(0.0)
        .ascent(880.0)
        .descent(-120.0)
        .cap_height(880.0)
        .stem_v(93.0);
    pdf.stream(contents, content.finish().as_slice());
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Carrier;

    fn label() -> SendLabel {
        SendLabel {
            order_id: 1,
            carrier: Carrier::Ems,
            waybill: "1100000000013".into(),
            to_name: "李*".into(),
            to_phone: "138****1111".into(),
            to_address: "浙江省金华市磐安县安文街道新城路8号\"东\"门旁边的小卖部二楼靠窗的那一间"
                .into(),
            from_name: "张*".into(),
            from_phone: "139****5678".into(),
            from_place: "四川省成都市彭州市".into(),
            route: "510182 → 330727 全国其他".into(),
            weight_grams: Some(1500),
            qr_payload: "https://yizhan.example/api/track/1100000000013".into(),
        }
    }

    #[test]
    fn a_format_is_named_by_its_extension_and_nothing_else() {
        for format in LabelFormat::ALL {
            assert_eq!(LabelFormat::parse(format.extension()).unwrap(), format);
            assert_eq!(
                LabelFormat::parse(&format!("label.{}", format.extension())).unwrap(),
                format
            );
        }
        let refused = LabelFormat::parse("png").unwrap_err();
        assert_eq!(refused.code(), Code::LabelFormatUnknown);
        assert_eq!(
            LabelFormat::Pdf.file_name(&label()),
            "label-1100000000013.pdf"
        );
    }

    #[test]
    fn tspl_is_gb18030_with_the_barcode_the_qr_and_quotes_escaped() {
        let bytes = label_tspl(&label());
        let (text, _, malformed) = encoding_rs::GB18030.decode(&bytes);
        assert!(!malformed);
        // Really GB 18030, not UTF-8: the Chinese bytes differ.
        assert!(std::str::from_utf8(&bytes).is_err());
        assert!(text.starts_with("SIZE 76 mm,130 mm\r\n"), "{text}");
        assert!(text.contains("BARCODE 24,88,\"128\""), "{text}");
        assert!(text.contains("\"1100000000013\""), "{text}");
        assert!(
            text.contains(
                "QRCODE 352,736,M,6,A,0,\"https://yizhan.example/api/track/1100000000013\""
            )
        );
        assert!(text.contains("收 李* 138****1111"), "{text}");
        // A quote in the address cannot end the string early.
        assert!(text.contains("\\[\"]东\\[\"]"), "{text}");
        assert!(text.trim_end().ends_with("PRINT 1,1"));
        // Every command line is one the printer knows.
        for line in text.lines() {
            let command = line.split([' ', ',']).next().unwrap();
            assert!(
                [
                    "SIZE",
                    "GAP",
                    "DIRECTION",
                    "CLS",
                    "TEXT",
                    "BARCODE",
                    "QRCODE",
                    "PRINT"
                ]
                .contains(&command),
                "{line}"
            );
        }
    }

    #[test]
    fn long_text_wraps_into_at_most_three_lines() {
        let lines = wrap(&"很".repeat(100), 20, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.chars().count() <= 10));
        assert!(lines[2].ends_with('…'));
        assert_eq!(wrap("abc", 20, 3), vec!["abc".to_string()]);
        assert_eq!(wrap("", 20, 3), Vec::<String>::new());
    }

    /// The strings the content stream shows (`… Tj`), decoded from the
    /// PDF's literal or hex string syntax and then from UCS-2: what a
    /// reader would print, read back independently of the writer.
    fn shown_text(pdf: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(pdf);
        let mut shown = Vec::new();
        for line in text.lines().filter(|l| l.ends_with(" Tj")) {
            let operand = line.trim_end_matches(" Tj").trim();
            let bytes: Vec<u8> = if let Some(hex) = operand.strip_prefix('<') {
                let hex = hex.trim_end_matches('>');
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect()
            } else {
                let inner = &operand[1..operand.len() - 1];
                let mut out = Vec::new();
                let mut chars = inner.bytes().peekable();
                while let Some(b) = chars.next() {
                    if b != b'\\' {
                        out.push(b);
                        continue;
                    }
                    match chars.next().unwrap() {
                        d @ b'0'..=b'7' => {
                            let mut value = u32::from(d - b'0');
                            for _ in 0..2 {
                                if let Some(&n @ b'0'..=b'7') = chars.peek() {
                                    value = value * 8 + u32::from(n - b'0');
                                    chars.next();
                                }
                            }
                            out.push(value as u8);
                        }
                        b'n' => out.push(b'\n'),
                        other => out.push(other),
                    }
                }
                out
            };
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            shown.push(String::from_utf16(&units).unwrap());
        }
        shown
    }

    #[test]
    fn the_pdf_is_one_page_of_76_by_130_mm_showing_the_masked_label() {
        let bytes = label_pdf(&label());
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(text.matches("/Type /Page\n").count(), 1, "{text}");
        assert!(text.contains("/MediaBox [0 0 215.43"), "{text}");
        assert!(text.contains("/BaseFont /STSong-Light"));
        assert!(text.contains("/Encoding /UniGB-UCS2-H"));
        let shown = shown_text(&bytes);
        assert!(
            shown.contains(&label().carrier.name_zh().to_string()),
            "{shown:?}"
        );
        assert!(shown.contains(&"1100000000013".to_string()), "{shown:?}");
        assert!(
            shown.contains(&"收 李* 138****1111".to_string()),
            "{shown:?}"
        );
        assert!(
            shown.contains(&"寄 张* 139****5678".to_string()),
            "{shown:?}"
        );
        assert!(shown.contains(&"1500 g".to_string()), "{shown:?}");
        // The long address wrapped, and nothing of it was lost but the
        // third line's end.
        let address: String = shown
            .iter()
            .filter(|line| {
                line.starts_with("浙江") || line.contains("新城路") || line.contains("小卖部")
            })
            .cloned()
            .collect();
        assert!(
            address.starts_with("浙江省金华市磐安县安文街道新城路8号"),
            "{shown:?}"
        );
    }
}
