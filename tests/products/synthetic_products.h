#pragma once
// Small, faithful NWS products for cases the real corpus (../shared/corpus)
// does not hold. Each is written to the format of the NWS directive named in
// its comment (10-1701 text product format, 10-1703 VTEC, 10-1708 civil
// emergency messages, 10-511 / 10-922 warnings, 10-512 SPC products, 10-1710
// tsunami), with real UGC codes and offices; the hazards themselves are
// invented. Used by the products and alerts tests. Not thread-safe to modify
// (plain constants).

#include <string>

namespace emwin::products::testing {

// NWS 10-1710 tsunami warning, *test* (VTEC class T) from the National Tsunami
// Warning Center, as in issue 15: "/T.NEW.PAAQ.TS.W.0016".
inline const std::string kTestTsunamiWarning =
    "WEAK51 PAAQ 251530\n"
    "TSUAK1\n"
    "\n"
    "BULLETIN\n"
    "TEST...TSUNAMI WARNING...TEST\n"
    "NWS NATIONAL TSUNAMI WARNING CENTER PALMER AK\n"
    "730 AM AKDT WED SEP 25 2024\n"
    "\n"
    "...THIS IS ONLY A TEST...\n"
    "\n"
    "AKZ317>320-252330-\n"
    "/T.NEW.PAAQ.TS.W.0016.240925T1530Z-000000T0000Z/\n"
    "\n"
    "...THIS IS ONLY A TEST. THIS MESSAGE IS FOR TEST PURPOSES ONLY...\n"
    "\n"
    "$$\n";

// NWS 10-1708 Required Weekly Test: a test by its product code, no VTEC.
inline const std::string kRequiredWeeklyTest =
    "NZUS93 KDMX 011700\n"
    "RWTDMX\n"
    "IAC169-011800-\n"
    "\n"
    "REQUIRED WEEKLY TEST\n"
    "NATIONAL WEATHER SERVICE DES MOINES IA\n"
    "1200 PM CDT MON JUL 1 2024\n"
    "\n"
    "THIS IS A TEST OF THE EMERGENCY ALERT SYSTEM. THIS IS ONLY A TEST.\n"
    "\n"
    "$$\n";

// NWS 10-1708 civil emergency message relayed by a WFO: `code` is the product
// (EVI, SPW, CEM, ...), `title` its MND title. UGC Harris County TX, expiry 1400Z.
inline std::string civilEmergency(const std::string& code, const std::string& title) {
  return "WOUS44 KHGX 211200\n" + code +
         "HGX\n"
         "TXC201-211400-\n"
         "\n"
         "BULLETIN - EAS ACTIVATION REQUESTED\n" +
         title +
         "\n"
         "HARRIS COUNTY OFFICE OF EMERGENCY MANAGEMENT\n"
         "RELAYED BY NATIONAL WEATHER SERVICE HOUSTON/GALVESTON TX\n"
         "700 AM CDT TUE MAY 21 2024\n"
         "\n"
         "THE FOLLOWING MESSAGE IS TRANSMITTED AT THE REQUEST OF THE HARRIS\n"
         "COUNTY OFFICE OF EMERGENCY MANAGEMENT.\n"
         "\n"
         "RESIDENTS OF THE AFFECTED AREA MUST FOLLOW THE INSTRUCTIONS OF LOCAL\n"
         "OFFICIALS IMMEDIATELY.\n"
         "\n"
         "$$\n";
}

// A flash flood warning without VTEC from WFO Pago Pago (NSTU), as in issue
// 15 (American Samoa products have long been issued without VTEC).
inline const std::string kPagoPagoFlashFloodWarning =
    "WGZS61 NSTU 150200\n"
    "FFWPPG\n"
    "ASZ001>003-150500-\n"
    "\n"
    "BULLETIN - EAS ACTIVATION REQUESTED\n"
    "FLASH FLOOD WARNING\n"
    "NATIONAL WEATHER SERVICE PAGO PAGO AMERICAN SAMOA\n"
    "300 PM SST TUE JAN 14 2025\n"
    "\n"
    "THE NATIONAL WEATHER SERVICE IN PAGO PAGO HAS ISSUED A\n"
    "\n"
    "* FLASH FLOOD WARNING FOR...\n"
    "  TUTUILA...AUNUU...MANUA AND SWAINS ISLAND\n"
    "\n"
    "* UNTIL 600 PM SST.\n"
    "\n"
    "$$\n";

// NWS 10-512 SPC mesoscale discussion: polygon in 8-digit pairs; the pair
// 42970252 is 42.97N 102.52W (the longitude's leading 1 is not written).
inline const std::string kSpcMesoscaleDiscussion =
    "ACUS11 KWNS 012345\n"
    "SWOMCD\n"
    "SPC MCD 012345\n"
    "\n"
    "Mesoscale Discussion 1234\n"
    "NWS Storm Prediction Center Norman OK\n"
    "0645 PM CDT Mon Jul 01 2024\n"
    "\n"
    "Areas affected...Western Nebraska and southwest South Dakota\n"
    "\n"
    "Concerning...Severe potential...Watch likely\n"
    "\n"
    "ATTN...WFO...LBF...CYS...UNR...\n"
    "\n"
    "LAT...LON   42970252 43020109 42160056 41440114 41490249 42970252\n"
    "\n"
    "$$\n";

// NWS 10-512 SPC aviation watch notification (SAW): an unclosed 4-point
// polygon in 8-digit pairs, two of them west of 100W.
inline const std::string kSpcAviationWatch =
    "WWUS30 KWNS 012000\n"
    "SAW4\n"
    "SPC AWW 012000\n"
    "WW 512 SEVERE TSTM NE SD 012000Z - 020300Z\n"
    "AXIS..70 STATUTE MILES EAST AND WEST OF LINE..\n"
    "30NW CDR/CHADRON NE/ - 35SSE PHP/PHILIP SD/\n"
    "..AVIATION COORDS.. 60NM E/W /24W RAP - 37SSW PIR/\n"
    "HAIL SURFACE AND ALOFT..2 INCHES. WIND GUSTS..70 KNOTS.\n"
    "MAX TOPS TO 550. MEAN STORM MOTION VECTOR 30025.\n"
    "\n"
    "LAT...LON 43070364 44320171 44320013 43070208\n"
    "\n"
    "THIS IS AN APPROXIMATION TO THE WATCH AREA.\n"
    "\n"
    ";\n";

// NWS 10-517 Hazardous Weather Outlook: three segments, no VTEC; the third
// segment expires later than the others.
inline const std::string kHazardousWeatherOutlook =
    "FLUS43 KDMX 011015\n"
    "HWODMX\n"
    "\n"
    "Hazardous Weather Outlook\n"
    "National Weather Service Des Moines IA\n"
    "515 AM CDT Mon Jul 1 2024\n"
    "\n"
    "IAZ004>007-011100-\n"
    "Emmet-Kossuth-Winnebago-Worth-\n"
    "515 AM CDT Mon Jul 1 2024\n"
    "\n"
    "This Hazardous Weather Outlook is for north central Iowa.\n"
    "\n"
    ".DAY ONE...Today and Tonight.\n"
    "\n"
    "Thunderstorms are possible this afternoon.\n"
    "\n"
    "$$\n"
    "\n"
    "IAZ023-024-011100-\n"
    "Palo Alto-Kossuth-\n"
    "515 AM CDT Mon Jul 1 2024\n"
    "\n"
    ".DAY ONE...Today and Tonight.\n"
    "\n"
    "Isolated thunderstorms are possible.\n"
    "\n"
    "$$\n"
    "\n"
    "IAZ048-IAC169-011300-\n"
    "Story-\n"
    "515 AM CDT Mon Jul 1 2024\n"
    "\n"
    "...HEAT INDEX VALUES NEAR 105 THIS AFTERNOON...\n"
    "\n"
    ".DAY ONE...Today and Tonight.\n"
    "\n"
    "Heat index values near 105.\n"
    "\n"
    "$$\n";

// NWS 10-315 Marine Weather Statement whose LAT...LON and TIME...MOT...LOC
// were written on one line (seen in real MWS products).
inline const std::string kMarineStatementOneLine =
    "FZUS52 KKEY 281845\n"
    "MWSKEY\n"
    "\n"
    "Marine Weather Statement\n"
    "National Weather Service Key West FL\n"
    "245 PM EDT Sun Jul 28 2024\n"
    "\n"
    "GMZ042-043-282000-\n"
    "245 PM EDT Sun Jul 28 2024\n"
    "\n"
    "...STRONG THUNDERSTORMS OVER HAWK CHANNEL...\n"
    "\n"
    "At 244 PM EDT, a strong thunderstorm was located near Long Key,\n"
    "moving northeast at 14 knots.\n"
    "\n"
    "LAT...LON 2460 8137 2472 8120 2466 8110 2452 8127 TIME...MOT...LOC 1844Z 245DEG 12KT 2462 8128\n"
    "\n"
    "$$\n";

// NWS 10-922 flash flood warning for a dam failure: H-VTEC cause DM and the
// tags DAM FAILURE, EXPECTED RAINFALL RATE.
inline const std::string kDamFailureFlashFloodWarning =
    "WGUS54 KFWD 121830\n"
    "FFWFWD\n"
    "\n"
    "BULLETIN - EAS ACTIVATION REQUESTED\n"
    "Flash Flood Warning\n"
    "National Weather Service Fort Worth TX\n"
    "130 PM CDT Fri Apr 12 2024\n"
    "\n"
    "TXC139-122130-\n"
    "/O.NEW.KFWD.FF.W.0021.240412T1830Z-240412T2130Z/\n"
    "/00000.0.DM.000000T0000Z.000000T0000Z.000000T0000Z.OO/\n"
    "\n"
    "The National Weather Service in Fort Worth has issued a\n"
    "\n"
    "* Flash Flood Warning for...\n"
    "  Ellis County in north central Texas...\n"
    "\n"
    "* Until 430 PM CDT.\n"
    "\n"
    "* At 128 PM CDT, emergency management reported that a dam is failing.\n"
    "\n"
    "&&\n"
    "\n"
    "LAT...LON 3245 9685 3251 9670 3240 9660 3232 9678\n"
    "\n"
    "FLASH FLOOD...OBSERVED\n"
    "DAM FAILURE...OCCURRING\n"
    "EXPECTED RAINFALL RATE...1-2 INCHES IN 1 HOUR\n"
    "\n"
    "$$\n";

// NWS 10-922 flash flood warning whose tags announce an imminent levee
// failure (older "EXPECTED RAINFALL..." tag form).
inline const std::string kLeveeFailureFlashFloodWarning =
    "WGUS54 KFWD 130100\n"
    "FFWFWD\n"
    "\n"
    "BULLETIN - EAS ACTIVATION REQUESTED\n"
    "Flash Flood Warning\n"
    "National Weather Service Fort Worth TX\n"
    "800 PM CDT Fri Apr 12 2024\n"
    "\n"
    "TXC139-130400-\n"
    "/O.NEW.KFWD.FF.W.0022.240413T0100Z-240413T0400Z/\n"
    "/00000.0.DM.000000T0000Z.000000T0000Z.000000T0000Z.OO/\n"
    "\n"
    "* Flash Flood Warning for...\n"
    "  Ellis County in north central Texas...\n"
    "\n"
    "&&\n"
    "\n"
    "LAT...LON 3245 9685 3251 9670 3240 9660 3232 9678\n"
    "\n"
    "FLASH FLOOD...RADAR INDICATED\n"
    "LEVEE FAILURE...IMMINENT\n"
    "EXPECTED RAINFALL...2-3 INCHES IN 1 HOUR\n"
    "\n"
    "$$\n";

}  // namespace emwin::products::testing
