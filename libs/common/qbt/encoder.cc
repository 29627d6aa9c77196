// QBT encoder, /FD formatting/parsing and server-list parsing (see encoder.h).
#include "qbt/encoder.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <zlib.h>

namespace emwin::qbt {

namespace {

constexpr std::size_t kHeaderSize = 80;
constexpr std::size_t kSyncSize = 6;

bool isSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Reads 1..max_digits decimal digits at text[pos]; advances pos.
bool readNumber(std::string_view text, std::size_t& pos, int max_digits, int& value) noexcept {
  int v = 0;
  int n = 0;
  while (pos < text.size() && n < max_digits && text[pos] >= '0' && text[pos] <= '9') {
    v = v * 10 + (text[pos] - '0');
    ++pos;
    ++n;
  }
  if (n == 0) return false;
  value = v;
  return true;
}

bool expectChar(std::string_view text, std::size_t& pos, char c) noexcept {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

// Appends `field` then spaces up to `width` characters.
void appendPadded(std::string& out, std::string_view field, std::size_t width) {
  out.append(field);
  if (field.size() < width) out.append(width - field.size(), ' ');
}

// Offset at which npemwin writes "/DL<n>" into a V2 header.
constexpr std::size_t kNpemwinDlOffset = 69;

std::string buildHeader(const FrameSpec& spec, std::uint32_t checksum, std::size_t dl) {
  const std::string pn = std::to_string(spec.block_number);
  const std::string pt = std::to_string(spec.total_blocks);
  const std::string cs = std::to_string(checksum);
  std::string h;
  h.reserve(kHeaderSize);
  switch (spec.style) {
    case HeaderStyle::kSpec:
      appendPadded(h, "/PF" + spec.filename, 15);
      appendPadded(h, "/PN" + pn, 9);
      appendPadded(h, "/PT" + pt, 9);
      appendPadded(h, "/CS" + cs, 10);
      h.append("/FD").append(formatFd(spec.fd_unix_s));
      if (dl != 0) h.append(" /DL").append(std::to_string(dl));
      break;
    case HeaderStyle::kCompact:
      h.append("/PF").append(spec.filename).append("/PN").append(pn).append("/PT").append(pt);
      h.append("/CS").append(cs).append("/FD").append(formatFd(spec.fd_unix_s));
      if (dl != 0) h.append("/DL").append(std::to_string(dl));
      break;
    case HeaderStyle::kNpemwin:
      // printf("/PF%-12s/PN %-5d/PT %-5d/CS %-6d/FD%s"), then /DL at a fixed offset.
      appendPadded(h, "/PF" + spec.filename, 15);
      appendPadded(h, "/PN " + pn, 9);
      appendPadded(h, "/PT " + pt, 9);
      appendPadded(h, "/CS " + cs, 10);
      h.append("/FD").append(formatFd(spec.fd_unix_s, true));
      if (dl != 0) {
        h.resize(std::max(h.size() + 1, kNpemwinDlOffset), ' ');
        h.append("/DL").append(std::to_string(dl));
      }
      break;
  }
  // Fixed 80 bytes: overlong headers are cut (they will not parse), short ones padded.
  h.resize(kHeaderSize - 2, ' ');
  h.append("\r\n");
  return h;
}

void appendXored(std::vector<std::uint8_t>& out, const std::uint8_t* p, std::size_t n) {
  const std::size_t at = out.size();
  out.resize(at + n);
  for (std::size_t i = 0; i < n; ++i) out[at + i] = static_cast<std::uint8_t>(p[i] ^ 0xFF);
}

void appendXored(std::vector<std::uint8_t>& out, std::string_view s) {
  appendXored(out, reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

void appendNuls(std::vector<std::uint8_t>& out, std::size_t n) { out.insert(out.end(), n, 0xFF); }

void parseEntries(std::string_view part, char sep, std::vector<ServerAddress>& out,
                  std::uint32_t& skipped) {
  while (!part.empty()) {
    const auto cut = part.find(sep);
    const std::string_view entry = trim(part.substr(0, cut));
    part = cut == std::string_view::npos ? std::string_view{} : part.substr(cut + 1);
    if (entry.empty()) continue;  // "a:1||b:2" or a trailing separator: nothing to skip
    const auto colon = entry.rfind(':');
    bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < entry.size();
    unsigned port = 0;
    std::string_view host;
    if (ok) {
      host = entry.substr(0, colon);
      const std::string_view port_text = entry.substr(colon + 1);
      const auto [end, ec] =
          std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      ok = ec == std::errc{} && end == port_text.data() + port_text.size() && port >= 1 &&
           port <= 65535;
      // Host names and IP literals only: letters, digits, . - _ and [ ] : for IPv6.
      for (const char c : host) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-' && c != '_' && c != '[' && c != ']' && c != ':') ok = false;
      }
    }
    if (!ok) {
      ++skipped;
      continue;
    }
    out.push_back(ServerAddress{std::string(host), static_cast<std::uint16_t>(port)});
  }
}

// The text between `open` and `close` (or the end of text when close is missing).
bool section(std::string_view text, std::string_view open, std::string_view close,
             std::string_view& out) noexcept {
  const auto start = text.find(open);
  if (start == std::string_view::npos) return false;
  std::string_view rest = text.substr(start + open.size());
  out = rest.substr(0, rest.find(close));
  return true;
}

}  // namespace

std::uint32_t blockChecksum(std::span<const std::uint8_t> block) noexcept {
  std::uint32_t sum = 0;
  for (const std::uint8_t b : block) sum += b;
  return sum;
}

std::string_view headerStyleName(HeaderStyle style) noexcept {
  switch (style) {
    case HeaderStyle::kSpec: return "spec";
    case HeaderStyle::kCompact: return "compact";
    case HeaderStyle::kNpemwin: return "npemwin";
  }
  return "unknown";
}

bool parseHeaderStyle(std::string_view name, HeaderStyle& style) noexcept {
  for (const HeaderStyle s : {HeaderStyle::kSpec, HeaderStyle::kCompact, HeaderStyle::kNpemwin}) {
    if (name == headerStyleName(s)) {
      style = s;
      return true;
    }
  }
  return false;
}

std::string formatFd(std::int64_t unix_s, bool zero_padded) {
  using namespace std::chrono;
  const sys_seconds t{seconds{unix_s}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  const long h24 = hms.hours().count();
  const long h12 = h24 % 12 == 0 ? 12 : h24 % 12;
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf,
                              zero_padded ? "%02u/%02u/%04d %02ld:%02ld:%02ld %s" : "%u/%u/%d %ld:%02ld:%02ld %s",
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                              static_cast<int>(ymd.year()), h12,
                              static_cast<long>(hms.minutes().count()),
                              static_cast<long>(hms.seconds().count()), h24 < 12 ? "AM" : "PM");
  return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

bool parseFd(std::string_view text, std::int64_t& unix_s) noexcept {
  using namespace std::chrono;
  std::size_t pos = 0;
  int mon = 0, mday = 0, yr = 0, hr = 0, mi = 0, se = 0;
  if (!readNumber(text, pos, 2, mon) || !expectChar(text, pos, '/')) return false;
  if (!readNumber(text, pos, 2, mday) || !expectChar(text, pos, '/')) return false;
  const std::size_t year_start = pos;
  if (!readNumber(text, pos, 4, yr) || pos - year_start != 4) return false;
  if (!expectChar(text, pos, ' ')) return false;
  while (pos < text.size() && text[pos] == ' ') ++pos;
  if (!readNumber(text, pos, 2, hr) || !expectChar(text, pos, ':')) return false;
  if (!readNumber(text, pos, 2, mi) || !expectChar(text, pos, ':')) return false;
  if (!readNumber(text, pos, 2, se) || !expectChar(text, pos, ' ')) return false;
  while (pos < text.size() && text[pos] == ' ') ++pos;
  if (text.size() - pos != 2 || text[pos + 1] != 'M') return false;
  const char ap = text[pos];
  if (ap != 'A' && ap != 'P') return false;
  if (hr < 1 || hr > 12 || mi > 59 || se > 59 || yr < 1970) return false;
  const year_month_day ymd{year{yr}, month{static_cast<unsigned>(mon)},
                           day{static_cast<unsigned>(mday)}};
  if (!ymd.ok()) return false;
  const int h24 = (hr % 12) + (ap == 'P' ? 12 : 0);
  unix_s = sys_days{ymd}.time_since_epoch().count() * 86400LL + h24 * 3600LL + mi * 60LL + se;
  return true;
}

namespace {

// One zlib stream per thread and level, reset per block: compress2() would
// allocate and zero ~270 KB of deflate state for every 1 KiB block (page faults
// dominated the simulator's profile). Same output as compress2(..., level).
class BlockDeflater {
 public:
  explicit BlockDeflater(int level) { ok_ = deflateInit(&z_, level) == Z_OK; }
  ~BlockDeflater() {
    if (ok_) deflateEnd(&z_);
  }
  BlockDeflater(const BlockDeflater&) = delete;
  BlockDeflater& operator=(const BlockDeflater&) = delete;

  bool compress(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, uLongf& out_len) {
    if (!ok_ || deflateReset(&z_) != Z_OK) return false;
    z_.next_in = const_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = out.data();
    z_.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z_, Z_FINISH) != Z_STREAM_END) return false;
    out_len = static_cast<uLongf>(z_.total_out);
    return true;
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

// Deflates `in` the way `style` does: zlib level 9 (spec, compact) or zlib's
// default level 6 (npemwin calls compress()).
bool deflateBlock(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, uLongf& out_len,
                  HeaderStyle style) {
  if (style == HeaderStyle::kNpemwin) {
    thread_local BlockDeflater deflater(Z_DEFAULT_COMPRESSION);
    return deflater.compress(in, out, out_len);
  }
  thread_local BlockDeflater deflater(Z_BEST_COMPRESSION);
  return deflater.compress(in, out, out_len);
}

// Does `style` send a block whose zlib form is `packed_len` bytes as V2?
// npemwin sends V2 only when header + payload is under 60% of header + block
// (integer percent), e.g. up to 582 bytes of payload.
bool sendsCompressed(HeaderStyle style, std::size_t packed_len) noexcept {
  if (packed_len < 1 || packed_len > kBlockSize) return false;
  if (style != HeaderStyle::kNpemwin) return true;
  return 100 * (kHeaderSize + packed_len) / (kHeaderSize + kBlockSize) < 60;
}

}  // namespace

std::vector<std::uint8_t> deflateBlockV2(std::span<const std::uint8_t> block, HeaderStyle style) {
  std::array<std::uint8_t, kBlockSize> data{};
  if (!block.empty()) std::memcpy(data.data(), block.data(), std::min(block.size(), kBlockSize));
  std::array<std::uint8_t, kBlockSize + 64> packed{};
  uLongf packed_len = packed.size();
  if (!deflateBlock(data, packed, packed_len, style) || !sendsCompressed(style, packed_len)) return {};
  return {packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(packed_len)};
}

std::vector<std::uint8_t> encodeFrame(const FrameSpec& spec, std::span<const std::uint8_t> block) {
  std::array<std::uint8_t, kBlockSize> data{};
  if (!block.empty()) std::memcpy(data.data(), block.data(), std::min(block.size(), kBlockSize));
  const std::uint32_t checksum = spec.checksum_override >= 0
                                     ? static_cast<std::uint32_t>(spec.checksum_override)
                                     : blockChecksum(data);
  std::vector<std::uint8_t> out;
  out.reserve(kSyncSize * 2 + kHeaderSize + kBlockSize);
  appendNuls(out, kSyncSize);
  const bool v2_suffix = spec.suffix && spec.style != HeaderStyle::kNpemwin;
  if (spec.version == Version::kV2 && spec.v2_payload != nullptr) {
    const auto& packed = *spec.v2_payload;
    if (!packed.empty() && packed.size() <= kBlockSize) {
      appendXored(out, buildHeader(spec, checksum, packed.size()));
      appendXored(out, packed.data(), packed.size());
      if (v2_suffix) appendNuls(out, kSyncSize);
      return out;
    }
  } else if (spec.version == Version::kV2) {
    std::array<std::uint8_t, kBlockSize + 64> packed{};
    uLongf packed_len = packed.size();
    if (deflateBlock(data, packed, packed_len, spec.style) && sendsCompressed(spec.style, packed_len)) {
      appendXored(out, buildHeader(spec, checksum, packed_len));
      appendXored(out, packed.data(), packed_len);
      if (v2_suffix) appendNuls(out, kSyncSize);
      return out;
    }
  }
  appendXored(out, buildHeader(spec, checksum, 0));
  appendXored(out, data.data(), data.size());
  appendNuls(out, kSyncSize);
  return out;
}

void encodeFile(std::string_view filename, std::span<const std::uint8_t> content,
                std::int64_t fd_unix_s, Version version, std::vector<std::uint8_t>& out,
                bool v2_suffix, HeaderStyle style) {
  const std::size_t blocks = std::max<std::size_t>(1, (content.size() + kBlockSize - 1) / kBlockSize);
  FrameSpec spec;
  spec.filename = std::string(filename);
  spec.total_blocks = static_cast<std::uint32_t>(blocks);
  spec.fd_unix_s = fd_unix_s;
  spec.version = version;
  spec.suffix = version == Version::kV1 || v2_suffix;
  spec.style = style;
  for (std::size_t b = 0; b < blocks; ++b) {
    spec.block_number = static_cast<std::uint32_t>(b + 1);
    const std::size_t at = b * kBlockSize;
    const std::size_t len = at < content.size() ? std::min(kBlockSize, content.size() - at) : 0;
    const auto frame = encodeFrame(spec, content.subspan(std::min(at, content.size()), len));
    out.insert(out.end(), frame.begin(), frame.end());
  }
}

std::vector<std::uint8_t> encodeServerList(const ServerList& list) {
  std::string text = "/ServerList/";
  for (std::size_t i = 0; i < list.regular.size(); ++i) {
    if (i) text += '|';
    text += list.regular[i].host + ':' + std::to_string(list.regular[i].port);
  }
  text += "\\ServerList\\";
  if (!list.satellite.empty()) {
    text += "/SatServers/";
    for (std::size_t i = 0; i < list.satellite.size(); ++i) {
      if (i) text += '+';
      text += list.satellite[i].host + ':' + std::to_string(list.satellite[i].port);
    }
    text += "\\SatServers\\";
  }
  std::vector<std::uint8_t> out;
  appendNuls(out, kSyncSize);
  appendXored(out, text);
  appendNuls(out, 1);
  return out;
}

ServerList parseServerList(std::string_view text) {
  ServerList list;
  std::string_view part;
  if (section(text, "/ServerList/", "\\ServerList\\", part)) {
    parseEntries(part, '|', list.regular, list.skipped_entries);
  }
  if (section(text, "/SatServers/", "\\SatServers\\", part)) {
    parseEntries(part, '+', list.satellite, list.skipped_entries);
  }
  return list;
}

std::vector<std::uint8_t> encodeLogon(std::string_view email, Version version) {
  std::string text = "ByteBlast Client|NM-";
  text += trim(email);
  text += version == Version::kV2 ? "|V2" : "|V1";
  std::vector<std::uint8_t> out;
  appendXored(out, text);
  return out;
}

void xorInPlace(std::span<std::uint8_t> bytes) noexcept {
  for (auto& b : bytes) b = static_cast<std::uint8_t>(b ^ 0xFF);
}

}  // namespace emwin::qbt
