#pragma once
// DiskWriterService: the emwin-disk-writer sink. Consumes CompletedFile
// messages from the assembler's pipeline endpoint as one replica of the
// "disk-writer" group, writes each through FileStore, and acknowledges a
// message only once the file is safely on disk (or rejected for good), so a
// crash or disk error never loses a file: the producer redelivers it.
// Disk full / permission errors are counted, logged and retried with backoff.
//
// Thread-safety: run() is called from one thread; requestStop() from any.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <zmq.hpp>

#include "file_store.h"

namespace emwin::sinks {

// Options of emwin-disk-writer (flags; env EMWIN_<FLAG>).
struct DiskWriterOptions {
  std::string connect = "tcp://127.0.0.1:5612";   // assembler pipeline endpoint
  std::string out = "out";                        // output root
  std::string group = "disk-writer";              // consumer group (sink type)
  std::string replica;                            // replica id; default = instance
  std::string instance;                           // default hostname
  std::string state_dir;                          // persists the replay position; empty = none
  std::string stats_connect = "tcp://127.0.0.1:5605";  // stats intake; empty = no stats
  bool sidecar = false;                           // write <file>.json metadata
  bool fsync = true;                              // fsync files and directories
  std::uint32_t credit = 64;                      // files in flight to this replica
  int slow_ms = 0;                                // test aid: extra delay per file
  int stats_interval_ms = 2000;
  int retry_min_ms = 100;                         // I/O error backoff
  int retry_max_ms = 10000;
};

class DiskWriterService {
 public:
  DiskWriterService(zmq::context_t& context, DiskWriterOptions options);
  ~DiskWriterService();

  // Runs until requestStop(); returns the process exit code.
  int run();
  void requestStop() noexcept { stop_.store(true); }

  // Counters so far (also published as ServiceStats).
  std::map<std::string, std::uint64_t> counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace emwin::sinks
