// emwin-e2e-partials: stands in for ingest and opens N partial files in the
// assembler (bench/e2e/run --partials N). Binds a pipeline endpoint, waits for
// one consumer replica, prints "ready <endpoint>", waits for SIGUSR1, then
// publishes block 1 of 2 of N distinct files (1,024 bytes each), prints
// "published N" and keeps servicing the pipeline until SIGINT/SIGTERM.
//
// Thread-safety: single-threaded program (the signal handler only sets a flag).
#include <csignal>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bus/bus.h"
#include "bus/topics.h"
#include "emwin/bus/v1/segment.pb.h"
#include "runtime/signals.h"

namespace {
std::atomic<bool> g_go{false};
extern "C" void onUsr1(int) { g_go.store(true); }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"emwin-e2e-partials: open N partial files in the assembler"};
  std::string pipe = "tcp://127.0.0.1:0";
  std::size_t count = 10000;
  app.add_option("--pipe", pipe, "pipeline bind endpoint")->capture_default_str();
  app.add_option("--count", count, "partial files to open")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  emwin::runtime::installStopSignals();
  std::signal(SIGUSR1, onUsr1);

  zmq::context_t context;
  emwin::bus::PublisherOptions po;
  po.producer_id = "e2e-partials";
  po.pipeline_endpoint = pipe;
  po.pipeline_hwm = 10000;
  emwin::bus::Publisher publisher(context, po);
  while (!emwin::runtime::stopRequested() && publisher.stats().pipeline.replicas < 1) publisher.poll(std::chrono::milliseconds(20));
  std::printf("ready %s\n", publisher.pipelineEndpoint().c_str());
  std::fflush(stdout);
  while (!emwin::runtime::stopRequested() && !g_go.load()) publisher.poll(std::chrono::milliseconds(20));

  const std::int64_t fd = static_cast<std::int64_t>(std::time(nullptr));
  const std::string data(1024, 'x');
  emwin::bus::v1::Segment seg;
  for (std::size_t i = 0; i < count && !emwin::runtime::stopRequested(); ++i) {
    const std::string name = fmt::format("PART{:06d}.TXT", i);
    seg.Clear();
    seg.set_filename(name);
    seg.set_block_number(1);
    seg.set_total_blocks(2);
    seg.set_fd_unix_s(fd);
    seg.set_fd_text("");
    seg.set_version(emwin::bus::v1::PROTOCOL_VERSION_V1);
    seg.set_data(data);
    publisher.publish(emwin::bus::topics::segment(name), seg, emwin::bus::Path::kAll);
  }
  std::printf("published %zu\n", count);
  std::fflush(stdout);
  while (!emwin::runtime::stopRequested()) publisher.poll(std::chrono::milliseconds(50));
  return 0;
}
