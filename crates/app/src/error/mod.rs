//! Use-case errors and the one table of error codes. Every refusal a person
//! or an integrator must tell apart has a stable [`Code`] with its HTTP
//! status, its kind and a message template in Chinese and English; the API,
//! the console and the terminal all render from this table. Internal faults
//! keep their detail for the log and show only "internal error".
//!
//! Templates name their values as `{name}`; both languages use the same
//! names, except `{detail}`, an English text from a parser that only the
//! English template may show (a Chinese page never shows English text).

mod code;

use crate::ports::StoreError;
pub use code::{Code, ErrorKind};
use std::fmt;

/// The language a message is rendered in. Pages choose it by cookie, the
/// API by `Accept-Language` ([`Lang::from_accept_language`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language an `Accept-Language` header prefers: Chinese when its
    /// most preferred language is `zh` (any region or script), English
    /// otherwise and when there is no header. Integrators' programs rarely
    /// send one, and their logs are read by engineers, so English is the
    /// API's default; a browser set to Chinese gets Chinese.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::En;
        };
        let mut best: Option<(f32, bool)> = None;
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            if tag.is_empty() {
                continue;
            }
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let is_zh = primary.eq_ignore_ascii_case("zh");
            // The first of equally preferred languages wins.
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, is_zh));
            }
        }
        match best {
            Some((_, true)) => Lang::Zh,
            _ => Lang::En,
        }
    }
}

/// A value a message names: a text shown as it is (a number, a slot label,
/// a waybill), or words that differ by language (a state, an object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Words { zh: &'static str, en: &'static str },
}

impl Arg {
    fn in_lang(&self, lang: Lang) -> &str {
        match (self, lang) {
            (Arg::Text(text), _) => text,
            (Arg::Words { zh, .. }, Lang::Zh) => zh,
            (Arg::Words { en, .. }, Lang::En) => en,
        }
    }
}

/// The values of a message, by placeholder name.
pub type Args = Vec<(&'static str, Arg)>;

fn render(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone)]
pub enum AppError {
    /// A refusal the caller can act on: its code and the values its
    /// message names.
    Refused {
        code: Code,
        args: Args,
    },
    /// The object (an English noun from [`nouns`]) does not exist, or is
    /// not the caller's to see.
    NotFound(&'static str),
    Forbidden(&'static str),
    Unauthenticated,
    /// No free slot of this size class (its code: small, medium, large).
    StationFull(&'static str),
    /// A concurrent writer changed the same object first (the database
    /// refused a stale version or a taken place); the caller may retry.
    Contended(String),
    /// Too many wrong pickup codes or passwords; try again at `until`.
    Throttled {
        until: chrono::DateTime<chrono::Utc>,
        /// Whole seconds from the refusal to `until`, rounded up: the
        /// `Retry-After` a client is told (computed where the clock is).
        retry_after_s: i64,
        what: Throttle,
    },
    /// A fault of ours: the detail is for the log, never for the caller.
    Internal(String),
}

impl AppError {
    /// A refusal with `code`; add the values its message names with
    /// [`AppError::with`].
    pub fn new(code: Code) -> AppError {
        AppError::Refused {
            code,
            args: Vec::new(),
        }
    }

    /// Adds a value shown as it is.
    pub fn with(self, name: &'static str, value: impl fmt::Display) -> AppError {
        self.with_arg(name, Arg::Text(value.to_string()))
    }

    /// Adds a value that reads differently in Chinese and English.
    pub fn with_words(self, name: &'static str, zh: &'static str, en: &'static str) -> AppError {
        self.with_arg(name, Arg::Words { zh, en })
    }

    /// Adds an English parser message, shown only by English templates.
    pub fn with_detail(self, detail: impl fmt::Display) -> AppError {
        self.with("detail", detail)
    }

    pub fn with_arg(self, name: &'static str, value: Arg) -> AppError {
        match self {
            AppError::Refused { code, mut args } => {
                args.push((name, value));
                AppError::Refused { code, args }
            }
            other => other,
        }
    }

    /// A refusal from a parser that explains itself in English: the code
    /// says what was wrong, the English message keeps the parser's words.
    pub fn detail(code: Code) -> impl Fn(String) -> AppError {
        move |detail| AppError::new(code).with_detail(detail)
    }

    /// The stable code of this error.
    pub fn code(&self) -> Code {
        match self {
            AppError::Refused { code, .. } => *code,
            AppError::NotFound(_) => Code::NotFound,
            AppError::Forbidden(_) => Code::Forbidden,
            AppError::Unauthenticated => Code::Unauthenticated,
            AppError::StationFull(_) => Code::StationFull,
            AppError::Contended(_) => Code::Contended,
            AppError::Throttled { .. } => Code::RateLimited,
            AppError::Internal(_) => Code::Internal,
        }
    }

    /// Whether this is a refusal with `code` (tests and callers that act
    /// on one refusal read better with it).
    pub fn is(&self, code: Code) -> bool {
        self.code() == code
    }

    /// The message in `lang`, from the code's template.
    pub fn message(&self, lang: Lang) -> String {
        let template = self.code().template(lang);
        match self {
            AppError::Refused { args, .. } => render(template, |name| {
                args.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, value)| value.in_lang(lang).to_string())
            }),
            AppError::NotFound(what) | AppError::Forbidden(what) => {
                let (zh, en) = noun(what);
                render(template, |name| {
                    (name == "what").then(|| match lang {
                        Lang::Zh => zh.to_string(),
                        Lang::En => en.to_string(),
                    })
                })
            }
            AppError::StationFull(size) => {
                let words = size_words(size);
                render(template, |name| {
                    (name == "size").then(|| words.in_lang(lang).to_string())
                })
            }
            AppError::Contended(detail) => {
                render(template, |name| (name == "detail").then(|| detail.clone()))
            }
            AppError::Throttled { until, what, .. } => {
                let until = until
                    .with_timezone(&domain::shanghai())
                    .format("%H:%M")
                    .to_string();
                render(template, |name| match name {
                    "what" => Some(
                        match (lang, what) {
                            (Lang::Zh, Throttle::PickupCode) => "输错取件码",
                            (Lang::En, Throttle::PickupCode) => "wrong codes",
                            (Lang::Zh, Throttle::SignIn) => "密码错误",
                            (Lang::En, Throttle::SignIn) => "wrong passwords",
                            (Lang::Zh, Throttle::TestEvent) => "发送测试事件",
                            (Lang::En, Throttle::TestEvent) => "test events",
                        }
                        .to_string(),
                    ),
                    "until" => Some(until.clone()),
                    _ => None,
                })
            }
            AppError::Unauthenticated | AppError::Internal(_) => template.to_string(),
        }
    }
}

impl AppError {
    /// A throttled refusal at `now`: wait until `until`.
    pub fn throttled(
        what: Throttle,
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppError {
        let ms = (until - now).num_milliseconds();
        AppError::Throttled {
            until,
            retry_after_s: ((ms + 999) / 1000).max(1),
            what,
        }
    }

    /// Seconds to wait before trying again, for a throttled refusal.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            AppError::Throttled { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        }
    }
}

/// What was tried too often, for the message of a throttled refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    PickupCode,
    SignIn,
    TestEvent,
}

/// The English message: logs, and tests that read English.
impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for AppError {}

/// Chinese for the objects `NotFound` and `Forbidden` name, and for the
/// fields `text_invalid` names. A test reads the crate's sources so a new
/// noun cannot ship without its Chinese.
pub const NOUNS: &[(&str, &str)] = &[
    ("API token", "API 令牌"),
    ("alert", "提醒"),
    ("approval", "审批申请"),
    ("audit trail", "审计记录"),
    ("bag", "袋子"),
    ("bag for this station", "发往本站的袋子"),
    ("board", "看板"),
    ("carrier", "快递公司"),
    ("compliance checks", "合规检查"),
    ("compliance finding", "合规问题"),
    ("compliance findings", "合规问题"),
    ("contractor", "承包方"),
    ("county centre", "县中心"),
    ("device", "设备"),
    ("dispatch", "发运规划"),
    ("holding job", "滞留件任务"),
    ("parcel", "包裹"),
    ("payment", "支付"),
    ("phone number", "手机号"),
    ("pickup QR code", "取件二维码"),
    ("pickup session", "取件会话"),
    ("route", "路线"),
    ("send order", "寄件订单"),
    ("sender", "寄件人"),
    ("slot", "格口"),
    ("slot at this station", "本站格口"),
    ("station", "驿站"),
    ("user", "用户"),
    ("waybill", "运单"),
    ("webhook subscription", "回调订阅"),
    ("webhooks", "回调"),
    ("ledger", "账簿"),
    ("ledger account", "账户"),
    ("statement", "对账单"),
    ("statement line", "对账单明细"),
    ("receipt", "到账记录"),
    // Fields.
    ("address", "地址"),
    ("contractor name", "承包方名称"),
    ("name", "姓名"),
    ("note", "备注"),
    ("photo", "照片"),
    ("recipient name", "收件人姓名"),
    ("route name", "路线名称"),
    ("source", "来源"),
    ("token name", "令牌名称"),
    ("terminal", "终端编号"),
    ("username", "用户名"),
    // branch vehicles (issue 20).
    ("fleet", "车队"),
    ("incident", "安全事件"),
    ("mission", "配送任务"),
    ("vehicle", "车辆"),
    // branch kiosks (issue 14).
    ("collection", "揽收记录"),
    ("kiosk", "寄件宝"),
    // branch presale (issue 14).
    ("pre-sale campaign", "预售活动"),
    // The sorting hub's board (issue 16, point 4).
    ("sorting hub", "分拣中心"),
    ("hub log", "分拣中心日志"),
    // branch kiosk-dev (issue 14, session 10).
    ("device command", "设备指令"),
    // branch money2 (issue 15, session 10).
    ("collection plan", "清欠计划"),
    ("claim", "认领记录"),
];

/// (Chinese, English) for an object or field named in English.
pub fn noun(english: &'static str) -> (&'static str, &'static str) {
    let zh = NOUNS
        .iter()
        .find(|(en, _)| *en == english)
        .map(|(_, zh)| *zh)
        .unwrap_or("对象");
    (zh, english)
}

fn size_words(size: &str) -> Arg {
    match size {
        "small" => Arg::Words {
            zh: "小件",
            en: "small",
        },
        "medium" => Arg::Words {
            zh: "中件",
            en: "medium",
        },
        "large" => Arg::Words {
            zh: "大件",
            en: "large",
        },
        other => Arg::Text(other.to_string()),
    }
}

/// A size class as message words.
pub fn size_arg(size: domain::station::SizeClass) -> Arg {
    size_words(size.code())
}

/// Maps a free-text field's refusal (`domain::limits::text_field`) to
/// `text_invalid`, naming the field in both languages.
pub fn text_invalid(field: &'static str, chars_max: usize) -> impl Fn(String) -> AppError {
    move |_| {
        let (zh, en) = noun(field);
        AppError::new(Code::TextInvalid)
            .with_words("field", zh, en)
            .with("max", chars_max)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(what) => AppError::Contended(what),
            StoreError::Backend(detail) => AppError::Internal(detail),
        }
    }
}

/// Chinese for the actions a transition refusal names (event kinds).
fn action_zh(event_kind: &str) -> &'static str {
    match event_kind {
        "announced" => "预报",
        "arrived_at_centre" => "做到站扫描",
        "sorted" => "分拣",
        "dispatched" => "发运",
        "stored" | "awaiting_consent" => "入站",
        "consent_granted" => "确认入站",
        "moved" => "移到别的格口",
        "picked_up" => "取件",
        "problem" => "标为问题件",
        "returned" => "退回快递公司",
        _ => "这样操作",
    }
}

impl From<domain::TransitionError> for AppError {
    fn from(error: domain::TransitionError) -> Self {
        let from_zh = domain::ParcelState::parse(error.from)
            .map(domain::ParcelState::name_zh)
            .unwrap_or("未知状态");
        AppError::new(Code::ConflictState)
            .with_words("from", from_zh, error.from)
            .with_words("action", action_zh(error.action), error.action)
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_templates_agree() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a code name is used twice");
        for code in Code::ALL {
            let name = code.name();
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert!((400..600).contains(&code.status()), "{name}");
            let zh = code.template(Lang::Zh);
            let en = code.template(Lang::En);
            assert!(!zh.is_empty() && !en.is_empty(), "{name}");
            let mut zh_names = Code::placeholders(zh);
            let mut en_names = Code::placeholders(en);
            // Only English may show a parser's English words.
            assert!(
                !zh_names.contains(&"detail"),
                "{name}: Chinese shows {{detail}}"
            );
            en_names.retain(|p| *p != "detail");
            zh_names.sort_unstable();
            en_names.sort_unstable();
            assert_eq!(zh_names, en_names, "{name}: placeholders differ");
            // Chinese templates are Chinese: no English sentence slips in.
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{name}: {zh}"
            );
        }
    }

    #[test]
    fn messages_render_in_either_language() {
        let error = AppError::new(Code::BatchSize)
            .with("max", 500)
            .with("n", 501);
        assert_eq!(
            error.to_string(),
            "a batch holds 1 to 500 parcels; this one has 501"
        );
        assert_eq!(
            error.message(Lang::Zh),
            "一批须有 1 至 500 件包裹，这一批有 501 件"
        );
        let error = AppError::from(
            domain::ParcelState::PickedUp
                .apply(domain::Action::Move)
                .unwrap_err(),
        );
        assert_eq!(error.code().name(), "conflict_state");
        assert_eq!(
            error.to_string(),
            "a parcel that is picked_up cannot be moved"
        );
        assert_eq!(
            error.message(Lang::Zh),
            "包裹当前为“已取件”，不能移到别的格口"
        );
        let error = AppError::NotFound("parcel");
        assert_eq!(
            (error.to_string(), error.message(Lang::Zh)),
            ("parcel not found".to_string(), "没有找到包裹".to_string())
        );
        let error = AppError::new(Code::WaybillInvalid).with_detail("waybill number is empty");
        assert_eq!(error.to_string(), "waybill number is empty");
        assert!(!error.message(Lang::Zh).contains("waybill"));
        let error = AppError::Internal("disk on fire".into());
        assert_eq!(
            (error.to_string(), error.message(Lang::Zh)),
            ("internal error".to_string(), "内部错误".to_string())
        );
    }

    #[test]
    fn accept_language_prefers_chinese_only_when_asked() {
        for (header, lang) in [
            (None, Lang::En),
            (Some(""), Lang::En),
            (Some("zh-CN"), Lang::Zh),
            (Some("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh),
            (Some("zh-Hans"), Lang::Zh),
            (Some("en-US,en;q=0.9,zh-CN;q=0.8"), Lang::En),
            (Some("en;q=0.5, zh;q=0.8"), Lang::Zh),
            (Some("zh;q=0, en"), Lang::En),
            (Some("*"), Lang::En),
            (Some("de-DE"), Lang::En),
        ] {
            assert_eq!(Lang::from_accept_language(header), lang, "{header:?}");
        }
    }

    /// Every `NotFound("…")`, `Forbidden("…")` and `text_invalid("…", …)`
    /// in this crate names a noun with Chinese, so no page shows "对象".
    #[test]
    fn every_noun_the_use_cases_name_has_chinese() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut stack = vec![std::path::PathBuf::from(root)];
        let mut n_found = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                // The error module itself names the markers in its docs.
                if path.parent().is_some_and(|dir| dir.ends_with("error")) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for marker in ["NotFound(\"", "Forbidden(\"", "text_invalid(\""] {
                    let mut rest = text.as_str();
                    while let Some(i) = rest.find(marker) {
                        let after = &rest[i + marker.len()..];
                        let end = after.find('"').unwrap();
                        let noun = &after[..end];
                        n_found += 1;
                        assert!(
                            NOUNS.iter().any(|(en, _)| *en == noun),
                            "{}: {noun:?} has no Chinese in error::NOUNS",
                            path.display()
                        );
                        rest = &after[end..];
                    }
                }
            }
        }
        assert!(n_found > 30, "the walk found the use cases' nouns");
    }
}
