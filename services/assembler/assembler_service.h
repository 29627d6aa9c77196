#pragma once
// AssemblerService: the emwin-assembler process logic. Consumes Segment
// messages from ingest's pipeline endpoint (group "assembler"), feeds them to
// emwin::assembly::Assembler, and publishes every CompletedFile on
// `file.<EXT>.<FILENAME>` through its own Publisher (tap + pipeline). While the
// pipeline downstream is full, publish() blocks and no more segments are
// taken, so backpressure reaches ingest. Evictions and archive errors are
// logged and counted; ServiceStats go out on `stats.assembler.<instance>`.
//
// Thread-safety: run() on one thread; requestStop() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "assembly/types.h"

namespace emwin::services {

// Options of emwin-assembler (flags; env EMWIN_<FLAG>).
struct AssemblerOptions {
  std::string connect = "tcp://127.0.0.1:5611";  // ingest pipeline endpoint
  std::string pub = "tcp://*:5602";              // tap endpoint
  std::string pipe = "tcp://*:5612";             // pipeline endpoint
  std::string group = "assembler";
  std::string instance;                          // default hostname / EMWIN_INSTANCE
  std::string state_dir;                         // replay position; empty = none
  std::size_t hwm = 1000;                        // pipeline queue per group before blocking
  int tap_hwm = 10000;
  std::size_t retention = 20000;                 // files kept for REPLAY (at most)
  std::size_t retention_mb = 8;                  // bytes of files kept for REPLAY (at most)
  // Segments in flight to us. Segments of partial files stay unacknowledged
  // until their file completes or is evicted (so a crash loses none of them),
  // so this also bounds partial-file memory (cap = (credit - 64) blocks,
  // ~2 MB by default: several times the largest product the feed keeps open).
  std::uint32_t credit = 2048;
  int stats_interval_ms = 2000;
  // Take no segments until this many downstream pipeline replicas have
  // joined (all groups together), so nothing is published before the sinks
  // are there. Only applies at start.
  std::size_t wait_consumers = 0;
  assembly::Options assembly;                    // timeouts, memory cap, archive limits
};

class AssemblerService {
 public:
  AssemblerService(zmq::context_t& context, AssemblerOptions options);
  ~AssemblerService();

  // Binds endpoints and connects (throws on bad endpoints).
  void start();
  // Runs until requestStop() or the runtime stop signal; returns the exit code.
  int run();
  void requestStop() noexcept { stop_.store(true); }

  std::string tapEndpoint() const;
  std::string pipelineEndpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace emwin::services
