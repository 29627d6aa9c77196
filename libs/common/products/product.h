#pragma once
// Parsed form of an NWS text product (WMO heading, AWIPS ID, segments with UGC,
// P-VTEC, H-VTEC, polygon, storm motion, threat tags, headline, emergency
// wording) and the parser that builds it from raw product text.
//
// The parser is pure: no I/O, no globals written, no exceptions escaping.
// Malformed input yields a ParsedProduct whose `issues` say what was wrong.
// Thread-safety: parseProduct() may be called concurrently from any thread;
// a ParsedProduct is a plain value (not synchronised).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace emwin::products {

// WMO abbreviated heading `TTAAii CCCC DDHHMM [BBB]`.
struct WmoHeading {
  std::string ttaaii;  // e.g. "WFUS53"
  std::string cccc;    // issuing centre, e.g. "KDMX"
  std::string ddhhmm;  // day/hour/minute UTC, e.g. "230521"
  std::string bbb;     // optional: RRx / CCx / AAx; empty when absent
};

// One P-VTEC string `/k.aaa.cccc.pp.s.####.yymmddThhnnZ-yymmddThhnnZ/`.
struct Vtec {
  std::string raw;             // the string as found, slashes included
  char product_class = 'O';    // O, T, E, X
  std::string action;          // NEW, CON, EXT, EXA, EXB, UPG, CAN, EXP, COR, ROU
  std::string office;          // 4 letters, e.g. "KDMX"
  std::string phenomenon;      // 2 letters, e.g. "TO"
  std::string significance;    // 1 letter, e.g. "W"
  std::uint32_t event_number = 0;
  std::int64_t begin_unix_s = 0;  // 0 when open (000000T0000Z)
  std::int64_t end_unix_s = 0;    // 0 when open
};

// One H-VTEC string `/nwsli.s.ic.yymmddThhnnZ.yymmddThhnnZ.yymmddThhnnZ.fr/`.
struct Hvtec {
  std::string raw;
  std::string nwsli;            // 5 characters, "00000" when not a point
  std::string severity;         // 0, N, 1, 2, 3, U
  std::string immediate_cause;  // e.g. "ER"
  std::int64_t begin_unix_s = 0;  // 0 when open
  std::int64_t crest_unix_s = 0;
  std::int64_t end_unix_s = 0;
  std::string flood_record;     // NO, NR, UU, OO
};

// A point in decimal degrees, west negative.
struct LatLon {
  double lat_deg = 0;
  double lon_deg = 0;
  bool operator==(const LatLon&) const = default;
};

// TIME...MOT...LOC line.
struct StormMotion {
  bool present = false;
  std::string hhmmz;                // as written, e.g. "2107Z"
  std::int64_t time_unix_s = 0;     // resolved against the product issue time; 0 if unknown
  std::uint32_t direction_deg = 0;  // direction the storm moves from
  std::uint32_t speed_kt = 0;
  std::vector<LatLon> locations;
};

// Impact-based warning tags (values as written, e.g. "RADAR INDICATED", "1.00IN").
struct ThreatTags {
  std::string tornado;
  std::string tornado_damage_threat;
  std::string thunderstorm_damage_threat;
  std::string flash_flood;
  std::string flash_flood_damage_threat;
  std::string hail;         // HAIL... or MAX HAIL SIZE...
  std::string hail_threat;
  std::string wind;         // WIND... or MAX WIND GUST...
  std::string wind_threat;
  std::string waterspout;   // WATERSPOUT... (or SPOUT...)
  std::string landspout;    // LANDSPOUT...
  std::string snow_squall;         // SNOW SQUALL..., e.g. "OBSERVED"
  std::string snow_squall_impact;  // SNOW SQUALL IMPACT..., e.g. "SIGNIFICANT"
  std::string expected_rainfall;   // EXPECTED RAINFALL... or EXPECTED RAINFALL RATE..., e.g. "2-3 INCHES IN 1 HOUR"
  std::string dam_failure;         // DAM FAILURE..., e.g. "IMMINENT"
  std::string levee_failure;       // LEVEE FAILURE..., e.g. "OCCURRING"
  // True when no tag was found.
  bool empty() const;
};

// Emergency wording searched for in each segment (upper-case, as reported).
inline constexpr std::string_view kTornadoEmergency = "TORNADO EMERGENCY";
inline constexpr std::string_view kFlashFloodEmergency = "FLASH FLOOD EMERGENCY";
inline constexpr std::string_view kParticularlyDangerous = "PARTICULARLY DANGEROUS SITUATION";

// One product segment (text between `$$` separators).
struct Segment {
  std::vector<std::string> ugc;      // expanded codes, e.g. "IAC015", "IAZ048"
  std::string ugc_expiry_ddhhmm;     // as written; empty when absent
  std::int64_t expires_unix_s = 0;   // resolved UGC expiry; 0 if unknown
  std::vector<Vtec> vtec;
  std::vector<Hvtec> hvtec;
  std::vector<LatLon> polygon;       // closed ring (first point repeated last) or empty
  StormMotion motion;
  ThreatTags threats;
  std::string headline;              // first `...TEXT...` block, dots stripped
  std::vector<std::string> emergency_tags;  // subset of the k* wording above, in that order
};

// A whole parsed product.
struct ParsedProduct {
  WmoHeading wmo;
  std::string awips_id;       // e.g. "TORDMX"; empty when the line is missing
  std::string product_code;   // first three characters of the AWIPS ID, e.g. "TOR"
  std::string awips_office;   // rest of the AWIPS ID, e.g. "DMX"
  std::string product_name;   // catalog name, else the reference title; empty when unknown
  std::string product_title;  // reference title (data/reference/products.csv); empty when unknown
  std::int64_t issued_unix_s = 0;  // WMO DDHHMM resolved to a full time; 0 if unknown
  // True when the product was recognised as routine (no VTEC, code in the
  // routine list): only heading, AWIPS ID and UGC were parsed.
  bool routine_fast_path = false;
  // Why the whole product is a test message, empty when it is not: "TEST
  // banner" (a line "TEST...<title>...TEST", NWS Directive 10-1701) or "test
  // product <NNN>" (RWT, RMT, DMO). A VTEC line of class T marks its own
  // event as a test (see Vtec::product_class) even without this.
  std::string test_reason;
  std::vector<Segment> segments;
  std::vector<std::string> issues;  // problems found; empty for a clean product
};

// Parses `text` (with or without SOH/ETX framing and the LDM sequence line; LF
// or CR CR LF line ends). `reference_unix_s` (e.g. the file's /FD time; 0 if
// unknown) supplies the month and year for DDHHMM fields when the product has
// no VTEC times. Never throws.
ParsedProduct parseProduct(std::string_view text, std::int64_t reference_unix_s);

// --- Building blocks, exposed for tests and tools --------------------------

// Parses one P-VTEC string (with or without the slashes). Returns false and
// sets `why` when it is malformed.
bool parseVtec(std::string_view s, Vtec& out, std::string& why);

// Expands a UGC block (continuation lines already joined, e.g.
// "IAC015-MNC001>003-150400-"). Appends codes to `codes`, sets `expiry_ddhhmm`
// when present, and appends problems to `issues`. Returns false when no code
// could be read at all.
bool parseUgc(std::string_view block, std::vector<std::string>& codes, std::string& expiry_ddhhmm,
              std::vector<std::string>& issues);

// `yymmddThhnnZ` -> Unix seconds; 0 for the open time 000000T0000Z; -1 if malformed.
std::int64_t parseVtecTime(std::string_view s);

// Resolves DDHHMM to the Unix time closest to `anchor_unix_s` (trying the
// anchor's month and its neighbours, so month and year rollover work).
// Returns 0 when malformed or when the anchor is 0.
std::int64_t resolveDdhhmm(std::string_view ddhhmm, std::int64_t anchor_unix_s);

// Unix seconds -> "YYYY-MM-DDTHH:MM:SSZ".
std::string isoUtc(std::int64_t unix_s);

}  // namespace emwin::products
