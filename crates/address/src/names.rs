//! Short forms of division names as people write them: 四川 for 四川省,
//! 武侯 for 武侯区, 阿坝 for 阿坝藏族羌族自治州, 高新区 for a development zone.

use crate::divisions::{Division, Level};

/// The 55 minority nationalities, longest first so that 哈萨克 is tried before 哈尼.
const NATIONALITIES: [&str; 55] = [
    "柯尔克孜",
    "乌孜别克",
    "维吾尔",
    "哈萨克",
    "达斡尔",
    "塔吉克",
    "俄罗斯",
    "鄂温克",
    "塔塔尔",
    "鄂伦春",
    "蒙古",
    "布依",
    "朝鲜",
    "土家",
    "哈尼",
    "傈僳",
    "高山",
    "拉祜",
    "东乡",
    "纳西",
    "景颇",
    "仫佬",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "德昂",
    "保安",
    "裕固",
    "独龙",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
    "回",
    "藏",
    "苗",
    "彝",
    "壮",
    "满",
    "侗",
    "瑶",
    "白",
    "傣",
    "黎",
    "佤",
    "畲",
    "水",
    "土",
    "京",
    "羌",
    "怒",
];

/// Administrative suffixes per level, longest first.
fn suffixes(level: Level) -> &'static [&'static str] {
    match level {
        Level::Province => &["维吾尔自治区", "自治区", "省", "市"],
        Level::City => &["自治州", "地区", "盟", "市"],
        Level::County => &[
            "自治县",
            "自治旗",
            "林区",
            "特区",
            "新区",
            "区",
            "县",
            "市",
            "旗",
        ],
        Level::Township => &[
            "街道办事处",
            "街道",
            "民族乡",
            "民族镇",
            "镇",
            "乡",
            "苏木",
            "办事处",
            "地区",
        ],
        Level::Village => &[
            "社区居民委员会",
            "社区居委会",
            "村民委员会",
            "居民委员会",
            "村委会",
            "居委会",
            "委员会",
            "村委",
        ],
    }
}

fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// Strips trailing nationality names (壮族, 藏族羌族, 蒙古) from an autonomous
/// division's stem, keeping at least two characters.
fn strip_nationalities(mut stem: &str) -> &str {
    loop {
        let without_zu = stem.strip_suffix('族');
        let candidate = without_zu.unwrap_or(stem);
        let stripped = NATIONALITIES.iter().find_map(|nationality| {
            // One-character nationalities (回, 土, 水, …) only count before 族,
            // otherwise 石河子's 子 or any 水 would be eaten.
            if without_zu.is_none() && char_count(nationality) < 2 {
                return None;
            }
            candidate.strip_suffix(nationality)
        });
        let stripped = stripped.or_else(|| candidate.strip_suffix("各"));
        match stripped {
            Some(shorter) if char_count(shorter) >= 2 => stem = shorter,
            _ => return stem,
        }
    }
}

/// Byte lengths of a name's stem (administrative suffix removed) and core
/// (for villages also without 村/社区/嘎查). Both are prefixes of the name.
pub(crate) fn stem_and_core(name: &str, level: Level) -> (usize, usize) {
    // 仓子村委会（仓子分场）: the parenthetical is left out when written.
    let name = match name.split_once(['（', '(']) {
        Some((before, _)) if !before.is_empty() => before,
        _ => name,
    };
    let mut stem = suffixes(level)
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(name);
    if name.contains("自治") || name.contains("族乡") || name.contains("族镇") {
        stem = strip_nationalities(stem);
    }
    let core = if level == Level::Village {
        ["社区", "村", "嘎查", "居委"]
            .iter()
            .find_map(|suffix| stem.strip_suffix(suffix))
            .filter(|core| char_count(core) >= 2)
            .unwrap_or(stem)
    } else {
        stem
    };
    (stem.len().min(255), core.len().min(255))
}

/// How a text form relates to the division's official name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Form {
    Full,
    Short,
    /// A name many divisions share word for word, such as 高新区: it places
    /// a text only together with a city, so it counts little on its own.
    Generic,
}

/// Development-zone names that say nothing about the place.
const GENERIC_ZONE_NAMES: [&str; 9] = [
    "高新技术产业开发区",
    "高新技术开发区",
    "高新区",
    "经济技术开发区",
    "经开区",
    "经济开发区",
    "高新技术产业园区",
    "工业园区",
    "综合保税区",
];

fn zone_form(text: String) -> (String, Form) {
    let form = if GENERIC_ZONE_NAMES.contains(&text.as_str()) {
        Form::Generic
    } else {
        Form::Short
    };
    (text, form)
}

/// Development-zone abbreviations in common use.
const ZONE_ABBREVIATIONS: [(&str, &str); 5] = [
    ("高新技术产业开发区", "高新区"),
    ("高新技术开发区", "高新区"),
    ("经济技术开发区", "经开区"),
    ("经济技术开发区", "经济开发区"),
    ("经济开发区", "经开区"),
];

/// The forms under which a province, city, county or township is searched for in text.
pub(crate) fn text_forms(division: &Division<'_>) -> Vec<(String, Form)> {
    let name = division.name();
    let mut forms = Vec::new();
    if division.is_placeholder() {
        return forms;
    }
    forms.push((name.to_string(), Form::Full));
    let (stem_bytes, _) = stem_and_core(name, division.level());
    let stem = &name[..stem_bytes];
    // 建设路街道 is not meant by 建设路48号: a stem ending like a street
    // name is left out, and only the full name finds the division.
    let street_like = stem.ends_with(['路', '街', '道', '巷']);
    if stem.len() < name.len() && char_count(stem) >= 2 && !street_like {
        forms.push((stem.to_string(), Form::Short));
    }
    match division.level() {
        Level::Province if name == "内蒙古自治区" => {
            forms.push(("内蒙".to_string(), Form::Short))
        }
        Level::County if division.is_development_zone() => {
            development_zone_forms(division, &mut forms)
        }
        Level::Township if name.ends_with("街道") => {
            forms.push((format!("{name}办事处"), Form::Full));
        }
        _ => {}
    }
    // Text is matched after full-width normalisation, so the forms are too;
    // a parenthetical (东湖风景区街道（武昌）) is often left out.
    let mut normalised: Vec<(String, Form)> = Vec::with_capacity(forms.len() + 1);
    for (form_text, form) in forms {
        let form_text = crate::text::normalise(&form_text);
        if let Some((before, _)) = form_text.split_once('(')
            && char_count(before) >= 2
        {
            normalised.push((before.to_string(), Form::Short));
        }
        normalised.push((form_text, form));
    }
    normalised.sort();
    normalised.dedup_by(|later, earlier| later.0 == earlier.0);
    normalised
}

/// Zones are named like 石家庄高新技术产业开发区 or 河北唐山海港经济开发区;
/// addresses say 高新区, 石家庄高新区 or 唐山海港经济开发区.
fn development_zone_forms(zone: &Division<'_>, forms: &mut Vec<(String, Form)>) {
    let name = zone.name();
    let path = zone.path();
    let province_name = path[0].name();
    let province_stem = &province_name[..stem_and_core(province_name, Level::Province).0];
    let city_name = path[1].name();
    let city_stem = &city_name[..stem_and_core(city_name, Level::City).0];
    let mut rest = name.strip_prefix(province_stem).unwrap_or(name);
    rest = rest
        .strip_prefix(city_name)
        .or_else(|| rest.strip_prefix(city_stem))
        .unwrap_or(rest);
    let mut bases = vec![name.to_string()];
    if rest != name && char_count(rest) >= 3 {
        bases.push(rest.to_string());
        bases.push(format!("{city_stem}{rest}"));
    }
    for base in bases {
        for (long, short) in ZONE_ABBREVIATIONS {
            if base.contains(long) {
                forms.push(zone_form(base.replace(long, short)));
            }
        }
        if base != name {
            forms.push(zone_form(base));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(name: &str, level: Level) -> &str {
        &name[..stem_and_core(name, level).0]
    }

    fn core(name: &str, level: Level) -> &str {
        &name[..stem_and_core(name, level).1]
    }

    #[test]
    fn stems_drop_suffixes_and_nationalities() {
        let cases = [
            ("四川省", Level::Province, "四川"),
            ("广西壮族自治区", Level::Province, "广西"),
            ("新疆维吾尔自治区", Level::Province, "新疆"),
            ("内蒙古自治区", Level::Province, "内蒙古"),
            ("北京市", Level::Province, "北京"),
            ("阿坝藏族羌族自治州", Level::City, "阿坝"),
            ("博尔塔拉蒙古自治州", Level::City, "博尔塔拉"),
            ("大兴安岭地区", Level::City, "大兴安岭"),
            ("锡林郭勒盟", Level::City, "锡林郭勒"),
            ("武侯区", Level::County, "武侯"),
            ("双江拉祜族佤族布朗族傣族自治县", Level::County, "双江"),
            ("鄂伦春自治旗", Level::County, "鄂伦春"),
            ("石河子市", Level::County, "石河子"),
            ("城区", Level::County, "城"),
            ("簇桥街道", Level::Township, "簇桥"),
            ("化念彝族傣族乡", Level::Township, "化念"),
        ];
        for (name, level, expected) in cases {
            assert_eq!(stem(name, level), expected, "{name}");
        }
    }

    #[test]
    fn village_cores_drop_committee_and_village_words() {
        let cases = [
            ("多福巷社区居委会", "多福巷"),
            ("红星村民委员会", "红星"),
            ("红星村村民委员会", "红星"),
            ("王村村委会", "王村"),
            ("乐康社区居民委员会", "乐康"),
            ("巴彦嘎查", "巴彦"),
            ("桥头村", "桥头"),
            ("仓子村委会（仓子分场）", "仓子"),
        ];
        for (name, expected) in cases {
            assert_eq!(core(name, Level::Village), expected, "{name}");
        }
    }
}
