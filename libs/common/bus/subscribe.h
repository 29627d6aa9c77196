#pragma once
// High-level subscriptions over emwin::bus::Subscriber, modelled on the
// original Python client's two styles:
//   * CallbackSubscription: a background thread calls your handler for every
//     message and acks it after the handler returns.
//       auto sub = subscribe(ctx, options, [](const Received& m) { ... });
//   * MessageStream<T>: a typed, bounded stream usable with range-for.
//       MessageStream<emwin::bus::v1::CompletedFile> files(ctx, options, 16);
//       for (auto& file : files) { ... }   // another thread may files.cancel()
//     The background thread receives into a queue of at most `max_queue`
//     messages. When the loop body is slow the queue fills, the thread stops
//     receiving and (pipeline) stops acking, so credit runs out and publish()
//     blocks at the producer; on the tap path the SUB socket fills and the
//     producer drops, counted as gaps. A message is acked when the loop asks
//     for the next one (i.e. after the body handled it).
//
// Thread-safety: both types own a thread; cancel(), stats() and the
// destructor may be called from any thread. A MessageStream is iterated by
// one consumer thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "bus/bus.h"

namespace emwin::bus {

// Runs `handler` on a background thread for every received message.
class CallbackSubscription {
 public:
  using Handler = std::function<void(const Received&)>;

  CallbackSubscription() = default;
  // Connects now (throws zmq::error_t / std::invalid_argument on bad options)
  // and starts the thread.
  CallbackSubscription(zmq::context_t& context, SubscriberOptions options, Handler handler);
  ~CallbackSubscription();
  CallbackSubscription(CallbackSubscription&&) noexcept = default;
  CallbackSubscription& operator=(CallbackSubscription&& other) noexcept;

  // Stops the thread (returns after it has left its group) — idempotent.
  void cancel();
  // Subscriber counters, refreshed by the thread after every receive.
  SubscriberStats stats() const;
  // Handler calls that threw (the message is still acked, the error logged).
  std::uint64_t handlerErrors() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Convenience: CallbackSubscription(context, options, handler).
CallbackSubscription subscribe(zmq::context_t& context, SubscriberOptions options,
                               std::function<void(const Received&)> handler);

namespace detail {

// Untyped bounded queue fed by a background Subscriber thread.
class StreamCore {
 public:
  StreamCore(zmq::context_t& context, SubscriberOptions options, std::size_t max_queue);
  ~StreamCore();
  StreamCore(const StreamCore&) = delete;
  StreamCore& operator=(const StreamCore&) = delete;

  // Next message; nullopt once cancelled (or after `timeout`, if given).
  std::optional<Received> pop(std::optional<std::chrono::milliseconds> timeout);
  // The consumer is done with the message with this delivery (acked by the thread).
  void done(const Received& message);
  void cancel();
  bool cancelled() const;
  SubscriberStats stats() const;
  std::size_t queued() const;

 private:
  void run();

  Subscriber subscriber_;
  std::size_t max_queue_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable wake_;  // room in the queue, acks to send, or cancel
  std::deque<Received> queue_;
  std::vector<Received> to_ack_;
  SubscriberStats stats_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace detail

// Typed bounded stream of messages of type T (e.g. v1::CompletedFile).
// Messages of another payload_type, or that fail to parse, are skipped and counted.
template <class T>
class MessageStream {
 public:
  MessageStream(zmq::context_t& context, SubscriberOptions options, std::size_t max_queue = 64)
      : core_(context, std::move(options), max_queue) {}

  // Next message; nullopt once cancelled (or on timeout, if given).
  std::optional<T> next(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    finishCurrent();
    while (auto received = core_.pop(timeout)) {
      T message;
      if (received->header.payload_type() != T::descriptor()->full_name()) {
        ++skipped_;
        core_.done(*received);
        continue;
      }
      if (!message.ParseFromString(received->payload)) {
        ++parse_errors_;
        core_.done(*received);
        continue;
      }
      current_ = std::move(*received);
      current_->payload.clear();
      return message;
    }
    return std::nullopt;
  }

  // Ends iteration (next() returns nullopt); safe from any thread.
  void cancel() { core_.cancel(); }
  SubscriberStats stats() const { return core_.stats(); }
  std::size_t queued() const { return core_.queued(); }
  std::uint64_t skipped() const { return skipped_.load(); }
  std::uint64_t parseErrors() const { return parse_errors_.load(); }

  // Input iterator: *it is the current message; ++it acks it and waits for the next.
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(MessageStream* stream) : stream_(stream) { advance(); }
    T& operator*() { return *value_; }
    T* operator->() { return &*value_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    bool operator==(const iterator& other) const { return stream_ == other.stream_; }

   private:
    void advance() {
      value_ = stream_->next();
      if (!value_) stream_ = nullptr;
    }
    MessageStream* stream_ = nullptr;
    std::optional<T> value_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  void finishCurrent() {
    if (current_) core_.done(*current_);
    current_.reset();
  }

  detail::StreamCore core_;
  std::optional<Received> current_;  // handed out, not yet acked
  std::atomic<std::uint64_t> skipped_{0};
  std::atomic<std::uint64_t> parse_errors_{0};
};

}  // namespace emwin::bus
