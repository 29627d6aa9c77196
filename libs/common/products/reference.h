#pragma once
// Names and places of NWS codes from the reference tables in data/reference/
// (UGC counties/zones with a representative point, issuing offices, product
// titles, river forecast points). The CSV files are compiled into the program
// at build time (gen_reference_tables), so lookups need no file and work from
// any directory or container. A code that is not in a table is reported as
// unknown (nullptr / empty), never guessed.
//
// Thread-safety: immutable tables (the public structs are built once, on first
// use, under the thread-safe initialisation of a function-local static); every
// function is safe from any thread. Returned pointers and views refer to
// static storage.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace emwin::products {

// A UGC county (`SSCnnn`) or zone (`SSZnnn`) with its name and centroid.
struct UgcPlace {
  std::string_view code;  // e.g. "IAC169"
  bool county;            // true for `C` codes, false for zones
  std::string_view name;  // e.g. "Story"
  double lat_deg;         // representative point (centroid), decimal degrees
  double lon_deg;         // west negative
};

// An issuing office (WFO, RFC, national centre).
struct OfficeInfo {
  std::string_view code;   // 3 letters, e.g. "DMX"
  std::string_view name;   // e.g. "WFO Des Moines"
  std::string_view city;   // e.g. "Des Moines"
  std::string_view state;  // e.g. "IA"
};

// A product category (AWIPS NNN).
struct ProductTitle {
  std::string_view code;        // e.g. "TOR"
  std::string_view wmo_prefix;  // usual WMO TT of the product, e.g. "WF"
  std::string_view title;       // e.g. "Tornado Warning"
};

// A river forecast point (H-VTEC NWSLI).
struct RiverPoint {
  std::string_view nwsli;      // 5 characters, e.g. "SQUW1"
  std::string_view state;      // e.g. "WA"
  std::string_view stream;     // e.g. "Skagit River"
  std::string_view proximity;  // e.g. "near", "at", "below"
  std::string_view place;      // e.g. "Concrete"
  double lat_deg;
  double lon_deg;
};

// The UGC `code` ("IAC169"), or nullptr when unknown.
const UgcPlace* findUgc(std::string_view code) noexcept;

// The office with 3-letter `code` ("DMX"), or with 4-letter ICAO-style `code`
// as in WMO headings and VTEC ("KDMX", "PGUM", "PAFC", "NSTU"; San Juan's
// "TJSJ" is "SJU"), or nullptr when unknown.
const OfficeInfo* findOffice(std::string_view code) noexcept;

// The reference title of product category `code` ("TOR" -> "Tornado
// Warning"), or empty when unknown.
std::string_view productTitle(std::string_view code) noexcept;

// The river forecast point `nwsli`, or nullptr when unknown ("00000", the
// H-VTEC code for "no point", is always unknown).
const RiverPoint* findRiverPoint(std::string_view nwsli) noexcept;

// Every table, sorted by code (for tests and for building spatial indexes).
std::span<const UgcPlace> ugcPlaces() noexcept;
std::span<const OfficeInfo> offices() noexcept;
std::span<const ProductTitle> productTitles() noexcept;
std::span<const RiverPoint> riverPoints() noexcept;

namespace detail {
// The generated reference_tables.cc: rows of plain numbers whose strings are
// {offset, size} into kText (fast to compile; reference.cc turns them into the
// public structs once).
struct TextRef {
  std::uint32_t offset;
  std::uint32_t size;
};
struct UgcRow {
  TextRef code;
  TextRef name;
  double lat;
  double lon;
  bool county;
};
struct OfficeRow {
  TextRef code;
  TextRef name;
  TextRef city;
  TextRef state;
};
struct ProductRow {
  TextRef code;
  TextRef wmo_prefix;
  TextRef title;
};
struct RiverRow {
  TextRef nwsli;
  TextRef state;
  TextRef stream;
  TextRef proximity;
  TextRef place;
  double lat;
  double lon;
};
extern const char kText[];
extern const std::size_t kTextSize;
extern const UgcRow kUgcRows[];
extern const std::size_t kUgcRowCount;
extern const OfficeRow kOfficeRows[];
extern const std::size_t kOfficeRowCount;
extern const ProductRow kProductRows[];
extern const std::size_t kProductRowCount;
extern const RiverRow kRiverRows[];
extern const std::size_t kRiverRowCount;
}  // namespace detail

}  // namespace emwin::products
