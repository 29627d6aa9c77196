#include "hub.h"

#include "runtime/log.h"

namespace emwin::gateway {

struct Hub::Client {
  std::shared_ptr<http::StreamConnection> stream;
  Filter filter;
  bool sse = true;
  bool catching_up = false;
  std::uint64_t cursor = 0;  // last log sequence considered (catching up)
  std::size_t index = 0;     // position in clients_
};

Hub::Hub(HubOptions options, std::uint64_t epoch)
    : options_(options), epoch_(epoch), log_(options.retention_events, options.retention_bytes) {}

Hub::~Hub() {
  for (auto& c : clients_) {
    c->stream->onClose(nullptr);
    c->stream->onDrained(nullptr);
    c->stream->close(http::CloseReason::kShutdown);
  }
}

void Hub::sendNotice(Client& c, std::string_view type, const Json& body) {
  const Notice n = makeNotice(type, body);
  c.stream->send(c.sse ? n.sse : n.json);
}

bool Hub::deliver(Client& c, const Event& e) {
  const http::SharedText& m = c.sse ? e.sse : e.json;
  if (!c.stream->send(m)) return false;
  ++stats_.deliveries;
  stats_.delivered_bytes += m->size();
  return true;
}

void Hub::attach(std::shared_ptr<http::StreamConnection> stream, Filter filter,
                 const std::optional<std::string>& last_event_id) {
  auto owned = std::make_unique<Client>();
  Client* c = owned.get();
  c->stream = std::move(stream);
  c->filter = std::move(filter);
  c->sse = c->stream->protocol() == http::StreamProtocol::kSse;
  c->index = clients_.size();
  c->cursor = log_.newest();
  clients_.push_back(std::move(owned));
  ++stats_.attached;
  c->stream->onClose([this, c](http::CloseReason reason) { remove(c, reason); });
  c->stream->onDrained([this, c] {
    if (c->catching_up) topUp(*c);
  });

  Json hello = Json::object();
  hello["server"] = "emwin-gateway";
  hello["epoch"] = epoch_;
  hello["newest_id"] = log_.newest() > 0 ? Json(eventId(epoch_, log_.newest())) : Json(nullptr);
  hello["oldest_id"] = log_.size() > 0 ? Json(eventId(epoch_, log_.oldest())) : Json(nullptr);
  hello["filter"] = c->filter.describe();
  hello["resume_from"] = last_event_id ? Json(*last_event_id) : Json(nullptr);
  sendNotice(*c, "hello", hello);

  if (last_event_id && !last_event_id->empty()) {
    ++stats_.resumed;
    const auto id = parseEventId(*last_event_id);
    if (!id) {
      ++stats_.bad_event_ids;
      ++stats_.gap_notices;
      sendNotice(*c, "gap", Json{{"reason", "unknown_id"}, {"missed", nullptr}, {"last_event_id", *last_event_id}});
    } else if (id->first != epoch_) {
      // An id of an earlier gateway process: everything retained since this
      // one started is new to the client; what happened in between is unknown.
      ++stats_.restarted_resumes;
      ++stats_.gap_notices;
      sendNotice(*c, "gap", Json{{"reason", "gateway_restarted"}, {"missed", nullptr}, {"last_event_id", *last_event_id}});
      c->cursor = 0;
      c->catching_up = true;
    } else if (id->second < log_.newest()) {
      c->cursor = id->second;
      c->catching_up = true;
    }
  }
  if (c->catching_up) topUp(*c);
}

void Hub::topUp(Client& c) {
  const auto& stream = *c.stream;
  while (c.catching_up && stream.isOpen()) {
    const std::uint64_t next = c.cursor + 1;
    if (next > log_.newest()) {
      c.catching_up = false;  // live from here
      return;
    }
    if (next < log_.oldest()) {
      const std::uint64_t missed = log_.oldest() - next;
      ++stats_.gap_notices;
      stats_.missed_reported += missed;
      c.cursor = log_.oldest() - 1;
      sendNotice(c, "gap",
                 Json{{"reason", "retention"},
                      {"missed", missed},
                      {"first_id", eventId(epoch_, next)},
                      {"resumed_at", eventId(epoch_, log_.oldest())}});
      continue;
    }
    const EventPtr& e = log_.at(next);
    // Leave half the queue for what arrives live once caught up.
    const std::size_t size = (c.sse ? e->sse : e->json)->size();
    if (stream.queuedMessages() > 0 && (stream.queuedMessages() * 2 >= stream.options().max_queue_messages ||
                                        (stream.queuedBytes() + size) * 2 > stream.options().max_queue_bytes)) {
      return;  // continue when the stream drains
    }
    c.cursor = next;
    if (c.filter.matches(e->facts)) deliver(c, *e);
  }
}

EventPtr Hub::publish(EventKind kind, EventFacts facts, const Json& body) {
  EventPtr e = makeEvent(kind, epoch_, next_seq_++, std::move(facts), body);
  log_.push(e);
  ++stats_.events[static_cast<std::size_t>(kind)];
  for (auto& c : clients_) {
    if (c->catching_up || !c->stream->isOpen()) continue;
    c->cursor = e->seq;
    if (c->filter.matches(e->facts)) deliver(*c, *e);
  }
  return e;
}

void Hub::broadcast(EventKind kind, const EventFacts& facts, const Json& body) {
  ++stats_.events[static_cast<std::size_t>(kind)];
  Notice n;
  bool built = false;
  for (auto& c : clients_) {
    if (c->catching_up || !c->stream->isOpen() || !c->filter.matches(facts)) continue;
    if (!built) {
      n = makeNotice(kindName(kind), body);
      built = true;
    }
    const http::SharedText& m = c->sse ? n.sse : n.json;
    if (c->stream->send(m)) {
      ++stats_.deliveries;
      stats_.delivered_bytes += m->size();
    }
  }
}

void Hub::tick(std::chrono::steady_clock::time_point now) {
  for (auto& c : clients_) c->stream->tick(now);
}

void Hub::closeAll() {
  for (auto& c : clients_) c->stream->close(http::CloseReason::kShutdown);
}

void Hub::remove(Client* c, http::CloseReason reason) {
  ++stats_.closed[static_cast<std::size_t>(reason)];
  const std::size_t i = c->index;
  if (i >= clients_.size() || clients_[i].get() != c) return;
  if (i + 1 != clients_.size()) {
    clients_[i] = std::move(clients_.back());
    clients_[i]->index = i;
  }
  clients_.pop_back();  // destroys the Client (the stream lives on while operations hold it)
}

HubStats Hub::stats() const {
  HubStats s = stats_;
  s.clients_sse = 0;
  s.clients_ws = 0;
  s.clients_catching_up = 0;
  for (const auto& c : clients_) {
    (c->sse ? s.clients_sse : s.clients_ws) += 1;
    if (c->catching_up) ++s.clients_catching_up;
  }
  return s;
}

}  // namespace emwin::gateway
