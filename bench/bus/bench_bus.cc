// bench_bus: messages/s and one-way latency (produced_unix_us -> received)
// through the pipeline path (ROUTER/DEALER with credit and acks) and the tap
// path (PUB/SUB), for 1 KiB and 64 KiB payloads over tcp and ipc.
// Each iteration publishes a batch and waits until the consumer thread has
// received it, so the figure is delivered throughput, not queued. With
// batch 1 the time per iteration is a publish -> receive -> ack round trip.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <benchmark/benchmark.h>

#include "bus/bus.h"
#include "bus/detail/util.h"
#include "emwin/bus/v1/file.pb.h"
#include "runtime/log.h"

namespace {

using namespace std::chrono_literals;
using emwin::bus::Mode;
using emwin::bus::Path;
using emwin::bus::Publisher;
using emwin::bus::PublisherOptions;
using emwin::bus::Subscriber;
using emwin::bus::SubscriberOptions;


std::string endpoint(int transport, const char* name) {
  if (transport == 0) return "tcp://127.0.0.1:*";
  return "ipc:///tmp/emwin-bench-" + std::to_string(::getpid()) + "-" + name;
}

struct Latencies {
  std::mutex mutex;
  std::vector<double> us;
  void add(double v) {
    std::lock_guard lock(mutex);
    us.push_back(v);
  }
  void report(benchmark::State& state) {
    std::lock_guard lock(mutex);
    if (us.empty()) return;
    std::sort(us.begin(), us.end());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
  }
};

void run(benchmark::State& state, bool pipeline) {
  emwin::runtime::setLogLevel("warn");
  const auto size = static_cast<std::size_t>(state.range(0));
  const int transport = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  zmq::context_t context;
  PublisherOptions po;
  po.producer_id = "bench";
  if (pipeline) {
    po.pipeline_endpoint = endpoint(transport, "pipe");
  } else {
    po.tap_endpoint = endpoint(transport, "tap");
    po.tap_send_hwm = 100000;
  }
  Publisher pub(context, po);
  SubscriberOptions so;
  so.mode = pipeline ? Mode::kPipeline : Mode::kTap;
  so.endpoints = {pipeline ? pub.pipelineEndpoint() : pub.tapEndpoint()};
  so.group = "bench";
  so.receive_hwm = 100000;
  std::atomic<std::uint64_t> last_seen{0};
  std::atomic<bool> stop{false};
  Latencies latencies;
  std::thread consumer([&] {
    Subscriber sub(context, so);
    while (!stop.load()) {
      auto m = sub.receive(10ms);
      if (!m) continue;
      latencies.add(static_cast<double>(emwin::bus::detail::unixMicros() - m->header.produced_unix_us()));
      last_seen = m->header.sequence();
      sub.ack(*m);
    }
  });
  emwin::bus::v1::CompletedFile file;
  file.set_filename("BENCH.BIN");
  file.set_data(std::string(size, 'x'));
  auto waitFor = [&](std::uint64_t seq) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (last_seen.load() < seq && std::chrono::steady_clock::now() < deadline) pub.poll(pipeline ? 1ms : 0ms);
  };
  // Join: the first message arrives (pipeline: replica registered; tap: SUB joined).
  if (pipeline) {
    while (pub.stats().pipeline.replicas == 0) pub.poll(5ms);
  } else {
    while (last_seen.load() == 0) {
      pub.publish("warm", file, Path::kTapOnly);
      std::this_thread::sleep_for(10ms);  // joining pace, not measurement
    }
  }
  std::uint64_t seq = 0;
  std::uint64_t no_room_waits = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      while (!pub.hasRoom()) {  // as the service runtime does: take no input until there is room
        ++no_room_waits;
        pub.poll(1ms);
      }
      seq = pub.publish("file.BIN.BENCH.BIN", file);
    }
    waitFor(seq);
  }
  stop = true;
  consumer.join();
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * static_cast<std::int64_t>(size));
  latencies.report(state);
  state.counters["no_room_waits"] = static_cast<double>(no_room_waits);
}

void BM_Pipeline(benchmark::State& state) { run(state, true); }
void BM_Tap(benchmark::State& state) { run(state, false); }

void args(benchmark::internal::Benchmark* b) {
  // batch 1 = one message in flight: round-trip latency; batch 500 = throughput.
  b->ArgNames({"bytes", "ipc", "batch"});
  for (int transport : {0, 1}) {
    b->Args({1024, transport, 1});
    for (int size : {1024, 65536}) b->Args({size, transport, 500});
  }
  b->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
}

BENCHMARK(BM_Pipeline)->Apply(args);
BENCHMARK(BM_Tap)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
