// The bus with keys (CURVE + ZAP, docs/security.md), real processes on
// 127.0.0.1: only listed keys read taps or join consumer groups, refusals are
// counted, nothing is lost to a stranger, keys rotate by restart, and the
// crash schedule passes with keys on.
#include <csignal>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/security.h"
#include "emwin/bus/v1/stats.pb.h"
#include "pipeline_harness.h"

namespace emwin::test {
namespace {

PipelineConfig keyed(std::vector<std::string> sim_args = {"--once", "--rate", "100fps"}) {
  PipelineConfig c;
  c.keys = true;
  c.state_dirs = true;
  c.sim_args = std::move(sim_args);
  return c;
}

bus::BusSecurity clientKeys(const Pipeline& p, const std::string& identity) {
  bus::BusSecurity s;
  std::string error;
  auto pub = bus::readKeyFile(p.keysDir() + "/bus.pub", &error);
  auto own = bus::readKeyFile(p.keysDir() + "/" + identity + ".key", &error);
  if (!pub || !own) throw std::runtime_error(error);
  s.server.public_key = pub->public_key;
  s.own = *own;
  return s;
}

// Latest ServiceStats of `service` seen on the tap `endpoint` (read with the stats key).
emwin::bus::v1::ServiceStats statsOf(const Pipeline& p, const std::string& endpoint, const std::string& service,
                                     const std::function<bool(const emwin::bus::v1::ServiceStats&)>& until) {
  zmq::context_t ctx;
  auto keys = clientKeys(p, "tail");
  bus::SubscriberOptions o;
  o.endpoints = {endpoint};
  o.topic_prefixes = {"stats." + service};
  o.security = &keys;
  bus::Subscriber tap(ctx, o);
  emwin::bus::v1::ServiceStats last;
  waitUntil(
      [&] {
        if (auto m = tap.receive(50ms)) last.ParseFromString(m->payload);
        return until(last);
      },
      20s * kSlow);
  return last;
}

std::uint64_t counterOf(const emwin::bus::v1::ServiceStats& s, const std::string& name) {
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

}  // namespace

// A stranger that joins the writers' group: with a listed key that may not join
// it, it is refused (counted) and receives nothing; without a key its handshake
// fails. The real writer writes every product.
TEST(Security, UnauthorisedConsumerIsRefusedOnThePipelineAndNothingIsLostToIt) {
  Pipeline p(keyed());
  p.startConsumers();
  zmq::context_t ctx;
  auto archive_keys = clientKeys(p, "archive");  // may join group "archive", not "disk-writer"
  bus::SubscriberOptions rogue;
  rogue.mode = bus::Mode::kPipeline;
  rogue.endpoints = {p.assemblerPipe()};
  rogue.group = "disk-writer";
  rogue.security = &archive_keys;
  bus::Subscriber with_key(ctx, rogue);
  bus::SubscriberOptions naked = rogue;
  naked.security = nullptr;
  bus::Subscriber without_key(ctx, naked);
  p.startFeed();
  std::size_t stolen = 0;
  ASSERT_TRUE(waitUntil(
      [&] {
        while (with_key.receive(0ms)) ++stolen;
        while (without_key.receive(0ms)) ++stolen;
        return p.sim().countLines(std::regex("^done ")) > 0;
      },
      90s * kSlow))
      << p.logs();
  const SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 30s * kSlow)) << p.logs();
  expectDiskMatchesSim(p, sent);
  EXPECT_EQ(stolen, 0u);
  auto s = statsOf(p, p.assemblerTap(), "assembler", [](const auto& st) {
    return counterOf(st, "bus_unauthorized") >= 1 && counterOf(st, "auth_handshake_failures") >= 1;
  });
  EXPECT_GE(counterOf(s, "bus_unauthorized"), 1u) << "the listed key asking for a group it may not join";
  EXPECT_GE(counterOf(s, "auth_handshake_failures"), 1u) << "the connection without a key";
}

// A tap reader whose key is not listed receives nothing and is counted; a
// listed one reads; one that knows the wrong server key never gets in.
TEST(Security, UnlistedOrWrongKeysReadNothingFromATapAndAreCounted) {
  Pipeline p(keyed({"--loop", "--rate", "50fps"}));
  p.start();
  {
    Process keygen(ProcessSpec{binaryPath("tools/keygen/emwin-keygen"), {"--dir", p.keysDir(), "stranger"}, {},
                               p.dir(), p.dir(), "keygen-stranger"});
    ASSERT_EQ(keygen.waitExit(20s), std::optional<int>(0));
  }
  zmq::context_t ctx;
  auto stranger = clientKeys(p, "stranger");
  auto reader = clientKeys(p, "tail");
  auto wrong_server = reader;
  wrong_server.server.public_key = bus::generateKeyPair().public_key;
  auto open = [&](const bus::BusSecurity* keys) {
    bus::SubscriberOptions o;
    o.endpoints = {p.assemblerTap()};
    o.topic_prefixes = {"file."};
    o.security = keys;
    return std::make_unique<bus::Subscriber>(ctx, o);
  };
  auto listed = open(&reader);
  auto unlisted = open(&stranger);
  auto wrong = open(&wrong_server);
  std::size_t got_listed = 0, got_others = 0;
  ASSERT_TRUE(waitUntil(
      [&] {
        while (listed->receive(0ms)) ++got_listed;
        while (unlisted->receive(0ms)) ++got_others;
        while (wrong->receive(0ms)) ++got_others;
        return got_listed >= 20;
      },
      60s * kSlow))
      << p.logs();
  EXPECT_EQ(got_others, 0u);
  auto s = statsOf(p, p.assemblerTap(), "assembler", [](const auto& st) {
    return counterOf(st, "auth_denied") >= 1 && counterOf(st, "auth_handshake_failures") >= 1;
  });
  EXPECT_GE(counterOf(s, "auth_denied"), 1u) << "the unlisted key";
  EXPECT_GE(counterOf(s, "auth_handshake_failures"), 1u) << "the wrong server key";
}

// Rotation: the writer gets a new key pair, the access rule is updated, the
// assembler and the writer are restarted: delivery goes on with the new key and
// the old key no longer gets in.
TEST(Security, KeyRotationByRestart) {
  Pipeline p(keyed({"--loop", "--vary-rounds", "--rate", "40fps"}));
  p.start();
  ASSERT_TRUE(p.waitFilesOnDisk(5, 30s * kSlow)) << p.logs();
  const auto old_keys = clientKeys(p, "disk-writer");
  for (const auto& args : std::vector<std::vector<std::string>>{{"--dir", p.keysDir(), "--force", "disk-writer"},
                                                                 {"--dir", p.keysDir(), "--allow", "group.disk-writer",
                                                                  "disk-writer"},
                                                                 {"--dir", p.keysDir(), "--allow", "intake",
                                                                  "disk-writer"}}) {
    Process keygen(ProcessSpec{binaryPath("tools/keygen/emwin-keygen"), args, {}, p.dir(), p.dir(), "keygen-rotate"});
    ASSERT_EQ(keygen.waitExit(20s), std::optional<int>(0)) << keygen.text(Stream::kStderr);
  }
  p.writer(0).signal(SIGTERM);
  ASSERT_TRUE(p.writer(0).waitExit(10s).has_value());
  p.assembler().signal(SIGTERM);
  ASSERT_TRUE(p.assembler().waitExit(10s).has_value());
  p.startAssembler(/*wait=*/false);
  p.startWriter(0);
  const std::size_t before = countFiles(p.out());
  EXPECT_TRUE(p.waitFilesOnDisk(before + 10, 60s * kSlow)) << "no delivery with the rotated key\n" << p.logs();
  // The old key pair is refused now.
  zmq::context_t ctx;
  bus::SubscriberOptions o;
  o.mode = bus::Mode::kPipeline;
  o.endpoints = {p.assemblerPipe()};
  o.group = "disk-writer";
  auto old = old_keys;
  o.security = &old;
  bus::Subscriber stale(ctx, o);
  std::size_t got = 0;
  waitUntil(
      [&] {
        while (stale.receive(0ms)) ++got;
        return false;
      },
      2s);
  EXPECT_EQ(got, 0u);
}

// The crash schedule of integration_restart_test, with keys on every endpoint.
TEST(Security, RandomKillsWithKeysLoseNothing) {
  PipelineConfig c = keyed({"--once", "--rate", "80fps"});
  c.writers = 3;
  c.classifier = true;
  Pipeline p(c);
  p.start();
  ASSERT_TRUE(p.waitFilesOnDisk(5, 30s * kSlow)) << p.logs();
  std::mt19937 rng(7);
  std::vector<int> targets = {1, 2, 5, 1, 3};  // assembler, writer0, classifier, assembler, writer1
  for (const int t : targets) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800 + rng() % 1500));
    if (t == 1) {
      p.assembler().kill();
      p.startAssembler(/*wait=*/false);
    } else if (t == 5) {
      p.classifier().kill();
      p.startClassifier();
    } else {
      p.writer(t - 2).kill();
      p.startWriter(t - 2);
    }
  }
  ASSERT_TRUE(p.waitSimDone(120s * kSlow)) << p.logs();
  const SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 120s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);
}

}  // namespace emwin::test
