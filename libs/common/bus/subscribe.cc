#include "bus/subscribe.h"

#include "runtime/log.h"

namespace emwin::bus {
namespace {
// How long the background threads wait per slice; bounds cancel latency.
constexpr auto kSlice = std::chrono::milliseconds(20);
}  // namespace

struct CallbackSubscription::State {
  State(zmq::context_t& context, SubscriberOptions options, Handler h)
      : subscriber(context, std::move(options)), handler(std::move(h)) {}
  Subscriber subscriber;
  Handler handler;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> handler_errors{0};
  mutable std::mutex mutex;
  SubscriberStats stats;
  std::thread thread;

  void run() {
    auto log = runtime::logger("bus");
    while (!stop.load()) {
      auto message = subscriber.receive(kSlice);
      if (message) {
        try {
          handler(*message);
        } catch (const std::exception& e) {
          ++handler_errors;
          log->error("subscription handler failed on {}: {}", message->topic, e.what());
        }
        subscriber.ack(*message);
      }
      std::lock_guard lock(mutex);
      stats = subscriber.stats();
    }
    subscriber.close();
    std::lock_guard lock(mutex);
    stats = subscriber.stats();
  }
};

CallbackSubscription::CallbackSubscription(zmq::context_t& context, SubscriberOptions options, Handler handler)
    : state_(std::make_unique<State>(context, std::move(options), std::move(handler))) {
  state_->thread = std::thread([state = state_.get()] { state->run(); });
}

CallbackSubscription::~CallbackSubscription() { cancel(); }

CallbackSubscription& CallbackSubscription::operator=(CallbackSubscription&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}

void CallbackSubscription::cancel() {
  if (!state_) return;
  state_->stop.store(true);
  if (state_->thread.joinable()) state_->thread.join();
}

SubscriberStats CallbackSubscription::stats() const {
  if (!state_) return {};
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

std::uint64_t CallbackSubscription::handlerErrors() const {
  return state_ ? state_->handler_errors.load() : 0;
}

CallbackSubscription subscribe(zmq::context_t& context, SubscriberOptions options,
                               std::function<void(const Received&)> handler) {
  return CallbackSubscription(context, std::move(options), std::move(handler));
}

namespace detail {

StreamCore::StreamCore(zmq::context_t& context, SubscriberOptions options, std::size_t max_queue)
    : subscriber_(context, std::move(options)), max_queue_(std::max<std::size_t>(1, max_queue)) {
  thread_ = std::thread([this] { run(); });
}

StreamCore::~StreamCore() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

void StreamCore::run() {
  std::vector<Received> acks;
  while (true) {
    bool room = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kSlice, [this] { return stop_ || !to_ack_.empty() || queue_.size() < max_queue_; });
      if (stop_) break;
      acks.swap(to_ack_);
      room = queue_.size() < max_queue_;
    }
    for (const auto& message : acks) subscriber_.ack(message);
    acks.clear();
    if (!room) {
      // Full: stop receiving (credit runs out / the tap drops) but stay alive.
      subscriber_.keepAlive();
      continue;
    }
    auto message = subscriber_.receive(kSlice);
    std::lock_guard lock(mutex_);
    stats_ = subscriber_.stats();
    if (message) {
      queue_.push_back(std::move(*message));
      not_empty_.notify_one();
    }
  }
  subscriber_.close();
  std::lock_guard lock(mutex_);
  stats_ = subscriber_.stats();
}

std::optional<Received> StreamCore::pop(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mutex_);
  auto ready = [this] { return stop_ || !queue_.empty(); };
  if (timeout) {
    if (!not_empty_.wait_for(lock, *timeout, ready)) return std::nullopt;
  } else {
    not_empty_.wait(lock, ready);
  }
  if (stop_) return std::nullopt;
  Received message = std::move(queue_.front());
  queue_.pop_front();
  wake_.notify_one();
  return message;
}

void StreamCore::done(const Received& message) {
  Received shell;
  shell.header = message.header;
  shell.delivery_sequence = message.delivery_sequence;
  std::lock_guard lock(mutex_);
  to_ack_.push_back(std::move(shell));
  wake_.notify_one();
}

void StreamCore::cancel() {
  std::lock_guard lock(mutex_);
  stop_ = true;
  not_empty_.notify_all();
  wake_.notify_all();
}

bool StreamCore::cancelled() const {
  std::lock_guard lock(mutex_);
  return stop_;
}

SubscriberStats StreamCore::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::size_t StreamCore::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace detail
}  // namespace emwin::bus
