#pragma once
// EventUpdate: what one alert says about one event, in the plain form that
// ActiveState consumes, and the converters that build it from a classified
// product (products::classify) or from a bus Alert message — so the
// classifier, a gateway subscribed to `alert.` and an archive replaying stored
// alerts all feed ActiveState the same thing.
//
// Thread-safety: plain values and pure functions, safe from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "products/classify.h"
#include "products/product.h"

namespace emwin::bus::v1 {
class Alert;
}

namespace emwin::alerts {

// One VTEC line of one segment (or one product without VTEC).
struct EventUpdate {
  // --- Identity ---
  std::string office;        // VTEC office ("KDMX"), or the WMO CCCC without VTEC
  std::string phenomenon;    // "TO"; without VTEC the classifier's phenomenon ("FF", "EVI", "SPS")
  std::string significance;  // "W"; without VTEC "W", "A", "S" or "R"
  std::uint32_t etn = 0;     // VTEC event tracking number; 0 without VTEC
  std::string action;        // NEW, CON, EXT, EXA, EXB, UPG, CAN, EXP, ROU, COR; empty without VTEC
  char product_class = 'O';  // VTEC class O, T, E, X
  bool is_test = false;      // a test message (never stored)

  // --- Times, Unix seconds UTC (0 = open or unknown) ---
  std::int64_t issued_unix_s = 0;   // product issue time (WMO DDHHMM resolved)
  std::int64_t begin_unix_s = 0;    // VTEC begin (0: already in effect / at issuance)
  std::int64_t end_unix_s = 0;      // VTEC end (0: until further notice)
  std::int64_t expires_unix_s = 0;  // UGC expiry of the segment (without VTEC: the latest segment's)

  // --- Where ---
  std::vector<std::string> ugc;              // the UGC codes this line applies to
  std::vector<std::int64_t> ugc_expires_unix_s;  // per code (same length as ugc), or empty: expires_unix_s for all
  std::vector<products::LatLon> polygon;     // the segment's polygon (closed ring) or empty

  // --- What (carried into query results) ---
  std::string event_name;  // "Tornado Warning"
  products::Tier tier = products::Tier::kRoutine;
  std::string headline;
  std::vector<std::string> emergency_tags;
  bool emergency_confirmed = false;
  bool is_pds = false;

  // --- Source (for history and to recognise a redelivered alert) ---
  std::string awips_id;    // "TORDMX"
  std::string wmo_ddhhmm;  // "230521"
  std::string wmo_bbb;     // "CCA", or empty
  std::string filename;
  std::string file_sha256;
  std::uint32_t segment_index = 0;
  std::string vtec;        // the raw P-VTEC string; empty without VTEC

  // True when this is a VTEC line (action set).
  bool hasVtec() const { return !action.empty(); }
  // Identifies the source line: file SHA-256 (or AWIPS ID + DDHHMM + BBB when
  // unknown), segment and VTEC string. The same alert delivered twice has the same id.
  std::string sourceId() const;
};

// The updates of one classified product, one per Classified, in order.
// `filename` and `file_sha256` identify the source (may be empty).
std::vector<EventUpdate> updatesFromProduct(const products::ParsedProduct& product,
                                            const std::vector<products::Classified>& classified,
                                            const std::string& filename = {}, const std::string& file_sha256 = {});

// The update carried by one bus Alert message (fields documented in alert.proto).
EventUpdate updateFromAlert(const emwin::bus::v1::Alert& alert);

}  // namespace emwin::alerts
