//! The privacy label (隐私面单) of an accepted order: names and phones
//! masked, the recipient's address whole (the courier needs it), the
//! waybill number for the barcode, a QR payload and the route; as data for
//! the printable page and as ZPL for a thermal printer (76×130 mm, 203 dpi).

use super::*;
use domain::sending::OrderState;
use serde::Serialize;

/// What the label prints; nothing on it is more than a privacy waybill may
/// carry (masked names and phones, addresses, the waybill).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendLabel {
    pub order_id: i64,
    pub carrier: Carrier,
    pub waybill: String,
    pub to_name: String,
    pub to_phone: String,
    pub to_address: String,
    pub from_name: String,
    pub from_phone: String,
    /// The sender's divisions only (their detail is not printed).
    pub from_place: String,
    /// Origin and destination division codes and the tariff's zone.
    pub route: String,
    pub weight_grams: Option<u32>,
    /// What the QR code carries: the public tracking link.
    pub qr_payload: String,
}

/// A name as a privacy label prints it: the first character, the rest
/// starred (`张*`, `欧阳**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// Labels 76×130 mm at 203 dpi (8 dots a millimetre).
const ZPL_WIDTH_DOTS: u32 = 608;
const ZPL_LENGTH_DOTS: u32 = 1040;

/// ZPL's control characters cannot appear in field data.
fn zpl_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '^' | '~') || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The label as ZPL II: UTF-8 text (`^CI28`; the printer needs a CJK font
/// loaded as its default), a Code 128 barcode of the waybill and a QR code.
pub fn label_zpl(label: &SendLabel) -> String {
    let mut zpl = String::new();
    let mut line = |text: String| {
        zpl.push_str(&text);
        zpl.push('\n');
    };
    line("^XA".into());
    line("^CI28".into());
    line(format!("^PW{ZPL_WIDTH_DOTS}"));
    line(format!("^LL{ZPL_LENGTH_DOTS}"));
    line(format!(
        "^FO24,24^A0N,40,40^FD{}^FS",
        zpl_text(label.carrier.name_zh())
    ));
    line(format!(
        "^FO24,80^BY2,3,120^BCN,120,Y,N,N^FD{}^FS",
        zpl_text(&label.waybill)
    ));
    line(format!(
        "^FO24,250^A0N,32,32^FD收 {} {}^FS",
        zpl_text(&label.to_name),
        zpl_text(&label.to_phone)
    ));
    line(format!(
        "^FO24,295^A0N,28,28^FB560,3,4,L^FD{}^FS",
        zpl_text(&label.to_address)
    ));
    line(format!(
        "^FO24,420^A0N,26,26^FD寄 {} {}^FS",
        zpl_text(&label.from_name),
        zpl_text(&label.from_phone)
    ));
    line(format!(
        "^FO24,460^A0N,24,24^FB560,2,4,L^FD{}^FS",
        zpl_text(&label.from_place)
    ));
    line(format!(
        "^FO24,540^A0N,24,24^FD{}^FS",
        zpl_text(&label.route)
    ));
    if let Some(grams) = label.weight_grams {
        line(format!("^FO24,580^A0N,24,24^FD{grams} g^FS"));
    }
    line(format!(
        "^FO380,640^BQN,2,6^FDQA,{}^FS",
        zpl_text(&label.qr_payload)
    ));
    line("^XZ".into());
    zpl
}

impl App {
    /// The label of the sender's own accepted (or collected) order.
    pub async fn send_label(&self, sender: &SenderRecord, order_id: i64) -> AppResult<SendLabel> {
        let order = self.send_order(sender, order_id).await?;
        self.label_of(order)
    }

    /// The label of any accepted (or collected) order, for county staff
    /// and the admin (the printable page under `/centre`).
    pub async fn send_label_for_staff(
        &self,
        principal: &domain::Principal,
        order_id: i64,
    ) -> AppResult<SendLabel> {
        let order = self.send_order_for_staff(principal, order_id).await?;
        self.label_of(order)
    }

    fn label_of(&self, order: crate::ports::sending::OrderRecord) -> AppResult<SendLabel> {
        if !matches!(order.state, OrderState::Accepted | OrderState::Collected) {
            return Err(super::orders::state_refusal(order.state, "label"));
        }
        let waybill = order
            .waybill
            .clone()
            .ok_or_else(|| AppError::new(Code::SendOrderIncomplete))?;
        let zone = order
            .quote
            .as_ref()
            .and_then(|q| q.get("zone_name_zh"))
            .and_then(|z| z.as_str())
            .unwrap_or_default()
            .to_string();
        let from_place = address::divisions()
            .get(&order.from.division)
            .map(|division| {
                division
                    .path()
                    .iter()
                    .filter(|d| !d.is_placeholder())
                    .map(|d| d.name().to_string())
                    .collect::<String>()
            })
            .unwrap_or_default();
        Ok(SendLabel {
            order_id: order.id,
            carrier: order.carrier,
            qr_payload: format!(
                "{}/api/track/{}",
                self.settings.public_url.trim_end_matches('/'),
                waybill
            ),
            waybill,
            to_name: mask_name(&order.to.name),
            to_phone: order.to.phone.masked(),
            to_address: order.to.address.clone(),
            from_name: mask_name(&order.from.name),
            from_phone: order.from.phone.masked(),
            from_place,
            route: format!("{} → {} {zone}", order.from.division, order.to.division),
            weight_grams: order.weight_grams,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name(" "), "");
    }

    #[test]
    fn zpl_has_the_barcode_the_qr_and_no_stray_commands() {
        let label = SendLabel {
            order_id: 1,
            carrier: Carrier::Ems,
            waybill: "1100000000000".into(),
            to_name: "李*".into(),
            to_phone: "138****1111".into(),
            to_address: "浙江省金华市磐安县^XZ新城路8号".into(),
            from_name: "张*".into(),
            from_phone: "139****5678".into(),
            from_place: "四川省成都市彭州市".into(),
            route: "510182 → 330727 全国其他".into(),
            weight_grams: Some(1500),
            qr_payload: "http://127.0.0.1:8080/api/track/1100000000000".into(),
        };
        let zpl = label_zpl(&label);
        assert!(zpl.starts_with("^XA\n^CI28\n^PW608\n^LL1040\n"));
        assert!(zpl.contains("^BCN,120,Y,N,N^FD1100000000000^FS"));
        assert!(zpl.contains("^BQN,2,6^FDQA,http://127.0.0.1:8080/api/track/1100000000000^FS"));
        assert_eq!(
            zpl.matches("^XZ").count(),
            1,
            "field data cannot end the label"
        );
        assert!(!zpl.contains("13912345678"));
    }
}
