// emwin-example-sink: the smallest complete sink on the service runtime.
// It joins its own consumer group on the assembler's pipeline (or reads the
// tap with --tap), prints one line per completed file, acknowledges it only
// after printing, and gets from the runtime what every emwin-bus process has:
// EMWIN_* environment, --log-level/--instance/--stats-connect, ServiceStats,
// clean SIGINT/SIGTERM handling, backpressure and restart-safe delivery.
//
//   emwin-example-sink --connect tcp://127.0.0.1:5612 --group my-sink --topic file.TXT.
#include <cstdio>

#include "emwin/bus/v1/file.pb.h"
#include "service/runtime.h"

namespace {

struct SinkOptions {
  std::string connect = "tcp://127.0.0.1:5612";  // assembler pipeline (tap with --tap)
  std::string group = "example-sink";
  std::vector<std::string> topics = {"file."};
  bool tap = false;
  std::uint64_t count = 0;  // stop after this many files (0 = run until stopped)
};

class ExampleSink : public emwin::service::Service {
 public:
  explicit ExampleSink(SinkOptions o) : o_(std::move(o)) {}

  void start(emwin::service::Runtime& rt) override {
    rt_ = &rt;
    if (o_.tap) {
      emwin::bus::TapSubscriberOptions t;
      t.endpoints = {o_.connect};
      t.topic_prefixes = o_.topics;
      rt.tapInput(t, [this](emwin::bus::Received&& m) { onFile(m); });
      return;
    }
    emwin::bus::PipelineSubscriberOptions p;
    p.endpoint = o_.connect;
    p.group = o_.group;
    p.topic_prefixes = o_.topics;
    input_ = &rt.pipelineInput(p, [this](emwin::bus::Received&& m) { onFile(m); });
  }

  void report(emwin::runtime::StatsReporter& stats) override { stats.setCounter("files_printed", printed_); }

 private:
  void onFile(const emwin::bus::Received& m) {
    emwin::bus::v1::CompletedFile file;
    if (file.ParseFromString(m.payload)) {
      std::printf("file %s %llu %s\n", file.filename().c_str(), static_cast<unsigned long long>(file.size_bytes()),
                  file.sha256().c_str());
      std::fflush(stdout);
      ++printed_;
    }
    if (input_ != nullptr) input_->ack(m);  // handled: the producer may forget it
    if (o_.count > 0 && printed_ >= o_.count) rt_->requestStop(0);
  }

  SinkOptions o_;
  emwin::service::Runtime* rt_ = nullptr;
  emwin::bus::PipelineSubscriber* input_ = nullptr;
  std::uint64_t printed_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  SinkOptions o;
  emwin::runtime::Cli cli("emwin-example-sink", "emwin-example-sink: prints completed files (a sink on the runtime)");
  emwin::service::addCommonOptions(cli, common);
  cli.option("--connect", o.connect, "assembler pipeline endpoint (tap endpoint with --tap)")
      ->check(emwin::runtime::ConnectEndpoint());
  cli.option("--group", o.group, "consumer group (replicas of one group share the files)");
  cli.option("--topic", o.topics, "topic prefix (repeatable)")->delimiter(',');
  cli.flag("--tap", o.tap, "read the best-effort tap instead of joining a group");
  cli.option("--count", o.count, "stop after this many files (0 = run until stopped)");
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::service::Runtime runtime("example-sink", common);
  ExampleSink sink(o);
  return runtime.run(sink);
}
