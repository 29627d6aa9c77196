// Crash schedules nobody tuned the code for: every pipeline process (ingest,
// assembler, three disk-writer replicas, the alert classifier) is SIGKILLed
// at random points while products stream, and restarted the way
// docker-compose restarts it (same flags and state dir, no --wait-consumers).
// Afterwards everything the simulator sent must be on disk, byte-identical
// (sha256), each product once.
#include <algorithm>
#include <csignal>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "pipeline_harness.h"

namespace emwin::test {
namespace {

PipelineConfig restartConfig(const std::string& rate) {
  PipelineConfig c;
  c.writers = 3;
  c.classifier = true;
  c.state_dirs = true;
  c.sim_args = {"--once", "--rate", rate};
  return c;
}

// Highest client id the sim has seen connect (0 if none).
int lastClient(const Process& sim) {
  int last = 0;
  for (const auto& line : sim.lines()) {
    if (line.rfind("connect client=", 0) == 0) last = std::max(last, std::stoi(fieldOf(line, "client")));
  }
  return last;
}

// Waits until the sim finished sending everything to its latest client and
// every distinct product it sent is on disk (or the deadline passes).
bool waitAllLanded(Pipeline& p, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  };
  // The latest client may change if ingest reconnects meanwhile: wait for a
  // "done" of the client that is the latest at that moment.
  while (left().count() > 0) {
    const int client = lastClient(p.sim());
    if (client > 0 &&
        p.sim().waitForLine(std::regex("^done client=" + std::to_string(client) + " "), std::min(left(), 2000ms))) {
      if (lastClient(p.sim()) == client) break;
    }
  }
  const SimManifest sent = parseSent(p.sim());
  return p.waitFilesOnDisk(sent.distinct.size(), std::max(left(), 1ms));
}

std::string describe(const Pipeline& p, const SimManifest& sent) {
  return std::to_string(countFiles(p.out())) + " files on disk, " + std::to_string(sent.distinct.size()) +
         " distinct products sent\n" + p.logs();
}

}  // namespace

// The first report: the assembler SIGKILLed four times about ten
// seconds apart... here a few seconds apart, with three writer replicas that
// stay up, restarted as compose does it.
TEST(Restart, AssemblerKilledRepeatedlyUnderLoadLosesNothing) {
  Pipeline p(restartConfig("60fps"));
  p.start();
  ASSERT_TRUE(p.waitFilesOnDisk(10, 30s * kSlow)) << p.logs();
  for (int round = 0; round < 4; ++round) {
    p.assembler().kill();
    std::this_thread::sleep_for(200ms);  // compose restarts after its own short delay
    p.startAssembler(/*wait=*/false);
    const std::size_t before = countFiles(p.out());
    // Let it work a little before the next kill (new files land or the sim is done).
    waitUntil([&] { return countFiles(p.out()) >= before + 15; }, 3s * kSlow);
  }
  ASSERT_TRUE(waitAllLanded(p, 120s * kSlow)) << describe(p, parseSent(p.sim()));
  const SimManifest sent = parseSent(p.sim());
  expectDiskMatchesSim(p, sent);
  std::printf("[ measure ] assembler killed 4x: %zu of %zu products on disk\n", countFiles(p.out()),
              sent.distinct.size());
}

// Random crash schedules over every pipeline process, several seeds.
class RandomKills : public ::testing::TestWithParam<unsigned> {};

TEST_P(RandomKills, EveryProcessKilledAtRandomPointsLosesNothingAndWritesNothingTwice) {
  Pipeline p(restartConfig("80fps"));
  p.start();
  ASSERT_TRUE(p.waitFilesOnDisk(5, 30s * kSlow)) << p.logs();
  std::mt19937 rng(GetParam());
  std::uniform_int_distribution<int> any(0, 5);          // ingest, assembler, writer 0..2, classifier
  std::uniform_int_distribution<int> gap_ms(800, 3000);  // between kills
  std::uniform_int_distribution<int> down_ms(0, 800);    // how long a process stays dead
  // Every kind of process at least once, in a random order, plus two at random.
  std::vector<int> targets = {0, 1, 2 + static_cast<int>(rng() % 3), 5, any(rng), any(rng)};
  std::shuffle(targets.begin(), targets.end(), rng);
  std::string schedule;
  for (const int t : targets) {
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms(rng)));
    const int down = down_ms(rng);
    switch (t) {
      case 0:
        p.ingest().kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(down));
        p.startIngest(/*wait=*/false);
        schedule += " ingest";
        break;
      case 1:
        p.assembler().kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(down));
        p.startAssembler(/*wait=*/false);
        schedule += " assembler";
        break;
      case 5:
        p.classifier().kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(down));
        p.startClassifier();
        schedule += " classifier";
        break;
      default:
        p.writer(t - 2).kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(down));
        p.startWriter(t - 2);
        schedule += " writer" + std::to_string(t - 2);
        break;
    }
  }
  ASSERT_TRUE(waitAllLanded(p, 150s * kSlow)) << "kills:" << schedule << "\n" << describe(p, parseSent(p.sim()));
  const SimManifest sent = parseSent(p.sim());
  expectDiskMatchesSim(p, sent);
  std::printf("[ measure ] seed %u kills:%s -> %zu of %zu products on disk\n", GetParam(), schedule.c_str(),
              countFiles(p.out()), sent.distinct.size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomKills, ::testing::Values(1u, 2u, 3u));

}  // namespace emwin::test
