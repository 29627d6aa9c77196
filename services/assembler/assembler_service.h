#pragma once
// AssemblerService: the emwin-assembler handlers on the service runtime.
// Takes Segment messages from one or several ingest pipelines (group
// "assembler"; several = redundant ingest, one receiver per upstream server),
// feeds them to emwin::assembly::Assembler, which merges the inputs, and
// publishes every completed file on `file.<EXT>.<FILENAME>` (tap + pipeline).
//
// Acknowledgement: a segment is acknowledged to the ingest it came from only
// when nothing can lose it any more -- at once when the assembler does not
// keep it (duplicate, including another input's equal copy, FILLFILE,
// rejected, conflicting, suppressed retransmission), when its partial file is
// given up (counted), or when every downstream consumer group has
// acknowledged the file it completed (settled). A crash anywhere downstream of
// ingest therefore loses no product: what was not acknowledged comes back.
// Each held token is kept with the index of its input: a token is only ever
// acknowledged on the pipeline it came from.
//
// Thread-safety: the runtime's thread only.

#include <chrono>
#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "assembly/assembler.h"
#include "bus/message.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "runtime/cli.h"
#include "service/runtime.h"

namespace emwin::services {

// Options of emwin-assembler (flags; env EMWIN_<FLAG>).
struct AssemblerOptions {
  // Ingest pipelines, each "[NAME=]ENDPOINT" (repeatable; EMWIN_CONNECT takes a
  // comma-separated list). Several are merged (redundant ingest); NAME labels
  // the per-source counters ([A-Za-z0-9_-], default: the endpoint's host:port).
  std::vector<std::string> connect = {"tcp://127.0.0.1:5611"};
  service::ProducerOptions producer = service::ProducerOptions::at("tcp://*:5602", "tcp://*:5612");  // tap, pipeline, hwm, retention
  std::string group = "assembler";               // our consumer group at ingest
  std::string state_dir = "./var/assembler";     // replay position and known downstream groups
  // Segments in flight to us. Stored and not yet settled segments stay
  // unacknowledged, so this also bounds partial-file memory (cap = credit - 64
  // blocks, ~2 MB by default: several times the largest product on the feed;
  // at least 64, and a warning below 464, where the largest images no longer fit).
  std::uint32_t credit = 2048;
  // Take no segments until this many downstream replicas joined (first start
  // of a fresh installation; afterwards the state dir remembers the groups).
  std::size_t wait_consumers = 0;
  long partial_timeout_s = 600;                  // give up a partial file idle this long
  std::size_t max_partial_mb = 256;              // memory cap of partial files (lowered to fit credit)
  long dedupe_window_s = 900;                    // suppress identical retransmissions within this window
  long source_window_s = 60;                     // per-source counters settle this long after a file is delivered
};

// Adds the assembler's own options to `cli`.
void addAssemblerOptions(runtime::Cli& cli, AssemblerOptions& options);

// One ingest pipeline the assembler takes segments from.
struct AssemblerSource {
  std::string name;      // label of its counters (source_*.<name>)
  std::string endpoint;  // its pipeline endpoint
};

// Parses the --connect values. Throws runtime::ConfigError("--connect", ...)
// on a bad name or endpoint, a name or endpoint given twice, none, or more
// than assembly::kMaxSources.
std::vector<AssemblerSource> parseAssemblerSources(const std::vector<std::string>& connect);

class AssemblerService : public service::Service, public assembly::AssemblerCallbacks {
 public:
  explicit AssemblerService(AssemblerOptions options);
  ~AssemblerService() override;

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;
  void stop(service::Runtime& runtime) override;

  // Connectable endpoints once started (tests).
  std::string tapEndpoint() const;
  std::string pipelineEndpoint() const;

 private:
  // Identity of one transmission, as the assembler keys it.
  using FileKey = std::tuple<std::string, std::int64_t, std::uint32_t>;
  // A held segment: its token and the input to acknowledge it on.
  struct HeldToken {
    assembly::SourceIndex source = 0;
    bus::AckToken token;
  };
  // Segments of a completed file, acknowledged when all its messages settled.
  struct Completion {
    std::vector<HeldToken> tokens;
    std::uint32_t unsettled = 0;
  };
  // One input (ingest pipeline) and what it delivered.
  struct Source {
    AssemblerSource config;
    bus::PipelineSubscriber* input = nullptr;
    std::uint64_t segments = 0;                   // every message from it, FILLFILE included
    std::chrono::steady_clock::time_point last{};  // last message (or start)
    std::string producer;                         // producer_id of the ingest last heard
  };

  void onSegment(assembly::SourceIndex source, bus::Received&& message);
  void onSettled(std::uint64_t sequence);
  void onFile(assembly::CompletedFile&& file) override;
  void onEviction(const assembly::Eviction& eviction) override;
  // Moves the held tokens of `key` from the inputs in `sources` to `out`.
  void take(const FileKey& key, assembly::SourceMask sources, std::vector<HeldToken>& out);
  // Acknowledges each token on its own input.
  void release(std::vector<HeldToken>& tokens);

  AssemblerOptions options_;
  service::Runtime* runtime_ = nullptr;
  bus::Publisher* publisher_ = nullptr;
  std::vector<Source> sources_;  // by assembly::SourceIndex
  std::unique_ptr<assembly::Assembler> assembler_;
  emwin::bus::v1::Segment segment_msg_;
  qbt::Segment segment_;
  emwin::bus::v1::CompletedFile file_msg_;
  std::map<FileKey, std::vector<HeldToken>> held_;  // segments of open partial files
  std::size_t held_count_ = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<Completion>> awaiting_;  // file message -> its completion
  std::size_t awaiting_segments_ = 0;
  std::vector<std::uint64_t> published_now_;  // file messages published inside the current add()
  bool waiting_for_consumers_ = false;
  std::uint64_t bad_messages_ = 0;
  std::array<std::uint64_t, assembly::kAddOutcomeCount> outcomes_{};  // add() outcome -> count (per segment: no map)
};

}  // namespace emwin::services
