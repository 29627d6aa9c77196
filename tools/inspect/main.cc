// emwin-inspect: offline look at a raw ByteBlaster capture (still XOR-ed).
// Runs the bytes through the QBT decoder and the file assembler and prints one
// JSON object per line: segment, bad_frame, server_list, file, partial, and a
// final summary. Exit 0 on success (bad frames are data, not errors), 2 on a
// bad option or a capture that cannot be read (one line naming it).
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "assembly/assembler.h"
#include "qbt/decoder.h"
#include "qbt/encoder.h"
#include "runtime/cli.h"
#include "runtime/log.h"

namespace {

using nlohmann::json;
using namespace emwin;

std::string isoUtc(std::int64_t unix_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Wire payload length of the data frame starting at `offset`: the /DL value
// for a V2 frame, 1024 for V1. Read straight from the (XOR-ed) capture, since
// the decoded Segment does not carry it.
std::uint32_t wirePayloadLength(const std::vector<std::uint8_t>& wire, const qbt::Segment& s) {
  if (s.version == qbt::Version::kV1) return qbt::kBlockSize;
  std::size_t pos = s.stream_offset;
  while (pos < wire.size() && wire[pos] == 0xFF) ++pos;  // decoded NUL sync
  std::string header;
  for (std::size_t i = pos; i < wire.size() && i < pos + 80; ++i) header.push_back(static_cast<char>(wire[i] ^ 0xFF));
  const auto dl = header.find("/DL");
  if (dl == std::string::npos) return 0;
  std::uint32_t n = 0;
  for (std::size_t i = dl + 3; i < header.size() && header[i] >= '0' && header[i] <= '9'; ++i) n = n * 10 + (header[i] - '0');
  return n;
}

json addresses(const std::vector<qbt::ServerAddress>& list) {
  json out = json::array();
  for (const auto& a : list) out.push_back(a.host + ":" + std::to_string(a.port));
  return out;
}

class Inspector : public qbt::DecoderCallbacks, public assembly::AssemblerCallbacks {
 public:
  Inspector(const std::vector<std::uint8_t>& wire, bool assemble, std::string source)
      : wire_(wire), assemble_(assemble), source_(std::move(source)), assembler_(options(), *this) {}

  void onSegment(const qbt::Segment& s) override {
    ++segments_;
    const std::uint32_t sum = qbt::blockChecksum(s.data);
    emit({{"event", "segment"},
          {"name", s.filename},
          {"block", s.block_number},
          {"total", s.total_blocks},
          {"version", s.version == qbt::Version::kV2 ? 2 : 1},
          {"length", wirePayloadLength(wire_, s)},
          {"checksum_ok", (sum & 0xFFFF) == (s.declared_checksum & 0xFFFF)},
          {"offset", s.stream_offset}});
    if (assemble_) assembler_.add(s, source_);
  }
  void onServerList(const qbt::ServerList& list) override {
    ++server_lists_;
    emit({{"event", "server_list"},
          {"regular", addresses(list.regular)},
          {"satellite", addresses(list.satellite)},
          {"offset", list.stream_offset}});
  }
  void onBadInput(const qbt::BadInput& bad) override {
    ++bad_[std::string(qbt::reasonName(bad.reason))];
    emit({{"event", "bad_frame"},
          {"reason", qbt::reasonName(bad.reason)},
          {"offset", bad.stream_offset},
          {"bytes", bad.byte_count}});
  }
  void onFile(assembly::CompletedFile&& f) override {
    json archive = nullptr;
    if (f.origin == assembly::Origin::kArchiveEntry) {
      archive = {{"name", f.archive.archive_name}, {"sha256", f.archive.archive_sha256}, {"entry", f.archive.entry_name}};
    }
    emit({{"event", "file"},
          {"name", f.name},
          {"size", f.size()},
          {"sha256", f.sha256},
          {"raw_sha256", f.raw_sha256},
          {"blocks", f.block_count},
          {"fd", isoUtc(f.fd_unix_s)},
          {"origin", assembly::originName(f.origin)},
          {"is_archive", f.is_archive},
          {"archive", archive}});
  }
  void onEviction(const assembly::Eviction& e) override {
    ++partials_;
    emit({{"event", e.reason == assembly::EvictionReason::kEndOfInput ? "partial" : "eviction"},
          {"name", e.name},
          {"fd", isoUtc(e.fd_unix_s)},
          {"blocks_held", e.blocks_held},
          {"total", e.total_blocks},
          {"reason", assembly::evictionReasonName(e.reason)}});
  }

  void finish(const qbt::DecoderStats& ds) {
    if (assemble_) assembler_.drainPartials();
    json summary = {{"event", "summary"},
                    {"bytes", ds.bytes_in},
                    {"segments", segments_},
                    {"frames_v1", ds.frames_v1},
                    {"frames_v2", ds.frames_v2},
                    {"fill_frames", ds.fill_frames},
                    {"server_lists", server_lists_},
                    {"bad_frames", bad_},
                    {"garbage_bytes", ds.garbage_bytes}};
    if (assemble_) {
      const assembly::Stats& st = assembler_.stats();
      json archive_errors = json::object();
      for (std::size_t i = 0; i < assembly::kArchiveErrorCount; ++i) {
        if (st.archive_errors[i] != 0) archive_errors[std::string(assembly::archiveErrorName(static_cast<assembly::ArchiveError>(i)))] = st.archive_errors[i];
      }
      json rejected = json::object();
      for (std::size_t i = 0; i < assembly::kRejectReasonCount; ++i) {
        if (st.rejected_segments[i] != 0) rejected[std::string(assembly::rejectReasonName(static_cast<assembly::RejectReason>(i)))] = st.rejected_segments[i];
      }
      summary["files"] = st.files_completed;
      summary["archive_entries"] = st.archive_entries;
      summary["duplicate_blocks"] = st.duplicate_blocks;
      summary["retransmissions_suppressed"] = st.retransmissions_suppressed;
      summary["partials"] = st.evictions_end_of_input;
      summary["evictions"] = st.evictions_timeout + st.evictions_memory;
      summary["archive_errors"] = archive_errors;
      summary["rejected_segments"] = rejected;
    }
    emit(summary);
  }

 private:
  static assembly::Options options() {
    assembly::Options o;
    // Offline: a capture is replayed in well under the partial timeout, so the
    // wall clock is fine and keeps partial files open until the end.
    return o;
  }
  void emit(const json& j) { std::cout << j.dump() << '\n'; }

  const std::vector<std::uint8_t>& wire_;
  bool assemble_;
  std::string source_;
  assembly::Assembler assembler_;
  std::uint64_t segments_ = 0;
  std::uint64_t server_lists_ = 0;
  std::uint64_t partials_ = 0;
  std::map<std::string, std::uint64_t> bad_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::size_t chunk = 1 << 20;
  bool no_assembly = false;
  std::string log_level = "error";
  runtime::Cli cli("emwin-inspect", "emwin-inspect: decode and assemble a raw ByteBlaster capture, one JSON object per line");
  cli.app().add_option("capture", path, "raw wire capture (XOR-ed as received)")->required()->check(runtime::ReadableFile());
  cli.option("--chunk", chunk, "feed the decoder N bytes at a time", "")->check(runtime::UIntRange(1, std::size_t{1} << 30));
  cli.flag("--no-assembly", no_assembly, "print segments, bad frames and server lists only", "");
  cli.option("--log-level", log_level, "log level on stderr", "EMWIN_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  if (auto code = cli.parse(argc, argv)) return *code;
  runtime::setLogLevel(log_level);
  std::vector<std::uint8_t> wire;
  try {
    std::ifstream in;
    in.exceptions(std::ios::badbit);
    in.open(path, std::ios::binary);
    if (!in) return cli.fail(runtime::ConfigError("capture", "cannot read '" + path + "'"));
    wire.assign(std::istreambuf_iterator<char>(in), {});
  } catch (const std::exception& e) {
    return cli.fail(runtime::ConfigError("capture", "error reading '" + path + "': " + e.what()));
  }
  std::ios::sync_with_stdio(false);
  Inspector inspector(wire, !no_assembly, "replay:" + path);
  qbt::Decoder decoder(inspector);
  for (std::size_t pos = 0; pos < wire.size(); pos += chunk) {
    decoder.feed(std::span<const std::uint8_t>(wire).subspan(pos, std::min(chunk, wire.size() - pos)));
  }
  decoder.finish();
  inspector.finish(decoder.stats());
  std::cout.flush();
  return std::cout ? 0 : 2;
}
