//! Bank statement lines (issue 15, point 4: money received): reading one
//! row of a bank's export — as a grid of cell texts, whatever the file was
//! — into a line of money received, with the column names banks use in
//! Chinese (交易日期, 贷方金额, 对方户名, 对方账号, 摘要) and in English,
//! and the line's stable fingerprint, which de-duplicates overlapping
//! imports. Pure: no files, no clock.

use crate::Fen;
use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a column of a bank's export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Day,
    /// Money in (贷方).
    Credit,
    /// Money out (借方): such rows are not money received.
    Debit,
    /// One signed amount column (金额): positive is money in.
    Amount,
    PayerName,
    PayerAccount,
    Reference,
    /// The bank's own serial number of the transaction, when it gives one.
    Serial,
}

/// Header names per column, compared after trimming and lower-casing, with
/// spaces, underscores and a trailing unit such as `(元)` taken away.
const HEADERS: &[(Column, &[&str])] = &[
    (
        Column::Day,
        &[
            "交易日期",
            "日期",
            "记账日期",
            "入账日期",
            "交易时间",
            "记账时间",
            "date",
            "valuedate",
            "transactiondate",
            "bookingdate",
            "postingdate",
        ],
    ),
    (
        Column::Credit,
        &[
            "贷方金额",
            "贷方发生额",
            "收入金额",
            "收入",
            "转入金额",
            "credit",
            "creditamount",
            "amountin",
            "deposit",
        ],
    ),
    (
        Column::Debit,
        &[
            "借方金额",
            "借方发生额",
            "支出金额",
            "支出",
            "转出金额",
            "debit",
            "debitamount",
            "amountout",
            "withdrawal",
        ],
    ),
    (Column::Amount, &["交易金额", "金额", "发生额", "amount"]),
    (
        Column::PayerName,
        &[
            "对方户名",
            "对方名称",
            "对方账户名",
            "对方账户名称",
            "付款人名称",
            "付款人",
            "付款方",
            "payername",
            "payer",
            "counterparty",
            "counterpartyname",
        ],
    ),
    (
        Column::PayerAccount,
        &[
            "对方账号",
            "对方账户",
            "付款人账号",
            "付款方账号",
            "payeraccount",
            "counterpartyaccount",
            "accountno",
            "payeraccountno",
        ],
    ),
    (
        Column::Reference,
        &[
            "摘要",
            "用途",
            "附言",
            "备注",
            "交易附言",
            "reference",
            "memo",
            "description",
            "narrative",
            "remarks",
            "remark",
        ],
    ),
    (
        Column::Serial,
        &[
            "流水号",
            "交易流水号",
            "交易流水",
            "凭证号",
            "交易序号",
            "serial",
            "serialno",
            "transactionid",
            "transactionno",
            "referenceno",
        ],
    ),
];

fn normalise_header(text: &str) -> String {
    let mut text: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '*')
        .flat_map(char::to_lowercase)
        .collect();
    for unit in ["(元)", "（元）", "(rmb)", "(cny)", "(yuan)"] {
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub day: usize,
    pub credit: Option<usize>,
    pub debit: Option<usize>,
    pub amount: Option<usize>,
    pub payer_name: usize,
    pub payer_account: Option<usize>,
    pub reference: Option<usize>,
    pub serial: Option<usize>,
}

impl Layout {
    /// The layout of a header row; `None` unless it names the day, an
    /// amount (credit or signed) and the payer's name. The first name of a
    /// column that appears twice wins.
    pub fn of(header: &[String]) -> Option<Layout> {
        let find = |column: Column| header.iter().position(|h| column_of(h) == Some(column));
        let layout = Layout {
            day: find(Column::Day)?,
            credit: find(Column::Credit),
            debit: find(Column::Debit),
            amount: find(Column::Amount),
            payer_name: find(Column::PayerName)?,
            payer_account: find(Column::PayerAccount),
            reference: find(Column::Reference),
            serial: find(Column::Serial),
        };
        (layout.credit.is_some() || layout.amount.is_some()).then_some(layout)
    }
}

/// Most rows before the header row that are looked through for it (banks
/// put the account, the period and a title above the table).
pub const HEADER_SEARCH_ROWS: usize = 30;
/// Longest payer name, account or reference kept, in characters.
pub const TEXT_CHARS_MAX: usize = 200;

/// One line of money received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct BankLine {
    pub day: NaiveDate,
    pub amount: Fen,
    pub payer_name: String,
    pub payer_account: String,
    pub reference: String,
    pub serial: Option<String>,
}

/// What a row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowRead {
    Received(BankLine),
    /// Money out, or a zero amount: not money received, skipped.
    NotReceived,
    /// A row with nothing in it.
    Blank,
    /// Why the row could not be read (English; the line is reported beside).
    Bad(String),
}

/// Yuan as a bank writes them ("12,345.67", "¥1 234.5", "-20.00") into
/// signed fen; no floats.
pub fn parse_amount(text: &str) -> Option<i64> {
    let text: String = text
        .trim()
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let (whole, cents) = match text.split_once('.') {
        Some((whole, cents)) if cents.len() <= 2 => (whole, cents),
        Some((whole, cents)) if cents[2..].bytes().all(|b| b == b'0') => (whole, &cents[..2]),
        Some(_) => return None,
        None => (text, ""),
    };
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !cents.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    let fen = whole.parse::<i64>().ok()? * 100 + cents;
    Some(if negative { -fen } else { fen })
}

/// A bank's day: `2026-12-07`, `2026/12/7`, `20261207`, `2026年12月7日`,
/// with or without a time after it.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let day = text.split([' ', 'T']).next().unwrap_or(text);
    let day = day.replace(['年', '月', '/', '.'], "-").replace('日', "");
    if let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
        return Some(day);
    }
    if day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&day, "%Y%m%d").ok();
    }
    None
}

fn cell(row: &[String], at: Option<usize>) -> &str {
    at.and_then(|at| row.get(at)).map_or("", |t| t.trim())
}

fn kept(text: &str) -> String {
    text.trim().chars().take(TEXT_CHARS_MAX).collect()
}

impl Layout {
    /// Reads one row below the header.
    pub fn read(&self, row: &[String]) -> RowRead {
        if row.iter().all(|c| c.trim().is_empty()) {
            return RowRead::Blank;
        }
        let Some(day) = parse_day(cell(row, Some(self.day))) else {
            return RowRead::Bad(format!(
                "the date {:?} is not a day such as 2026-12-07",
                cell(row, Some(self.day))
            ));
        };
        let amount_of = |at: Option<usize>| -> Result<i64, String> {
            let text = cell(row, at);
            if text.is_empty() {
                return Ok(0);
            }
            parse_amount(text)
                .ok_or_else(|| format!("the amount {text:?} is not yuan such as 1234.50"))
        };
        let credit = match (self.credit, self.amount) {
            (Some(_), _) => amount_of(self.credit),
            (None, amount) => amount_of(amount),
        };
        let credit = match credit {
            Ok(credit) => credit,
            Err(detail) => return RowRead::Bad(detail),
        };
        if credit <= 0 {
            return RowRead::NotReceived;
        }
        if credit > crate::ledger::AMOUNT_MAX.0 {
            return RowRead::Bad("the amount is more than 10,000,000 yuan".into());
        }
        let payer_name = kept(cell(row, Some(self.payer_name)));
        if payer_name.is_empty() {
            return RowRead::Bad("the payer's name is empty".into());
        }
        let serial = kept(cell(row, self.serial));
        RowRead::Received(BankLine {
            day,
            amount: Fen(credit),
            payer_name,
            payer_account: kept(cell(row, self.payer_account)),
            reference: kept(cell(row, self.reference)),
            serial: (!serial.is_empty()).then_some(serial),
        })
    }
}

impl BankLine {
    /// The line's stable fingerprint: the same bank line in any export, or
    /// in two overlapping exports, has the same one. It covers the day, the
    /// amount, the payer, the reference and the bank's serial; lines alike
    /// in all of these (two equal payments on one day without serials) are
    /// told apart by `occurrence`, their count among such lines in the
    /// file (0, 1, …), which an overlapping export of the same day repeats.
    pub fn fingerprint(&self, occurrence: u32) -> String {
        let mut hash = Sha256::new();
        for field in [
            self.day.to_string(),
            self.amount.0.to_string(),
            self.payer_name.clone(),
            self.payer_account.clone(),
            self.reference.clone(),
            self.serial.clone().unwrap_or_default(),
            occurrence.to_string(),
        ] {
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field.as_bytes());
        }
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            hash.finalize(),
        )
    }
}

/// A parsed file: each line of money received with its row number (1-based,
/// as a spreadsheet shows it) and fingerprint, the rows that could not be
/// read with why, and how many rows were not money received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedStatement {
    pub lines: Vec<(usize, BankLine, String)>,
    pub bad: Vec<(usize, String)>,
    pub not_received: usize,
}

/// Reads a whole grid of cell texts: finds the header row among the first
/// rows, then reads every row below it. `Err` when no header row is found.
pub fn parse_grid(rows: &[Vec<String>]) -> Result<ParsedStatement, String> {
    let (header_at, layout) = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(at, row)| Layout::of(row).map(|layout| (at, layout)))
        .ok_or_else(|| {
            "no header row naming the date, the amount received and the payer's name \
             (交易日期, 贷方金额, 对方户名 or date, credit, payer name)"
                .to_string()
        })?;
    let mut parsed = ParsedStatement::default();
    let mut seen: std::collections::HashMap<BankLine, u32> = std::collections::HashMap::new();
    for (at, row) in rows.iter().enumerate().skip(header_at + 1) {
        let number = at + 1;
        match layout.read(row) {
            RowRead::Received(line) => {
                let occurrence = seen.entry(line.clone()).or_insert(0);
                let fingerprint = line.fingerprint(*occurrence);
                *occurrence += 1;
                parsed.lines.push((number, line, fingerprint));
            }
            RowRead::NotReceived => parsed.not_received += 1,
            RowRead::Blank => {}
            RowRead::Bad(why) => parsed.bad.push((number, why)),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn amounts_and_days_read_as_banks_write_them() {
        assert_eq!(parse_amount("12,345.67"), Some(1_234_567));
        assert_eq!(parse_amount("¥1 234.5"), Some(123_450));
        assert_eq!(parse_amount("-20.00"), Some(-2_000));
        assert_eq!(parse_amount("7"), Some(700));
        assert_eq!(parse_amount("1.2300"), Some(123));
        for bad in ["", "1.234", "abc", "1e3", "--1"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        let day: NaiveDate = "2026-12-07".parse().unwrap();
        for text in [
            "2026-12-07",
            "2026/12/7",
            "20261207",
            "2026年12月7日",
            "2026-12-07 10:31:00",
            "2026.12.07",
        ] {
            assert_eq!(parse_day(text), Some(day), "{text}");
        }
        assert_eq!(parse_day("07/12/2026"), None);
    }

    #[test]
    fn chinese_and_english_exports_read_alike_after_their_title_rows() {
        let chinese = grid(
            "账号：6222 0000 1111,,,,,\n\
             查询期间：2026-12-01 至 2026-12-07,,,,,\n\
             交易日期,借方金额,贷方金额(元),对方户名,对方账号,摘要\n\
             2026-12-07,,1,234.50,中通快递彭州网点,6222000011112222,11月派费\n\
             2026-12-07,500.00,,电费,,\n\
             ,,,,,\n\
             2026-13-01,,10.00,x,,\n\
             2026-12-07,,1,234.50,中通快递彭州网点,6222000011112222,11月派费\n",
        );
        // The comma in 1,234.50 splits in this toy grid: rebuild it.
        let chinese: Vec<Vec<String>> = chinese
            .into_iter()
            .map(|row| {
                if row.len() == 7 {
                    let mut row = row;
                    let amount = format!("{},{}", row[2], row[3]);
                    row.splice(2..4, [amount]);
                    row
                } else {
                    row
                }
            })
            .collect();
        let parsed = parse_grid(&chinese).unwrap();
        assert_eq!(parsed.lines.len(), 2);
        assert_eq!(parsed.not_received, 1);
        assert_eq!(parsed.bad.len(), 1);
        assert_eq!(parsed.bad[0].0, 7, "the spreadsheet's row number");
        let (row, line, first) = &parsed.lines[0];
        assert_eq!(*row, 4);
        assert_eq!(line.amount, Fen(123_450));
        assert_eq!(line.payer_name, "中通快递彭州网点");
        assert_eq!(line.reference, "11月派费");
        assert_ne!(
            first, &parsed.lines[1].2,
            "two equal lines in one file are two receipts"
        );
        let english = grid(
            "Date,Amount,Payer Name,Payer Account,Reference,Serial No\n\
             2026/12/07,1234.50,中通快递彭州网点,6222000011112222,11月派费,\n\
             2026/12/07,-5.00,bank fee,,,\n",
        );
        let parsed_en = parse_grid(&english).unwrap();
        assert_eq!(parsed_en.lines.len(), 1);
        assert_eq!(parsed_en.not_received, 1);
        assert_eq!(
            &parsed_en.lines[0].2, first,
            "the same bank line has the same fingerprint in either export"
        );
        assert!(parse_grid(&grid("a,b,c\n1,2,3\n")).is_err());
    }
}
