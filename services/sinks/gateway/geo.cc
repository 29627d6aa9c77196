#include "geo.h"

#include <cmath>

namespace emwin::gateway {

bool pointInPolygon(GeoPoint p, std::span<const GeoPoint> polygon) noexcept {
  if (polygon.size() < 3) return false;
  bool inside = false;
  for (std::size_t i = 0, j = polygon.size() - 1; i < polygon.size(); j = i++) {
    const GeoPoint& a = polygon[i];
    const GeoPoint& b = polygon[j];
    if ((a.lat > p.lat) != (b.lat > p.lat)) {
      const double lon_at = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
      if (p.lon < lon_at) inside = !inside;
    }
  }
  return inside;
}

double distanceKm(GeoPoint a, GeoPoint b) noexcept {
  constexpr double kEarthKm = 6371.0088;
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (b.lat - a.lat) * kRad;
  const double dlon = (b.lon - a.lon) * kRad;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthKm * std::asin(std::min(1.0, std::sqrt(h)));
}

bool validPoint(GeoPoint p) noexcept {
  return std::isfinite(p.lat) && std::isfinite(p.lon) && std::fabs(p.lat) <= 90 && std::fabs(p.lon) <= 180;
}

}  // namespace emwin::gateway
