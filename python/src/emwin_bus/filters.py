"""AlertFilter: the gateway's alert filters, applied client-side to Alert messages.

Every criterion given must match (AND); a criterion with several values matches any
of them (OR). Strings may list values separated by commas ("TO,SV"). Comparisons
ignore case. Only fields that exist in every version of alert.proto are read, so
alerts carrying newer fields filter the same way.

  topic         topic prefix(es), e.g. "alert.TO.W." (also sent to the producer)
  product       product code ("TOR") or AWIPS id ("TORDMX")
  office        issuing office, 4 letters ("KDMX") or 3 ("DMX"); VTEC office or WMO CCCC
  state         two-letter state of any UGC code ("IA")
  ugc           county or zone code(s) ("IAC015", "IAZ048")
  phenomenon    VTEC phenomenon ("TO", "SV", "FF", ...)
  significance  VTEC significance ("W", "A", "Y", "S", ...)
  action        VTEC action ("NEW", "CON", "CAN", ...)
  min_tier      at least this urgent: a PriorityTier number or name ("WARNING" keeps
                emergencies and warnings)
  lat, lon, distance_km
                the point is inside the alert's polygon, or within distance_km of the
                centroid of one of its UGC codes (distance_km 0 = polygon only)
  has_polygon   True: only alerts with a polygon; False: only without

Immutable after construction; matches() is safe from any thread.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Iterable, Optional, Sequence, Union

from . import geo
from ._schema import alert_pb2

log = logging.getLogger("emwin_bus")

Values = Union[str, Iterable[str], None]


def _values(v: Values) -> tuple[str, ...]:
    if v is None:
        return ()
    items = v.split(",") if isinstance(v, str) else list(v)
    return tuple(s.strip().upper() for s in items if s and s.strip())


def tier_number(tier: Union[int, str, None]) -> Optional[int]:
    """PriorityTier as a number: 2, "WARNING", "warning" and "PRIORITY_TIER_WARNING" all give 2."""
    if tier is None or tier == "":
        return None
    if isinstance(tier, int):
        return tier
    name = str(tier).strip().upper()
    if name.isdigit():
        return int(name)
    if not name.startswith("PRIORITY_TIER_"):
        name = "PRIORITY_TIER_" + name
    try:
        return alert_pb2.PriorityTier.Value(name)
    except ValueError:
        raise ValueError(f"unknown priority tier {tier!r}") from None


@dataclasses.dataclass(frozen=True)
class AlertFilter:
    """Client-side alert filter with the gateway's criteria (see the module docstring)."""

    topic: Values = None
    product: Values = None
    office: Values = None
    state: Values = None
    ugc: Values = None
    phenomenon: Values = None
    significance: Values = None
    action: Values = None
    min_tier: Union[int, str, None] = None
    lat: Optional[float] = None
    lon: Optional[float] = None
    distance_km: float = 0.0
    has_polygon: Optional[bool] = None
    ugc_table: Optional[str] = None  # centroid CSV for distance_km (default: geo.default_table_path())

    def __post_init__(self) -> None:
        # Normalise once: tuples of upper-case strings (topics keep their case).
        object.__setattr__(self, "topic", tuple(t.strip() for t in (
            self.topic.split(",") if isinstance(self.topic, str) else (self.topic or ())) if t.strip()))
        for name in ("product", "office", "state", "ugc", "phenomenon", "significance", "action"):
            object.__setattr__(self, name, _values(getattr(self, name)))
        object.__setattr__(self, "min_tier", tier_number(self.min_tier))
        if (self.lat is None) != (self.lon is None):
            raise ValueError("AlertFilter: lat and lon go together")
        if self.lat is not None and not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError("AlertFilter: lat must be in [-90, 90] and lon in [-180, 180]")
        if self.distance_km < 0:
            raise ValueError("AlertFilter: distance_km must be >= 0")
        centroids = None
        if self.lat is not None and self.distance_km > 0:
            centroids = geo.load_centroids(self.ugc_table)
        object.__setattr__(self, "_centroids", centroids)

    @classmethod
    def from_kwargs(cls, **kwargs) -> "AlertFilter":
        """An AlertFilter from keyword arguments (unknown names raise TypeError)."""
        return cls(**kwargs)

    def producer_prefixes(self) -> list[str]:
        """Topic prefixes the producer can filter by: the topics given, or those the VTEC
        phenomenon/significance imply ("alert.TO.W."), else every alert ("alert.")."""
        if self.topic:
            return list(self.topic)
        if self.phenomenon and self.significance:
            return [f"alert.{p}.{s}." for p in self.phenomenon for s in self.significance]
        if self.phenomenon:
            return [f"alert.{p}." for p in self.phenomenon]
        return ["alert."]

    def matches(self, alert) -> bool:
        """True if the alert (an Alert wrapper or emwin.bus.v1.Alert) passes every criterion."""
        a = getattr(alert, "message", alert)
        if self.topic:
            topic = getattr(alert, "topic", "") or ""
            if topic and not topic.startswith(self.topic):
                return False
        if self.product and a.product_code.upper() not in self.product and a.awips_id.upper() not in self.product:
            return False
        if self.office:
            offices = {a.office.upper(), a.wmo_cccc.upper()} - {""}
            if not any(o in offices or (len(o) == 3 and any(x[-3:] == o for x in offices)) for o in self.office):
                return False
        if self.state and not any(u[:2].upper() in self.state for u in a.ugc):
            return False
        if self.ugc and not any(u.upper() in self.ugc for u in a.ugc):
            return False
        if self.phenomenon and a.phenomenon.upper() not in self.phenomenon:
            return False
        if self.significance and a.significance.upper() not in self.significance:
            return False
        if self.action and a.action.upper() not in self.action:
            return False
        if self.min_tier is not None and not (a.tier and a.tier <= self.min_tier):
            return False
        if self.has_polygon is not None and (len(a.polygon) >= 3) != self.has_polygon:
            return False
        if self.lat is not None and not self._near(a):
            return False
        return True

    def _near(self, a) -> bool:
        if len(a.polygon) >= 3:
            ring = [(p.lat_deg, p.lon_deg) for p in a.polygon]
            if geo.point_in_polygon(self.lat, self.lon, ring):
                return True
        if self._centroids is not None and a.ugc:
            d = geo.nearest_ugc_km(self.lat, self.lon, (u.upper() for u in a.ugc), self._centroids)
            if d is not None and d <= self.distance_km:
                return True
        return False

    def __call__(self, alert) -> bool:
        return self.matches(alert)
