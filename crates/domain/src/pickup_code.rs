//! Pickup codes: a per-station template such as `{shelf}-{tier}-{code:6}`
//! (renders `A-3-480217`), parsed once into tokens.
//!
//! `{code:N}` is the secret: N random digits drawn by the caller (the domain
//! has no randomness; `app` draws them from its `Random` port). The shelf
//! and tier are not secret — they tell a keeper where to reach — so a
//! code's strength is the random part alone, and the door also wants the
//! phone tail (`docs/security.md`). The random part must also make the code
//! unique among the station's active parcels; the database enforces that,
//! and the caller draws again on a clash.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Shelf,
    Tier,
    Slot,
    Secret { width: u8 },
}

/// A parsed code template. Holds its source text for storage and display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFormat {
    source: String,
    tokens: Vec<Token>,
    secret_width: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeFormatError {
    #[error("unknown placeholder {{{0}}}; use {{shelf}}, {{tier}}, {{slot}} or {{code:N}}")]
    UnknownPlaceholder(String),
    #[error(
        "a pickup code format needs exactly one {{code:N}} (N random digits, N from 6 to 8); the counter {{seq:N}} is no longer accepted because it can be guessed"
    )]
    Secret,
    #[error("unclosed '{{' in pickup code format")]
    Unclosed,
    #[error(
        "pickup code format may use letters, digits, '-', '_', '#' and Chinese characters outside placeholders; found {0:?}"
    )]
    Character(char),
    #[error("pickup code format is longer than 40 characters")]
    TooLong,
}

pub const DEFAULT_FORMAT: &str = "{shelf}-{tier}-{code:6}";

/// Fewest and most random digits a format may ask for.
pub const SECRET_DIGITS_MIN: u8 = 6;
pub const SECRET_DIGITS_MAX: u8 = 8;

impl CodeFormat {
    pub fn parse(source: &str) -> Result<CodeFormat, CodeFormatError> {
        if source.chars().count() > 40 {
            return Err(CodeFormatError::TooLong);
        }
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars();
        let mut secret_width = None;
        while let Some(ch) = chars.next() {
            if ch != '{' {
                if !(ch.is_alphanumeric() || matches!(ch, '-' | '_' | '#')) {
                    return Err(CodeFormatError::Character(ch));
                }
                literal.push(ch);
                continue;
            }
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some('}') => break,
                    Some(c) => name.push(c),
                    None => return Err(CodeFormatError::Unclosed),
                }
            }
            let token = match name.as_str() {
                "shelf" => Token::Shelf,
                "tier" => Token::Tier,
                "slot" => Token::Slot,
                other if other.starts_with("seq:") => return Err(CodeFormatError::Secret),
                other => match other.strip_prefix("code:").map(str::parse::<u8>) {
                    Some(Ok(width @ SECRET_DIGITS_MIN..=SECRET_DIGITS_MAX))
                        if secret_width.is_none() =>
                    {
                        secret_width = Some(width);
                        Token::Secret { width }
                    }
                    Some(_) => return Err(CodeFormatError::Secret),
                    None => return Err(CodeFormatError::UnknownPlaceholder(other.to_string())),
                },
            };
            tokens.push(token);
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        let secret_width = secret_width.ok_or(CodeFormatError::Secret)?;
        Ok(CodeFormat {
            source: source.to_string(),
            tokens,
            secret_width,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many distinct secrets the format has room for: the number a
    /// random draw is taken below.
    pub fn secret_space(&self) -> u64 {
        10u64.pow(u32::from(self.secret_width))
    }

    /// Renders a code; `secret` (a uniform draw below
    /// [`Self::secret_space`]) is taken modulo the space.
    pub fn render(&self, shelf: &str, tier: u32, slot: u32, secret: u64) -> String {
        let mut code = String::new();
        for token in &self.tokens {
            match token {
                Token::Literal(text) => code.push_str(text),
                Token::Shelf => code.push_str(shelf),
                Token::Tier => code.push_str(&tier.to_string()),
                Token::Slot => code.push_str(&format!("{slot:02}")),
                Token::Secret { width } => {
                    let modulus = 10u64.pow(u32::from(*width));
                    code.push_str(&format!(
                        "{:0width$}",
                        secret % modulus,
                        width = usize::from(*width)
                    ))
                }
            }
        }
        code
    }
}

/// Most spellings [`CodeFormat::candidates`] returns.
pub const CANDIDATES_MAX: usize = 8;

impl CodeFormat {
    /// The codes `typed` may stand for in this format when a person typed
    /// it in lower case or left out the separators ("a3480217" for
    /// "A-3-480217"): the normalised text first, then every way of putting
    /// the format's separators back (a few at most, and never more than
    /// [`CANDIDATES_MAX`]). The secret digits are never guessed: each
    /// candidate has exactly the digits typed.
    pub fn candidates(&self, typed: &str) -> Vec<String> {
        let typed = normalise_typed(typed);
        let mut out = vec![typed.clone()];
        let compact: Vec<char> = typed.chars().filter(|c| c.is_alphanumeric()).collect();
        let mut found = Vec::new();
        self.fill(&compact, 0, 0, String::new(), &mut found);
        for code in found {
            if out.len() >= CANDIDATES_MAX {
                break;
            }
            if !out.contains(&code) {
                out.push(code);
            }
        }
        out
    }

    fn fill(&self, chars: &[char], token: usize, at: usize, built: String, out: &mut Vec<String>) {
        if out.len() >= CANDIDATES_MAX {
            return;
        }
        let rest = &chars[at..];
        let Some(next) = self.tokens.get(token) else {
            if rest.is_empty() {
                out.push(built);
            }
            return;
        };
        let go = |n: usize, text: &str, out: &mut Vec<String>| {
            self.fill(chars, token + 1, at + n, format!("{built}{text}"), out)
        };
        match next {
            Token::Literal(text) => {
                // Letters and digits of a literal were typed; its separators
                // are put back.
                let typed: Vec<char> = text
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_uppercase)
                    .collect();
                if rest.starts_with(&typed) {
                    go(typed.len(), text, out);
                }
            }
            Token::Shelf => {
                for n in 1..=rest.len() {
                    let shelf: String = rest[..n].iter().collect();
                    go(n, &shelf, out);
                }
            }
            Token::Tier | Token::Slot => {
                let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                for n in 1..=digits.min(3) {
                    let number: String = rest[..n].iter().collect();
                    go(n, &number, out);
                }
            }
            Token::Secret { width } => {
                let width = usize::from(*width);
                if rest.len() >= width && rest[..width].iter().all(char::is_ascii_digit) {
                    let secret: String = rest[..width].iter().collect();
                    go(width, &secret, out);
                }
            }
        }
    }
}

impl Default for CodeFormat {
    fn default() -> Self {
        CodeFormat::parse(DEFAULT_FORMAT).expect("the default format parses")
    }
}

impl Serialize for CodeFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for CodeFormat {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CodeFormat::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Normalises a code as typed by a person: trims, uppercases ASCII letters.
pub fn normalise_typed(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_formats_seen_in_messages() {
        let cases = [
            ("{shelf}-{tier}-{code:6}", "A-3-000217"),
            ("{shelf}{tier}-{code:7}", "A3-0000217"),
            ("{shelf}-{code:6}", "A-000217"),
            ("{tier}号柜{code:8}", "3号柜00000217"),
            ("{shelf}{tier}{slot}-{code:6}", "A307-000217"),
        ];
        for (format, expected) in cases {
            assert_eq!(
                CodeFormat::parse(format).unwrap().render("A", 3, 7, 217),
                expected,
                "{format}"
            );
        }
    }

    #[test]
    fn codes_typed_without_separators_or_in_lower_case_are_recognised() {
        let format = CodeFormat::default();
        let code = format.render("A", 3, 7, 480_217);
        assert_eq!(code, "A-3-480217");
        for typed in [
            "A-3-480217",
            "a-3-480217",
            "A3480217",
            "a3480217",
            " a 3 480217 ",
        ] {
            assert!(
                format.candidates(typed).contains(&code),
                "{typed:?}: {:?}",
                format.candidates(typed)
            );
        }
        // Two-letter shelves and two-digit tiers: every split is offered.
        let candidates = format.candidates("ab12480217");
        assert!(
            candidates.contains(&"AB-12-480217".to_string()),
            "{candidates:?}"
        );
        assert!(
            candidates.contains(&"AB1-2-480217".to_string()),
            "{candidates:?}"
        );
        // The secret digits are never guessed or shortened.
        assert!(
            format
                .candidates("A348021")
                .iter()
                .all(|c| c != "A-3-480217")
        );
        assert!(
            format
                .candidates("A34802170")
                .iter()
                .all(|c| c != "A-3-480217")
        );
        let chinese = CodeFormat::parse("{tier}号柜{code:8}").unwrap();
        assert!(
            chinese
                .candidates("3号柜00000217")
                .contains(&"3号柜00000217".to_string())
        );
        assert!(CodeFormat::default().candidates(&"9".repeat(40)).len() <= CANDIDATES_MAX);
    }

    #[test]
    fn the_secret_wraps_at_its_width() {
        let format = CodeFormat::parse("{code:6}").unwrap();
        assert_eq!(format.render("A", 1, 1, 1_480_217), "480217");
        assert_eq!(format.secret_space(), 1_000_000);
    }

    #[test]
    fn refuses_bad_templates_with_reasons() {
        assert_eq!(
            CodeFormat::parse("{shelf}-{tier}"),
            Err(CodeFormatError::Secret)
        );
        // Too few digits to resist guessing, and the old counter.
        assert_eq!(CodeFormat::parse("{code:4}"), Err(CodeFormatError::Secret));
        assert_eq!(CodeFormat::parse("{seq:4}"), Err(CodeFormatError::Secret));
        assert_eq!(
            CodeFormat::parse("{code:6}{code:6}"),
            Err(CodeFormatError::Secret)
        );
        assert_eq!(
            CodeFormat::parse("{bin}-{code:6}"),
            Err(CodeFormatError::UnknownPlaceholder("bin".into()))
        );
        assert_eq!(CodeFormat::parse("{code:6"), Err(CodeFormatError::Unclosed));
        assert_eq!(
            CodeFormat::parse("<{code:6}>"),
            Err(CodeFormatError::Character('<'))
        );
    }
}
