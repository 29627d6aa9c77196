"""Geometry for alert filters: point in polygon, great-circle distance, UGC centroids.

The centroid table is CSV with columns ugc,kind,name,latitude,longitude (one row per
county "XXC###" or zone "XXZ###"; "XXC000"/"XXZ000" are "all" placeholders at 0,0 and
are ignored). A centroid is one representative point, not a boundary: distance to it
approximates "near this county or zone". Tables are loaded once per path and cached;
loading is thread-safe (a lock), lookups read an immutable dict.
"""
from __future__ import annotations

import csv
import math
import os
import pathlib
import threading
from typing import Iterable, Optional, Sequence

EARTH_RADIUS_KM = 6371.0088

_cache: dict[str, dict[str, tuple[float, float]]] = {}
_lock = threading.Lock()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points in decimal degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def point_in_polygon(lat: float, lon: float, ring: Sequence[tuple[float, float]]) -> bool:
    """True if (lat, lon) is inside the ring of (lat, lon) points (even-odd rule; closed or not)."""
    inside = False
    n = len(ring)
    if n < 3:
        return False
    j = n - 1
    for i in range(n):
        yi, xi = ring[i]
        yj, xj = ring[j]
        if (yi > lat) != (yj > lat):
            x_cross = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lon < x_cross:
                inside = not inside
        j = i
    return inside


def default_table_path() -> Optional[pathlib.Path]:
    """$EMWIN_UGC_CSV, the table shipped in the package, or the checkout's data/reference/ugc.csv
    (then ../shared/data/ugc.csv beside the checkout)."""
    env = os.environ.get("EMWIN_UGC_CSV")
    if env:
        return pathlib.Path(env)
    here = pathlib.Path(__file__).resolve().parent
    candidates = [here / "data" / "ugc.csv"]
    # <checkout>/python/src/emwin_bus/geo.py
    if len(here.parents) >= 3 and here.parents[0].name == "src" and here.parents[1].name == "python":
        checkout = here.parents[2]
        candidates += [checkout / "data" / "reference" / "ugc.csv", checkout.parent / "shared" / "data" / "ugc.csv"]
    for c in candidates:
        if c.is_file():
            return c
    return None


def load_centroids(path: Optional[str | os.PathLike] = None) -> dict[str, tuple[float, float]]:
    """UGC code -> (lat, lon) from `path` (default: default_table_path()). Raises FileNotFoundError
    if no table is found, ValueError if it lacks the columns."""
    resolved = pathlib.Path(path) if path else default_table_path()
    if resolved is None:
        raise FileNotFoundError("no UGC centroid table: pass ugc_table= or set EMWIN_UGC_CSV")
    key = str(resolved.resolve())
    with _lock:
        table = _cache.get(key)
        if table is not None:
            return table
        table = {}
        with open(resolved, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"ugc", "latitude", "longitude"} <= set(reader.fieldnames):
                raise ValueError(f"{resolved}: need columns ugc, latitude, longitude")
            for row in reader:
                code = (row.get("ugc") or "").strip().upper()
                try:
                    lat, lon = float(row["latitude"]), float(row["longitude"])
                except (TypeError, ValueError):
                    continue
                if len(code) != 6 or code.endswith("000") or (lat == 0.0 and lon == 0.0):
                    continue
                table[code] = (lat, lon)
        _cache[key] = table
        return table


def nearest_ugc_km(lat: float, lon: float, codes: Iterable[str], table: dict[str, tuple[float, float]]
                   ) -> Optional[float]:
    """Distance from the point to the nearest known centroid among `codes` (None if none is known)."""
    best = None
    for code in codes:
        point = table.get(code)
        if point is None:
            continue
        d = haversine_km(lat, lon, point[0], point[1])
        if best is None or d < best:
            best = d
    return best
