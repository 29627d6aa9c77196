#pragma once
// Lookup tables of NWS codes: product codes (AWIPS NNN) -> names, VTEC
// phenomenon and significance codes -> names, and the event name built from
// both ("Tornado Warning", "Red Flag Warning"). Also says which products are
// alert products and which are routine. Thread-safety: immutable tables, safe
// from any thread.

#include <string>
#include <string_view>

namespace emwin::products {

// Name of a product code, e.g. "TOR" -> "Tornado Warning"; empty when unknown.
std::string_view productName(std::string_view code);

// Name of a VTEC phenomenon, e.g. "TO" -> "Tornado"; empty when unknown.
std::string_view phenomenonName(std::string_view phenomenon);

// Name of a VTEC significance, e.g. "W" -> "Warning"; empty when unknown.
std::string_view significanceName(std::string_view significance);

// Event name, e.g. ("TO","W") -> "Tornado Warning", ("FW","W") -> "Red Flag
// Warning", ("MA","S") -> "Marine Weather Statement". Falls back to
// "<phenomenon name> <significance name>" or the codes themselves.
std::string eventName(std::string_view phenomenon, std::string_view significance);

// True for products that warn or inform about hazards (TOR, SVR, SPS, ...):
// without VTEC they are classified as statements.
bool isAlertProduct(std::string_view code);

// True for products known to be routine (forecasts, observations, tables):
// without VTEC they take the cheap parsing path.
bool isRoutineProduct(std::string_view code);

}  // namespace emwin::products
