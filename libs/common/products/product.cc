// NWS text product parser: heading, AWIPS ID, segments, UGC, VTEC, polygon,
// storm motion, threat tags, headline, emergency wording.
#include "products/product.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>

#include "products/catalog.h"
#include "products/reference.h"

namespace emwin::products {
namespace {

constexpr std::size_t kMaxUgcLines = 12;
constexpr std::size_t kMaxHeadlineLines = 8;
constexpr std::size_t kMaxHeadingSearchLines = 6;
constexpr std::size_t kMaxUgcRange = 1000;
constexpr std::int64_t kMaxReferenceUnixS = 253402300799;  // 9999-12-31T23:59:59Z

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isUpperOrDigit(char c) { return isUpper(c) || isDigit(c); }

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

std::string_view trim(std::string_view s) {
  auto junk = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\x01' || c == '\x03' || c == '\0'; };
  while (!s.empty() && junk(s.front())) s.remove_prefix(1);
  while (!s.empty() && junk(s.back())) s.remove_suffix(1);
  return s;
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

int toInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Hinnant's algorithm).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

unsigned daysInMonth(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

// Lines of the product as views into the caller's text.
std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  lines.reserve(text.size() / 40 + 1);
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    // Strip CR, framing bytes and trailing blanks; keep the leading indent
    // only as far as framing bytes go.
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\x03' ||
                             line.back() == '\t' || line.back() == '\0')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == '\x01' || line.front() == '\x03' || line.front() == '\r')) {
      line.remove_prefix(1);
    }
    lines.push_back(line);
    if (nl == text.size()) break;
    pos = nl + 1;
  }
  return lines;
}

// `TTAAii CCCC DDHHMM [BBB]`
bool parseWmo(std::string_view line, WmoHeading& out) {
  line = trim(line);
  if (line.size() < 18) return false;
  for (int i = 0; i < 4; ++i) {
    if (!isUpper(line[i])) return false;
  }
  if (!isDigit(line[4]) || !isDigit(line[5]) || line[6] != ' ') return false;
  for (int i = 7; i < 11; ++i) {
    if (!isUpperOrDigit(line[i])) return false;
  }
  if (line[11] != ' ' || !allDigits(line.substr(12, 6))) return false;
  std::string_view rest = trim(line.substr(18));
  if (!rest.empty()) {
    if (rest.size() < 3 || !isUpper(rest[0]) || !isUpper(rest[1]) || !isUpperOrDigit(rest[2])) return false;
    out.bbb = std::string(rest.substr(0, 3));
  }
  out.ttaaii = std::string(line.substr(0, 6));
  out.cccc = std::string(line.substr(7, 4));
  out.ddhhmm = std::string(line.substr(12, 6));
  return true;
}

bool isAwipsId(std::string_view line) {
  line = trim(line);
  if (line.size() < 4 || line.size() > 6) return false;
  if (!isUpper(line[0]) || !isUpperOrDigit(line[1]) || !isUpperOrDigit(line[2])) return false;
  return std::all_of(line.begin(), line.end(), isUpperOrDigit);
}

// A line that opens a UGC block: `SSC###...` / `SSZ###...`, only UGC characters.
bool isUgcStart(std::string_view line) {
  if (line.size() < 7 || !isUpper(line[0]) || !isUpper(line[1]) || (line[2] != 'C' && line[2] != 'Z')) return false;
  if (line[3] != '-' && !isDigit(line[3]) && !startsWith(line.substr(3), "ALL")) return false;
  int run = 0;
  int best = 0;
  for (char c : line) {
    if (!isUpperOrDigit(c) && c != '-' && c != '>' && c != ' ') return false;
    run = isDigit(c) ? run + 1 : 0;
    best = std::max(best, run);
  }
  return best >= 3 && line.find('-') != std::string_view::npos;
}

bool endsUgc(std::string_view line) {
  line = trim(line);
  return line.size() >= 7 && line.back() == '-' && allDigits(line.substr(line.size() - 7, 6));
}

bool isNumericLine(std::string_view line) {
  line = trim(line);
  if (line.empty()) return false;
  return std::all_of(line.begin(), line.end(), [](char c) { return isDigit(c) || c == ' '; });
}

void splitTokens(std::string_view s, std::vector<std::string_view>& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
}

// Converts LAT...LON style numbers: "4123" -> 41.23, "9345" -> -93.45
// (east positive for Guam and the western Pacific, CCCC "PGUM").
LatLon toLatLon(std::string_view lat, std::string_view lon, bool east) {
  LatLon p;
  p.lat_deg = toInt(lat) / 100.0;
  double l = toInt(lon) / 100.0;
  p.lon_deg = east ? l : -l;
  return p;
}

// Longitudes of 100 degrees west and more lose their leading 1 in the
// 8-digit pairs of SPC and WPC products ("42970252" = 42.97N 102.52W): a
// longitude below this (no NWS area lies east of 40W) gets 100 added back.
constexpr int kDroppedHundredBelow = 4000;

bool parseLatLonTokens(const std::vector<std::string_view>& tokens, bool east, std::vector<LatLon>& out,
                       std::vector<std::string>& issues, std::string_view what) {
  struct Num {
    std::string_view digits;
    bool packed = false;  // second half of an 8-digit pair
  };
  std::vector<Num> nums;
  nums.reserve(tokens.size() * 2);
  // SPC/WPC products write every point as one 8-digit token; a WFO product
  // writes lat and lon apart, so a run-together token there is a fused pair.
  const bool allPacked =
      std::all_of(tokens.begin(), tokens.end(), [](std::string_view t) { return t.size() == 8 && allDigits(t); });
  for (std::string_view t : tokens) {
    if (!allDigits(t)) {
      issues.push_back(std::string(what) + ": non-numeric token '" + std::string(t.substr(0, 16)) + "'");
      return false;
    }
    if (t.size() >= 8 && t.size() <= 9) {
      if (!allPacked) issues.push_back(std::string(what) + ": run-together pair '" + std::string(t) + "' split");
      nums.push_back({t.substr(0, 4)});
      nums.push_back({t.substr(4), t.size() == 8});
    } else if (t.size() >= 3 && t.size() <= 5) {
      nums.push_back({t});
    } else {
      issues.push_back(std::string(what) + ": bad coordinate '" + std::string(t.substr(0, 16)) + "'");
      return false;
    }
  }
  if (nums.size() % 2 != 0) {
    issues.push_back(std::string(what) + ": odd number of coordinates");
    nums.pop_back();
  }
  for (std::size_t i = 0; i + 1 < nums.size(); i += 2) {
    LatLon p = toLatLon(nums[i].digits, nums[i + 1].digits, east);
    if (nums[i + 1].packed && !east && toInt(nums[i + 1].digits) < kDroppedHundredBelow) p.lon_deg -= 100.0;
    if (p.lat_deg > 90.0 || p.lon_deg < -180.0 || p.lon_deg > 180.0) {
      issues.push_back(std::string(what) + ": coordinate out of range");
      return false;
    }
    out.push_back(p);
  }
  return true;
}

bool parseTimeTriple(std::string_view s, std::int64_t& out) {
  out = parseVtecTime(s);
  return out >= 0;
}

bool parseHvtec(std::string_view s, Hvtec& out) {
  s = trim(s);
  if (s.size() < 2 || s.front() != '/' || s.back() != '/') return false;
  std::string_view body = s.substr(1, s.size() - 2);
  std::array<std::string_view, 7> f;
  std::size_t n = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t dot = body.find('.', pos);
    if (n == f.size()) return false;  // too many fields
    f[n++] = body.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (n != f.size()) return false;
  if (f[0].size() != 5 || f[1].size() != 1 || f[2].size() != 2 || f[6].size() != 2) return false;
  Hvtec h;
  h.raw = std::string(s);
  h.nwsli = std::string(f[0]);
  h.severity = std::string(f[1]);
  h.immediate_cause = std::string(f[2]);
  h.flood_record = std::string(f[6]);
  if (!parseTimeTriple(f[3], h.begin_unix_s) || !parseTimeTriple(f[4], h.crest_unix_s) ||
      !parseTimeTriple(f[5], h.end_unix_s)) {
    return false;
  }
  out = std::move(h);
  return true;
}

// Looks like a P-VTEC line (even a broken one).
bool looksLikePvtec(std::string_view line) {
  return line.size() >= 4 && line[0] == '/' && (line[1] == 'O' || line[1] == 'T' || line[1] == 'E' || line[1] == 'X') &&
         line[2] == '.' && isUpper(line[3]);
}

bool looksLikeHvtec(std::string_view line) {
  return line.size() >= 8 && line[0] == '/' && line[6] == '.' && isUpperOrDigit(line[1]);
}

bool equalsUpper(std::string_view s, std::string_view upper) {
  if (s.size() != upper.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i] >= 'a' && s[i] <= 'z' ? static_cast<char>(s[i] - 'a' + 'A') : s[i];
    if (c != upper[i]) return false;
  }
  return true;
}

// "TEST...TORNADO WARNING...TEST", "Test...Flash Flood Warning...Test".
bool isTestBanner(std::string_view line) {
  return line.size() > 14 && equalsUpper(line.substr(0, 7), "TEST...") &&
         equalsUpper(line.substr(line.size() - 7), "...TEST");
}

void setOnce(std::string& field, std::string_view value) {
  if (field.empty()) field = std::string(trim(value));
}

// Threat tag prefixes, longest first where they share a start.
bool parseThreatLine(std::string_view line, ThreatTags& t) {
  struct Tag {
    std::string_view prefix;
    std::string ThreatTags::*field;
  };
  static const std::array<Tag, 20> kTags = {{
      {"TORNADO DAMAGE THREAT...", &ThreatTags::tornado_damage_threat},
      {"TORNADO...", &ThreatTags::tornado},
      {"THUNDERSTORM DAMAGE THREAT...", &ThreatTags::thunderstorm_damage_threat},
      {"FLASH FLOOD DAMAGE THREAT...", &ThreatTags::flash_flood_damage_threat},
      {"FLASH FLOOD...", &ThreatTags::flash_flood},
      {"HAIL THREAT...", &ThreatTags::hail_threat},
      {"HAIL...", &ThreatTags::hail},
      {"MAX HAIL SIZE...", &ThreatTags::hail},
      {"WIND THREAT...", &ThreatTags::wind_threat},
      {"WIND...", &ThreatTags::wind},
      {"MAX WIND GUST...", &ThreatTags::wind},
      {"WATERSPOUT...", &ThreatTags::waterspout},
      {"SPOUT...", &ThreatTags::waterspout},
      {"LANDSPOUT...", &ThreatTags::landspout},
      {"SNOW SQUALL...", &ThreatTags::snow_squall},
      {"SNOW SQUALL IMPACT...", &ThreatTags::snow_squall_impact},
      {"EXPECTED RAINFALL...", &ThreatTags::expected_rainfall},
      {"EXPECTED RAINFALL RATE...", &ThreatTags::expected_rainfall},
      {"DAM FAILURE...", &ThreatTags::dam_failure},
      {"LEVEE FAILURE...", &ThreatTags::levee_failure},
  }};
  if (line.empty() || !isUpper(line[0])) return false;
  // Every prefix is dot-free words + "...", so a line can only start with the
  // prefix that ends at its first "...": compare just those (most lines have
  // none and are rejected by one search).
  const std::size_t dots = line.find("...");
  if (dots == std::string_view::npos) return false;
  const std::size_t prefix_size = dots + 3;
  for (const Tag& tag : kTags) {
    if (tag.prefix.size() == prefix_size && startsWith(line, tag.prefix)) {
      std::string_view value = trim(line.substr(tag.prefix.size()));
      // A tag value is short; long prose after "WIND..." is body text.
      if (value.empty() || value.size() > 32) return false;
      setOnce(t.*tag.field, value);
      return true;
    }
  }
  return false;
}

std::string upperCollapsed(const std::vector<std::string_view>& lines, std::size_t begin, std::size_t end) {
  std::size_t bound = 0;
  for (std::size_t i = begin; i < end; ++i) bound += lines[i].size() + 1;
  // Written through a pointer into a buffer sized once (no growth, no
  // per-character capacity checks), then cut to length.
  std::string out(bound, '\0');
  char* const first = out.data();
  char* o = first;
  for (std::size_t i = begin; i < end; ++i) {
    for (char c : lines[i]) {
      char u = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      if (u == '\t' || u == '\r') u = ' ';
      if (u == ' ' && (o == first || o[-1] == ' ')) continue;
      *o++ = u;
    }
    if (o != first && o[-1] != ' ') *o++ = ' ';
  }
  out.resize(static_cast<std::size_t>(o - first));
  return out;
}

std::string stripDots(std::string_view s) {
  s = trim(s);
  while (!s.empty() && s.front() == '.') s.remove_prefix(1);
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return std::string(trim(s));
}

struct SegmentRange {
  std::size_t begin;
  std::size_t end;
};

class Parser {
 public:
  Parser(std::string_view text, std::int64_t reference) : reference_(reference) {
    lines_ = splitLines(text);
    if (reference_ < 0 || reference_ > kMaxReferenceUnixS) {
      p_.issues.push_back("reference time out of range, ignored");
      reference_ = 0;
    }
  }

  ParsedProduct run() {
    std::size_t body = parseHeading();
    std::vector<SegmentRange> ranges = splitSegments(body);
    p_.routine_fast_path = !hasVtec_ && isRoutineProduct(p_.product_code);
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      p_.segments.push_back(parseSegment(ranges[i], i));
    }
    // Drop a trailing segment that is only a signature after the last $$.
    if (p_.segments.size() > 1 && sawDollars_) {
      const Segment& last = p_.segments.back();
      if (last.ugc.empty() && last.vtec.empty() && last.ugc_expiry_ddhhmm.empty()) p_.segments.pop_back();
    }
    resolveTimes();
    findTestMarker(body);
    return std::move(p_);
  }

 private:
  std::size_t parseHeading() {
    std::size_t i = 0;
    std::size_t seen = 0;
    for (; i < lines_.size() && seen < kMaxHeadingSearchLines; ++i) {
      std::string_view l = trim(lines_[i]);
      if (l.empty()) continue;
      ++seen;
      if (allDigits(l) && l.size() <= 6) continue;  // LDM sequence line
      if (parseWmo(l, p_.wmo)) break;
    }
    if (p_.wmo.ttaaii.empty()) {
      p_.issues.push_back("no WMO heading (TTAAii CCCC DDHHMM) in the first lines");
      i = 0;
    } else {
      ++i;
      // AWIPS ID: next non-empty line.
      std::size_t j = i;
      while (j < lines_.size() && trim(lines_[j]).empty()) ++j;
      if (j < lines_.size() && isAwipsId(lines_[j])) {
        std::string_view id = trim(lines_[j]);
        p_.awips_id = std::string(id);
        p_.product_code = std::string(id.substr(0, 3));
        p_.awips_office = std::string(id.substr(3));
        p_.product_title = std::string(productTitle(p_.product_code));
        const std::string_view curated = productName(p_.product_code);
        p_.product_name = curated.empty() ? p_.product_title : std::string(curated);
        i = j + 1;
      } else {
        p_.issues.push_back("no AWIPS ID line after the WMO heading");
      }
    }
    for (std::size_t k = i; k < lines_.size(); ++k) {
      if (looksLikePvtec(trim(lines_[k]))) {
        hasVtec_ = true;
        break;
      }
    }
    return i;
  }

  // A test message: a product code that only tests use, or a banner line
  // "TEST...<title>...TEST" (any case) anywhere in the body.
  void findTestMarker(std::size_t body) {
    if (isTestProduct(p_.product_code)) {
      p_.test_reason = "test product " + p_.product_code;
      return;
    }
    for (std::size_t i = body; i < lines_.size(); ++i) {
      const std::string_view line = lines_[i];
      // Cheap reject first: most lines are short or start with another letter.
      if (line.size() < 15 || (line[0] != 'T' && line[0] != 't' && line[0] != ' ')) continue;
      if (isTestBanner(trim(line))) {
        p_.test_reason = "TEST banner";
        return;
      }
    }
  }

  std::vector<SegmentRange> splitSegments(std::size_t body) {
    std::vector<SegmentRange> out;
    std::size_t start = body;
    for (std::size_t i = body; i < lines_.size(); ++i) {
      if (startsWith(trim(lines_[i]), "$$")) {
        sawDollars_ = true;
        out.push_back({start, i});
        start = i + 1;
      }
    }
    if (start < lines_.size() || out.empty()) out.push_back({start, lines_.size()});
    return out;
  }

  Segment parseSegment(SegmentRange r, std::size_t index) {
    Segment s;
    const std::string where = "segment " + std::to_string(index);
    const bool east = p_.wmo.cccc == "PGUM";
    bool ugcDone = false;
    bool headlineAfterUgc = false;
    for (std::size_t i = r.begin; i < r.end; ++i) {
      std::string_view line = trim(lines_[i]);
      if (line.empty()) continue;
      if (!ugcDone && isUgcStart(line)) {
        ugcDone = true;
        std::string block(line);
        std::size_t j = i;
        while (!endsUgc(lines_[j]) && j + 1 < r.end && j - i < kMaxUgcLines) {
          std::string_view next = trim(lines_[j + 1]);
          if (next.empty() || looksLikePvtec(next) ||
              !std::all_of(next.begin(), next.end(), [](char c) { return isUpperOrDigit(c) || c == '-' || c == '>'; })) {
            break;
          }
          ++j;
          block.append(next);
        }
        std::vector<std::string> ugcIssues;
        parseUgc(block, s.ugc, s.ugc_expiry_ddhhmm, ugcIssues);
        for (auto& issue : ugcIssues) p_.issues.push_back(where + ": " + issue);
        if (s.ugc_expiry_ddhhmm.empty()) p_.issues.push_back(where + ": UGC block without expiry");
        i = j;
        continue;
      }
      if (p_.routine_fast_path) continue;
      if (line[0] == '/') {
        if (looksLikePvtec(line)) {
          Vtec v;
          std::string why;
          if (parseVtec(line, v, why)) {
            s.vtec.push_back(std::move(v));
          } else {
            p_.issues.push_back(where + ": broken VTEC '" + std::string(line.substr(0, 64)) + "': " + why);
          }
          continue;
        }
        if (looksLikeHvtec(line)) {
          Hvtec h;
          if (parseHvtec(line, h)) {
            s.hvtec.push_back(std::move(h));
          } else {
            p_.issues.push_back(where + ": broken H-VTEC '" + std::string(line.substr(0, 64)) + "'");
          }
          continue;
        }
      }
      if (startsWith(line, "LAT...LON") || startsWith(line, "TIME...MOT...LOC")) {
        i = parseShapeLines(r, i, east, s, where);
        continue;
      }
      if (parseThreatLine(line, s.threats)) continue;
      // Headline: the first "..." block after the UGC block (or, without one,
      // the first in the segment).
      if ((s.headline.empty() || (ugcDone && !headlineAfterUgc)) && startsWith(line, "...") && line.size() > 3 &&
          line[3] != '.') {
        headlineAfterUgc = ugcDone;
        std::string h(line);
        std::size_t j = i;
        while (!(h.size() > 3 && h.ends_with("...")) && j + 1 < r.end && j - i < kMaxHeadlineLines) {
          std::string_view next = trim(lines_[j + 1]);
          if (next.empty()) break;
          ++j;
          h.push_back(' ');
          h.append(next);
        }
        s.headline = stripDots(h);
        i = j;
        continue;
      }
    }
    if (!p_.routine_fast_path) {
      std::string blob = upperCollapsed(lines_, r.begin, r.end);
      for (std::string_view tag : {kTornadoEmergency, kFlashFloodEmergency, kParticularlyDangerous}) {
        if (blob.find(tag) != std::string::npos) s.emergency_tags.emplace_back(tag);
      }
    }
    return s;
  }

  // Parses a LAT...LON or TIME...MOT...LOC line starting at line `i` and the
  // numeric lines continuing it. Either may run into the other on one line
  // (seen in MWS: "LAT...LON 2590 8027 ... TIME...MOT...LOC 1832Z ..."): the
  // text is split at the second keyword and both are kept. Returns the last
  // line consumed. The first polygon and the first motion of a segment win.
  std::size_t parseShapeLines(SegmentRange r, std::size_t i, bool east, Segment& s, const std::string& where) {
    static constexpr std::string_view kPoly = "LAT...LON";
    static constexpr std::string_view kMotion = "TIME...MOT...LOC";
    // Tokens of each part, as views into the product text (no copies).
    std::vector<std::string_view> polyTokens;
    std::vector<std::string_view> motionTokens;
    bool havePoly = false;
    bool haveMotion = false;
    std::vector<std::string_view>* current = nullptr;
    // Adds the tokens of `text` to the current part, switching parts at a keyword.
    auto take = [&](std::string_view text) {
      while (!text.empty()) {
        const std::size_t kp = text.find(kPoly);
        const std::size_t km = text.find(kMotion);
        const std::size_t k = std::min(kp, km);
        if (current != nullptr) splitTokens(text.substr(0, k), *current);
        if (k == std::string_view::npos) return;
        if (k == kp) {
          current = havePoly ? nullptr : &polyTokens;  // a second polygon in the same run is ignored
          havePoly = true;
          text.remove_prefix(k + kPoly.size());
        } else {
          current = haveMotion ? nullptr : &motionTokens;
          haveMotion = true;
          text.remove_prefix(k + kMotion.size());
        }
      }
    };
    // Lines that continue the run: numbers only, or numbers running into the other keyword.
    auto continues = [&](std::string_view next) {
      if (isNumericLine(next)) return true;
      const std::size_t k = std::min(next.find(kPoly), next.find(kMotion));
      return k != std::string_view::npos && k > 0 && isNumericLine(next.substr(0, k));
    };
    take(trim(lines_[i]));
    const bool fusedFirst = havePoly && haveMotion;
    std::size_t j = i;
    while (j + 1 < r.end && continues(trim(lines_[j + 1]))) {
      ++j;
      take(trim(lines_[j]));
    }
    if (havePoly && haveMotion && (fusedFirst || j > i)) {
      p_.issues.push_back(where + ": LAT...LON and TIME...MOT...LOC run together, split");
    }
    if (havePoly && s.polygon.empty()) {
      std::vector<LatLon> poly;
      if (parseLatLonTokens(polyTokens, east, poly, p_.issues, where + " polygon")) {
        if (poly.size() < 3) {
          p_.issues.push_back(where + " polygon: fewer than 3 points");
        } else {
          if (poly.front().lat_deg != poly.back().lat_deg || poly.front().lon_deg != poly.back().lon_deg) {
            poly.push_back(poly.front());
          }
          s.polygon = std::move(poly);
        }
      }
    }
    if (haveMotion && !s.motion.present) parseMotion(motionTokens, east, s.motion, where);
    return j;
  }

  void parseMotion(const std::vector<std::string_view>& t, bool east, StormMotion& m, const std::string& where) {
    auto bad = [&] { p_.issues.push_back(where + ": malformed TIME...MOT...LOC"); };
    if (t.size() < 3 || t[0].size() != 5 || t[0][4] != 'Z' || !allDigits(t[0].substr(0, 4)) ||
        !t[1].ends_with("DEG") || !allDigits(t[1].substr(0, t[1].size() - 3)) || !t[2].ends_with("KT") ||
        !allDigits(t[2].substr(0, t[2].size() - 2)) || t[1].size() > 6 || t[2].size() > 6) {
      bad();
      return;
    }
    StormMotion out;
    out.present = true;
    out.hhmmz = std::string(t[0]);
    out.direction_deg = static_cast<std::uint32_t>(toInt(t[1].substr(0, t[1].size() - 3)));
    out.speed_kt = static_cast<std::uint32_t>(toInt(t[2].substr(0, t[2].size() - 2)));
    std::vector<std::string_view> pts(t.begin() + 3, t.end());
    if (!parseLatLonTokens(pts, east, out.locations, p_.issues, where + " storm location")) out.locations.clear();
    m = std::move(out);
  }

  void resolveTimes() {
    std::int64_t anchor = 0;
    for (const Segment& s : p_.segments) {
      for (const Vtec& v : s.vtec) {
        if (anchor == 0 && v.begin_unix_s > 0) anchor = v.begin_unix_s;
      }
    }
    if (anchor == 0) {
      for (const Segment& s : p_.segments) {
        for (const Vtec& v : s.vtec) {
          if (anchor == 0 && v.end_unix_s > 0) anchor = v.end_unix_s;
        }
      }
    }
    if (anchor == 0) anchor = reference_;
    if (!p_.wmo.ddhhmm.empty()) {
      p_.issued_unix_s = resolveDdhhmm(p_.wmo.ddhhmm, anchor);
      if (p_.issued_unix_s == 0) {
        p_.issues.push_back(anchor == 0 ? "no reference time to resolve WMO DDHHMM"
                                        : "WMO DDHHMM '" + p_.wmo.ddhhmm + "' is not a valid time");
      }
    }
    const std::int64_t base = p_.issued_unix_s != 0 ? p_.issued_unix_s : anchor;
    for (std::size_t i = 0; i < p_.segments.size(); ++i) {
      Segment& s = p_.segments[i];
      if (!s.ugc_expiry_ddhhmm.empty()) {
        s.expires_unix_s = resolveDdhhmm(s.ugc_expiry_ddhhmm, base);
        if (s.expires_unix_s == 0) {
          p_.issues.push_back("segment " + std::to_string(i) + ": cannot resolve UGC expiry '" +
                              s.ugc_expiry_ddhhmm + "'");
        }
      }
      if (s.motion.present && base != 0) {
        // HHMMZ on the issue day, or the day before when it is later than the issue.
        const std::int64_t day = base - base % 86400;
        std::int64_t t = day + toInt(s.motion.hhmmz.substr(0, 2)) * 3600 + toInt(s.motion.hhmmz.substr(2, 2)) * 60;
        if (t > base + 6 * 3600) t -= 86400;
        s.motion.time_unix_s = t;
      }
    }
  }

  std::vector<std::string_view> lines_;
  std::int64_t reference_;
  ParsedProduct p_;
  bool hasVtec_ = false;
  bool sawDollars_ = false;
};

}  // namespace

bool ThreatTags::empty() const {
  return tornado.empty() && tornado_damage_threat.empty() && thunderstorm_damage_threat.empty() &&
         flash_flood.empty() && flash_flood_damage_threat.empty() && hail.empty() && hail_threat.empty() &&
         wind.empty() && wind_threat.empty() && waterspout.empty() && landspout.empty() && snow_squall.empty() &&
         snow_squall_impact.empty() && expected_rainfall.empty() && dam_failure.empty() && levee_failure.empty();
}

std::int64_t parseVtecTime(std::string_view s) {
  if (s.size() != 12 || s[6] != 'T' || s[11] != 'Z' || !allDigits(s.substr(0, 6)) || !allDigits(s.substr(7, 4))) {
    return -1;
  }
  if (s == "000000T0000Z") return 0;
  const int yy = toInt(s.substr(0, 2));
  const int mm = toInt(s.substr(2, 2));
  const int dd = toInt(s.substr(4, 2));
  const int hh = toInt(s.substr(7, 2));
  const int mi = toInt(s.substr(9, 2));
  const int year = yy >= 70 ? 1900 + yy : 2000 + yy;
  if (mm < 1 || mm > 12 || dd < 1 || dd > static_cast<int>(daysInMonth(year, mm)) || hh > 23 || mi > 59) return -1;
  return daysFromCivil(year, mm, dd) * 86400 + hh * 3600 + mi * 60;
}

bool parseVtec(std::string_view s, Vtec& out, std::string& why) {
  s = trim(s);
  if (!s.empty() && s.front() == '/') s.remove_prefix(1);
  if (!s.empty() && s.back() == '/') s.remove_suffix(1);
  // k.aaa.cccc.pp.s.####.yymmddThhnnZ-yymmddThhnnZ
  if (s.size() != 46) {
    why = "length " + std::to_string(s.size()) + ", expected 46";
    return false;
  }
  if (s[1] != '.' || s[5] != '.' || s[10] != '.' || s[13] != '.' || s[15] != '.' || s[20] != '.' || s[33] != '-') {
    why = "separators out of place";
    return false;
  }
  const char k = s[0];
  if (k != 'O' && k != 'T' && k != 'E' && k != 'X') {
    why = "unknown product class";
    return false;
  }
  static constexpr std::array<std::string_view, 10> kActions = {"NEW", "CON", "EXT", "EXA", "EXB",
                                                                "UPG", "CAN", "EXP", "COR", "ROU"};
  std::string_view action = s.substr(2, 3);
  if (std::find(kActions.begin(), kActions.end(), action) == kActions.end()) {
    why = "unknown action '" + std::string(action) + "'";
    return false;
  }
  std::string_view office = s.substr(6, 4);
  std::string_view phen = s.substr(11, 2);
  std::string_view sig = s.substr(14, 1);
  std::string_view etn = s.substr(16, 4);
  if (!std::all_of(office.begin(), office.end(), isUpper) || !std::all_of(phen.begin(), phen.end(), isUpper) ||
      !isUpper(sig[0]) || !allDigits(etn)) {
    why = "bad office, phenomenon, significance or event number";
    return false;
  }
  const std::int64_t begin = parseVtecTime(s.substr(21, 12));
  const std::int64_t end = parseVtecTime(s.substr(34, 12));
  if (begin < 0 || end < 0) {
    why = "bad begin or end time";
    return false;
  }
  out.raw = "/" + std::string(s) + "/";
  out.product_class = k;
  out.action = std::string(action);
  out.office = std::string(office);
  out.phenomenon = std::string(phen);
  out.significance = std::string(sig);
  out.event_number = static_cast<std::uint32_t>(toInt(etn));
  out.begin_unix_s = begin;
  out.end_unix_s = end;
  return true;
}

bool parseUgc(std::string_view block, std::vector<std::string>& codes, std::string& expiry_ddhhmm,
              std::vector<std::string>& issues) {
  std::string prefix;  // e.g. "IAC"
  const std::size_t before = codes.size();
  std::vector<std::string_view> tokens;
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t dash = block.find('-', pos);
    if (dash == std::string_view::npos) dash = block.size();
    std::string_view tok = trim(block.substr(pos, dash - pos));
    if (!tok.empty()) tokens.push_back(tok);
    pos = dash + 1;
  }
  auto emit = [&](int n) {  // n is 0..999 (three digits, or a range of them)
    std::string& code = codes.emplace_back(prefix);
    code.push_back(static_cast<char>('0' + n / 100 % 10));
    code.push_back(static_cast<char>('0' + n / 10 % 10));
    code.push_back(static_cast<char>('0' + n % 10));
  };
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string_view tok = tokens[i];
    if (tok.size() == 6 && allDigits(tok) && i + 1 == tokens.size()) {
      expiry_ddhhmm = std::string(tok);
      break;
    }
    if (tok.size() >= 3 && isUpper(tok[0]) && isUpper(tok[1]) && (tok[2] == 'C' || tok[2] == 'Z')) {
      prefix = std::string(tok.substr(0, 3));
      tok.remove_prefix(3);
      if (tok.empty()) {
        issues.push_back("UGC: state/type '" + prefix + "' without a number");
        continue;
      }
    }
    if (prefix.empty()) {
      issues.push_back("UGC: number '" + std::string(tok.substr(0, 16)) + "' before any state/type");
      continue;
    }
    if (tok == "ALL") {
      codes.push_back(prefix + "ALL");
      continue;
    }
    std::size_t gt = tok.find('>');
    if (gt == std::string_view::npos) {
      if (tok.size() == 3 && allDigits(tok)) {
        emit(toInt(tok));
      } else {
        issues.push_back("UGC: bad token '" + std::string(tok.substr(0, 16)) + "'");
      }
      continue;
    }
    std::string_view lo = tok.substr(0, gt);
    std::string_view hi = tok.substr(gt + 1);
    if (hi.size() == 6 && isUpper(hi[0])) hi.remove_prefix(3);  // 015>IAC019
    if (lo.size() != 3 || hi.size() != 3 || !allDigits(lo) || !allDigits(hi) || toInt(lo) > toInt(hi) ||
        static_cast<std::size_t>(toInt(hi) - toInt(lo)) >= kMaxUgcRange) {
      issues.push_back("UGC: bad range '" + std::string(tok.substr(0, 16)) + "'");
      continue;
    }
    for (int n = toInt(lo); n <= toInt(hi); ++n) emit(n);
  }
  return codes.size() > before;
}

std::int64_t resolveDdhhmm(std::string_view ddhhmm, std::int64_t anchor) {
  if (anchor == 0 || ddhhmm.size() != 6 || !allDigits(ddhhmm)) return 0;
  const int dd = toInt(ddhhmm.substr(0, 2));
  const int hh = toInt(ddhhmm.substr(2, 2));
  const int mi = toInt(ddhhmm.substr(4, 2));
  if (dd < 1 || dd > 31 || hh > 23 || mi > 59) return 0;
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civilFromDays(anchor >= 0 ? anchor / 86400 : (anchor - 86399) / 86400, y, m, d);
  std::int64_t best = 0;
  std::int64_t bestDistance = -1;
  for (int delta = -1; delta <= 1; ++delta) {
    std::int64_t cy = y;
    int cm = static_cast<int>(m) + delta;
    if (cm == 0) {
      cm = 12;
      --cy;
    } else if (cm == 13) {
      cm = 1;
      ++cy;
    }
    if (dd > static_cast<int>(daysInMonth(cy, static_cast<unsigned>(cm)))) continue;
    const std::int64_t t = daysFromCivil(cy, static_cast<unsigned>(cm), static_cast<unsigned>(dd)) * 86400 +
                           hh * 3600 + mi * 60;
    const std::int64_t dist = t > anchor ? t - anchor : anchor - t;
    if (bestDistance < 0 || dist < bestDistance) {
      best = t;
      bestDistance = dist;
    }
  }
  return best;
}

std::string isoUtc(std::int64_t unix_s) {
  const std::int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
  const std::int64_t secs = unix_s - days * 86400;
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civilFromDays(days, y, m, d);
  if (y < 0 || y > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m, d,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
    return buf;
  }
  // Formatted by hand: JSON output calls this for every time of every alert.
  std::string out = "0000-00-00T00:00:00Z";
  auto put = [&](std::size_t at, unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) {
      out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
    }
  };
  put(0, static_cast<unsigned>(y), 4);
  put(5, m, 2);
  put(8, d, 2);
  put(11, static_cast<unsigned>(secs / 3600), 2);
  put(14, static_cast<unsigned>(secs / 60 % 60), 2);
  put(17, static_cast<unsigned>(secs % 60), 2);
  return out;
}

ParsedProduct parseProduct(std::string_view text, std::int64_t reference_unix_s) {
  try {
    return Parser(text, reference_unix_s).run();
  } catch (const std::exception& e) {
    ParsedProduct p;
    p.issues.push_back(std::string("internal parser error: ") + e.what());
    return p;
  } catch (...) {
    ParsedProduct p;
    p.issues.push_back("internal parser error");
    return p;
  }
}

}  // namespace emwin::products
