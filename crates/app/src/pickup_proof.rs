//! The recipient's proof at a self-service point, shared by the door
//! terminal (`app::terminal`) and collecting straight from a vehicle's
//! compartment (`app::fleet`, issue 20): a pickup code with the phone tail
//! (never the code alone) or a signed QR code; every typed attempt recorded
//! per terminal, source address and phone tail, each throttled by
//! `domain::terminal::ThrottlePolicy`, and one alert a day for the keeper
//! once a terminal's free failures are used up. One set of rules, so a
//! guesser gains nothing by walking from the door to the vehicle.

use crate::error::{AppError, AppResult};
use crate::ports::terminal::{AttemptsBy, CodeAttempt, NewAlert};
use crate::ports::{ParcelRecord, StationRecord, Tx};
use chrono::{DateTime, Utc};
use domain::ParcelState;
use domain::terminal::{CodeEntry, ThrottlePolicy};

/// The three throttles on typed codes (`app::terminal::TerminalSettings`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Throttles {
    pub terminal: ThrottlePolicy,
    pub source: ThrottlePolicy,
    pub phone: ThrottlePolicy,
}

/// The app's throttles on typed codes.
pub(crate) fn throttles(settings: &crate::Settings) -> Throttles {
    let terminal = &settings.terminal;
    Throttles {
        terminal: terminal.throttle_terminal,
        source: terminal.throttle_source,
        phone: terminal.throttle_phone,
    }
}

/// Checks a recipient's proof at `station` inside the caller's transaction
/// (the station locked): refuses with `AppError::Throttled` while a key
/// must wait, records the attempt, and on a miss raises the guessing alert
/// when due. `Ok(None)`: no parcel matched; the caller commits (so the
/// failure counts) and refuses with `pickup_code_wrong`. The parcel found is
/// stored at this station, with the code active and the phone tail its own.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn prove(
    tx: &mut dyn Tx,
    qr_key: &[u8],
    throttles: Throttles,
    station: &StationRecord,
    terminal: &str,
    source: &str,
    entry: &CodeEntry,
    now: DateTime<Utc>,
) -> AppResult<Option<ParcelRecord>> {
    let station_id = station.id;
    let tail = match entry {
        CodeEntry::Code { phone_tail, .. } => Some(phone_tail.clone()),
        CodeEntry::Qr(_) => None,
    };
    if let Some(tail) = &tail {
        check_throttle(tx, throttles, station_id, terminal, source, tail, now).await?;
    }
    let found = match entry {
        // The code and the tail must both match: the code alone opens
        // nothing.
        //
        // Typed without its hyphens or in lower case, a code is looked up
        // in each spelling the station's format allows (a handful); still
        // one attempt, and still only with the phone tail.
        CodeEntry::Code { code, phone_tail } => {
            let mut found = None;
            for candidate in station.code_format.candidates(code) {
                found = tx
                    .parcel_by_active_code(station_id, &candidate)
                    .await?
                    .filter(|p| p.state == ParcelState::Stored)
                    .filter(|p| {
                        p.phone
                            .as_ref()
                            .is_some_and(|phone| phone.tail() == phone_tail)
                    });
                if found.is_some() {
                    break;
                }
            }
            found
        }
        CodeEntry::Qr(text) => match crate::qr::verify(qr_key, text, now) {
            Ok(claim) if claim.station_id == station_id => tx
                .parcel(claim.parcel_id)
                .await?
                .filter(|p| p.state == ParcelState::Stored && p.station_id == Some(station_id)),
            Ok(_) => None,
            Err(error) => {
                tracing::info!(station = station_id, %error, "QR code refused");
                None
            }
        },
    };
    tx.record_code_attempt(&CodeAttempt {
        station_id,
        terminal: terminal.to_string(),
        source: source.to_string(),
        phone_tail: tail.clone(),
        succeeded: found.is_some(),
        at: now,
    })
    .await?;
    if found.is_none() {
        alert_if_guessing(tx, throttles.terminal, station_id, terminal, now).await?;
    }
    Ok(found)
}

/// Refuses with [`AppError::Throttled`] while the terminal, the source
/// address or the phone tail must wait after its recent failures. Each
/// key waits on its own; none locks the station.
async fn check_throttle(
    tx: &mut dyn Tx,
    throttles: Throttles,
    station_id: i64,
    terminal: &str,
    source: &str,
    tail: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let checks = [
        (
            "terminal",
            AttemptsBy::Terminal(terminal),
            throttles.terminal,
        ),
        ("source", AttemptsBy::Source(source), throttles.source),
        ("phone_tail", AttemptsBy::PhoneTail(tail), throttles.phone),
    ];
    let mut wait_until: Option<DateTime<Utc>> = None;
    for (key, by, policy) in checks {
        let failures = tx
            .failed_code_attempts(station_id, by, now - policy.memory)
            .await?;
        if let Some(until) = policy.locked_until(&failures, now) {
            tracing::warn!(
                station = station_id,
                terminal,
                key,
                n_failures = failures.len(),
                until = %until,
                "pickup code entry must wait"
            );
            wait_until = Some(wait_until.map_or(until, |w| w.max(until)));
        }
    }
    match wait_until {
        Some(until) => Err(AppError::throttled(
            crate::error::Throttle::PickupCode,
            until,
            now,
        )),
        None => Ok(()),
    }
}

/// Raises one alert per terminal and day once its failures use up the
/// free ones: someone is guessing codes.
async fn alert_if_guessing(
    tx: &mut dyn Tx,
    policy: ThrottlePolicy,
    station_id: i64,
    terminal: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let failures = tx
        .failed_code_attempts(
            station_id,
            AttemptsBy::Terminal(terminal),
            now - policy.memory,
        )
        .await?;
    if (failures.len() as u32) < policy.free_failures.max(1) {
        return Ok(());
    }
    let memory_s = policy.memory.num_seconds().max(1);
    let raised = tx
        .insert_alert(&NewAlert {
            station_id,
            kind: "code_guessing".into(),
            message: format!(
                "自助终端 {terminal} 在 {} 小时内输错取件码 {} 次，已放慢输入（二维码仍可开门）",
                policy.memory.num_hours(),
                failures.len()
            ),
            dedup_key: format!(
                "code_guessing:{station_id}:{terminal}:{}",
                now.timestamp() / memory_s
            ),
            at: now,
        })
        .await?;
    if raised {
        tracing::warn!(
            station = station_id,
            terminal,
            n_failures = failures.len(),
            "alert: repeated wrong pickup codes"
        );
    }
    Ok(())
}
