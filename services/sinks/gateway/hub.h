#pragma once
// Hub: the gateway's fan-out. Every alert and file event is numbered, kept in
// the bounded EventLog and offered to every attached client stream (SSE or
// WebSocket) whose Filter matches it; stats snapshots are broadcast live
// only (no id, not kept). Each stream's queue is bounded
// (http::StreamOptions); a live client that cannot keep up is disconnected
// (CloseReason::kQueueFull, or kWriteTimeout when it stops reading), and every
// close is counted by reason.
//
// Resume: a client that attaches with a Last-Event-ID of this gateway process
// is first *caught up* from the EventLog at its own pace (its queue is topped
// up to half its bound each time it drains), then goes live. If the events it
// asked for already left the log, it gets a `gap` notice saying how many it
// missed (`missed`, counting events of every kind) before the oldest retained
// one; an id of an earlier gateway process (restart) gets a `gap` with reason
// "gateway_restarted" and everything retained since the restart. Each client
// first gets a `hello` notice (epoch, newest id, its filter as understood).
//
// Thread-safety: not thread-safe; the gateway's reactor thread.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "event.h"
#include "event_log.h"
#include "filter.h"
#include "http/stream.h"

namespace emwin::gateway {

// Configuration of a Hub.
struct HubOptions {
  std::size_t max_clients = 10000;       // streams at once (the service refuses more with 503)
  std::size_t retention_events = 10000;  // EventLog bound, events
  std::size_t retention_bytes = 32u << 20;  // EventLog bound, bytes
};

// Counters and gauges of a Hub.
struct HubStats {
  std::size_t clients_sse = 0;         // open SSE streams now
  std::size_t clients_ws = 0;          // open WebSocket streams now
  std::size_t clients_catching_up = 0; // of those, reading from the log
  std::uint64_t attached = 0;          // streams attached
  std::uint64_t resumed = 0;           // attached with a Last-Event-ID
  std::array<std::uint64_t, 6> closed{};  // by http::CloseReason
  std::array<std::uint64_t, 3> events{};  // published, by EventKind
  std::uint64_t deliveries = 0;        // messages queued to clients
  std::uint64_t delivered_bytes = 0;   // their bytes
  std::uint64_t gap_notices = 0;       // gap notices sent
  std::uint64_t missed_reported = 0;   // events reported missed in them
  std::uint64_t restarted_resumes = 0; // Last-Event-IDs of an earlier gateway process
  std::uint64_t bad_event_ids = 0;     // unparsable Last-Event-IDs
};

class Hub {
 public:
  // `epoch`: this process's event-id epoch (start time, microseconds).
  Hub(HubOptions options, std::uint64_t epoch);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Attaches a started stream with its filter; `last_event_id` (header or
  // query) asks to resume. Sends `hello` (and `gap` when needed) first.
  void attach(std::shared_ptr<http::StreamConnection> stream, Filter filter,
              const std::optional<std::string>& last_event_id);

  // Numbers, retains and fans out an event; returns it.
  EventPtr publish(EventKind kind, EventFacts facts, const Json& body);

  // Fans out a snapshot that has no id and is not retained (the stats
  // summary: each one is complete, the latest is all a resuming client
  // needs), to live clients whose filter matches.
  void broadcast(EventKind kind, const EventFacts& facts, const Json& body);

  // Heartbeats and write timeouts of every stream (call about once a second).
  void tick(std::chrono::steady_clock::time_point now);

  // Closes every stream (kShutdown).
  void closeAll();

  // True when max_clients streams are open.
  bool full() const noexcept { return clients_.size() >= options_.max_clients; }
  std::size_t clientCount() const noexcept { return clients_.size(); }
  std::uint64_t epoch() const noexcept { return epoch_; }
  const EventLog& log() const noexcept { return log_; }
  HubStats stats() const;

 private:
  struct Client;

  void topUp(Client& client);
  void sendNotice(Client& client, std::string_view type, const Json& body);
  bool deliver(Client& client, const Event& event);
  void remove(Client* client, http::CloseReason reason);

  HubOptions options_;
  std::uint64_t epoch_;
  std::uint64_t next_seq_ = 1;
  EventLog log_;
  std::vector<std::unique_ptr<Client>> clients_;
  HubStats stats_;
};

}  // namespace emwin::gateway
