//! The kiosk pages (issue 14, branch kiosks), through their forms: county
//! staff place a kiosk, import a CSV whose bad rows are listed while the
//! good ones are kept, a courier collects the bin on `/centre/collect`
//! (collected, extra, missing), and the daily report shows the day as a
//! page and as an .xlsx.

mod support;

use app::App;
use app::kiosks::HistoryOrder;
use app::ports::SystemClock;
use domain::{Phone, Role};
use std::sync::Arc;

#[tokio::test]
async fn staff_place_import_collect_and_read_the_report_through_the_pages() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    support::user(&app, "li", Role::CountyOperator, None, &[]).await;
    let site = support::Site::serve(app.clone(), database).await;
    let li = site.sign_in("li").await;
    let today = app.today().to_string();

    let (status, to) = li
        .post(
            "/centre/kiosks",
            &[
                ("code", "jjb-001"),
                ("host_name", "康宁大药房"),
                ("scenario", "pharmacy"),
                ("division", "510182103"),
                ("lat", "30.70"),
                ("lon", "103.90"),
                ("placed_on", &today),
                ("staff", "li"),
                ("branch", "城关支局"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let (status, page) = li.get(&to).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("JJB-001") && page.contains("康宁大药房"),
        "{page}"
    );

    // The import: line 3 names a scenario that does not exist.
    let csv = format!(
        "code,host_name,scenario,division,lat,lon,placed_on,staff,branch\n\
         JJB-002,阳光便利店,便利店,510182103,30.71,103.91,{today},li,城关支局\n\
         JJB-003,机场,airport,510182103,30.71,103.91,{today},li,城关支局\n"
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", li.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("kiosks.csv"),
        );
    let response = li
        .client
        .post(site.url("/centre/kiosks/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="n-created">1<"#), "{page}");
    assert!(page.contains(r#"id="n-rejected">1<"#), "{page}");
    assert!(page.contains("<td>3</td><td>JJB-003</td>"), "{page}");
    let (_, list) = li.get("/centre/kiosks?scenario=convenience_store").await;
    assert!(
        list.contains(">JJB-002<") && !list.contains(">JJB-001<"),
        "{list}"
    );

    // Two items wait in JJB-001's bin.
    let kiosk = app.store.kiosk_by_code("JJB-001").await.unwrap().unwrap();
    let now = app.now();
    let mut tx = app.store.begin().await.unwrap();
    let sender = tx
        .ensure_sender(&Phone::parse("13800000000").unwrap(), now)
        .await
        .unwrap();
    let order = |waybill: &str| HistoryOrder {
        kiosk_id: kiosk.id,
        waybill: waybill.into(),
        price_fen: 1_200,
        accepted_at: now,
        collected_at: None,
    };
    tx.insert_history_orders(sender.id, &[order("9800000000001"), order("9800000000002")])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (status, page) = li.get("/centre/collect").await;
    assert_eq!(status, 200);
    assert!(page.contains("JJB-001"));
    let (status, run) = li
        .post("/centre/collect", &[("kiosk_id", &kiosk.id.to_string())])
        .await;
    assert_eq!(status, 303, "{run}");
    let (_, page) = li.get(&run).await;
    assert!(page.contains(r#"id="n-waiting">2<"#), "{page}");
    let (status, to) = li
        .post(&format!("{run}/scan"), &[("waybill", "9800000000001")])
        .await;
    assert_eq!(status, 303);
    let (_, page) = li.get(&to).await;
    assert!(
        page.contains(r#"id="last-scan""#) && page.contains("已揽收"),
        "{page}"
    );
    li.post(&format!("{run}/scan"), &[("waybill", "SF1234567890123")])
        .await;
    li.post(&format!("{run}/close"), &[]).await;
    let (_, page) = li.get(&run).await;
    assert!(page.contains(r#"id="n-collected">1<"#), "{page}");
    assert!(page.contains(r#"id="n-extra">1<"#), "{page}");
    assert!(page.contains(r#"id="n-missing">1<"#), "{page}");
    assert!(page.contains(r#"id="run-closed""#), "{page}");

    // The day's report: two kiosks placed, one active with two orders.
    let (status, page) = li.get(&format!("/centre/kiosks/report?day={today}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(
            "<th>当天</th><td>2</td><td>1</td><td>50.0%</td><td>2</td><td>1</td><td>24.00</td>"
        ),
        "{page}"
    );
    let (status, bytes) = li
        .get_bytes(&format!("/centre/kiosks/report.xlsx?day={today}"))
        .await;
    assert_eq!(status, 200);
    assert!(bytes.starts_with(b"PK"), "an .xlsx is a zip");
}
