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

// True for products that exist only to test the dissemination chain: RWT
// (Required Weekly Test), RMT (Required Monthly Test), DMO (Practice/Demo
// Warning).
bool isTestProduct(std::string_view code);

// How a product without VTEC is classified by its code alone.
struct ProductClass {
  std::string_view phenomenon;    // topic/phenomenon token: a VTEC code ("FF") or the product code ("EVI")
  std::string_view significance;  // "W" warning, "A" watch
};

// Products that are warnings (or watches) by their code, with or without
// VTEC: the storm-based warnings whose VTEC event is fixed by the code
// (TOR -> TO.W, SVR -> SV.W, FFW -> FF.W, SMW -> MA.W, EWW -> EW.W,
// SQW -> SQ.W, DSW -> DS.W), flood warnings (FLW -> FLW.W: river or areal
// cannot be told without VTEC), and the civil emergency messages of NWS
// Directive 10-1708 relayed for emergency managers (EVI, SPW, CDW, LEW, NUW,
// RHW, HMW, FRW, AVW, EQW, VOW, CEM, CAE, LAE, TOE -> <code>.W; AVA -> AVA.A).
// Returns nullptr for any other code.
const ProductClass* warningProductClass(std::string_view code);

// H-VTEC flood severity name: "0" -> "None (areal or flash flood product)",
// "N" -> "None", "1" -> "Minor", "2" -> "Moderate", "3" -> "Major",
// "U" -> "Unknown"; empty when the code is not one of these.
std::string_view hvtecSeverityName(std::string_view code);

// H-VTEC immediate cause name, e.g. "ER" -> "Excessive Rainfall",
// "DM" -> "Dam or Levee Failure"; empty when unknown.
std::string_view hvtecCauseName(std::string_view code);

// H-VTEC flood record status name: "NO" -> "Record flood not expected",
// "NR" -> "Near record or record flood expected", "UU" -> "No period of
// record", "OO" -> "Areal flood, flash flood or flood advisory"; empty when unknown.
std::string_view hvtecRecordName(std::string_view code);

}  // namespace emwin::products
