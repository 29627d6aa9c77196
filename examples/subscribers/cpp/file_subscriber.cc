// A custom C++ subscriber in one page: prints every completed file the
// assembler publishes, as "file <name> <size> <sha256>".
//
//   emwin-example-subscriber --connect tcp://127.0.0.1:5612 --topic file.TXT.          # reliable pipeline
//   emwin-example-subscriber --connect tcp://127.0.0.1:5602 --topic file. --tap        # best-effort tap
//
// On the pipeline path it joins its own consumer group ("example"), so it sees
// every file and nothing is lost: when it is slow, its bounded queue fills,
// its credit runs out and the assembler waits (backpressure). On the tap path
// it can never slow the receiver; what it misses is counted as gaps. Ctrl-C
// cancels the stream cleanly.
#include <csignal>
#include <iostream>
#include <thread>

#include "bus/subscribe.h"
#include "emwin/bus/v1/file.pb.h"
#include "runtime/cli.h"
#include "runtime/signals.h"

int main(int argc, char** argv) {
  std::string connect = "tcp://127.0.0.1:5612", group = "example";
  std::vector<std::string> topics;
  bool tap = false;
  std::size_t count = 0, max_queue = 16;
  emwin::runtime::Cli cli("emwin-example-subscriber", "emwin example subscriber: prints completed files");
  cli.option("--connect", connect, "assembler pipeline (or tap, with --tap) endpoint")
      ->check(emwin::runtime::ConnectEndpoint());
  cli.option("--topic", topics, "topic prefix, e.g. file.TXT. (repeatable; default all)")->delimiter(',');
  cli.option("--group", group, "consumer group on the pipeline path")->check(emwin::runtime::NonEmpty());
  cli.flag("--tap", tap, "use the best-effort tap instead of the reliable pipeline");
  cli.option("--count", count, "exit after N files (0 = run until Ctrl-C)");
  cli.option("--max-queue", max_queue, "files buffered before backpressure")
      ->check(emwin::runtime::UIntRange(1, 1'000'000));
  if (auto code = cli.parse(argc, argv)) return *code;

  emwin::bus::SubscriberOptions options;
  options.mode = tap ? emwin::bus::Mode::kTap : emwin::bus::Mode::kPipeline;
  options.endpoints = {connect};
  options.topic_prefixes = topics.empty() ? std::vector<std::string>{"file."} : topics;
  options.group = group;
  options.ephemeral = true;  // an ad hoc stream: its group ends when it exits

  emwin::runtime::installStopSignals();
  zmq::context_t context(1);
  emwin::bus::MessageStream<emwin::bus::v1::CompletedFile> files(context, options, max_queue);
  // Ctrl-C ends the range-for below from another thread.
  std::thread watcher([&] {
    while (!emwin::runtime::stopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    files.cancel();
  });

  std::size_t printed = 0;
  for (auto& file : files) {
    std::cout << "file " << file.filename() << ' ' << file.size_bytes() << ' ' << file.sha256() << std::endl;
    if (count > 0 && ++printed == count) break;
  }
  emwin::runtime::requestStop();
  watcher.join();
  auto stats = files.stats();
  std::cerr << "received=" << stats.received << " gaps=" << stats.gaps << " missed=" << stats.missed << '\n';
  return 0;
}
