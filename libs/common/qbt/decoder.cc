// Incremental QBT decoder (see decoder.h).
//
// The parser works on wire bytes (XOR-0xFF still applied) and XORs only what it
// reads: a decoded NUL is 0xFF on the wire. It is a deterministic function of the
// byte stream: it consumes bytes only once it can decide what they are, and
// otherwise stops ("needs more"), leaving at most one frame's worth of lookahead
// (<= kMaxServerListBytes + 1 bytes) to be kept in a small buffer. Whole frames
// inside a feed() chunk are decoded in place, without copying.
//
// Grammar. Right after a frame (and at stream start) any number of NULs may be
// skipped and a header ("/PF" or a server-list start) is accepted directly.
// Elsewhere ("hunting") a frame start needs a sync of >= 6 NULs before it. Bytes
// that are neither frames nor the NULs around them form a garbage run, reported
// when it ends, and in pieces of kGarbageReportBytes while it lasts (a server
// that sends only junk is counted as it streams, not at a sync that never comes).
// A rejected frame is reported once, with its reason, and decoding resumes right
// after its 80-byte header while hunting, so a frame that starts inside a bad body
// is not lost. The bad body itself (the bytes up to the next frame start, at most
// one body plus its suffix, kBlockSize + 6 bytes) is part of that one report and
// not reported again as garbage; junk beyond it is a garbage run of its own.
//
// Header fields are found by their markers in the fixed order PF, PN, PT, CS, FD,
// optional DL, with any spaces between fields and between a marker and its value
// (npemwin writes "/PN 1    /PT 2    /CS 72732 /FD12/02/2026 ...").
#include "qbt/decoder.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include <libdeflate.h>

#include "qbt/encoder.h"
#include "runtime/log.h"

namespace emwin::qbt {

namespace {

constexpr std::uint8_t kWireNul = 0xFF;  // decoded 0x00
constexpr std::size_t kHeaderSize = 80;
constexpr std::size_t kSyncNuls = 6;
constexpr std::uint64_t kMaxU32 = 0xFFFFFFFFull;

enum class StartKind { kNone, kNeedMore, kData, kServerList };

// Does decoded `marker` start at wire bytes p[0..n)?  -1 needs more, 0 no, 1 yes.
int matchWire(const std::uint8_t* p, std::size_t n, std::string_view marker) noexcept {
  const std::size_t k = std::min(n, marker.size());
  for (std::size_t i = 0; i < k; ++i) {
    if (static_cast<std::uint8_t>(p[i] ^ 0xFF) != static_cast<std::uint8_t>(marker[i])) return 0;
  }
  return k == marker.size() ? 1 : -1;
}

StartKind classifyStart(const std::uint8_t* p, std::size_t n) noexcept {
  const int pf = matchWire(p, n, "/PF");
  if (pf == 1) return StartKind::kData;
  const int sl = matchWire(p, n, "/ServerList/");
  if (sl == 1) return StartKind::kServerList;
  const int sat = matchWire(p, n, "/SatServers/");
  if (sat == 1) return StartKind::kServerList;
  if (pf == -1 || sl == -1 || sat == -1) return StartKind::kNeedMore;
  return StartKind::kNone;
}

struct Header {
  std::string_view name;
  std::string_view fd;
  std::uint64_t pn = 0;
  std::uint64_t pt = 0;
  std::uint64_t cs = 0;
  std::uint64_t dl = 0;
  bool has_dl = false;
};

void skipSpaces(const char* h, std::size_t& pos) noexcept {
  while (pos < kHeaderSize - 2 && h[pos] == ' ') ++pos;
}

bool marker(const char* h, std::size_t& pos, const char (&m)[4]) noexcept {
  if (pos + 3 > kHeaderSize - 2 || h[pos] != m[0] || h[pos + 1] != m[1] || h[pos + 2] != m[2]) {
    return false;
  }
  pos += 3;
  return true;
}

// Reads decimal digits. More than 10 digits is garbled unless `saturate`, which
// reads any number of them and caps the value at kSaturated (an out-of-range
// length is still a length: /DL99999999999 is refused as kBadLength, not as an
// unparsable header).
constexpr std::uint64_t kSaturated = 10'000'000'000ull;
bool number(const char* h, std::size_t& pos, std::uint64_t& v, bool saturate = false) noexcept {
  v = 0;
  std::size_t n = 0;
  while (pos < kHeaderSize - 2 && h[pos] >= '0' && h[pos] <= '9') {
    if (++n > 10 && !saturate) return false;
    v = std::min(v * 10 + static_cast<std::uint64_t>(h[pos] - '0'), kSaturated);
    ++pos;
  }
  return n > 0;
}

// Spaces after a marker, then its decimal value (see number()).
bool spacedNumber(const char* h, std::size_t& pos, std::uint64_t& v, bool saturate = false) noexcept {
  skipSpaces(h, pos);
  return number(h, pos, v, saturate);
}

// Parses the 80 decoded header bytes by field markers. Returns false if garbled.
bool parseHeaderFields(const char* h, Header& out) noexcept {
  if (h[kHeaderSize - 2] != '\r' || h[kHeaderSize - 1] != '\n') return false;
  std::size_t pos = 0;
  if (!marker(h, pos, "/PF")) return false;
  skipSpaces(h, pos);
  const std::size_t name_start = pos;
  while (pos < kHeaderSize - 2 && h[pos] != '/' && h[pos] != ' ') {
    const auto c = static_cast<unsigned char>(h[pos]);
    if (c < 0x21 || c > 0x7E) return false;
    ++pos;
  }
  if (pos == name_start) return false;
  out.name = std::string_view(h + name_start, pos - name_start);
  skipSpaces(h, pos);
  if (!marker(h, pos, "/PN") || !spacedNumber(h, pos, out.pn)) return false;
  skipSpaces(h, pos);
  if (!marker(h, pos, "/PT") || !spacedNumber(h, pos, out.pt)) return false;
  skipSpaces(h, pos);
  if (!marker(h, pos, "/CS") || !spacedNumber(h, pos, out.cs)) return false;
  skipSpaces(h, pos);
  if (!marker(h, pos, "/FD")) return false;
  skipSpaces(h, pos);
  const std::size_t fd_start = pos;
  std::size_t fd_end = 0;
  for (; pos < kHeaderSize - 2; ++pos) {  // h[pos + 1] <= h[78] is in bounds
    const char c = h[pos];
    if ((c == 'A' || c == 'P') && h[pos + 1] == 'M') {
      fd_end = pos + 2;
      break;
    }
    if (!((c >= '0' && c <= '9') || c == '/' || c == ':' || c == ' ')) return false;
  }
  if (fd_end == 0 || fd_end > kHeaderSize - 2) return false;
  out.fd = std::string_view(h + fd_start, fd_end - fd_start);
  pos = fd_end;
  skipSpaces(h, pos);
  if (pos < kHeaderSize - 2 && h[pos] == '/') {
    if (!marker(h, pos, "/DL") || !spacedNumber(h, pos, out.dl, true)) return false;
    out.has_dl = true;
    skipSpaces(h, pos);
  }
  return pos == kHeaderSize - 2;
}

constexpr std::uint64_t kLowBytes = 0x00FF00FF00FF00FFull;

// Sum of the 16-bit lanes of `acc`.
std::uint32_t foldLanes(std::uint64_t acc) noexcept {
  return static_cast<std::uint32_t>((acc & 0xFFFF) + ((acc >> 16) & 0xFFFF) +
                                    ((acc >> 32) & 0xFFFF) + (acc >> 48));
}

// dst[0..1024) = src ^ 0xFF, returning the byte sum of dst. Eight bytes at a
// time; the sum is kept in four 16-bit lanes (max 128 * 2 * 255 = 65280 each).
std::uint32_t xorCopyBlockSum(std::uint8_t* dst, const std::uint8_t* src) noexcept {
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < kBlockSize; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, src + i, 8);
    w = ~w;
    std::memcpy(dst + i, &w, 8);
    acc += (w & kLowBytes) + ((w >> 8) & kLowBytes);
  }
  return foldLanes(acc);
}

// Byte sum of a 1024-byte block (same lane scheme).
std::uint32_t blockSum(const std::uint8_t* p) noexcept {
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < kBlockSize; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc += (w & kLowBytes) + ((w >> 8) & kLowBytes);
  }
  return foldLanes(acc);
}

// dst[0..n) = src ^ 0xFF.
void xorCopy(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, src + i, 8);
    w = ~w;
    std::memcpy(dst + i, &w, 8);
  }
  for (; i < n; ++i) dst[i] = static_cast<std::uint8_t>(src[i] ^ 0xFF);
}

// Printable copy of decoded bytes for BadInput::detail.
std::string printable(const char* p, std::size_t n) {
  std::string s(p, std::min<std::size_t>(n, 78));
  for (auto& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) c = '.';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Does wire range p[0..n) hold a sync (>= 6 NULs) followed by a '/'?
bool holdsSyncAndHeader(const std::uint8_t* p, std::size_t n) noexcept {
  std::size_t run = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == kWireNul) {
      ++run;
    } else {
      if (run >= kSyncNuls && static_cast<std::uint8_t>(p[i] ^ 0xFF) == '/') return true;
      run = 0;
    }
  }
  return false;
}

}  // namespace

struct Decoder::Impl {
  explicit Impl(DecoderCallbacks& cb) : callbacks(cb), log(runtime::logger("qbt")) {
    buf.reserve(kMaxBuffered);
    segment.filename.reserve(16);
    segment.fd_text.reserve(32);
    inflater = libdeflate_alloc_decompressor();  // raw deflate; see inflateBlock()
  }
  ~Impl() {
    if (inflater != nullptr) libdeflate_free_decompressor(inflater);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Result of trying to decode a frame at a header start.
  struct FrameStep {
    bool need_more = false;
    std::size_t used = 0;   // bytes consumed from the header start
    bool hunting = false;   // state after those bytes
  };

  DecoderCallbacks& callbacks;
  std::shared_ptr<spdlog::logger> log;
  DecoderStats stats;
  std::vector<std::uint8_t> buf;  // undecided wire bytes, starting at `offset`
  std::uint64_t offset = 0;       // stream offset of the first unconsumed byte
  bool hunting = false;           // a frame start needs a >= 6 NUL sync before it
  std::uint64_t nul_run = 0;      // NULs right before the current position
  std::uint64_t nul_run_start = 0;
  bool garbage_open = false;
  std::uint64_t garbage_start = 0;
  // End of the body of the last rejected frame: garbage before it was reported
  // with that frame and starts no garbage run (one bad frame, one report).
  std::uint64_t quiet_end = 0;
  libdeflate_decompressor* inflater = nullptr;
  Segment segment;  // reused for every data frame (keeps string capacity)
  std::string last_fd;
  std::int64_t last_fd_unix = 0;
  std::array<std::uint8_t, kBlockSize> payload{};
  std::string scratch;
  BadInput bad;

  void report(BadReason reason, std::uint64_t at, std::uint64_t count, std::string detail) {
    ++stats.bad[static_cast<std::size_t>(reason)];
    if (reason == BadReason::kGarbage) stats.garbage_bytes += count;
    bad.reason = reason;
    bad.stream_offset = at;
    bad.byte_count = count;
    bad.detail = std::move(detail);
    log->debug("bad input: {} at {} ({} bytes) {}", reasonName(reason), at, count, bad.detail);
    callbacks.onBadInput(bad);
  }

  void closeGarbage(std::uint64_t end_if_no_nuls) {
    if (!garbage_open) return;
    garbage_open = false;
    const std::uint64_t end = nul_run > 0 ? nul_run_start : end_if_no_nuls;
    if (end > garbage_start) report(BadReason::kGarbage, garbage_start, end - garbage_start, {});
  }

  FrameStep dataFrame(const std::uint8_t* p, std::size_t n, std::uint64_t at, bool at_end) {
    FrameStep step;
    const std::size_t head = std::min(n, kHeaderSize);
    if (const void* nul = std::memchr(p, kWireNul, head)) {
      // A new sync cuts this header: the frame is truncated; resync at the NULs.
      const auto cut = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - p);
      decodeInto(p, cut);
      report(BadReason::kTruncated, at, cut, printable(scratch.data(), cut));
      return {false, cut, true};
    }
    if (n < kHeaderSize) {
      if (!at_end) return {true, 0, false};
      decodeInto(p, n);
      report(BadReason::kTruncated, at, n, printable(scratch.data(), n));
      return {false, n, false};
    }
    char h[kHeaderSize];
    xorCopy(reinterpret_cast<std::uint8_t*>(h), p, kHeaderSize);
    Header f;
    const auto reject = [&](BadReason reason, std::uint64_t count) {
      report(reason, at, count, printable(h, kHeaderSize));
      quiet_end = at + kHeaderSize + kBlockSize + kSyncNuls;  // its body is part of this report
      return FrameStep{false, kHeaderSize, true};
    };
    if (!parseHeaderFields(h, f)) return reject(BadReason::kBadHeader, kHeaderSize);
    if (f.fd != std::string_view(last_fd)) {
      std::int64_t t = 0;
      if (!parseFd(f.fd, t)) return reject(BadReason::kBadHeader, kHeaderSize);
      last_fd.assign(f.fd);
      last_fd_unix = t;
    }
    if (f.cs > kMaxU32) return reject(BadReason::kBadHeader, kHeaderSize);
    if (f.pn < 1 || f.pt < 1 || f.pn > f.pt || f.pt > kMaxU32) {
      return reject(BadReason::kBlockRange, kHeaderSize);
    }
    if (f.has_dl && (f.dl < 1 || f.dl > kBlockSize)) {
      return reject(BadReason::kBadLength, kHeaderSize);
    }
    const std::size_t body = f.has_dl ? static_cast<std::size_t>(f.dl) : kBlockSize;
    if (n < kHeaderSize + body) {
      if (!at_end) return {true, 0, false};
      report(BadReason::kTruncated, at, n, printable(h, kHeaderSize));
      // Rescan the partial body if a frame starts inside it.
      if (holdsSyncAndHeader(p + kHeaderSize, n - kHeaderSize)) return {false, kHeaderSize, true};
      return {false, n, false};
    }
    const std::uint8_t* b = p + kHeaderSize;
    std::uint8_t* out = segment.data.data();
    std::uint32_t sum = 0;
    if (!f.has_dl) {
      sum = xorCopyBlockSum(out, b);
    } else {
      xorCopy(payload.data(), b, body);
      if (!inflateBlock(body)) return reject(BadReason::kInflate, kHeaderSize + body);
      sum = blockSum(out);
    }
    if ((sum & 0xFFFF) != (f.cs & 0xFFFF)) {
      // A body cut short by a new frame is a truncated frame, not a corrupted one.
      const bool cut = holdsSyncAndHeader(b, body);
      return reject(cut ? BadReason::kTruncated : BadReason::kChecksum, kHeaderSize + body);
    }
    segment.filename.assign(f.name);
    segment.block_number = static_cast<std::uint32_t>(f.pn);
    segment.total_blocks = static_cast<std::uint32_t>(f.pt);
    segment.declared_checksum = static_cast<std::uint32_t>(f.cs);
    segment.fd_unix_s = last_fd_unix;
    segment.fd_text.assign(f.fd);
    segment.version = f.has_dl ? Version::kV2 : Version::kV1;
    segment.stream_offset = at;
    segment.is_fill = f.name == "FILLFILE.TXT";
    segment.payload_bytes = static_cast<std::uint32_t>(body);
    ++(f.has_dl ? stats.frames_v2 : stats.frames_v1);
    if (segment.is_fill) ++stats.fill_frames;
    callbacks.onSegment(segment);
    step.used = kHeaderSize + body;
    step.hunting = false;
    return step;
  }

  // Inflates payload[0..n), a zlib stream, into segment.data. The 2-byte zlib
  // header is checked here and the deflate data inflated raw (libdeflate:
  // whole-buffer, ~2x zlib's speed on 1 KiB blocks): the Adler-32 trailer is
  // not verified, as the block's /CS checks the same bytes. The stream must
  // inflate to exactly 1024 bytes (shorter or longer is rejected).
  bool inflateBlock(std::size_t n) {
    if (inflater == nullptr || n < 3) return false;
    const unsigned cmf = payload[0];
    const unsigned flg = payload[1];
    constexpr unsigned kDeflateMethod = 8;
    if ((cmf & 0x0F) != kDeflateMethod || (cmf >> 4) > 7 || (cmf * 256 + flg) % 31 != 0 ||
        (flg & 0x20) != 0) {
      return false;
    }
    return libdeflate_deflate_decompress(inflater, payload.data() + 2, n - 2, segment.data.data(), kBlockSize,
                                         nullptr) == LIBDEFLATE_SUCCESS;
  }

  void decodeInto(const std::uint8_t* p, std::size_t n) {
    scratch.resize(n);
    for (std::size_t i = 0; i < n; ++i) scratch[i] = static_cast<char>(p[i] ^ 0xFF);
  }

  FrameStep serverListFrame(const std::uint8_t* p, std::size_t n, std::uint64_t at, bool at_end) {
    const std::size_t limit = std::min(n, kMaxServerListBytes + 1);
    if (const void* nul = std::memchr(p, kWireNul, limit)) {
      const auto len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - p);
      decodeInto(p, len);
      ServerList list = parseServerList(scratch);
      list.stream_offset = at;
      ++stats.server_lists;
      callbacks.onServerList(list);
      return {false, len, false};
    }
    if (n > kMaxServerListBytes) {
      report(BadReason::kServerListTooLong, at, kMaxServerListBytes + 1, {});
      return {false, kMaxServerListBytes + 1, true};
    }
    if (!at_end) return {true, 0, false};
    report(BadReason::kTruncated, at, n, {});
    return {false, n, false};
  }

  // Decodes wire bytes p[0..n) starting at stream offset `offset`. Returns the
  // bytes consumed; the rest must be offered again with more bytes after them.
  std::size_t parse(const std::uint8_t* p, std::size_t n, bool at_end) {
    const std::uint64_t base = offset;
    std::size_t i = 0;
    while (i < n) {
      if (p[i] == kWireNul) {
        if (nul_run == 0) nul_run_start = base + i;
        std::size_t j = i + 1;
        while (j < n && p[j] == kWireNul) ++j;
        nul_run += j - i;
        i = j;
        continue;
      }
      if (!hunting || nul_run >= kSyncNuls) {
        const StartKind kind = classifyStart(p + i, n - i);
        if (kind == StartKind::kNeedMore) {
          if (!at_end) break;
          closeGarbage(base + i);
          report(BadReason::kTruncated, base + i, n - i, {});
          i = n;
          nul_run = 0;
          break;
        }
        if (kind != StartKind::kNone) {
          closeGarbage(base + i);  // the run ends here whatever the frame turns out to be
          quiet_end = 0;           // a rejected frame sets it again
          const FrameStep step = kind == StartKind::kData
                                     ? dataFrame(p + i, n - i, base + i, at_end)
                                     : serverListFrame(p + i, n - i, base + i, at_end);
          if (step.need_more) break;
          i += step.used;
          nul_run = 0;
          hunting = step.hunting;
          continue;
        }
      }
      // Garbage: skip to the next NUL in one go.
      if (!garbage_open) {
        garbage_open = true;
        garbage_start = std::max(base + i, quiet_end);  // a rejected frame's body is not garbage
      }
      hunting = true;
      nul_run = 0;
      const void* next = std::memchr(p + i + 1, kWireNul, n - i - 1);
      i = next ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(next) - p) : n;
      // Every byte of [garbage_start, base + i) is decided garbage (NULs inside
      // the run included): report whole pieces now.
      while (base + i >= garbage_start + kGarbageReportBytes) {
        report(BadReason::kGarbage, garbage_start, kGarbageReportBytes, {});
        garbage_start += kGarbageReportBytes;
      }
    }
    offset = base + i;
    return i;
  }

  void feed(std::span<const std::uint8_t> wire) {
    stats.bytes_in += wire.size();
    std::size_t pos = 0;
    while (pos < wire.size()) {
      if (buf.empty()) {
        pos += parse(wire.data() + pos, wire.size() - pos, false);
        buf.assign(wire.begin() + static_cast<std::ptrdiff_t>(pos), wire.end());
        pos = wire.size();
      } else {
        const std::size_t old = buf.size();
        const std::size_t take = std::min(wire.size() - pos, kMaxBuffered - old);
        buf.insert(buf.end(), wire.begin() + static_cast<std::ptrdiff_t>(pos),
                   wire.begin() + static_cast<std::ptrdiff_t>(pos + take));
        const std::size_t used = parse(buf.data(), buf.size(), false);
        if (used >= old) {
          // Everything buffered is decided; go on straight from the caller's bytes.
          pos += used - old;
          buf.clear();
        } else {
          buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(used));
          pos += take;
          if (take == 0 && used == 0) {
            // Unreachable: no decision needs more than kMaxServerListBytes + 1 bytes
            // of lookahead. Kept so that a logic error cannot hang the caller.
            report(BadReason::kGarbage, offset, buf.size(), "decoder lookahead overflow");
            offset += buf.size();
            buf.clear();
          }
        }
      }
    }
  }

  void flush() {
    parse(buf.data(), buf.size(), true);
    buf.clear();
    closeGarbage(offset);
    hunting = false;
    nul_run = 0;
    quiet_end = 0;
  }
};

Decoder::Decoder(DecoderCallbacks& callbacks) : impl_(std::make_unique<Impl>(callbacks)) {}
Decoder::~Decoder() = default;

void Decoder::feed(std::span<const std::uint8_t> wire) { impl_->feed(wire); }
void Decoder::finish() { impl_->flush(); }
void Decoder::reset() { impl_->flush(); }
const DecoderStats& Decoder::stats() const noexcept { return impl_->stats; }
std::size_t Decoder::buffered() const noexcept { return impl_->buf.size(); }

}  // namespace emwin::qbt
