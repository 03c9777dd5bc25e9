//! The arrears ledger (欠费台账, issue 15, point 3) on both databases: a
//! responsible person and payment terms per debtor (audited), invoices
//! dated by those terms, contacts and promises kept as append-only history.

use super::*;
use app::auth::NewUser;
use app::finance::{Bucket, ContactChannel, ContactRequest, Month, TermsRequest};

async fn staff(app: &App, username: &str, role: Role) {
    app.create_user(NewUser {
        username: username.into(),
        display_name: format!("{username} 姓名"),
        password: "correct horse battery".into(),
        role,
        carrier: None,
        station_ids: vec![],
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_debtor_has_a_responsible_person_terms_and_a_history_of_contacts() {
    for h in backends().await {
        let app = &h.app;
        let day = run_county_day(app).await;
        let month = Month::of(day.day);
        staff(app, "wang", Role::CountyOperator).await;
        staff(app, "zhao", Role::Auditor).await;
        let zto = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        let terms = |who: &str, phone: &str, days| TermsRequest {
            responsible: Some(who.into()),
            phone: Some(phone.into()),
            payment_days: days,
        };
        let refused = |r: Result<app::finance::DebtorTerms, AppError>| r.unwrap_err().code();
        assert_eq!(
            refused(
                app.set_debtor_terms(&zto, Carrier::Zto, &terms("wang", "13812345678", 20))
                    .await
            ),
            Code::Forbidden
        );
        for (who, phone, days, code) in [
            ("zhao", "13812345678", 20, Code::ResponsibleInvalid),
            ("nobody", "13812345678", 20, Code::ResponsibleInvalid),
            ("wang", "138****5678", 20, Code::ResponsiblePhoneInvalid),
            ("wang", "12345", 20, Code::ResponsiblePhoneInvalid),
            ("", "13812345678", 20, Code::ResponsibleInvalid),
            ("wang", "13812345678", 181, Code::PaymentDaysInvalid),
        ] {
            assert_eq!(
                refused(
                    app.set_debtor_terms(&admin(), Carrier::Zto, &terms(who, phone, days))
                        .await
                ),
                code,
                "{who} {phone} {days}"
            );
        }
        let set = app
            .set_debtor_terms(&admin(), Carrier::Zto, &terms("wang", "138 1234 5678", 25))
            .await
            .unwrap();
        let responsible = set.responsible.clone().unwrap();
        assert_eq!(
            (responsible.username.as_str(), responsible.name.as_str()),
            ("wang", "wang 姓名")
        );
        assert_eq!(responsible.phone.as_ref().unwrap().full(), "13812345678");
        assert_eq!(
            serde_json::to_value(&responsible).unwrap()["phone"],
            "138****5678",
            "serialised, the phone is masked"
        );
        // The change is audited with the terms before and after.
        let trail = app
            .audit_trail(
                &admin(),
                app::ports::audit::AuditFilter {
                    act: Some("debtor_terms_set".into()),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(trail.len(), 1, "refused changes are not audited");
        let row = &trail[0];
        let details: serde_json::Value = serde_json::from_str(&row.details).unwrap();
        assert_eq!(
            details["after"],
            serde_json::json!({"responsible": "wang", "phone": "138****5678", "payment_days": 25})
        );
        assert_eq!(details["before"]["responsible"], serde_json::Value::Null);
        assert_eq!(details["carrier"], "ZTO");
        assert!(
            !row.details.contains("13812345678"),
            "no full phone in the trail"
        );

        // The statement's invoice is due by the debtor's terms.
        h.clock
            .set(domain::day_start(month.next().first_day()) + Duration::hours(1));
        let issued = app
            .issue_statement(&admin(), Carrier::Zto, month, None)
            .await
            .unwrap()
            .statement;
        assert_eq!(issued.due_day, month.last_day() + Duration::days(25));
        let sf_issued = app
            .issue_statement(&admin(), Carrier::Sf, month, None)
            .await
            .unwrap()
            .statement;
        assert_eq!(
            sf_issued.due_day,
            month.last_day() + Duration::days(15),
            "a debtor without terms is due by the default"
        );

        // Forty days past ZTO's due day.
        h.clock
            .set(domain::day_start(issued.due_day + Duration::days(40)) + Duration::hours(3));
        let contact =
            |contacted: &str, promised: Option<(i64, chrono::NaiveDate)>| ContactRequest {
                contacted: contacted.into(),
                channel: ContactChannel::Phone,
                note: "答应下周付清".into(),
                promised: promised.map(|(fen, _)| Fen(fen)),
                promised_by: promised.map(|(_, by)| by),
            };
        let today = app.today();
        for (request, detail) in [
            (contact("", None), "person contacted"),
            (contact("李经理", Some((0, today))), "more than 0"),
            (
                contact("李经理", Some((100, today - Duration::days(1)))),
                "from today",
            ),
            (
                ContactRequest {
                    promised_by: None,
                    ..contact("李经理", Some((100, today)))
                },
                "both an amount and a day",
            ),
        ] {
            let error = app
                .log_debtor_contact(&admin(), Carrier::Zto, &request)
                .await
                .unwrap_err();
            assert_eq!(error.code(), Code::ContactInvalid);
            assert!(error.message(app::Lang::En).contains(detail), "{detail}");
        }
        assert_eq!(
            app.log_debtor_contact(&zto, Carrier::Zto, &contact("李经理", None))
                .await
                .unwrap_err()
                .code(),
            Code::Forbidden
        );
        app.log_debtor_contact(&admin(), Carrier::Zto, &contact("李经理", None))
            .await
            .unwrap();
        let promised_by = today + Duration::days(7);
        let promise = app
            .log_debtor_contact(
                &admin(),
                Carrier::Zto,
                &contact("张会计", Some((issued.net.0, promised_by))),
            )
            .await
            .unwrap();

        let ledger = app.arrears_ledger(&admin()).await.unwrap();
        assert_eq!(ledger.len(), 2, "{}", h.name());
        let row = ledger
            .iter()
            .find(|r| r.ageing.carrier == Carrier::Zto)
            .unwrap();
        assert_eq!(row.responsible().unwrap().username, "wang");
        assert_eq!(row.payment_days(), 25);
        assert_eq!(row.ageing.bucket(Bucket::Days31To60), issued.net);
        assert_eq!(row.ageing.total, issued.net);
        assert_eq!(row.last_contact.as_ref(), Some(&promise));
        let sf = ledger
            .iter()
            .find(|r| r.ageing.carrier == Carrier::Sf)
            .unwrap();
        assert!(sf.responsible().is_none());
        assert_eq!(
            sf.ageing.bucket(Bucket::Days31To60),
            sf_issued.net,
            "fifty days late"
        );

        let view = app.debtor(&admin(), Carrier::Zto).await.unwrap();
        assert_eq!(view.invoices.len(), 1);
        assert_eq!(view.invoices[0].1, Bucket::Days31To60);
        assert_eq!(view.contacts.len(), 2);
        assert_eq!(view.contacts[0], promise, "newest first");
        assert_eq!(view.contacts[0].promised, Some(issued.net));
        assert_eq!(view.contacts[0].promised_by, Some(promised_by));
        assert_eq!(view.contacts[1].contacted, "李经理");
        assert_eq!(
            app.debtor(&zto, Carrier::Zto).await.unwrap_err().code(),
            Code::Forbidden
        );

        // Removing the responsible person is a change too; the history stays.
        let cleared = app
            .set_debtor_terms(
                &admin(),
                Carrier::Zto,
                &TermsRequest {
                    responsible: None,
                    phone: None,
                    payment_days: 25,
                },
            )
            .await
            .unwrap();
        assert!(cleared.responsible.is_none());

        // History is never rewritten.
        let mut raw = h.raw().await;
        for statement in [
            "UPDATE debtor_contacts SET note = 'x'",
            "DELETE FROM debtor_contacts",
        ] {
            assert!(
                sqlx::query(statement).execute(&mut raw).await.is_err(),
                "{} {statement}",
                h.name()
            );
        }
        raw.close().await.unwrap();
        assert_eq!(
            app.debtor(&admin(), Carrier::Zto)
                .await
                .unwrap()
                .contacts
                .len(),
            2
        );
        h.cleanup().await;
    }
}
