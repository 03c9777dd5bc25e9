//! Pickup codes: a per-station template such as `{shelf}-{tier}-{seq:4}`
//! (renders `A-3-0217`), parsed once into tokens.
//!
//! The sequence number makes a code unique among a station's active parcels;
//! the database enforces that, and the caller moves to the next sequence
//! number on a clash.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Shelf,
    Tier,
    Slot,
    Seq { width: u8 },
}

/// A parsed code template. Holds its source text for storage and display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFormat {
    source: String,
    tokens: Vec<Token>,
    seq_width: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeFormatError {
    #[error("unknown placeholder {{{0}}}; use {{shelf}}, {{tier}}, {{slot}} or {{seq:N}}")]
    UnknownPlaceholder(String),
    #[error("a pickup code format needs exactly one {{seq:N}} with N from 3 to 6")]
    Sequence,
    #[error("unclosed '{{' in pickup code format")]
    Unclosed,
    #[error(
        "pickup code format may use letters, digits, '-', '_', '#' and Chinese characters outside placeholders; found {0:?}"
    )]
    Character(char),
    #[error("pickup code format is longer than 40 characters")]
    TooLong,
}

pub const DEFAULT_FORMAT: &str = "{shelf}-{tier}-{seq:4}";

impl CodeFormat {
    pub fn parse(source: &str) -> Result<CodeFormat, CodeFormatError> {
        if source.chars().count() > 40 {
            return Err(CodeFormatError::TooLong);
        }
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars();
        let mut seq_width = None;
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
                other => match other.strip_prefix("seq:").map(str::parse::<u8>) {
                    Some(Ok(width @ 3..=6)) if seq_width.is_none() => {
                        seq_width = Some(width);
                        Token::Seq { width }
                    }
                    Some(_) => return Err(CodeFormatError::Sequence),
                    None => return Err(CodeFormatError::UnknownPlaceholder(other.to_string())),
                },
            };
            tokens.push(token);
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        let seq_width = seq_width.ok_or(CodeFormatError::Sequence)?;
        Ok(CodeFormat {
            source: source.to_string(),
            tokens,
            seq_width,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many distinct sequence numbers the format has room for.
    pub fn seq_modulus(&self) -> u32 {
        10u32.pow(u32::from(self.seq_width))
    }

    /// Renders a code; `seq` is taken modulo [`Self::seq_modulus`].
    pub fn render(&self, shelf: &str, tier: u32, slot: u32, seq: u32) -> String {
        let mut code = String::new();
        for token in &self.tokens {
            match token {
                Token::Literal(text) => code.push_str(text),
                Token::Shelf => code.push_str(shelf),
                Token::Tier => code.push_str(&tier.to_string()),
                Token::Slot => code.push_str(&format!("{slot:02}")),
                Token::Seq { width } => {
                    let modulus = 10u32.pow(u32::from(*width));
                    code.push_str(&format!(
                        "{:0width$}",
                        seq % modulus,
                        width = usize::from(*width)
                    ))
                }
            }
        }
        code
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
            ("{shelf}-{tier}-{seq:4}", "A-3-0217"),
            ("{shelf}{tier}-{seq:5}", "A3-00217"),
            ("{shelf}-{seq:3}", "A-217"),
            ("{tier}号柜{seq:6}", "3号柜000217"),
            ("{shelf}{tier}{slot}-{seq:4}", "A307-0217"),
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
    fn sequence_wraps_at_its_width() {
        let format = CodeFormat::parse("{seq:3}").unwrap();
        assert_eq!(format.render("A", 1, 1, 1_217), "217");
        assert_eq!(format.seq_modulus(), 1_000);
    }

    #[test]
    fn refuses_bad_templates_with_reasons() {
        assert_eq!(
            CodeFormat::parse("{shelf}-{tier}"),
            Err(CodeFormatError::Sequence)
        );
        assert_eq!(CodeFormat::parse("{seq:2}"), Err(CodeFormatError::Sequence));
        assert_eq!(
            CodeFormat::parse("{seq:4}{seq:4}"),
            Err(CodeFormatError::Sequence)
        );
        assert_eq!(
            CodeFormat::parse("{bin}-{seq:4}"),
            Err(CodeFormatError::UnknownPlaceholder("bin".into()))
        );
        assert_eq!(CodeFormat::parse("{seq:4"), Err(CodeFormatError::Unclosed));
        assert_eq!(
            CodeFormat::parse("<{seq:4}>"),
            Err(CodeFormatError::Character('<'))
        );
    }
}
