//! What a self-service station is worth (issue 16, station economics):
//! labour saved — self-service pickups × the staffed minutes each one
//! replaces, plus the opening hours covered without staff — and sending
//! revenue added, per station and year, from figures the data shows and
//! assumptions a manager can change. The seed's reported figures and their
//! national extrapolation (104,100 low-efficiency outlets) are reproduced
//! from their inputs. Pure arithmetic in yuan.

/// The seed's reported effect per outlet and year (yuan), and its count of
/// low-efficiency outlets (under 300 parcels a day) in China.
pub const SEED_LABOUR_SAVED_LOW: f64 = 32_200.0;
pub const SEED_LABOUR_SAVED_HIGH: f64 = 38_900.0;
pub const SEED_SENDING_ADDED: f64 = 56_900.0;
pub const SEED_OUTLETS: f64 = 104_100.0;

/// What the estimate assumes; every value is shown and may be changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assumptions {
    /// Staffed minutes one hand-out at the counter takes.
    pub minutes_per_pickup: f64,
    /// What an hour of staff costs, yuan.
    pub wage_per_hour: f64,
    /// Hours a day the station is open without staff (the door terminal).
    pub unstaffed_hours_per_day: f64,
    /// Parcels sent a day from the station's self-service kiosk.
    pub sends_per_day: f64,
    /// Margin per parcel sent, yuan.
    pub margin_per_send: f64,
    /// Days a year the station opens.
    pub days_per_year: f64,
    /// Outlets the national extrapolation covers.
    pub outlets: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            minutes_per_pickup: 1.5,
            wage_per_hour: 20.0,
            unstaffed_hours_per_day: 4.0,
            sends_per_day: 30.0,
            margin_per_send: 5.0,
            days_per_year: 365.0,
            outlets: SEED_OUTLETS,
        }
    }
}

/// Each assumption's name and allowed range, for forms and errors.
pub const LIMITS: &[(&str, f64, f64)] = &[
    ("minutes_per_pickup", 0.0, 60.0),
    ("wage_per_hour", 0.0, 1_000.0),
    ("unstaffed_hours_per_day", 0.0, 24.0),
    ("sends_per_day", 0.0, 10_000.0),
    ("margin_per_send", 0.0, 1_000.0),
    ("days_per_year", 0.0, 366.0),
    ("outlets", 0.0, 10_000_000.0),
];

/// One station's estimate, yuan a year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub self_service_per_day: f64,
    pub labour_from_pickups: f64,
    pub labour_from_hours: f64,
    pub labour_saved: f64,
    pub sending_added: f64,
}

/// A station's year from its self-service pickups over `days` days.
pub fn estimate(a: &Assumptions, self_service_pickups: u64, days: i64) -> Estimate {
    let per_day = self_service_pickups as f64 / days.max(1) as f64;
    let labour_from_pickups =
        per_day * a.minutes_per_pickup / 60.0 * a.wage_per_hour * a.days_per_year;
    let labour_from_hours = a.unstaffed_hours_per_day * a.wage_per_hour * a.days_per_year;
    Estimate {
        self_service_per_day: per_day,
        labour_from_pickups,
        labour_from_hours,
        labour_saved: labour_from_pickups + labour_from_hours,
        sending_added: a.sends_per_day * a.margin_per_send * a.days_per_year,
    }
}

/// A per-outlet figure over `outlets` outlets, in billions of yuan.
pub fn national_billions(per_outlet: f64, outlets: f64) -> f64 {
    per_outlet * outlets / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed: 104,100 outlets × 32,200 yuan ≈ 3.35 bn saved, × 56,900 ≈
    /// 5.92 bn added.
    #[test]
    fn the_seeds_national_figures_come_from_its_inputs() {
        let saved = national_billions(SEED_LABOUR_SAVED_LOW, SEED_OUTLETS);
        let added = national_billions(SEED_SENDING_ADDED, SEED_OUTLETS);
        assert_eq!(format!("{saved:.2}"), "3.35");
        assert_eq!(format!("{added:.2}"), "5.92");
    }

    #[test]
    fn an_estimate_adds_pickups_hours_and_sending() {
        let a = Assumptions::default();
        // 60 self-service pickups a day for 10 days.
        let e = estimate(&a, 600, 10);
        assert_eq!(e.self_service_per_day, 60.0);
        assert!((e.labour_from_pickups - 60.0 * 1.5 / 60.0 * 20.0 * 365.0).abs() < 1e-6);
        assert!((e.labour_from_hours - 4.0 * 20.0 * 365.0).abs() < 1e-6);
        assert_eq!(e.labour_saved, e.labour_from_pickups + e.labour_from_hours);
        assert!((e.sending_added - 30.0 * 5.0 * 365.0).abs() < 1e-6);
        assert_eq!(estimate(&a, 0, 0).self_service_per_day, 0.0);
    }
}
