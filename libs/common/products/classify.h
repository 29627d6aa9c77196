#pragma once
// Alert classification of a parsed NWS product, its conversion to the bus
// message emwin::bus::v1::Alert and to JSON (for emwin-classify). The rules
// are documented for users in docs/alerts.md; in short:
//
// - One Classified per P-VTEC line of each segment; a product without VTEC
//   gives one Classified for the whole product, carrying every segment's UGC.
// - Test messages (VTEC class T, a "TEST...<title>...TEST" banner, the test
//   products RWT/RMT/DMO) get tier kTest and a `test.alert.` topic: they never
//   reach a live `alert.` topic or a live tier.
// - Tier from the VTEC significance: W warning, A watch, Y advisory,
//   S statement, F/O/N (forecast, outlook, synopsis) routine.
// - Emergency wording raises a NEW/CON/EXT/EXA/EXB/UPG/COR event to the
//   emergency tier: "TORNADO EMERGENCY" for TO events, "FLASH FLOOD
//   EMERGENCY" for FF events, "PARTICULARLY DANGEROUS SITUATION" for TO, SV
//   and FF events. It is *confirmed* (emergency_confirmed) when the segment's
//   damage-threat tag says CATASTROPHIC, as NWS Directives 10-511/10-922 require
//   of a tornado or flash flood emergency. Wording the tags contradict (an IBW
//   segment whose damage threat is not CATASTROPHIC, e.g. a warning that only
//   mentions an emergency elsewhere) raises nothing unless the segment's
//   headline declares it; a segment without IBW tags (older products) is
//   judged by its wording. PDS is confirmed by any damage-threat tag, by a
//   watch, by the headline, or by the absence of IBW tags. Cancellations and
//   expirations are never raised.
// - Without VTEC: products that are warnings by their code (TOR, SVR, FFW,
//   SMW, EWW, SQW, DSW, FLW and the civil emergency messages EVI, SPW, CEM,
//   CAE, ...; see warningProductClass) are warnings (AVA a watch); other alert
//   products (SPS, SVS, FLS, ...; see isAlertProduct) are statements;
//   everything else is routine.
//
// Bus topic of an alert (built by emwin::bus::topics):
// `alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>`, or for a test message
// `test.alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>`.
// - With VTEC: phenomenon and significance codes and the VTEC office,
//   e.g. `alert.TO.W.KDMX`, `alert.FW.W.KBOI`.
// - Without VTEC: a warning product's phenomenon/significance (e.g.
//   `alert.FF.W.NSTU`, `alert.EVI.W.KHGX`, `alert.AVA.A.KSEW`); otherwise the
//   product code with `S` for statements or `R` for routine products; office =
//   the 4-letter CCCC of the WMO heading, e.g. `alert.SPS.S.KBMX`,
//   `alert.RWR.R.KTFX`. A missing product code or office becomes `UNKNOWN`.
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
  kTest = 7,  // a test message: never a live tier
};

// Lower-case tier name: "emergency", "warning", ..., "routine", "test".
std::string_view tierName(Tier tier);

// One alert (one VTEC event, or one product without VTEC).
struct Classified {
  std::size_t segment_index = 0;
  int vtec_index = -1;            // index into segments[segment_index].vtec; -1 without VTEC (whole product)
  std::string phenomenon;         // VTEC code; without VTEC see the header comment
  std::string significance;       // VTEC code; without VTEC "W", "A", "S" or "R"
  std::string phenomenon_name;    // "Tornado"; product name without VTEC
  std::string significance_name;  // "Warning"; "Statement" / "Routine" without VTEC
  std::string event_name;         // "Tornado Warning"; product name without VTEC
  std::string action;             // VTEC action; empty without VTEC
  std::string office;             // VTEC office, or the WMO CCCC without VTEC
  std::uint32_t event_number = 0;
  std::int64_t issued_unix_s = 0;
  std::int64_t begin_unix_s = 0;  // 0 when open/unknown
  std::int64_t end_unix_s = 0;
  std::int64_t expires_unix_s = 0;  // UGC expiry (without VTEC: the latest of all segments)
  Tier tier = Tier::kRoutine;
  std::vector<std::string> emergency_tags;  // wording found that applies to this event (kTornadoEmergency, ...)
  bool emergency_confirmed = false;  // TORNADO/FLASH FLOOD EMERGENCY backed by a CATASTROPHIC damage-threat tag
  bool is_pds = false;               // PARTICULARLY DANGEROUS SITUATION, not contradicted by the tags
  bool is_cancellation = false;   // action CAN
  bool is_expiration = false;     // action EXP
  bool is_test = false;           // a test message: tier kTest, test topic
  std::string test_reason;        // "VTEC class T", "TEST banner", "test product RWT"; empty when live
  std::string topic;              // bus topic, see the header comment
};

// Classifies every event of `product`. Never throws; never empty (a product
// without VTEC still yields one routine or statement entry).
std::vector<Classified> classify(const ParsedProduct& product);

// Fills `out` (all fields except header, filename and file_sha256, which the
// caller owns) from `c` and the product it came from, with names and places
// from the reference tables (products/reference.h).
void toProto(const Classified& c, const ParsedProduct& product, emwin::bus::v1::Alert& out);

// JSON object for emwin-classify: {"event":"product", ...}.
nlohmann::json productToJson(const ParsedProduct& product, std::string_view file);

// JSON object for emwin-classify: {"event":"alert", ...} (times ISO-8601 UTC).
nlohmann::json alertToJson(const Classified& c, const ParsedProduct& product, std::string_view file);

}  // namespace emwin::products
