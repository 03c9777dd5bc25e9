//! The sorting hub's board through its pages (issue 16, point 4): a plan
//! adopted from the sort plan page, a day's item log and truck log uploaded
//! (a bad row listed, the same file again changing nothing), the eleven
//! indicators with the plan beside them, the .xlsx, and a keeper kept out.

mod support;

use app::App;
use app::ports::SystemClock;
use chrono::NaiveTime;
use domain::Role;
use sort::hub_log::{self, DayOptions};
use std::sync::Arc;

async fn upload(
    site: &support::Site,
    session: &support::Session,
    kind: &str,
    name: &str,
    body: String,
) -> (u16, String) {
    let form = reqwest::multipart::Form::new()
        .text("csrf", session.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(body.into_bytes()).file_name(name.to_string()),
        );
    let response = session
        .client
        .post(site.url(&format!("/centre/hub/import/{kind}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_manager_adopts_a_plan_imports_a_day_and_reads_the_hub_board() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    support::user(&app, "hub", Role::CountyOperator, None, &[]).await;
    let keeper_station = support::station(&app, "石桥村驿站").await;
    support::user(&app, "keeper", Role::StationKeeper, None, &[keeper_station]).await;
    let site = support::Site::serve(app.clone(), database).await;
    let hub = site.sign_in("hub").await;

    // Nothing adopted: the page says so and points to the sort plan page.
    let (status, page) = hub.get("/centre/hub").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="hub-no-plan""#), "{page}");
    let (status, body) = upload(
        &site,
        &hub,
        "items",
        "sorter.csv",
        "item,induction_time,destination\nA,2026-12-01 08:00:00,X\n".into(),
    )
    .await;
    assert_eq!(status, 409, "an item log needs a plan: {body}");
    assert!(body.contains("分拣方案"), "{body}");

    // The sort plan page offers adoption with the same source and seeds.
    let (status, page) = hub
        .post(
            "/centre/sort",
            &[
                ("source", "generate"),
                ("generator_seed", "3"),
                ("seed", "1"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="hub-adopt""#), "{page}");
    let (status, to) = hub
        .post(
            "/centre/hub/plan",
            &[
                ("source", "generate"),
                ("generator_seed", "3"),
                ("seed", "1"),
                ("name", "冬季方案"),
                ("layout", ""),
            ],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let (_, page) = hub.get("/centre/hub").await;
    assert!(page.contains("冬季方案"), "{page}");

    // A day of the simulated hub, with one row naming a chute it lacks.
    let record = app.store.hub_plan_in_force().await.unwrap().unwrap();
    let (sort_hub, plan) = app::sort_plans::hub::hub_and_plan(&record).unwrap();
    let day = app.today().pred_opt().unwrap();
    let options = DayOptions {
        seed: 2,
        day,
        start: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        no_read_rate: 0.01,
        manual_share: 0.05,
    };
    let items = hub_log::simulated_day(&sort_hub, &plan, &options);
    let mut csv = hub_log::items_csv(&items);
    csv.push_str(&format!("BAD1,{day} 09:00:00,I01,X,NOCHUTE,,0,0,\n"));
    let (status, page) = upload(&site, &hub, "items", "sorter.csv", csv.clone()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"id="hub-outcome""#), "{page}");
    assert!(
        page.contains(&format!("{}", items.len() + 2)) && page.contains("NOCHUTE"),
        "the bad row is listed by number: {page}"
    );
    assert!(
        page.contains("半圈落格率") && page.contains("上机率") && page.contains("方案仿真"),
        "{page}"
    );
    assert!(page.contains(r#"id="hub-chart""#), "{page}");
    let (status, page) = upload(&site, &hub, "items", "again.csv", csv).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("已导入过"),
        "the same file twice changes nothing: {page}"
    );

    let trucks = hub_log::trucks_csv(&hub_log::simulated_trucks(&sort_hub, &options));
    let (status, page) = upload(&site, &hub, "trucks", "yard.csv", trucks).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("IN-1-01") && page.contains("发车准点率"),
        "{page}"
    );

    // Without a day the page opens on the newest day with figures.
    let (_, page) = hub.get("/centre/hub").await;
    assert!(
        page.contains(&format!(r#"value="{day}""#)) && page.contains("IN-1-01"),
        "{page}"
    );
    let (status, bytes) = hub
        .get_bytes(&format!("/centre/hub/hub.xlsx?day={day}"))
        .await;
    assert_eq!(status, 200);
    assert!(bytes.starts_with(b"PK"), "an .xlsx is a zip");

    // A malformed upload is refused with a reason a person can act on.
    let (status, body) = upload(&site, &hub, "trucks", "junk.csv", "a,b\n1,2\n".into()).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = upload(&site, &hub, "parcels", "x.csv", "a\n".into()).await;
    assert_eq!(status, 404);

    // A keeper is sent to the console, and cannot post an import.
    let keeper = site.sign_in("keeper").await;
    let (status, to) = keeper.get("/centre/hub").await;
    assert_eq!((status, to.is_empty()), (303, true), "redirected, no page");
    let (status, _) = upload(
        &site,
        &keeper,
        "trucks",
        "yard.csv",
        "truck,direction,arrived\nT,in,2026-12-01 08:00\n".into(),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.store.hub_imports(10).await.unwrap().len(),
        2,
        "two files imported, nothing by the keeper"
    );
}
