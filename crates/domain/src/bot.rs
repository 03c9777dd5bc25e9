//! Group robots (群机器人): the managers' group chats on WeCom (企业微信) and
//! DingTalk (钉钉) take a POST to the robot's webhook URL with a markdown
//! message; the daily report and other figures go there. Pure: the message
//! bodies, DingTalk's signature and the robots' answers. The caller supplies
//! the time and the secret; the binary's sender does the IO.
//!
//! - WeCom: `{"msgtype":"markdown","markdown":{"content":…}}`; the robot's
//!   key is in its URL (so the URL is a secret too); content at most 4096
//!   bytes.
//! - DingTalk: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`; a
//!   robot with "加签" wants `&timestamp=<ms>&sign=<urlencoded base64(
//!   HMAC-SHA256(key = secret, "<ms>\n<secret>"))>` on its URL.
//!
//! Both answer `200` with `{"errcode":0,"errmsg":"ok"}`, and a non-zero
//! `errcode` (too many messages a minute, a bad key or signature) under the
//! same `200`, so the answer's body decides.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// Longest message body a robot takes (WeCom's markdown limit, in bytes of
/// UTF-8; DingTalk takes more). Longer texts are cut at a line.
pub const MARKDOWN_BYTES_MAX: usize = 4096;
/// Longest title (DingTalk shows it in the chat list).
pub const TITLE_CHARS_MAX: usize = 64;
/// Longest robot name in the configuration.
pub const BOT_NAME_CHARS_MAX: usize = 32;

/// Which platform a robot is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BotKind {
    WeCom,
    DingTalk,
}

impl BotKind {
    pub fn code(self) -> &'static str {
        match self {
            BotKind::WeCom => "wecom",
            BotKind::DingTalk => "dingtalk",
        }
    }

    pub fn parse(code: &str) -> Result<BotKind, String> {
        match code.trim().to_ascii_lowercase().as_str() {
            "wecom" | "wechat_work" | "wxwork" => Ok(BotKind::WeCom),
            "dingtalk" | "dingding" => Ok(BotKind::DingTalk),
            other => Err(format!(
                "unknown group robot kind {other:?}: use \"wecom\" or \"dingtalk\""
            )),
        }
    }
}

/// A robot's name as configured (`[bots.NAME]`): lower-case letters,
/// digits, `-` and `_`, so it can key rows and appear in logs.
pub fn check_bot_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= BOT_NAME_CHARS_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "robot name {name:?}: 1 to {BOT_NAME_CHARS_MAX} of a-z, 0-9, - and _"
        ))
    }
}

/// The JSON body a robot takes (serialise it as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotBody {
    /// Always `markdown`.
    pub msgtype: &'static str,
    pub markdown: BotMarkdown,
}

/// The markdown part, in each platform's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum BotMarkdown {
    WeCom { content: String },
    DingTalk { title: String, text: String },
}

/// The body for `kind`: the title goes where the platform shows one
/// (DingTalk; WeCom's text carries its own heading); the text is cut to the
/// limit.
pub fn body(kind: BotKind, title: &str, markdown: &str) -> BotBody {
    let text = cut_at_line(markdown, MARKDOWN_BYTES_MAX);
    let markdown = match kind {
        BotKind::WeCom => BotMarkdown::WeCom { content: text },
        BotKind::DingTalk => BotMarkdown::DingTalk {
            title: title.chars().take(TITLE_CHARS_MAX).collect(),
            text,
        },
    };
    BotBody {
        msgtype: "markdown",
        markdown,
    }
}

/// `text` cut to at most `max_bytes` of UTF-8, at the last whole line that
/// fits (or the last whole character), with "…" marking the cut.
pub fn cut_at_line(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    const MARK: &str = "\n…";
    let budget = max_bytes.saturating_sub(MARK.len());
    let mut end = budget.min(text.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let head = match head.rfind('\n') {
        Some(line_end) if line_end > 0 => &head[..line_end],
        _ => head,
    };
    format!("{head}{MARK}")
}

/// DingTalk's signature: base64 of HMAC-SHA256 keyed by the secret over
/// `"<timestamp ms>\n<secret>"` (not yet URL-encoded).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    use base64::Engine;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL a signed DingTalk message is posted to: the robot's URL with
/// `timestamp` and the URL-encoded `sign` appended.
pub fn dingtalk_signed_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    let sign: String =
        url::form_urlencoded::byte_serialize(dingtalk_sign(secret, timestamp_ms).as_bytes())
            .collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}timestamp={timestamp_ms}&sign={sign}")
}

/// What a robot's answer says: `Ok` for `errcode` 0, otherwise the code
/// (45009 is WeCom's "too many messages", 130101 DingTalk's, 310000 a bad
/// DingTalk signature or keyword). A body that is not such JSON is `Err(None)`.
pub fn reply_errcode(body: &str) -> Result<(), Option<i64>> {
    // The answer is tiny and flat; find `"errcode"` and its number without
    // a JSON library in the domain.
    let Some(at) = body.find("\"errcode\"") else {
        return Err(None);
    };
    let rest = body[at + "\"errcode\"".len()..].trim_start();
    let Some(rest) = rest.strip_prefix(':') else {
        return Err(None);
    };
    let rest = rest.trim_start();
    let digits: String = rest
        .chars()
        .enumerate()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
        .map(|(_, c)| c)
        .collect();
    match digits.parse::<i64>() {
        Ok(0) => Ok(()),
        Ok(code) => Err(Some(code)),
        Err(_) => Err(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_each_platforms_shape() {
        let wecom = serde_json::to_value(body(BotKind::WeCom, "日报", "# 日报\n入站 12")).unwrap();
        assert_eq!(
            wecom,
            serde_json::json!({"msgtype": "markdown", "markdown": {"content": "# 日报\n入站 12"}})
        );
        let ding =
            serde_json::to_value(body(BotKind::DingTalk, "日报", "# 日报\n入站 12")).unwrap();
        assert_eq!(
            ding,
            serde_json::json!({"msgtype": "markdown", "markdown": {"title": "日报", "text": "# 日报\n入站 12"}})
        );
    }

    /// The example from DingTalk's documentation of 加签, recomputed the
    /// way a robot checks it.
    #[test]
    fn the_dingtalk_signature_is_hmac_of_timestamp_and_secret() {
        use base64::Engine;
        let secret = "SEC000000000000000000000";
        let ts = 1_700_000_000_123;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"1700000000123\nSEC000000000000000000000");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(dingtalk_sign(secret, ts), expected);
        let url = dingtalk_signed_url(
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
            secret,
            ts,
        );
        assert!(url.starts_with(
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000123&sign="
        ));
        let sign = url.split("&sign=").nth(1).unwrap();
        let decoded: String = url::form_urlencoded::parse(format!("s={sign}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        assert_eq!(decoded, expected);
        assert!(!sign.contains('+') && !sign.contains('/') && !sign.contains('='));
    }

    #[test]
    fn long_texts_are_cut_at_a_line_within_the_limit() {
        let line = "第一站 入站 123 件\n";
        let text = line.repeat(1000);
        let cut = cut_at_line(&text, MARKDOWN_BYTES_MAX);
        assert!(cut.len() <= MARKDOWN_BYTES_MAX);
        assert!(cut.ends_with("件\n…"), "{}", &cut[cut.len() - 20..]);
        assert_eq!(cut_at_line("short", 10), "short");
    }

    #[test]
    fn answers_are_read_by_errcode() {
        assert_eq!(reply_errcode(r#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert_eq!(
            reply_errcode(r#"{"errcode": 45009, "errmsg":"api freq out of limit"}"#),
            Err(Some(45009))
        );
        assert_eq!(reply_errcode("<html>bad gateway</html>"), Err(None));
    }

    #[test]
    fn names_and_kinds_are_checked() {
        assert!(check_bot_name("county").is_ok());
        assert!(check_bot_name("County").is_err());
        assert!(check_bot_name("").is_err());
        assert_eq!(BotKind::parse("DingTalk"), Ok(BotKind::DingTalk));
        assert!(BotKind::parse("slack").is_err());
    }
}
