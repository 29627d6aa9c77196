#pragma once
// Incremental QBT frame decoder: fed arbitrary chunks of *wire* bytes (still
// XOR-0xFF obfuscated), emits data segments, server lists and bad-input
// events through a callbacks interface. Handles V1 and V2 frames mixed on one
// stream, resyncs after garbage, and never buffers more than a fixed bound
// (kMaxBuffered) whatever the input.
//
// Thread-safety: a Decoder is not thread-safe; use one per connection.

#include <cstdint>
#include <memory>
#include <span>

#include "qbt/types.h"

namespace emwin::qbt {

// Receives the decoder's output. Called synchronously from Decoder::feed();
// references passed in are valid only for the duration of the call.
class DecoderCallbacks {
 public:
  virtual ~DecoderCallbacks() = default;
  // A good data block (checksum verified). FILLFILE blocks arrive here too,
  // with segment.is_fill set.
  virtual void onSegment(const Segment& segment) = 0;
  // A server-list frame.
  virtual void onServerList(const ServerList& list) = 0;
  // A rejected piece of input; decoding goes on.
  virtual void onBadInput(const BadInput& bad) = 0;
};

// Counters kept by the decoder (cumulative since construction).
struct DecoderStats {
  std::uint64_t bytes_in = 0;
  std::uint64_t frames_v1 = 0;
  std::uint64_t frames_v2 = 0;
  std::uint64_t fill_frames = 0;
  std::uint64_t server_lists = 0;
  std::uint64_t bad[kBadReasonCount] = {};
  std::uint64_t garbage_bytes = 0;
};

class Decoder {
 public:
  // Upper bound on bytes held between feed() calls.
  static constexpr std::size_t kMaxBuffered = 8192;
  // Server-list frames longer than this are rejected (kServerListTooLong).
  static constexpr std::size_t kMaxServerListBytes = 4096;
  // A garbage run is reported (kGarbage) in pieces of this many bytes as it
  // streams, then the rest when it ends, so a stream of junk that never syncs
  // is counted while it flows. Piece boundaries do not depend on chunking.
  static constexpr std::size_t kGarbageReportBytes = 64 * 1024;

  explicit Decoder(DecoderCallbacks& callbacks);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Feeds wire bytes (XOR-ed as received). Any chunking gives the same output.
  void feed(std::span<const std::uint8_t> wire);
  // End of stream: reports a partially received frame as kTruncated.
  void finish();
  // Forgets buffered bytes (e.g. after a reconnect); stream offsets continue.
  // A partial frame or garbage run held at that point is reported first (as finish() does).
  void reset();

  const DecoderStats& stats() const noexcept;
  // Wire bytes currently held between feed() calls (never above kMaxBuffered).
  std::size_t buffered() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace emwin::qbt
