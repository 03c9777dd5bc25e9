//! Vehicles' safe-driving system, pure: geofences on lon/lat (`geo`, `zone`)
//! and the per-vehicle rule evaluator fed every telemetry message (`rules`).
//! The fleet's use cases (`app::fleet`) keep one evaluator per vehicle and
//! store what it raises; the simulator (`devices::vehicle`) drives against
//! the same rules.

pub mod geo;
pub mod rules;
pub mod zone;

pub use geo::{LonLat, Polygon, PolygonError, distance_m};
pub use rules::{
    Alert, AutoCommand, Evaluator, Evidence, RuleKind, RuleSettings, Telemetry, TrackPoint,
    VehicleKind, VehicleProfile,
};
pub use zone::{Geofences, SpeedLimit, TimeWindow, Zone, ZoneError, ZoneKind};
