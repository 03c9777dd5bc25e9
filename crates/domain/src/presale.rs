//! Community pre-sale orders picked up at stations (线上预售+线下自提,
//! issue 14 point 4): what a campaign's order file says. An online shop
//! exports its orders (order number, buyer's phone, items, amount, pickup
//! station or home delivery) as CSV or .xlsx; `parse_grid` finds the
//! header row, reads every row below it and names each bad one by its
//! line. Each order picked up at a station becomes a parcel of the county
//! post office (EMS) whose waybill-like number is derived from the campaign
//! and the order number (`waybill_for`), so the same order imported twice
//! is the same parcel. Pure: the use case resolves stations and writes.

use crate::limits::{ADDRESS_CHARS_MAX, NAME_CHARS_MAX};
use crate::waybill::WaybillNo;
use crate::{Fen, ParcelState, Phone};
use serde::Serialize;
use std::collections::HashMap;

/// Most orders one import file may carry.
pub const PRESALE_IMPORT_ROWS_MAX: usize = 5_000;
/// Longest order number kept (抖音, 拼多多 and 淘宝 numbers are 19 to 24).
pub const ORDER_NO_CHARS_MAX: usize = 24;
/// Longest items text kept.
pub const ITEMS_CHARS_MAX: usize = 200;
/// Most campaigns listed on the campaigns page.
pub const CAMPAIGNS_SHOWN: u32 = 200;
/// Rows before the header row that are looked through for it (shops put a
/// title or the export time above the table).
pub const HEADER_SEARCH_ROWS: usize = 10;
/// The prefix of a pre-sale parcel's number (预售).
pub const WAYBILL_PREFIX: &str = "YS";

/// A column of an order file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    OrderNo,
    Phone,
    Items,
    Amount,
    Pickup,
    Name,
    Address,
}

/// The names shops give each column, normalised (lower case, no spaces,
/// `_` or `*`, no "(元)").
const HEADERS: &[(Column, &[&str])] = &[
    (
        Column::OrderNo,
        &[
            "订单号",
            "订单编号",
            "主订单编号",
            "子订单编号",
            "order",
            "orderno",
            "ordernumber",
            "orderid",
        ],
    ),
    (
        Column::Phone,
        &[
            "手机号",
            "手机",
            "手机号码",
            "收货人手机",
            "收货人手机号",
            "买家手机",
            "联系电话",
            "联系手机",
            "电话",
            "phone",
            "buyerphone",
            "mobile",
        ],
    ),
    (
        Column::Items,
        &[
            "商品",
            "商品名称",
            "商品信息",
            "商品明细",
            "宝贝标题",
            "items",
            "item",
            "goods",
        ],
    ),
    (
        Column::Amount,
        &[
            "金额",
            "实付金额",
            "订单金额",
            "实付款",
            "实收款",
            "应付金额",
            "amount",
            "paid",
            "total",
        ],
    ),
    (
        Column::Pickup,
        &[
            "自提点",
            "提货点",
            "自提站点",
            "自提点编号",
            "取货点",
            "配送方式",
            "pickup",
            "pickupstation",
            "station",
        ],
    ),
    (
        Column::Name,
        &[
            "收货人",
            "收货人姓名",
            "买家姓名",
            "姓名",
            "name",
            "buyer",
            "buyername",
        ],
    ),
    (
        Column::Address,
        &["收货地址", "地址", "详细地址", "address"],
    ),
];

fn normalise_header(text: &str) -> String {
    let mut text: String = text
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '*')
        .flat_map(char::to_lowercase)
        .collect();
    for unit in ["(元)", "（元）", "(yuan)", "(cny)"] {
        if let Some(stripped) = text.strip_suffix(unit) {
            text = stripped.to_string();
        }
    }
    text
}

pub fn column_of(header: &str) -> Option<Column> {
    let header = normalise_header(header);
    HEADERS
        .iter()
        .find(|(_, names)| names.contains(&header.as_str()))
        .map(|(column, _)| *column)
}

/// Where each column is in a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub order_no: usize,
    pub phone: usize,
    pub items: usize,
    pub amount: usize,
    pub pickup: usize,
    pub name: Option<usize>,
    pub address: Option<usize>,
}

impl Layout {
    /// The layout of a header row; `None` unless it names the order
    /// number, the phone, the items, the amount and the pickup point. The
    /// first of a column named twice wins.
    pub fn of(header: &[String]) -> Option<Layout> {
        let find = |column: Column| header.iter().position(|h| column_of(h) == Some(column));
        Some(Layout {
            order_no: find(Column::OrderNo)?,
            phone: find(Column::Phone)?,
            items: find(Column::Items)?,
            amount: find(Column::Amount)?,
            pickup: find(Column::Pickup)?,
            name: find(Column::Name),
            address: find(Column::Address),
        })
    }
}

/// Where the buyer collects the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pickup {
    /// At a station, as the file names it (its number or its name); the use
    /// case resolves it.
    Station(String),
    /// Delivered to the buyer's door (送货上门).
    Home,
}

/// Words a shop writes for home delivery.
const HOME: &[&str] = &[
    "homedelivery",
    "home",
    "delivery",
    "送货上门",
    "送货到家",
    "配送上门",
    "上门配送",
    "上门",
    "快递到家",
];

pub fn parse_pickup(text: &str) -> Option<Pickup> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let squeezed: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    if HOME.contains(&squeezed.as_str()) {
        Some(Pickup::Home)
    } else {
        Some(Pickup::Station(
            text.chars().take(NAME_CHARS_MAX).collect::<String>(),
        ))
    }
}

/// An order number as kept: spaces dropped, upper case, letters, digits
/// and `-` only (so it can be part of a parcel's number).
pub fn parse_order_no(text: &str) -> Result<String, String> {
    let mut kept = String::new();
    for ch in text.trim().trim_start_matches('\'').chars() {
        match ch {
            ' ' => {}
            'a'..='z' => kept.push(ch.to_ascii_uppercase()),
            'A'..='Z' | '0'..='9' | '-' => kept.push(ch),
            other => {
                return Err(format!(
                    "the order number may hold only letters, digits and '-'; found {other:?}"
                ));
            }
        }
    }
    if kept.is_empty() {
        return Err("the order number is empty".into());
    }
    if kept.len() > ORDER_NO_CHARS_MAX {
        return Err(format!(
            "the order number has {} characters; at most {ORDER_NO_CHARS_MAX}",
            kept.len()
        ));
    }
    Ok(kept)
}

/// The parcel number of a campaign's order: `YS{campaign}-{order}`. The
/// same order of the same campaign always gets the same number, so an
/// import repeated finds the parcel it made.
pub fn waybill_for(campaign_id: i64, order_no: &str) -> Result<WaybillNo, String> {
    WaybillNo::parse(&format!("{WAYBILL_PREFIX}{campaign_id}-{order_no}"))
        .map_err(|error| error.to_string())
}

/// One order as the file gives it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub order_no: String,
    pub phone: Phone,
    pub items: String,
    pub amount: Fen,
    pub pickup: Pickup,
    pub name: Option<String>,
    pub address: Option<String>,
}

/// A row that could not be read: its line (1-based, as the sheet shows
/// it), its order number as written, and why (English; the pages say
/// which line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub line: usize,
    pub order_no: String,
    pub reason: String,
}

/// A whole file read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedOrders {
    pub orders: Vec<(usize, OrderRow)>,
    pub bad: Vec<BadRow>,
}

fn cell(row: &[String], at: Option<usize>) -> &str {
    at.and_then(|at| row.get(at)).map_or("", |t| t.trim())
}

fn text_of(text: &str, max: usize) -> Option<String> {
    let text: String = text.trim().chars().take(max).collect();
    (!text.is_empty()).then_some(text)
}

impl Layout {
    /// Reads one row below the header; `Ok(None)` for an empty row.
    pub fn read(&self, row: &[String]) -> Result<Option<OrderRow>, String> {
        if row.iter().all(|c| c.trim().is_empty()) {
            return Ok(None);
        }
        let order_no = parse_order_no(cell(row, Some(self.order_no)))?;
        let phone_text = cell(row, Some(self.phone));
        let phone = Phone::parse(phone_text).map_err(|_| {
            "the buyer's phone is not a mobile number such as 13812345678".to_string()
        })?;
        if matches!(phone, Phone::Masked { .. }) {
            return Err(
                "the buyer's phone is masked; export the orders with whole numbers so the station can send the pickup code"
                    .into(),
            );
        }
        let items = text_of(cell(row, Some(self.items)), ITEMS_CHARS_MAX)
            .ok_or_else(|| "the items are empty".to_string())?;
        let amount_text = cell(row, Some(self.amount));
        let amount = crate::bank::parse_amount(amount_text)
            .filter(|fen| (0..=crate::ledger::AMOUNT_MAX.0).contains(fen))
            .ok_or_else(|| format!("the amount {amount_text:?} is not yuan such as 39.90"))?;
        let pickup = parse_pickup(cell(row, Some(self.pickup))).ok_or_else(|| {
            "the pickup point is empty: name a station (its number or name) or write 送货上门"
                .to_string()
        })?;
        let address = text_of(cell(row, self.address), ADDRESS_CHARS_MAX);
        if pickup == Pickup::Home && address.is_none() {
            return Err("a home delivery needs the buyer's address".into());
        }
        Ok(Some(OrderRow {
            order_no,
            phone,
            items,
            amount: Fen(amount),
            pickup,
            name: text_of(cell(row, self.name), NAME_CHARS_MAX),
            address,
        }))
    }
}

/// Reads a whole grid of cell texts: finds the header row among the first
/// rows, then reads every row below it. A bad row is named with its line;
/// an order number on an earlier line too is a bad row. `Err` when no
/// header row is found or the file has too many rows.
pub fn parse_grid(rows: &[Vec<String>]) -> Result<ParsedOrders, String> {
    let (header_at, layout) = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(at, row)| Layout::of(row).map(|layout| (at, layout)))
        .ok_or_else(|| {
            "no header row naming the order number, phone, items, amount and pickup point \
             (订单号, 手机号, 商品, 金额, 自提点) in the first rows"
                .to_string()
        })?;
    let body = &rows[header_at + 1..];
    if body.len() > PRESALE_IMPORT_ROWS_MAX {
        return Err(format!(
            "the file has more than {PRESALE_IMPORT_ROWS_MAX} orders; split it"
        ));
    }
    let mut parsed = ParsedOrders::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (offset, row) in body.iter().enumerate() {
        let line = header_at + offset + 2;
        match layout.read(row) {
            Ok(None) => {}
            Ok(Some(order)) => {
                if let Some(first) = seen.get(&order.order_no) {
                    parsed.bad.push(BadRow {
                        line,
                        order_no: order.order_no.clone(),
                        reason: format!("the order number is also on line {first}"),
                    });
                } else {
                    seen.insert(order.order_no.clone(), line);
                    parsed.orders.push((line, order));
                }
            }
            Err(reason) => parsed.bad.push(BadRow {
                line,
                order_no: cell(row, Some(layout.order_no))
                    .chars()
                    .take(ORDER_NO_CHARS_MAX)
                    .collect(),
                reason,
            }),
        }
    }
    Ok(parsed)
}

/// One group of a campaign's orders as the store counts them: the station
/// (none for home delivery), the state of the order's parcel (none for
/// home delivery), how many and their amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCount {
    pub station_id: Option<i64>,
    pub state: Option<ParcelState>,
    pub orders: u32,
    pub amount: Fen,
}

/// A campaign's figures, or one station's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub orders: u32,
    /// Orders stored at a station (waiting or already collected).
    pub stored: u32,
    /// Waiting on a station's shelf now.
    pub waiting: u32,
    pub picked_up: u32,
    /// Sent back or set aside as a problem at the station.
    pub other: u32,
    pub home_delivery: u32,
    /// The orders' amounts.
    pub revenue_fen: i64,
    /// The amounts of the orders picked up.
    pub picked_up_fen: i64,
}

impl Figures {
    fn add(&mut self, count: &OrderCount) {
        self.orders += count.orders;
        self.revenue_fen += count.amount.0;
        match count.state {
            None => self.home_delivery += count.orders,
            Some(state) => {
                self.stored += count.orders;
                if state.occupies_slot() {
                    self.waiting += count.orders;
                } else if state == ParcelState::PickedUp {
                    self.picked_up += count.orders;
                    self.picked_up_fen += count.amount.0;
                } else {
                    self.other += count.orders;
                }
            }
        }
    }

    /// The share of stored orders picked up (0 when none was stored).
    pub fn picked_up_share(&self) -> f64 {
        if self.stored == 0 {
            0.0
        } else {
            f64::from(self.picked_up) / f64::from(self.stored)
        }
    }
}

/// A station's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationLine {
    pub station_id: i64,
    pub station: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A campaign's report: its totals and a line per station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignReport {
    pub campaign_id: i64,
    #[serde(flatten)]
    pub totals: Figures,
    pub stations: Vec<StationLine>,
}

/// Folds the store's counts into the report; `station_name` names a
/// station by its id. Stations are listed by id.
pub fn report(
    campaign_id: i64,
    counts: &[OrderCount],
    station_name: impl Fn(i64) -> String,
) -> CampaignReport {
    let mut totals = Figures::default();
    let mut by_station: std::collections::BTreeMap<i64, Figures> = Default::default();
    for count in counts {
        totals.add(count);
        if let Some(station_id) = count.station_id {
            by_station.entry(station_id).or_default().add(count);
        }
    }
    CampaignReport {
        campaign_id,
        totals,
        stations: by_station
            .into_iter()
            .map(|(station_id, figures)| StationLine {
                station_id,
                station: station_name(station_id),
                figures,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(|line| line.split(',').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn a_shops_export_is_read_and_each_bad_row_named_by_its_line() {
        let rows = grid(
            "彭州脐橙预售 订单导出,,,,,\n\
             订单号,收货人,手机号,商品名称,实付金额(元),自提点\n\
             dd-1001,张女士,138 1234 5678,脐橙 5kg,39.90,3\n\
             DD-1002,,13912345678,猕猴桃 3kg ×2,59,白果村驿站\n\
             ,,,,,\n\
             DD-1003,王先生,12345,脐橙 5kg,39.90,3\n\
             DD-1001,张女士,13812345678,脐橙 5kg,39.90,3\n\
             DD-1004,李大爷,13700000000,脐橙 10kg,1.234,3\n\
             DD-1005,赵阿姨,13600000000,脐橙 10kg,69.00,送货上门\n",
        );
        let parsed = parse_grid(&rows).unwrap();
        let lines: Vec<usize> = parsed.orders.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [3, 4]);
        let (_, first) = &parsed.orders[0];
        assert_eq!(first.order_no, "DD-1001");
        assert_eq!(first.amount, Fen(3990));
        assert_eq!(first.pickup, Pickup::Station("3".into()));
        assert_eq!(parsed.orders[1].1.amount, Fen(5900));
        let bad: Vec<(usize, &str)> = parsed
            .bad
            .iter()
            .map(|b| (b.line, b.reason.as_str()))
            .collect();
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert_eq!(bad[0].0, 6);
        assert!(bad[0].1.contains("phone"));
        assert_eq!(bad[1], (7, "the order number is also on line 3"));
        assert!(bad[2].1.contains("amount"));
        assert!(bad[3].1.contains("address"), "{bad:?}");
    }

    #[test]
    fn home_delivery_is_known_by_its_words_and_numbers_are_stable() {
        assert_eq!(parse_pickup(" 送货上门 "), Some(Pickup::Home));
        assert_eq!(parse_pickup("Home delivery"), Some(Pickup::Home));
        assert_eq!(parse_pickup(""), None);
        assert_eq!(waybill_for(7, "DD-1001").unwrap().as_str(), "YS7-DD-1001");
        assert!(parse_order_no("订单1").is_err());
        assert!(parse_order_no(&"9".repeat(25)).is_err());
        assert!(waybill_for(i64::MAX, &"9".repeat(24)).is_err());
        assert!(parse_grid(&grid("a,b,c\n1,2,3\n")).is_err());
    }

    #[test]
    fn the_report_counts_each_order_once_by_its_parcels_state() {
        let counts = [
            OrderCount {
                station_id: Some(2),
                state: Some(ParcelState::Stored),
                orders: 3,
                amount: Fen(300),
            },
            OrderCount {
                station_id: Some(2),
                state: Some(ParcelState::PickedUp),
                orders: 2,
                amount: Fen(500),
            },
            OrderCount {
                station_id: Some(1),
                state: Some(ParcelState::Returned),
                orders: 1,
                amount: Fen(100),
            },
            OrderCount {
                station_id: None,
                state: None,
                orders: 4,
                amount: Fen(1000),
            },
        ];
        let r = report(9, &counts, |id| format!("站{id}"));
        assert_eq!(r.totals.orders, 10);
        assert_eq!(r.totals.stored, 6);
        assert_eq!(r.totals.waiting, 3);
        assert_eq!(r.totals.picked_up, 2);
        assert_eq!(r.totals.other, 1);
        assert_eq!(r.totals.home_delivery, 4);
        assert_eq!(r.totals.revenue_fen, 1900);
        assert_eq!(r.totals.picked_up_fen, 500);
        assert_eq!(r.stations.len(), 2);
        assert_eq!(r.stations[0].station, "站1");
        assert_eq!(r.stations[1].figures.orders, 5);
    }
}
