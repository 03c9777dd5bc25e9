//! Boundary tests of `address::parse`: one line per input format, properties
//! over the whole division table, and hostile input.

use address::{Confidence, Level, ParseError, ParsedAddress, PhoneKind, divisions, parse};

/// Checks the fields named in `expect`, written `key=value` separated by
/// spaces; `-` means empty. Keys: prov city county town village name phone
/// ext kind conf detail postcode ambiguous (the level of an ambiguity note).
#[track_caller]
fn check(text: &str, expect: &str) {
    let parsed = parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
    for pair in expect.split_whitespace() {
        let (key, want) = pair.split_once('=').expect("key=value");
        let code = |level: Level| parsed.place(level).map(|place| place.code.clone());
        let got: Option<String> = match key {
            "prov" => code(Level::Province),
            "city" => code(Level::City),
            "county" => code(Level::County),
            "town" => code(Level::Township),
            "village" => code(Level::Village),
            "name" => parsed.name.clone(),
            "phone" => parsed.phone.as_ref().map(|phone| phone.number.clone()),
            "ext" => parsed
                .phone
                .as_ref()
                .and_then(|phone| phone.extension.clone()),
            "kind" => parsed
                .phone
                .as_ref()
                .map(|phone| format!("{:?}", phone.kind).to_lowercase()),
            "conf" => Some(format!("{:?}", parsed.confidence).to_lowercase()),
            "detail" => Some(parsed.detail.clone()).filter(|detail| !detail.is_empty()),
            "postcode" => parsed.postcode.clone(),
            "ambiguous" => parsed.notes.iter().find_map(|note| match note {
                address::Note::Ambiguous { level, .. } => Some(format!("{level:?}").to_lowercase()),
                address::Note::NoDivisionFound | address::Note::OutsideMainland { .. } => None,
            }),
            other => panic!("unknown key {other}"),
        };
        // `_` stands for a space, which the key=value list cannot hold.
        let want = (want != "-").then(|| want.replace('_', " "));
        assert_eq!(got, want, "{key} of {text:?}\nparsed: {parsed:?}");
    }
}

#[test]
fn formats() {
    // Full, with name and phone.
    check(
        "张三 13812345678 四川省成都市武侯区簇桥街道龙井社区3组",
        "prov=51 city=5101 county=510107 town=510107011 village=510107011003 name=张三 phone=13812345678 detail=3组 conf=high",
    );
    // No spaces at all.
    check(
        "张三13812345678四川成都武侯簇桥街道龙井社区3组",
        "county=510107 town=510107011 village=510107011003 name=张三 phone=13812345678 detail=3组",
    );
    check(
        "四川省成都市武侯区簇桥街道龙井社区3组何平13812345678",
        "village=510107011003 name=何平 detail=3组",
    );
    // Reversed: address, then name and phone.
    check(
        "四川成都武侯区簇桥街道龙井社区5栋2单元301 张三 138 1234 5678",
        "village=510107011003 name=张三 phone=13812345678 detail=5栋2单元301",
    );
    check(
        "成都市武侯区玉林街道，王芳，+86 13912345678",
        "town=510107005 name=王芳 phone=13912345678",
    );
    // Labelled fields, with and without line breaks and brackets.
    check(
        "收货人：李四 电话：17012345678-1234 地址：北京市朝阳区望京街道方舟苑社区2号楼",
        "county=110105 town=110105026 village=110105026035 name=李四 phone=17012345678 ext=1234 kind=virtual detail=2号楼",
    );
    check(
        "姓名：欧阳娜娜\n手机号码：0086 13612345678\n收货地址：浙江省杭州市西湖区西溪街道",
        "town=330106004 name=欧阳娜娜 phone=13612345678",
    );
    check(
        "【收货人】周杰【电话】15012345678【地址】湖北省武汉市洪山区",
        "county=420111 name=周杰 phone=15012345678",
    );
    check(
        "姓名张三手机13812345678地址四川省成都市武侯区",
        "county=510107 name=张三 phone=13812345678",
    );
    check(
        "电话13812345678 收货人张三 地址四川省成都市武侯区",
        "county=510107 name=张三",
    );
    check(
        "四川省成都市武侯区 邮编：610041 张三收",
        "county=510107 name=张三 detail=- postcode=610041",
    );
    check(
        "张三 四川省成都市武侯区 详细地址：簇桥街道龙井社区3组",
        "county=510107 town=510107011 village=510107011003 name=张三 detail=3组",
    );
    check(
        "Tom Li 13812345678 上海市徐汇区漕河泾街道",
        "name=Tom_Li county=310104",
    );
    check(
        "福建省福州市福清市石竹街道义明综合楼3F，15000000000，asseek",
        "county=350181 name=asseek detail=义明综合楼3F",
    );
    // Privacy numbers.
    check(
        "马丽 17012345678转5678 江苏省南京市鼓楼区",
        "county=320106 kind=virtual ext=5678 phone=17012345678",
    );
    check(
        "马丽 17012345678[5678] 福建省福州市鼓楼区",
        "county=350102 kind=virtual ext=5678",
    );
    check(
        "河南省开封市鼓楼区 郭涛 186****4321",
        "county=410204 kind=masked phone=186****4321 name=郭涛",
    );
    // Landline with area code.
    check(
        "孙磊 (028)85551234 四川省成都市武侯区",
        "kind=landline phone=85551234 county=510107",
    );
    // Municipalities: districts under the placeholder city rows.
    check(
        "北京市朝阳区建国路88号",
        "prov=11 city=1101 county=110105 town=- detail=建国路88号",
    );
    check(
        "上海浦东新区陆家嘴街道世纪大道100号",
        "city=3101 county=310115 town=310115005",
    );
    check("重庆巫山县巫峡镇", "city=5002 county=500237");
    check("重庆市 重庆市 渝中区", "city=5001 county=500103");
    // County-level cities run by the province.
    check(
        "湖北省仙桃市沙嘴街道",
        "prov=42 city=4290 county=429004 town=429004001",
    );
    check("新疆石河子市北泉镇", "prov=65 city=6590 county=659001");
    check("海南琼海市博鳌镇", "city=4690 county=469002");
    // Cities without counties keep the synthetic county rows.
    check(
        "广东省东莞市长安镇振安路1号",
        "city=4419 county=441900 town=441900119 detail=振安路1号",
    );
    check("中山市小榄镇", "county=442000");
    check("甘肃省嘉峪关市峪泉镇", "county=620201");
    // Statistics-only development zones keep their xxxx7x codes.
    check(
        "河北省石家庄市高新区长江街道",
        "county=130171 town=130171010",
    );
    check("石家庄高新技术产业开发区宋营镇", "county=130171");
    // Short names and abbreviations.
    check("内蒙古包头市昆都仑区", "prov=15 county=150203");
    check("新疆乌鲁木齐天山区", "county=650102");
    check("广西南宁青秀区", "county=450103");
    check("四川阿坝州汶川县", "county=513221");
    // Missing levels resolve upward when unambiguous.
    check(
        "武侯区簇桥街道",
        "prov=51 city=5101 county=510107 town=510107011 conf=medium",
    );
    check("簇桥街道龙井社区", "county=510107 village=510107011003");
    check("杭州西湖区转塘街道", "county=330106");
    // ... and are left empty, with a note, when ambiguous.
    check("朝阳区建国路1号", "county=- ambiguous=province conf=low");
    check("鼓楼区", "county=- conf=low");
    check("房山区南关村", "county=110111 town=- ambiguous=township");
    // Same names at different levels.
    check("吉林省吉林市船营区德胜街道", "city=2202 county=220204");
    check("青海海南州共和县恰卜恰镇", "city=6325 county=632521");
    // Street names that contain division names are not divisions.
    check(
        "广东省广州市天河区中山大道西8号",
        "county=440106 town=- detail=中山大道西8号",
    );
    check("天津市和平区南京路100号", "county=120101 town=- village=-");
    check("北京市朝阳区南磨房南路", "county=110105 town=-");
    // Full-width characters.
    check(
        "ＴＥＬ：１３８１２３４５６７８　四川省成都市武侯区",
        "phone=13812345678 county=510107",
    );
}

#[test]
fn nothing_recognised_is_an_empty_result() {
    for text in ["", "   ", "，。！？……", "hello world", "!!!???", "12345"] {
        let parsed = parse(text).expect("not an error");
        assert_eq!(parsed.confidence, Confidence::None, "{text}");
        assert!(parsed.county.is_none(), "{text}");
    }
}

#[test]
fn many_matches_of_common_names_end_in_ambiguity_not_a_guess() {
    for unit in ["城关镇", "新华", "鼓楼", "高新区", "人民"] {
        let mut text = String::new();
        while text.len() + unit.len() <= address::TEXT_BYTES_MAX {
            text.push_str(unit);
        }
        let parsed = parse(&text).expect("at the limit, not over");
        assert!(parsed.county.is_none(), "{unit}: {parsed:?}");
        assert!(parsed.confidence <= Confidence::Low, "{unit}");
    }
}

#[test]
fn several_numbers_keep_the_first_and_list_the_rest() {
    let parsed = parse("张三 13812345678 028-85551234 四川省成都市武侯区").expect("parses");
    assert_eq!(
        parsed.phone.as_ref().map(|phone| phone.display()),
        Some("13812345678".to_string())
    );
    let others: Vec<String> = parsed
        .other_phones
        .iter()
        .map(|phone| phone.display())
        .collect();
    assert_eq!(others, ["028-85551234"]);
    assert_eq!(parsed.detail, "");
}

#[test]
fn name_and_phone_alone_leave_no_detail() {
    let parsed = parse("张三 13812345678").expect("parses");
    assert_eq!(parsed.name.as_deref(), Some("张三"));
    assert_eq!(parsed.detail, "");
    assert_eq!(parsed.notes, vec![address::Note::NoDivisionFound]);
}

#[test]
fn hong_kong_macao_taiwan_have_no_codes() {
    let parsed = parse("香港九龙弥敦道1号 陈大文 +852 91234567").expect("parses");
    assert!(parsed.province.is_none() && parsed.county.is_none());
    assert_eq!(
        parsed.notes,
        vec![address::Note::OutsideMainland {
            region: "香港".to_string()
        }]
    );
    assert_eq!(parsed.name.as_deref(), Some("陈大文"));
    check(
        "山东省青岛市市南区 香港中路8号",
        "county=370202 detail=香港中路8号",
    );
    check("盐城市盐都区台湾农民创业园", "town=320903404");
}

#[test]
fn oversized_input_is_refused() {
    let long = "四川省成都市武侯区".repeat(30);
    assert!(long.len() > address::TEXT_BYTES_MAX);
    let error = parse(&long).expect_err("too long");
    assert_eq!(
        error,
        ParseError::TooLong {
            bytes: long.len(),
            bytes_max: address::TEXT_BYTES_MAX
        }
    );
    assert!(error.to_string().contains("at most 512 bytes"));
    assert_eq!(error.code(), "address_too_long");
    let at_limit = "a".repeat(address::TEXT_BYTES_MAX);
    assert!(parse(&at_limit).is_ok());
}

#[test]
fn control_characters_are_refused_with_their_position() {
    let error = parse("四川\u{0}成都").expect_err("control character");
    assert_eq!(
        error,
        ParseError::ControlCharacter {
            char_idx: 2,
            code_point: 0
        }
    );
    assert!(error.to_string().contains("U+0000 at character 2"));
    assert!(parse("四川\u{7}").is_err());
    // Line breaks and tabs are separators, not errors.
    assert!(parse("张三\n四川省\t成都市\r\n").is_ok());
}

#[test]
fn result_serialises_to_json() {
    let parsed = parse("张三 13812345678 四川省成都市武侯区").expect("parses");
    let json = serde_json::to_string(&parsed).expect("serialisable");
    assert!(
        json.contains(r#""county":{"code":"510107","name":"武侯区"}"#),
        "{json}"
    );
    let back: ParsedAddress = serde_json::from_str(&json).expect("round trip");
    assert_eq!(back, parsed);
}

#[test]
fn lines_are_numbered() {
    let results: Vec<(usize, bool)> =
        address::parse_lines("四川省成都市武侯区\n\u{1}\n北京市朝阳区")
            .map(|(line, result)| (line, result.is_ok()))
            .collect();
    assert_eq!(results, vec![(1, true), (2, false), (3, true)]);
}

#[test]
fn division_lookup_by_code() {
    let table = divisions();
    assert_eq!(table.len(), 31 + 342 + 2_978 + 41_352 + 620_573);
    assert_eq!(table.provinces().count(), 31);
    let village = table.get("510107011003").expect("village exists");
    assert_eq!(village.name(), "龙井社区居委会");
    let path: Vec<String> = village
        .path()
        .iter()
        .map(|division| division.code())
        .collect();
    assert_eq!(path, ["51", "5101", "510107", "510107011", "510107011003"]);
    assert_eq!(table.get("1101").expect("placeholder").name(), "市辖区");
    assert!(table.get("1101").expect("placeholder").is_placeholder());
    assert!(table.get("130171").expect("zone").is_development_zone());
    assert!(!table.get("510107").expect("county").is_development_zone());
    assert_eq!(
        table.get("441900").expect("synthetic county").name(),
        "东莞市"
    );
    assert!(table.get("999999").is_none());
    assert!(table.get("51x").is_none());
    let townships: Vec<String> = table
        .get("620201")
        .expect("嘉峪关")
        .children()
        .map(|township| township.name().to_string())
        .collect();
    assert!(townships.contains(&"峪泉镇".to_string()), "{townships:?}");
    for division in table.at_level(Level::County).take(50) {
        assert_eq!(table.get(&division.code()), Some(division));
    }
}

/// The full written path of a division (placeholder city rows and the
/// synthetic county rows of cities without counties are not written twice).
fn written_path(division: address::Division<'_>) -> String {
    let mut written = String::new();
    let mut previous_name = "";
    for level in division.path() {
        if level.is_placeholder() || level.name() == previous_name {
            continue;
        }
        written.push_str(level.name());
        previous_name = level.name();
    }
    written
}

/// Every township of the country, written with its full path, parses back to
/// exactly its own codes.
#[test]
fn every_township_round_trips() {
    let mut failures = Vec::new();
    for township in divisions().at_level(Level::Township) {
        let text = written_path(township);
        let parsed = parse(&text).expect("short enough");
        let got = parsed.township.as_ref().map(|place| place.code.clone());
        if got != Some(township.code()) {
            failures.push(format!("{text}: {got:?}, expected {}", township.code()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every tenth village of the country, written with its full path, parses
/// back to its own codes. A handful of official names cannot be matched as
/// written (八门城镇（氵甸）沽村委会, a village named exactly like its township
/// and written without 村); more than one in ten thousand failing is a regression.
#[test]
fn villages_round_trip() {
    let mut failures = Vec::new();
    let mut n_checked = 0usize;
    for village in divisions().at_level(Level::Village).step_by(10) {
        n_checked += 1;
        let text = format!("王芳 13912345678 {}3组", written_path(village));
        let parsed = parse(&text).expect("short enough");
        let got = parsed.village.as_ref().map(|place| place.code.clone());
        if got != Some(village.code()) {
            failures.push(format!("{text}: {got:?}, expected {}", village.code()));
        }
    }
    assert!(
        failures.len() * 10_000 <= n_checked,
        "{} of {n_checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

proptest::proptest! {
    // A fixed seed keeps CI deterministic; run with PROPTEST_CASES=20000
    // (and another seed) to explore further.
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 512,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_231_001),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Any village written with its full path, a name, a phone and a group
    /// number parses back to its own codes.
    #[test]
    fn any_village_round_trips(village_pick in 0usize..620_573, group in 1u32..20, masked in proptest::bool::ANY) {
        let village = divisions().at_level(Level::Village).nth(village_pick).expect("in range");
        let number = format!("139{:08}", village_pick);
        let phone = if masked { address::mask_mobile(&number).expect("mobile") } else { number.clone() };
        let text = format!("王芳 {phone} {}{group}组", written_path(village));
        let parsed = parse(&text).expect("short enough");
        proptest::prop_assert_eq!(parsed.village.as_ref().map(|place| place.code.clone()), Some(village.code()), "{}", text);
        proptest::prop_assert_eq!(parsed.name.as_deref(), Some("王芳"));
        let phone_got = parsed.phone.expect("phone found");
        proptest::prop_assert_eq!(phone_got.kind, if masked { PhoneKind::Masked } else { PhoneKind::Mobile });
        proptest::prop_assert_eq!(phone_got.number, phone);
        proptest::prop_assert_eq!(parsed.detail, format!("{group}组"));
    }

    /// Arbitrary text never panics: it parses or is refused with a reason.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn arbitrary_bytes_as_text_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text);
    }
}

#[test]
fn shipped_sets_are_valid_and_bad_lines_are_named() {
    let set = address::bench::shipped_set();
    assert!(set.len() >= 1_000, "{}", set.len());
    assert!(set.iter().any(|labelled| labelled.source == "tricky"));
    let error = address::bench::parse_set("mine.jsonl", "\n{\"text\":1}\n").expect_err("bad line");
    assert!(
        error.to_string().starts_with("mine.jsonl line 2:"),
        "{error}"
    );
}

#[test]
fn generator_is_reproducible_and_labels_match_the_table() {
    let first = address::bench::generate(42, 50);
    assert_eq!(first, address::bench::generate(42, 50));
    assert_ne!(first, address::bench::generate(43, 50));
    for labelled in &first {
        let county = labelled
            .county
            .as_deref()
            .expect("generated labels have a county");
        assert!(divisions().get(county).is_some(), "{county}");
        if let Some(village) = &labelled.village {
            assert!(village.starts_with(county), "{village} under {county}");
        }
    }
}
