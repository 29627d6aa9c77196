#include "db_worker.h"

namespace emwin::sinks {

DbWorker::DbWorker(asio::io_context& io) : io_(io), shared_(std::make_shared<Shared>()) {
  thread_ = std::thread([s = shared_, &io = io_] {
    std::unique_lock lock(s->mutex);
    for (;;) {
      s->wake.wait(lock, [&] { return s->stop || !s->jobs.empty(); });
      if (s->stop) return;
      auto job = std::move(s->jobs.front());
      s->jobs.pop_front();
      ++s->running;
      lock.unlock();
      job.first();
      lock.lock();
      --s->running;
      s->completed.push_back(std::move(job.second));
      if (s->jobs.empty() && s->running == 0) s->idle.notify_all();
      // The completion runs on the reactor; if it is gone, it never runs (the
      // shared state keeps everything alive until then).
      asio::post(io, [weak = std::weak_ptr<Shared>(s)] {
        if (auto shared = weak.lock()) runCompleted(shared);
      });
    }
  });
}

DbWorker::~DbWorker() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stop = true;
    shared_->jobs.clear();
  }
  shared_->wake.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DbWorker::run(std::function<void()> job, std::function<void()> done) {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->jobs.emplace_back(std::move(job), std::move(done));
  }
  shared_->wake.notify_one();
}

bool DbWorker::drain(std::chrono::milliseconds timeout) {
  bool idle = false;
  {
    std::unique_lock lock(shared_->mutex);
    idle = shared_->idle.wait_for(lock, timeout, [&] { return shared_->jobs.empty() && shared_->running == 0; });
  }
  runCompleted(shared_);
  return idle;
}

std::size_t DbWorker::backlog() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->jobs.size() + shared_->running;
}

void DbWorker::runCompleted(const std::shared_ptr<Shared>& shared) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(shared->mutex);
    ready.swap(shared->completed);
  }
  for (auto& fn : ready) fn();
}

}  // namespace emwin::sinks
