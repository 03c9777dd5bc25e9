//! The pre-sale pages (issue 14 point 4, branch presale), through their
//! forms: county staff create a campaign, import a shop's CSV whose bad
//! rows are listed while the good ones are shelved or listed for home
//! delivery (the buyer's phone masked), the campaign's report shows as a
//! page and an .xlsx, and a station keeper is sent away from every
//! campaign page.

mod support;

use app::App;
use app::ports::SystemClock;
use domain::Role;
use std::sync::Arc;

#[tokio::test]
async fn staff_create_a_campaign_import_its_orders_and_read_the_report_and_keepers_cannot() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let station = support::station(&app, "白果村驿站").await;
    support::user(&app, "li", Role::CountyOperator, None, &[]).await;
    support::user(&app, "keeper", Role::StationKeeper, None, &[station]).await;
    let site = support::Site::serve(app.clone(), database).await;
    let li = site.sign_in("li").await;

    let (status, page) = li.get("/centre/presale").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="campaign-form""#), "{page}");
    let (status, to) = li
        .post(
            "/centre/presale",
            &[
                ("name", "彭州脐橙预售"),
                ("shop", "邮乐小店"),
                ("starts_on", "2026-12-01"),
                ("ends_on", "2026-12-31"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    assert!(to.starts_with("/centre/presale/"), "{to}");
    let (_, list) = li.get("/centre/presale").await;
    assert!(list.contains("彭州脐橙预售"), "{list}");

    // A UTF-8 export with a BOM, as shops give it; line 4 has no
    // pickup point.
    let csv = String::from(
        "\u{feff}订单号,收货人,手机号,商品名称,实付金额(元),自提点,收货地址\n\
         DD-1,张女士,13800000001,脐橙 5kg,39.90,白果村驿站,\n\
         DD-2,李阿姨,13800000003,板鸭 2只,88.00,送货上门,彭州市天府东路18号\n\
         DD-3,王先生,13800000004,脐橙 5kg,39.90,,\n",
    );
    let upload = |csv: String| {
        reqwest::multipart::Form::new()
            .text("csrf", li.csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("orders.csv"),
            )
    };
    let response = li
        .client
        .post(site.url(&format!("{to}/import")))
        .multipart(upload(csv.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="n-new">2<"#), "{page}");
    assert!(page.contains(r#"id="n-stored">1<"#), "{page}");
    assert!(page.contains(r#"id="n-home">1<"#), "{page}");
    assert!(page.contains(r#"id="n-rejected">1<"#), "{page}");
    assert!(page.contains("<td>4</td><td>DD-3</td>"), "{page}");
    assert!(page.contains(r#"id="f-orders">2<"#), "{page}");
    assert!(page.contains(r#"id="f-waiting">1<"#), "{page}");
    assert!(page.contains(r#"id="f-home">1<"#), "{page}");
    assert!(page.contains("¥127.90"), "{page}");
    assert!(
        page.contains("138****0003") && !page.contains("13800000003"),
        "{page}"
    );
    assert!(page.contains("天府东路18号"), "{page}");

    // Again: nothing new.
    let response = li
        .client
        .post(site.url(&format!("{to}/import")))
        .multipart(upload(csv))
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="n-new">0<"#), "{page}");
    assert!(page.contains(r#"id="n-known">2<"#), "{page}");
    assert!(page.contains(r#"id="f-orders">2<"#), "{page}");

    // A later export as .xlsx, a title row above the table: only the new
    // order is added.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows = [
        ["彭州脐橙预售 订单导出", "", "", "", "", ""],
        [
            "订单编号",
            "收货人手机",
            "宝贝标题",
            "实付款",
            "提货点",
            "收货人",
        ],
        [
            "DD-1",
            "13800000001",
            "脐橙 5kg",
            "39.90",
            "白果村驿站",
            "张女士",
        ],
        [
            "DD-4",
            "13800000009",
            "猕猴桃 3kg",
            "49.90",
            "白果村驿站",
            "赵大爷",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            if !text.is_empty() {
                sheet.write_string(r as u32, c as u16, *text).unwrap();
            }
        }
    }
    let xlsx = book.save_to_buffer().unwrap();
    let response = li
        .client
        .post(site.url(&format!("{to}/import")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", li.csrf.clone())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(xlsx).file_name("orders.xlsx"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="n-new">1<"#), "{page}");
    assert!(page.contains(r#"id="n-known">1<"#), "{page}");
    assert!(page.contains(r#"id="f-orders">3<"#), "{page}");

    let keeper = site.sign_in("keeper").await;

    let (status, bytes) = li.get_bytes(&format!("{to}/report.xlsx")).await;
    assert_eq!(status, 200);
    assert!(bytes.starts_with(b"PK"), "an .xlsx is a zip");

    // A station keeper sees no campaign page, and cannot import.
    for path in [
        "/centre/presale".to_string(),
        to.clone(),
        format!("{to}/report.xlsx"),
    ] {
        let (status, body) = keeper.get(&path).await;
        assert_eq!(status, 303, "{path}: {body}");
        assert!(!body.contains("彭州脐橙预售"), "{path}");
    }
    let response = keeper
        .client
        .post(site.url(&format!("{to}/import")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", keeper.csrf.clone())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("orders.csv"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
}
