// emwin-tail: subscribe to one or more tap endpoints and print one line per
// message (human or JSON). Exits 0 when --count messages were printed, the
// --timeout-s elapsed, or on SIGINT/SIGTERM; gap counters go to stderr.
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bus/bus.h"
#include "format.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "runtime/signals.h"

int main(int argc, char** argv) {
  CLI::App app{"emwin-tail: print emwin-bus messages from tap endpoints"};
  std::vector<std::string> endpoints;
  std::vector<std::string> topics;
  bool json = false;
  std::uint64_t count = 0;
  double timeout_s = 0;
  int hwm = 10000;
  std::string log_level = "warn";
  emwin::runtime::withEnv(app.add_option("--connect,-c", endpoints, "tap endpoint(s), e.g. tcp://host:5601")
                              ->required()
                              ->delimiter(','),
                          "EMWIN_TAIL_CONNECT");
  emwin::runtime::withEnv(app.add_option("--topic,-t", topics, "topic prefix filter (repeatable); default all")
                              ->delimiter(','),
                          "EMWIN_TAIL_TOPIC");
  app.add_flag("--json,-j", json, "one JSON object per line");
  app.add_option("--count,-n", count, "exit after N messages (0 = unlimited)");
  app.add_option("--timeout-s", timeout_s, "exit after S seconds (0 = never)");
  app.add_option("--hwm", hwm, "receive high-water mark")->capture_default_str();
  emwin::runtime::addLogLevelOption(app, log_level);
  CLI11_PARSE(app, argc, argv);
  emwin::runtime::applyLogLevel(log_level);
  emwin::runtime::installStopSignals();

  zmq::context_t context;
  emwin::bus::SubscriberOptions options;
  options.mode = emwin::bus::Mode::kTap;
  options.endpoints = endpoints;
  options.topic_prefixes = topics;
  options.receive_hwm = hwm;
  std::optional<emwin::bus::Subscriber> subscriber;
  try {
    subscriber.emplace(context, options);
  } catch (const zmq::error_t& e) {
    std::cerr << "emwin-tail: cannot connect: " << e.what() << "\n";
    return 1;
  }

  using Clock = std::chrono::steady_clock;
  const auto deadline = timeout_s > 0 ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                           std::chrono::duration<double>(timeout_s))
                                      : Clock::time_point::max();
  std::uint64_t printed = 0;
  while (!emwin::runtime::stopRequested() && (count == 0 || printed < count)) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    auto slice = std::chrono::milliseconds(200);
    if (deadline != Clock::time_point::max()) {
      slice = std::min(slice, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
    }
    auto message = subscriber->receive(slice);
    if (!message) continue;
    const std::string line = json ? emwin::tail::jsonLine(*message) : emwin::tail::humanLine(*message);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    ++printed;
  }
  const auto stats = subscriber->stats();
  std::cerr << fmt::format("emwin-tail: printed={} received={} filtered_out={} gaps={} missed={} duplicates={} "
                           "epochs_seen={} bad_payloads={}\n",
                           printed, stats.received, stats.filtered_out, stats.gaps, stats.missed, stats.duplicates,
                           stats.epochs_seen, stats.bad_payloads);
  return 0;
}
