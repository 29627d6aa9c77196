// emwin-tail: subscribe to one or more tap endpoints and print one line per
// message (human or JSON). Exits 0 when --count messages were printed, the
// --timeout-s elapsed, or on SIGINT/SIGTERM; gap counters go to stderr.
// Runs on the service runtime like every emwin-bus process.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "format.h"
#include "service/runtime.h"

namespace {

struct TailOptions {
  std::vector<std::string> endpoints;
  std::vector<std::string> topics;
  bool json = false;
  std::uint64_t count = 0;
  double timeout_s = 0;
  int hwm = 10000;
};

class Tail : public emwin::service::Service {
 public:
  explicit Tail(TailOptions o) : o_(std::move(o)) {}

  void start(emwin::service::Runtime& rt) override {
    emwin::bus::TapSubscriberOptions t;
    t.endpoints = o_.endpoints;
    t.topic_prefixes = o_.topics;
    t.receive_hwm = o_.hwm;
    input_ = &rt.tapInput(t, [this, &rt](emwin::bus::Received&& m) {
      if (rt.stopping()) return;
      const std::string line = o_.json ? emwin::tail::jsonLine(m) : emwin::tail::humanLine(m);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
      if (o_.count > 0 && ++printed_ >= o_.count) rt.requestStop(0);
    });
    if (o_.timeout_s > 0) {
      rt.after(std::chrono::milliseconds(static_cast<long>(o_.timeout_s * 1000)), [&rt] { rt.requestStop(0); });
    }
  }

  void stop(emwin::service::Runtime&) override {
    const auto& s = input_->stats();
    std::cerr << fmt::format("emwin-tail: printed={} received={} filtered_out={} gaps={} missed={} duplicates={} "
                             "epochs_seen={} bad_payloads={}\n",
                             printed_, s.received, s.filtered_out, s.gaps, s.missed, s.duplicates, s.epochs_seen,
                             s.bad_payloads);
  }

 private:
  TailOptions o_;
  emwin::bus::TapSubscriber* input_ = nullptr;
  std::uint64_t printed_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  common.log_level = "warn";
  common.linger_ms = 0;
  TailOptions o;
  emwin::runtime::Cli cli("emwin-tail", "emwin-tail: print emwin-bus messages from tap endpoints");
  emwin::service::addCommonOptions(cli, common);
  cli.option("--connect,-c", o.endpoints, "tap endpoint(s), e.g. tcp://host:5601 (repeatable)", "EMWIN_TAIL_CONNECT")
      ->required()
      ->delimiter(',')
      ->check(emwin::runtime::ConnectEndpoint());
  cli.option("--topic,-t", o.topics, "topic prefix filter (repeatable); default all", "EMWIN_TAIL_TOPIC")
      ->delimiter(',');
  cli.flag("--json,-j", o.json, "one JSON object per line", "");
  cli.option("--count,-n", o.count, "exit after N messages (0 = unlimited)", "");
  cli.option("--timeout-s", o.timeout_s, "exit after S seconds (0 = never)", "")->check(CLI::Range(0.0, 1e9));
  cli.option("--hwm", o.hwm, "receive high-water mark", "")->check(emwin::runtime::IntRange(1, 10'000'000));
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::service::Runtime runtime("tail", common);
  Tail tail(o);
  return runtime.run(tail);
}
