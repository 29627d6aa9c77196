// Tables of NWS product, phenomenon and significance codes.
#include "products/catalog.h"

#include <algorithm>
#include <array>
#include <utility>

namespace emwin::products {
namespace {

using Entry = std::pair<std::string_view, std::string_view>;

constexpr std::array kProducts = {
    Entry{"ADR", "Administrative Message"},
    Entry{"AFD", "Area Forecast Discussion"},
    Entry{"AFM", "Area Forecast Matrices"},
    Entry{"AWW", "Airport Weather Warning"},
    Entry{"CAE", "Child Abduction Emergency"},
    Entry{"CEM", "Civil Emergency Message"},
    Entry{"CFW", "Coastal Flood Warning/Watch/Statement"},
    Entry{"CLI", "Climatological Report (Daily)"},
    Entry{"CLM", "Climatological Report (Monthly)"},
    Entry{"CWF", "Coastal Waters Forecast"},
    Entry{"DSW", "Dust Storm Warning"},
    Entry{"EQR", "Earthquake Report"},
    Entry{"EWW", "Extreme Wind Warning"},
    Entry{"FFA", "Flood Watch"},
    Entry{"FFS", "Flash Flood Statement"},
    Entry{"FFW", "Flash Flood Warning"},
    Entry{"FLS", "Flood Statement"},
    Entry{"FLW", "Flood Warning"},
    Entry{"FRW", "Fire Warning"},
    Entry{"FTM", "Free Text Message"},
    Entry{"FWF", "Fire Weather Planning Forecast"},
    Entry{"FWW", "Fire Weather Watch/Red Flag Warning"},
    Entry{"HLS", "Hurricane Local Statement"},
    Entry{"HWO", "Hazardous Weather Outlook"},
    Entry{"LSR", "Local Storm Report"},
    Entry{"MTR", "METAR Observations"},
    Entry{"MWS", "Marine Weather Statement"},
    Entry{"MWW", "Marine Weather Message"},
    Entry{"NOW", "Short Term Forecast"},
    Entry{"NPW", "Non-Precipitation Warning"},
    Entry{"NSH", "Nearshore Marine Forecast"},
    Entry{"OPU", "Gateway Observations"},
    Entry{"PFM", "Point Forecast Matrices"},
    Entry{"PNS", "Public Information Statement"},
    Entry{"RFW", "Red Flag Warning"},
    Entry{"RTP", "Regional Max/Min Temperature and Precipitation"},
    Entry{"RVS", "Hydrologic Statement"},
    Entry{"RWR", "Regional Weather Roundup"},
    Entry{"SAH", "Hourly Surface Observations"},
    Entry{"SEL", "Severe Local Storm Watch"},
    Entry{"SFT", "Tabular State Forecast"},
    Entry{"SMW", "Special Marine Warning"},
    Entry{"SPS", "Special Weather Statement"},
    Entry{"SQW", "Snow Squall Warning"},
    Entry{"SRF", "Surf Zone Forecast"},
    Entry{"SVR", "Severe Thunderstorm Warning"},
    Entry{"SVS", "Severe Weather Statement"},
    Entry{"SWR", "State Weather Roundup"},
    Entry{"SWS", "State Weather Summary"},
    Entry{"TAF", "Terminal Aerodrome Forecast"},
    Entry{"TCV", "Tropical Cyclone VTEC"},
    Entry{"TOR", "Tornado Warning"},
    Entry{"WCN", "Watch County Notification"},
    Entry{"WOU", "Watch Outline Update"},
    Entry{"WSW", "Winter Weather Message"},
    Entry{"ZFP", "Zone Forecast Product"},
};

constexpr std::array kPhenomena = {
    Entry{"AF", "Ashfall"},
    Entry{"AS", "Air Stagnation"},
    Entry{"BH", "Beach Hazard"},
    Entry{"BS", "Blowing Snow"},
    Entry{"BW", "Brisk Wind"},
    Entry{"BZ", "Blizzard"},
    Entry{"CF", "Coastal Flood"},
    Entry{"CW", "Cold Weather"},
    Entry{"DF", "Debris Flow"},
    Entry{"DS", "Dust Storm"},
    Entry{"DU", "Blowing Dust"},
    Entry{"EC", "Extreme Cold"},
    Entry{"EH", "Excessive Heat"},
    Entry{"EW", "Extreme Wind"},
    Entry{"FA", "Areal Flood"},
    Entry{"FF", "Flash Flood"},
    Entry{"FG", "Dense Fog"},
    Entry{"FL", "Flood"},
    Entry{"FR", "Frost"},
    Entry{"FW", "Fire Weather"},
    Entry{"FZ", "Freeze"},
    Entry{"GL", "Gale"},
    Entry{"HF", "Hurricane Force Wind"},
    Entry{"HI", "Inland Hurricane"},
    Entry{"HS", "Heavy Snow"},
    Entry{"HT", "Heat"},
    Entry{"HU", "Hurricane"},
    Entry{"HW", "High Wind"},
    Entry{"HY", "Hydrologic"},
    Entry{"HZ", "Hard Freeze"},
    Entry{"IP", "Sleet"},
    Entry{"IS", "Ice Storm"},
    Entry{"LB", "Lake Effect Snow and Blowing Snow"},
    Entry{"LE", "Lake Effect Snow"},
    Entry{"LO", "Low Water"},
    Entry{"LS", "Lakeshore Flood"},
    Entry{"LW", "Lake Wind"},
    Entry{"MA", "Marine"},
    Entry{"MF", "Dense Fog"},
    Entry{"MH", "Ashfall"},
    Entry{"MS", "Dense Smoke"},
    Entry{"RB", "Small Craft for Rough Bar"},
    Entry{"RP", "Rip Current Risk"},
    Entry{"SB", "Snow and Blowing Snow"},
    Entry{"SC", "Small Craft"},
    Entry{"SE", "Hazardous Seas"},
    Entry{"SI", "Small Craft for Winds"},
    Entry{"SM", "Dense Smoke"},
    Entry{"SN", "Snow"},
    Entry{"SQ", "Snow Squall"},
    Entry{"SR", "Storm"},
    Entry{"SS", "Storm Surge"},
    Entry{"SU", "High Surf"},
    Entry{"SV", "Severe Thunderstorm"},
    Entry{"SW", "Small Craft for Hazardous Seas"},
    Entry{"TI", "Inland Tropical Storm"},
    Entry{"TO", "Tornado"},
    Entry{"TR", "Tropical Storm"},
    Entry{"TS", "Tsunami"},
    Entry{"TY", "Typhoon"},
    Entry{"UP", "Heavy Freezing Spray"},
    Entry{"WC", "Wind Chill"},
    Entry{"WI", "Wind"},
    Entry{"WS", "Winter Storm"},
    Entry{"WW", "Winter Weather"},
    Entry{"XH", "Extreme Heat"},
    Entry{"ZF", "Freezing Fog"},
    Entry{"ZR", "Freezing Rain"},
};

constexpr std::array kSignificances = {
    Entry{"A", "Watch"},     Entry{"F", "Forecast"},  Entry{"N", "Synopsis"}, Entry{"O", "Outlook"},
    Entry{"S", "Statement"}, Entry{"W", "Warning"},   Entry{"Y", "Advisory"},
};

// Event names that are not "<phenomenon> <significance>".
constexpr std::array kSpecialEvents = {
    Entry{"FA.W", "Flood Warning"},        Entry{"FA.A", "Flood Watch"},
    Entry{"FA.Y", "Flood Advisory"},       Entry{"FW.W", "Red Flag Warning"},
    Entry{"MA.S", "Marine Weather Statement"}, Entry{"MA.W", "Special Marine Warning"},
    Entry{"FL.Y", "Flood Advisory"},       Entry{"HY.S", "Hydrologic Statement"},
    Entry{"RP.S", "Rip Current Statement"}, Entry{"SC.Y", "Small Craft Advisory"},
    Entry{"SI.Y", "Small Craft Advisory for Winds"},
    Entry{"SW.Y", "Small Craft Advisory for Hazardous Seas"},
    Entry{"RB.Y", "Small Craft Advisory for Rough Bar"},
    Entry{"WI.Y", "Wind Advisory"},        Entry{"FG.Y", "Dense Fog Advisory"},
    Entry{"UP.Y", "Freezing Spray Advisory"},
};

constexpr std::array<std::string_view, 31> kAlertProducts = {
    "AWW", "CAE", "CEM", "CFW", "DSW", "EQR", "EWW", "FFA", "FFS", "FFW", "FLS", "FLW", "FRW", "FWW", "HLS", "MWS",
    "MWW", "NOW", "NPW", "RFW", "SEL", "SMW", "SPS", "SQW", "SVR", "SVS", "TCV", "TOR", "WCN", "WOU", "WSW"};

constexpr std::array<std::string_view, 22> kRoutineProducts = {
    "ADR", "AFD", "AFM", "CLI", "CLM", "CWF", "FTM", "FWF", "HWO", "LSR", "MTR",
    "NSH", "OPU", "PFM", "PNS", "RTP", "RWR", "SAH", "SFT", "SRF", "SWR", "SWS"};

constexpr std::array<std::string_view, 3> kTestProducts = {"DMO", "RMT", "RWT"};

using Class = std::pair<std::string_view, ProductClass>;
constexpr std::array kWarningProducts = {
    Class{"AVA", {"AVA", "A"}}, Class{"AVW", {"AVW", "W"}}, Class{"CAE", {"CAE", "W"}},
    Class{"CDW", {"CDW", "W"}}, Class{"CEM", {"CEM", "W"}}, Class{"DSW", {"DS", "W"}},
    Class{"EQW", {"EQW", "W"}}, Class{"EVI", {"EVI", "W"}}, Class{"EWW", {"EW", "W"}},
    Class{"FFW", {"FF", "W"}},  Class{"FLW", {"FLW", "W"}}, Class{"FRW", {"FRW", "W"}},
    Class{"HMW", {"HMW", "W"}}, Class{"LAE", {"LAE", "W"}}, Class{"LEW", {"LEW", "W"}},
    Class{"NUW", {"NUW", "W"}}, Class{"RHW", {"RHW", "W"}}, Class{"SMW", {"MA", "W"}},
    Class{"SPW", {"SPW", "W"}}, Class{"SQW", {"SQ", "W"}},  Class{"SVR", {"SV", "W"}},
    Class{"TOE", {"TOE", "W"}}, Class{"TOR", {"TO", "W"}},  Class{"VOW", {"VOW", "W"}},
};

// NWS Directive 10-1703, H-VTEC fields.
constexpr std::array kHvtecSeverities = {
    Entry{"0", "None (areal or flash flood product)"}, Entry{"1", "Minor"}, Entry{"2", "Moderate"},
    Entry{"3", "Major"}, Entry{"N", "None"}, Entry{"U", "Unknown"},
};
constexpr std::array kHvtecCauses = {
    Entry{"DM", "Dam or Levee Failure"},
    Entry{"DR", "Upstream Dam or Reservoir Release"},
    Entry{"ER", "Excessive Rainfall"},
    Entry{"ET", "Elevated Upstream Flow plus Tidal Effects"},
    Entry{"FS", "Upstream Flooding plus Storm Surge"},
    Entry{"FT", "Upstream Flooding plus Tidal Effects"},
    Entry{"GO", "Glacier-Dammed Lake Outburst"},
    Entry{"IC", "Rain and/or Snowmelt and/or Ice Jam"},
    Entry{"IJ", "Ice Jam"},
    Entry{"MC", "Other Multiple Causes"},
    Entry{"OT", "Other Effects"},
    Entry{"RS", "Rain and Snowmelt"},
    Entry{"SM", "Snowmelt"},
    Entry{"UU", "Unknown"},
    Entry{"WT", "Wind and/or Tidal Effects"},
};
constexpr std::array kHvtecRecords = {
    Entry{"NO", "Record flood not expected"},
    Entry{"NR", "Near record or record flood expected"},
    Entry{"OO", "Areal flood, flash flood or flood advisory"},
    Entry{"UU", "No period of record"},
};

template <typename Table>
std::string_view lookup(const Table& table, std::string_view key) {
  for (const auto& [k, v] : table) {
    if (k == key) return v;
  }
  return {};
}

template <typename Table>
bool contains(const Table& table, std::string_view key) {
  return std::find(table.begin(), table.end(), key) != table.end();
}

}  // namespace

std::string_view productName(std::string_view code) { return lookup(kProducts, code); }
std::string_view phenomenonName(std::string_view p) { return lookup(kPhenomena, p); }
std::string_view significanceName(std::string_view s) { return lookup(kSignificances, s); }

std::string eventName(std::string_view phenomenon, std::string_view significance) {
  std::string key;
  key.append(phenomenon).append(".").append(significance);
  if (auto special = lookup(kSpecialEvents, key); !special.empty()) return std::string(special);
  std::string_view p = phenomenonName(phenomenon);
  std::string_view s = significanceName(significance);
  std::string out(p.empty() ? phenomenon : p);
  out.append(" ").append(s.empty() ? significance : s);
  return out;
}

bool isAlertProduct(std::string_view code) { return contains(kAlertProducts, code); }
bool isRoutineProduct(std::string_view code) { return contains(kRoutineProducts, code); }
bool isTestProduct(std::string_view code) { return contains(kTestProducts, code); }

const ProductClass* warningProductClass(std::string_view code) {
  for (const auto& [k, v] : kWarningProducts) {
    if (k == code) return &v;
  }
  return nullptr;
}

std::string_view hvtecSeverityName(std::string_view code) { return lookup(kHvtecSeverities, code); }
std::string_view hvtecCauseName(std::string_view code) { return lookup(kHvtecCauses, code); }
std::string_view hvtecRecordName(std::string_view code) { return lookup(kHvtecRecords, code); }

}  // namespace emwin::products
