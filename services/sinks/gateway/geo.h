#pragma once
// Plane-and-sphere helpers of the gateway's point filter: whether a point
// lies inside an alert polygon, and great-circle distances to county/zone
// centroids. Pure functions; thread-safe.

#include <span>

namespace emwin::gateway {

// A point in decimal degrees (west negative).
struct GeoPoint {
  double lat = 0;
  double lon = 0;
};

// True when `p` lies inside the ring `polygon` (closed or not; even-odd
// rule, lat/lon treated as plane coordinates — NWS warning polygons are small).
// Points on an edge may go either way. Fewer than 3 vertices: false.
bool pointInPolygon(GeoPoint p, std::span<const GeoPoint> polygon) noexcept;

// Great-circle distance in kilometres (haversine, mean Earth radius 6371.0088 km).
double distanceKm(GeoPoint a, GeoPoint b) noexcept;

// True for a usable coordinate (finite, |lat| <= 90, |lon| <= 180).
bool validPoint(GeoPoint p) noexcept;

}  // namespace emwin::gateway
