//! Positions on lon/lat and polygons with a point-in-polygon test, for the
//! geofences of `domain::fleet`. A county is small and far from the poles
//! and the antimeridian, so a polygon is read on the plane of its degrees
//! (its edges are straight in lon/lat); distances are great-circle metres.

use serde::{Deserialize, Serialize};

/// Mean earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Most vertices one polygon may have.
pub const POLYGON_VERTICES_MAX: usize = 500;
/// Widest a polygon may be, in degrees of longitude or latitude: a county
/// fits many times over, and the flat reading of lon/lat stays sound.
pub const POLYGON_SPAN_DEGREES_MAX: f64 = 5.0;

/// A position, longitude first as in GeoJSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

impl LonLat {
    pub fn new(lon: f64, lat: f64) -> LonLat {
        LonLat { lon, lat }
    }

    pub fn is_valid(self) -> bool {
        self.lon.is_finite()
            && self.lat.is_finite()
            && (-180.0..=180.0).contains(&self.lon)
            && (-90.0..=90.0).contains(&self.lat)
    }
}

/// Great-circle distance in metres (haversine).
pub fn distance_m(from: LonLat, to: LonLat) -> f64 {
    let (lat1, lat2) = (from.lat.to_radians(), to.lat.to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (to.lon - from.lon).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolygonError {
    #[error("a polygon needs at least 3 distinct vertices")]
    TooFewVertices,
    #[error("a polygon may have at most {POLYGON_VERTICES_MAX} vertices")]
    TooManyVertices,
    #[error("vertex {index} is not a valid longitude and latitude")]
    InvalidVertex { index: usize },
    #[error("a polygon may span at most {POLYGON_SPAN_DEGREES_MAX} degrees")]
    TooWide,
    #[error("the polygon encloses no area")]
    NoArea,
}

/// A simple polygon on lon/lat: at least three vertices, the ring closed
/// implicitly (a last vertex equal to the first is dropped). Holds only
/// valid polygons: made by [`Polygon::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<[f64; 2]>", into = "Vec<[f64; 2]>")]
pub struct Polygon {
    vertices: Vec<LonLat>,
    min: LonLat,
    max: LonLat,
}

impl Polygon {
    pub fn new(mut vertices: Vec<LonLat>) -> Result<Polygon, PolygonError> {
        if vertices.len() > POLYGON_VERTICES_MAX + 1 {
            return Err(PolygonError::TooManyVertices);
        }
        if let Some(index) = vertices.iter().position(|v| !v.is_valid()) {
            return Err(PolygonError::InvalidVertex { index });
        }
        if vertices.len() > 1 && vertices.first() == vertices.last() {
            vertices.pop();
        }
        if vertices.len() < 3 {
            return Err(PolygonError::TooFewVertices);
        }
        if vertices.len() > POLYGON_VERTICES_MAX {
            return Err(PolygonError::TooManyVertices);
        }
        let mut min = vertices[0];
        let mut max = vertices[0];
        for vertex in &vertices {
            min.lon = min.lon.min(vertex.lon);
            min.lat = min.lat.min(vertex.lat);
            max.lon = max.lon.max(vertex.lon);
            max.lat = max.lat.max(vertex.lat);
        }
        if max.lon - min.lon > POLYGON_SPAN_DEGREES_MAX
            || max.lat - min.lat > POLYGON_SPAN_DEGREES_MAX
        {
            return Err(PolygonError::TooWide);
        }
        let polygon = Polygon { vertices, min, max };
        if polygon.signed_area().abs() < 1e-12 {
            return Err(PolygonError::NoArea);
        }
        Ok(polygon)
    }

    pub fn vertices(&self) -> &[LonLat] {
        &self.vertices
    }

    /// The bounding box's south-west and north-east corners.
    pub fn bounds(&self) -> (LonLat, LonLat) {
        (self.min, self.max)
    }

    /// Twice the area in square degrees, positive when counter-clockwise.
    fn signed_area(&self) -> f64 {
        let n = self.vertices.len();
        (0..n)
            .map(|i| {
                let (a, b) = (self.vertices[i], self.vertices[(i + 1) % n]);
                a.lon * b.lat - b.lon * a.lat
            })
            .sum()
    }

    /// Whether the point lies inside (even-odd rule, so a self-crossing
    /// ring's doubly covered parts count as outside). A point exactly on an
    /// edge may count either way; geofences are drawn with a margin.
    pub fn contains(&self, point: LonLat) -> bool {
        if point.lon < self.min.lon
            || point.lon > self.max.lon
            || point.lat < self.min.lat
            || point.lat > self.max.lat
        {
            return false;
        }
        let n = self.vertices.len();
        let mut inside = false;
        let mut j = n - 1;
        for i in 0..n {
            let (a, b) = (self.vertices[i], self.vertices[j]);
            // The edge straddles the point's latitude (half-open, so a
            // vertex on the ray is counted once) and crosses east of it.
            if (a.lat > point.lat) != (b.lat > point.lat) {
                let lon_at = a.lon + (point.lat - a.lat) / (b.lat - a.lat) * (b.lon - a.lon);
                if point.lon < lon_at {
                    inside = !inside;
                }
            }
            j = i;
        }
        inside
    }

    /// The vertices' mean, for placing a label.
    pub fn centre(&self) -> LonLat {
        let n = self.vertices.len() as f64;
        LonLat {
            lon: self.vertices.iter().map(|v| v.lon).sum::<f64>() / n,
            lat: self.vertices.iter().map(|v| v.lat).sum::<f64>() / n,
        }
    }
}

impl TryFrom<Vec<[f64; 2]>> for Polygon {
    type Error = PolygonError;

    fn try_from(points: Vec<[f64; 2]>) -> Result<Polygon, PolygonError> {
        Polygon::new(
            points
                .into_iter()
                .map(|[lon, lat]| LonLat { lon, lat })
                .collect(),
        )
    }
}

impl From<Polygon> for Vec<[f64; 2]> {
    fn from(polygon: Polygon) -> Vec<[f64; 2]> {
        polygon.vertices.iter().map(|v| [v.lon, v.lat]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rectangle(lon0: f64, lat0: f64, width: f64, height: f64) -> Polygon {
        Polygon::new(vec![
            LonLat::new(lon0, lat0),
            LonLat::new(lon0 + width, lat0),
            LonLat::new(lon0 + width, lat0 + height),
            LonLat::new(lon0, lat0 + height),
        ])
        .unwrap()
    }

    #[test]
    fn polygons_are_checked_when_made() {
        assert_eq!(
            Polygon::new(vec![LonLat::new(0.0, 0.0), LonLat::new(1.0, 0.0)]),
            Err(PolygonError::TooFewVertices)
        );
        assert_eq!(
            Polygon::new(vec![
                LonLat::new(0.0, 0.0),
                LonLat::new(1.0, 0.0),
                LonLat::new(2.0, 0.0)
            ]),
            Err(PolygonError::NoArea)
        );
        assert_eq!(
            Polygon::new(vec![
                LonLat::new(0.0, 0.0),
                LonLat::new(181.0, 0.0),
                LonLat::new(2.0, 1.0)
            ]),
            Err(PolygonError::InvalidVertex { index: 1 })
        );
        assert_eq!(
            Polygon::new(vec![
                LonLat::new(0.0, 0.0),
                LonLat::new(9.0, 0.0),
                LonLat::new(2.0, 1.0)
            ]),
            Err(PolygonError::TooWide)
        );
        // A closed ring's repeated first vertex is dropped.
        let closed =
            Polygon::try_from(vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]).unwrap();
        assert_eq!(closed.vertices().len(), 3);
        let json = serde_json::to_string(&closed).unwrap();
        assert_eq!(json, "[[0.0,0.0],[1.0,0.0],[1.0,1.0]]");
        assert!(serde_json::from_str::<Polygon>("[[0,0],[1,1]]").is_err());
    }

    #[test]
    fn a_concave_polygon_excludes_its_notch() {
        // A "U": the notch between the arms is outside.
        let u = Polygon::try_from(vec![
            [0.0, 0.0],
            [3.0, 0.0],
            [3.0, 3.0],
            [2.0, 3.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 3.0],
            [0.0, 3.0],
        ])
        .unwrap();
        assert!(u.contains(LonLat::new(0.5, 2.5)));
        assert!(u.contains(LonLat::new(2.5, 2.5)));
        assert!(u.contains(LonLat::new(1.5, 0.5)));
        assert!(!u.contains(LonLat::new(1.5, 2.0)));
        assert!(!u.contains(LonLat::new(3.5, 0.5)));
        // On the ray through a vertex (lat 1.0 passes the notch's corners).
        assert!(u.contains(LonLat::new(0.5, 1.0)));
        assert!(!u.contains(LonLat::new(-0.5, 1.0)));
    }

    #[test]
    fn distances_are_great_circle_metres() {
        // One degree of latitude is about 111.2 km.
        let d = distance_m(LonLat::new(119.0, 29.0), LonLat::new(119.0, 30.0));
        assert!((d - 111_195.0).abs() < 50.0, "{d}");
        assert_eq!(
            distance_m(LonLat::new(1.0, 2.0), LonLat::new(1.0, 2.0)),
            0.0
        );
    }

    fn near_edge(value: f64, edge: f64) -> bool {
        (value - edge).abs() < 1e-9
    }

    proptest! {
        /// A rectangle holds exactly the points within its bounds.
        #[test]
        fn a_rectangle_holds_what_lies_within_its_bounds(
            lon0 in 70.0f64..130.0, lat0 in 15.0f64..50.0,
            width in 0.001f64..2.0, height in 0.001f64..2.0,
            u in -0.5f64..1.5, v in -0.5f64..1.5,
        ) {
            let polygon = rectangle(lon0, lat0, width, height);
            let point = LonLat::new(lon0 + u * width, lat0 + v * height);
            prop_assume!(!near_edge(point.lon, lon0) && !near_edge(point.lon, lon0 + width));
            prop_assume!(!near_edge(point.lat, lat0) && !near_edge(point.lat, lat0 + height));
            let within = point.lon > lon0 && point.lon < lon0 + width
                && point.lat > lat0 && point.lat < lat0 + height;
            prop_assert_eq!(polygon.contains(point), within);
        }

        /// A convex polygon holds a point exactly when the point lies on the
        /// inner side of every edge; where the ring starts and which way it
        /// runs change nothing.
        #[test]
        fn a_convex_polygon_agrees_with_its_half_planes_in_any_order(
            mut angles in proptest::collection::vec(0.0f64..std::f64::consts::TAU, 3..24),
            radius in 0.001f64..1.0,
            centre_lon in 100.0f64..125.0, centre_lat in 20.0f64..45.0,
            u in -1.5f64..1.5, v in -1.5f64..1.5,
            rotate in 0usize..24, reverse: bool,
        ) {
            angles.sort_by(f64::total_cmp);
            angles.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
            prop_assume!(angles.len() >= 3);
            let mut vertices: Vec<LonLat> = angles.iter()
                .map(|a| LonLat::new(centre_lon + radius * a.cos(), centre_lat + radius * a.sin()))
                .collect();
            let Ok(polygon) = Polygon::new(vertices.clone()) else { return Ok(()); };
            let point = LonLat::new(centre_lon + u * radius, centre_lat + v * radius);
            // Counter-clockwise: inside is to the left of every edge.
            let n = vertices.len();
            let sides: Vec<f64> = (0..n).map(|i| {
                let (a, b) = (vertices[i], vertices[(i + 1) % n]);
                (b.lon - a.lon) * (point.lat - a.lat) - (b.lat - a.lat) * (point.lon - a.lon)
            }).collect();
            prop_assume!(sides.iter().all(|s| s.abs() > 1e-9));
            let inside = sides.iter().all(|s| *s > 0.0);
            prop_assert_eq!(polygon.contains(point), inside);
            vertices.rotate_left(rotate % n);
            if reverse {
                vertices.reverse();
            }
            prop_assert_eq!(Polygon::new(vertices).unwrap().contains(point), inside);
        }
    }
}
