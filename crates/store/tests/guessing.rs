//! The door against a code guesser (issue 11, `docs/security.md` "Pickup
//! codes and the door"): a simulated month of relentless guessing against
//! the real use case (`App::start_pickup` on a real SQLite database) with the
//! real throttle and a test clock. Every guess the throttle lets through is
//! actually tried and must be refused; the guesses let through each day and
//! the real code space give the modelled chance of at least one success per
//! station-day, which must stay at or below 1e-3 with 500 parcels waiting.

use app::AppError;
use app::Code;
use chrono::Duration;
use domain::{Principal, Role};
use std::collections::BTreeMap;
use std::sync::Arc;
use testkit::*;

const WAITING: usize = 500;
/// Two parcels per recipient: 250 phone numbers with distinct tails.
const PER_RECIPIENT: usize = 2;
const DAYS: i64 = 30;
const GOAL: f64 = 1e-3;

fn terminal_of(station_id: i64) -> Principal {
    Principal {
        user_id: 9,
        username: format!("terminal-{station_id}"),
        role: Role::StationTerminal,
        station_ids: vec![station_id],
        carrier: None,
    }
}

fn phone(recipient: usize) -> String {
    format!("1390000{recipient:04}")
}

/// A station with `WAITING` parcels on one shelf tier (so the guesser who
/// knows the layout knows every code's `A-1-` prefix). Returns the station
/// and the codes in scan order.
async fn stocked(h: &Harness, seed: u64) -> (i64, Vec<String>) {
    let station_id = station(&h.app, WAITING as u32, 1).await;
    let keeper = keeper_of(station_id);
    let mut codes = Vec::new();
    for i in 0..WAITING {
        let waybill = format!("73{seed}{i:09}");
        let outcome = h
            .app
            .inbound(
                &keeper,
                station_id,
                scan(&waybill, &phone(i / PER_RECIPIENT)),
            )
            .await
            .unwrap();
        codes.push(outcome.pickup_code.unwrap());
    }
    (station_id, codes)
}

/// One guess: the code and tail typed, and its modelled chance of success.
struct Guess {
    code: String,
    tail: String,
    chance: f64,
}

/// Guesses for a month at the station's terminal, as fast as the throttle
/// hears them; returns the guesses heard per day and each day's modelled
/// chance of at least one success.
async fn a_month_of_guessing(
    h: &Harness,
    station_id: i64,
    mut next_guess: impl FnMut(u64) -> Guess,
    sources: &[&str],
) -> Vec<(usize, f64)> {
    let terminal = terminal_of(station_id);
    let start = h.app.now();
    let end = start + Duration::days(DAYS);
    // Per day: guesses heard and the chance that none succeeded.
    let mut days: BTreeMap<i64, (usize, f64)> = (0..DAYS).map(|d| (d, (0, 1.0))).collect();
    let mut n = 0u64;
    while h.app.now() < end {
        let guess = next_guess(n);
        let source = sources[n as usize % sources.len()];
        let outcome = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                &terminal.username,
                source,
                &guess.code,
                Some(&guess.tail),
            )
            .await;
        match outcome {
            Err(AppError::Throttled { until, .. }) => {
                assert!(until > h.app.now(), "a wait ends in the future");
                h.clock.set(until);
            }
            Err(error) if error.is(Code::PickupCodeWrong) => {
                n += 1;
                let day = (h.app.now() - start).num_days();
                if let Some((heard, none)) = days.get_mut(&day) {
                    *heard += 1;
                    *none *= 1.0 - guess.chance;
                }
                // Typing the next guess takes a few seconds.
                h.clock.advance(Duration::seconds(3));
            }
            Ok(session) => panic!("guess {n} ({}) opened the door: {session:?}", guess.code),
            Err(other) => panic!("guess {n}: unexpected refusal {other:?}"),
        }
    }
    days.into_values()
        .map(|(heard, none)| (heard, 1.0 - none))
        .collect()
}

fn report(who: &str, days: &[(usize, f64)]) -> f64 {
    let heard: Vec<usize> = days.iter().map(|d| d.0).collect();
    let worst = days.iter().map(|d| d.1).fold(0.0, f64::max);
    eprintln!(
        "{who}: guesses heard per day {heard:?} (total {}), worst station-day success {worst:.2e}",
        heard.iter().sum::<usize>()
    );
    worst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_guessing_opens_no_door_and_models_below_one_in_a_thousand_per_day() {
    let mut h = sqlite().await;
    h.app.random = Arc::new(SeededRandom::new(11));
    let space = domain::CodeFormat::default().secret_space() as f64;
    let draw = SeededRandom::new(12);
    let random = |bound: u64| app::ports::Random::below(&draw, bound);

    // The blind guesser at the station's tablet: knows the layout (every
    // code here starts `A-1-`), not who has parcels. A guess succeeds only
    // if its secret is one of the 500 live ones and its tail is that
    // parcel's recipient's.
    let (blind_station, _) = stocked(&h, 1).await;
    let blind = a_month_of_guessing(
        &h,
        blind_station,
        |_| Guess {
            code: format!("A-1-{:06}", random(1_000_000)),
            tail: format!("{:04}", random(10_000)),
            chance: WAITING as f64 / space / 10_000.0,
        },
        &["192.0.2.10"],
    )
    .await;

    // The informed guesser: holds a real code of their own (under a counter
    // the codes next to it were the live ones) and knows the phone tail of
    // every recipient with a parcel waiting; tries the neighbours of their
    // own code with each tail in turn, through a stolen terminal token from
    // many addresses. A guess with tail t succeeds if it is the secret of
    // one of t's parcels: 2 in a million here.
    let (informed_station, codes) = stocked(&h, 2).await;
    let own: u64 = codes[0].rsplit('-').next().unwrap().parse().unwrap();
    let recipients = WAITING / PER_RECIPIENT;
    let sources: Vec<String> = (0..64).map(|i| format!("198.51.100.{i}")).collect();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let informed = a_month_of_guessing(
        &h,
        informed_station,
        |n| Guess {
            code: format!("A-1-{:06}", (own + 1 + n) % 1_000_000),
            tail: phone(1 + n as usize % (recipients - 1))[7..].to_string(),
            chance: PER_RECIPIENT as f64 / space,
        },
        &sources,
    )
    .await;

    let worst_blind = report("blind guesser", &blind);
    let worst_informed = report("informed guesser", &informed);
    assert!(
        worst_blind <= GOAL,
        "blind: {worst_blind:.2e} per station-day"
    );
    assert!(
        worst_informed <= GOAL,
        "informed: {worst_informed:.2e} per station-day"
    );
    // The throttle, not luck, bounds it: a few dozen guesses a day at most.
    let most = blind.iter().chain(&informed).map(|d| d.0).max().unwrap();
    assert!(most <= 40, "{most} guesses heard in one day");
    // And the station's own customers were never locked out for long: the
    // informed guesser's stolen token had no effect on another terminal
    // name's budget, and QR codes are never throttled (terminal.rs tests).
    assert_invariants(&h.db).await;
    h.cleanup().await;
}
