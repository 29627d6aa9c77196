#pragma once
// DbWorker: the one thread on which emwin-archive talks to its database, so
// a slow commit (an fsync, a PostgreSQL round trip, a server that went away)
// never blocks the reactor, whose heartbeats keep the archive's place in its
// consumer groups. Jobs run in order; each job's completion runs back on the
// reactor (posted to its io_context), where the service acknowledges what
// was committed.
//
// Thread-safety: run() and drain() from the reactor thread only; jobs run on
// the worker thread; completions on the reactor thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "service/asio.h"

namespace emwin::sinks {

class DbWorker {
 public:
  // Starts the thread; completions are posted to `io`.
  explicit DbWorker(asio::io_context& io);
  // Lets the running job finish, drops queued ones, joins the thread.
  ~DbWorker();
  DbWorker(const DbWorker&) = delete;
  DbWorker& operator=(const DbWorker&) = delete;

  // Runs `job` on the worker thread (after the jobs before it), then `done`
  // on the reactor. `job` must not throw (it reports through what it captures).
  void run(std::function<void()> job, std::function<void()> done);

  // Waits up to `timeout` for every job to finish and runs their completions
  // here and now (for a stop: the reactor will not run them). True when idle.
  bool drain(std::chrono::milliseconds timeout);

  // Jobs queued or running.
  std::size_t backlog() const;

 private:
  struct Shared {
    std::mutex mutex;
    std::condition_variable wake;      // the worker: a job, or stop
    std::condition_variable idle;      // drain(): all done
    std::deque<std::pair<std::function<void()>, std::function<void()>>> jobs;
    std::vector<std::function<void()>> completed;  // to run on the reactor
    std::size_t running = 0;
    bool stop = false;
  };

  static void runCompleted(const std::shared_ptr<Shared>& shared);

  asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace emwin::sinks
