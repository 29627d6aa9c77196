#pragma once
// Alert classification of a parsed NWS product, its conversion to the bus
// message emwin::bus::v1::Alert and to JSON (for emwin-classify).
//
// Rules:
// - One Classified per P-VTEC line of each segment; a product without VTEC
//   gives one Classified for the whole product (segment 0).
// - Tier from the VTEC significance: W warning, A watch, Y advisory,
//   S statement, F/O/N (forecast, outlook, synopsis) routine. Emergency wording
//   raises a NEW/CON/EXT/EXA/EXB/UPG/COR event to the emergency tier:
//   "TORNADO EMERGENCY" for TO events, "FLASH FLOOD EMERGENCY" for FF events,
//   "PARTICULARLY DANGEROUS SITUATION" for TO, SV and FF events. Cancellations
//   and expirations are never raised. (So a tornado
//   warning that mentions a nearby flash flood emergency stays a warning.)
// - Without VTEC: alert products (SPS, SVS, FLS, ...; see isAlertProduct) are
//   statements; everything else is routine.
//
// Bus topic of an alert: `alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>`.
// - With VTEC: phenomenon and significance codes and the VTEC office,
//   e.g. `alert.TO.W.KDMX`, `alert.FW.W.KBOI`.
// - Without VTEC: phenomenon = the product code (e.g. `SPS`), significance
//   `S` for statements or `R` for routine products, office = the 4-letter CCCC
//   of the WMO heading, e.g. `alert.SPS.S.KBMX`, `alert.RWR.R.KTFX`. A missing
//   product code or office becomes `UNKNOWN`.
//
// Thread-safety: pure functions, safe from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "products/product.h"

namespace emwin::bus::v1 {
class Alert;
}

namespace emwin::products {

// Priority tier, most urgent first; values match emwin.bus.v1.PriorityTier.
enum class Tier : int {
  kEmergency = 1,
  kWarning = 2,
  kWatch = 3,
  kAdvisory = 4,
  kStatement = 5,
  kRoutine = 6,
};

// Lower-case tier name: "emergency", "warning", ..., "routine".
std::string_view tierName(Tier tier);

// One alert (one VTEC event, or one product without VTEC).
struct Classified {
  std::size_t segment_index = 0;
  int vtec_index = -1;            // index into segments[segment_index].vtec; -1 without VTEC
  std::string phenomenon;         // VTEC code, or the product code without VTEC
  std::string significance;       // VTEC code, or "S" / "R" without VTEC
  std::string phenomenon_name;    // "Tornado"; product name without VTEC
  std::string significance_name;  // "Warning"; "Statement" / "Routine" without VTEC
  std::string event_name;         // "Tornado Warning"; product name without VTEC
  std::string action;             // VTEC action; empty without VTEC
  std::string office;             // VTEC office, or the WMO CCCC without VTEC
  std::uint32_t event_number = 0;
  std::int64_t issued_unix_s = 0;
  std::int64_t begin_unix_s = 0;  // 0 when open/unknown
  std::int64_t end_unix_s = 0;
  std::int64_t expires_unix_s = 0;
  Tier tier = Tier::kRoutine;
  std::vector<std::string> emergency_tags;  // only the tags that apply to this event
  bool is_cancellation = false;   // action CAN
  bool is_expiration = false;     // action EXP
  std::string topic;              // bus topic, see the header comment
};

// Classifies every event of `product`. Never throws; never empty (a product
// without VTEC still yields one routine or statement entry).
std::vector<Classified> classify(const ParsedProduct& product);

// Fills `out` (all fields except header, filename and file_sha256, which the
// caller owns) from `c` and the product it came from.
void toProto(const Classified& c, const ParsedProduct& product, emwin::bus::v1::Alert& out);

// JSON object for emwin-classify: {"event":"product", ...}.
nlohmann::json productToJson(const ParsedProduct& product, std::string_view file);

// JSON object for emwin-classify: {"event":"alert", ...} (times ISO-8601 UTC).
nlohmann::json alertToJson(const Classified& c, const ParsedProduct& product, std::string_view file);

}  // namespace emwin::products
