//! Text handling around the division matcher: input checks, full-width
//! normalisation, field labels (收货人：, 电话：, 地址：) and telling a
//! recipient's name from address words.

/// Replaces full-width ASCII forms (１２３, ：, （）, ＊) and ideographic
/// spaces with their half-width forms, and line breaks and tabs with spaces,
/// so that phone and label rules see one alphabet.
pub(crate) fn normalise(input: &str) -> String {
    input.chars().map(normalise_char).collect()
}

pub(crate) fn normalise_char(character: char) -> char {
    match character {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(character as u32 - 0xFEE0).unwrap_or(character),
        '\u{3000}' | '\t' | '\n' | '\r' => ' ',
        '【' | '〔' => '[',
        '】' | '〕' => ']',
        '—' | '–' => '-',
        other => other,
    }
}

/// Whether `text` (normalised) starts with `official` as it reads once
/// normalised; returns the bytes of `text` it covers.
pub(crate) fn starts_with_normalised(text: &str, official: &str) -> Option<usize> {
    let mut text_chars = text.char_indices();
    for official_char in official.chars() {
        let (_, text_char) = text_chars.next()?;
        if text_char != normalise_char(official_char) {
            return None;
        }
    }
    Some(
        text_chars
            .next()
            .map_or(text.len(), |(position, _)| position),
    )
}

/// Overwrites `text[start..end]` with spaces, keeping every byte offset valid.
pub(crate) fn blank(text: &mut String, start: usize, end: usize) {
    let replaced: String = " ".repeat(end - start);
    text.replace_range(start..end, &replaced);
}

/// The fields a label can introduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Name,
    Phone,
    Address,
    Postcode,
}

/// Label words, longest first within each field so 收货人姓名 wins over 收货人.
const LABELS: [(&str, Field); 35] = [
    ("收货人姓名", Field::Name),
    ("收件人姓名", Field::Name),
    ("联系人姓名", Field::Name),
    ("客户姓名", Field::Name),
    ("收货人", Field::Name),
    ("收件人", Field::Name),
    ("联系人", Field::Name),
    ("姓名", Field::Name),
    ("名字", Field::Name),
    ("收货人手机号", Field::Phone),
    ("收货人电话", Field::Phone),
    ("收件人电话", Field::Phone),
    ("收货人手机", Field::Phone),
    ("收件人手机", Field::Phone),
    ("联系电话", Field::Phone),
    ("联系方式", Field::Phone),
    ("手机号码", Field::Phone),
    ("电话号码", Field::Phone),
    ("手机号", Field::Phone),
    ("手机", Field::Phone),
    ("电话", Field::Phone),
    ("tel", Field::Phone),
    ("TEL", Field::Phone),
    ("Tel", Field::Phone),
    ("收货人地址", Field::Address),
    ("收件人地址", Field::Address),
    ("收货地址", Field::Address),
    ("收件地址", Field::Address),
    ("详细地址", Field::Address),
    ("所在地区", Field::Address),
    ("所在地址", Field::Address),
    ("地址", Field::Address),
    ("地区", Field::Address),
    ("邮政编码", Field::Postcode),
    ("邮编", Field::Postcode),
];

/// A label found in the text: the label word (with its colon) and the value after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Labelled {
    pub(crate) field: Field,
    pub(crate) label_start: usize,
    pub(crate) value_start: usize,
    pub(crate) value_end: usize,
}

pub(crate) fn is_separator(character: char) -> bool {
    matches!(character, ',' | ';' | '|' | '/' | '、' | '，' | '；' | '。')
        || character.is_whitespace()
}

/// Finds labels. A label counts when a colon follows it, or when it stands at
/// the start of a token and a name, phone or space follows; a value runs to
/// the next label (names and phones also stop at a separator).
pub(crate) fn find_labels(text: &str) -> Vec<Labelled> {
    let mut found: Vec<Labelled> = Vec::new();
    let mut position = 0;
    while position < text.len() {
        let rest = &text[position..];
        let first = rest.chars().next().expect("position is inside the text");
        // Most characters start no label; skip them without trying each label.
        if !matches!(
            first,
            '收' | '联' | '客' | '姓' | '名' | '电' | '手' | 't' | 'T' | '详' | '所' | '地' | '邮'
        ) {
            position += first.len_utf8();
            continue;
        }
        let at_token_start = text[..position]
            .chars()
            .next_back()
            .is_none_or(|previous| is_separator(previous) || "[]:".contains(previous));
        let label = LABELS
            .iter()
            .filter(|(word, _)| rest.starts_with(word))
            .max_by_key(|(word, _)| word.len());
        if let Some((word, field)) = label {
            let after = &rest[word.len()..];
            let after_trimmed = after.trim_start_matches([' ', ']']);
            let has_colon = after_trimmed.starts_with(':');
            // 地区 begins place names too (地区医院), so it needs its colon.
            if has_colon || (at_token_start && *word != "地区") {
                let colon_bytes = usize::from(has_colon);
                let value_start_in_rest = rest.len() - after_trimmed.len() + colon_bytes;
                let value_start = position
                    + value_start_in_rest
                    + (rest[value_start_in_rest..].len()
                        - rest[value_start_in_rest..].trim_start().len());
                found.push(Labelled {
                    field: *field,
                    label_start: position,
                    value_start,
                    value_end: text.len(),
                });
                position = value_start;
                continue;
            }
        }
        position += rest.chars().next().map_or(1, char::len_utf8);
    }
    for idx in 0..found.len() {
        let next_start = found
            .get(idx + 1)
            .map_or(text.len(), |next| next.label_start);
        let value = &text[found[idx].value_start..next_start];
        let value_bytes = match found[idx].field {
            Field::Address => value.len(),
            Field::Name | Field::Phone | Field::Postcode => {
                let to_separator = value
                    .find(|character| is_separator(character) || "[]()".contains(character))
                    .unwrap_or(value.len());
                // 姓名张三手机138…: a glued label ends the value too.
                LABELS
                    .iter()
                    .filter_map(|(word, _)| value[..to_separator].find(word))
                    .filter(|&offset| offset > 0)
                    .min()
                    .unwrap_or(to_separator)
            }
        };
        found[idx].value_end = found[idx].value_start + value_bytes;
    }
    found
}

/// Han characters, the interpunct of transliterated names, and nothing else.
fn is_name_character(character: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&character) || character == '·' || character == '•'
}

/// Characters an address token ends with but a person's name seldom does.
const ADDRESS_ENDINGS: &str = "路街巷道号组村室楼栋层区县市镇乡省州旗屯庄场园苑队社院厦店门口段";

/// A name as written on a parcel, without a trailing 收 (张三收 means "for 张三").
pub(crate) fn clean_name(token: &str) -> &str {
    match token.strip_suffix('收') {
        Some(name) if name.chars().count() >= 2 => name,
        _ => token,
    }
}

/// Whether a token looks like a person's name: two to four Han characters (or
/// up to ten with an interpunct), or a surname with 先生/女士/小姐.
fn is_latin_name(token: &str) -> bool {
    (2..=30).contains(&token.len())
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphabetic() || byte == b' ' || byte == b'.')
        && token
            .bytes()
            .next()
            .is_some_and(|byte| byte.is_ascii_alphabetic())
}

pub(crate) fn looks_like_name(token: &str) -> bool {
    if is_latin_name(token) {
        return true;
    }
    let token = clean_name(token);
    if LABELS.iter().any(|(word, _)| *word == token) || ["香港", "澳门", "台湾"].contains(&token)
    {
        return false;
    }
    let n_chars = token.chars().count();
    if !token.chars().all(is_name_character) {
        return false;
    }
    let polite = ["先生", "女士", "小姐"]
        .iter()
        .any(|title| token.ends_with(title));
    if polite {
        return (3..=5).contains(&n_chars);
    }
    let with_interpunct = token.contains(['·', '•']);
    let length_ok = if with_interpunct {
        (3..=10).contains(&n_chars)
    } else {
        (2..=4).contains(&n_chars)
    };
    length_ok
        && !token
            .chars()
            .next_back()
            .is_some_and(|last| ADDRESS_ENDINGS.contains(last))
}

/// Characters after which a run of Han characters glued to a phone number is
/// more likely a name than address: 3组张三13812345678.
pub(crate) fn ends_address_detail(character: char) -> bool {
    character.is_ascii_digit() || "号组室户栋楼层队社村元".contains(character)
}

/// Splits text into tokens between separators, with their byte spans.
pub(crate) fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut token_start: Option<usize> = None;
    for (position, character) in text.char_indices() {
        if is_separator(character) {
            if let Some(start) = token_start.take() {
                spans.push((start, position));
            }
        } else if token_start.is_none() {
            token_start = Some(position);
        }
    }
    if let Some(start) = token_start {
        spans.push((start, text.len()));
    }
    spans
}

/// Tokens for the name search: like [`tokens`], but Latin words separated by
/// one space stay together (`Tom Li`).
pub(crate) fn name_tokens(text: &str) -> Vec<(usize, usize)> {
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in tokens(text) {
        if let Some(last) = merged.last_mut()
            && last.1 + 1 == start
            && &text[last.1..start] == " "
            && is_latin_name(&text[last.0..last.1])
            && is_latin_name(&text[start..end])
        {
            last.1 = end;
            continue;
        }
        merged.push((start, end));
    }
    merged
}

/// The detail text tidied: separators at the ends dropped, inner runs of
/// spaces collapsed to one.
pub(crate) fn tidy_detail(raw: &str) -> String {
    let trimmed = raw.trim_matches(|character: char| {
        is_separator(character) || character == ':' || character == '-'
    });
    let mut tidy = String::with_capacity(trimmed.len());
    let mut previous_space = false;
    for character in trimmed.chars() {
        if character.is_whitespace() {
            if !previous_space {
                tidy.push(' ');
            }
            previous_space = true;
        } else {
            tidy.push(character);
            previous_space = false;
        }
    }
    tidy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_maps_full_width_forms() {
        assert_eq!(normalise("１３８　（０２８）：＊"), "138 (028):*");
        assert_eq!(normalise("收货人【张三】"), "收货人[张三]");
    }

    #[test]
    fn labels_and_their_values() {
        let text = "收货人:张三 电话:13812345678 地址:四川省成都市 武侯区";
        let labels = find_labels(text);
        let values: Vec<(Field, &str)> = labels
            .iter()
            .map(|label| (label.field, &text[label.value_start..label.value_end]))
            .collect();
        assert_eq!(
            values,
            vec![
                (Field::Name, "张三"),
                (Field::Phone, "13812345678"),
                (Field::Address, "四川省成都市 武侯区"),
            ]
        );
    }

    #[test]
    fn label_words_inside_an_address_are_not_labels() {
        assert!(find_labels("四川省成都市武侯区电话局宿舍").is_empty());
    }

    #[test]
    fn names_versus_address_words() {
        for name in ["张三", "欧阳娜娜", "王先生", "阿依古丽·买买提"] {
            assert!(looks_like_name(name), "{name}");
        }
        for not_name in ["人民南路", "3组", "红星村", "张", "四川省成都市武侯区"]
        {
            assert!(!looks_like_name(not_name), "{not_name}");
        }
    }
}
