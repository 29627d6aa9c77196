// emwin-tail: line formatting, and the real executable against a publisher.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "format.h"
#include "test_util.h"

namespace emwin::bus {
namespace {

using namespace std::chrono_literals;

TEST(TailFormatTest, HumanAndJsonLinesDecodeByPayloadType) {
  zmq::context_t context;
  auto options = testing::localPublisher("ingest.0");
  options.pipeline_endpoint.clear();
  options.tap_endpoint = "inproc://tail-format";
  Publisher pub(context, options);
  SubscriberOptions sub_options;
  sub_options.endpoints = {"inproc://tail-format"};
  Subscriber sub(context, sub_options);
  ASSERT_TRUE(testing::joinTap(pub, sub));
  while (sub.receive(20ms)) {
  }
  auto seg = testing::segment(2, 1024);
  seg.set_filename("ZFPSFOCA.TXT");
  pub.publish("seg.TXT.ZFPSFOCA.TXT", seg);
  std::optional<Received> r;
  ASSERT_TRUE(testing::waitUntil([&] { return r.has_value(); }, [&] { r = sub.receive(20ms); }));
  const auto human = tail::humanLine(*r);
  EXPECT_NE(human.find("seg.TXT.ZFPSFOCA.TXT ingest.0#"), std::string::npos) << human;
  EXPECT_NE(human.find("Segment ZFPSFOCA.TXT 2/2"), std::string::npos) << human;
  const auto json = nlohmann::json::parse(tail::jsonLine(*r));
  EXPECT_EQ(json["topic"], "seg.TXT.ZFPSFOCA.TXT");
  EXPECT_EQ(json["message"]["filename"], "ZFPSFOCA.TXT");
  EXPECT_EQ(json["message"]["data_bytes"], 1024);
  EXPECT_FALSE(json["message"].contains("data"));
  EXPECT_EQ(json["message"]["header"]["producer_id"], "ingest.0");
}

// Runs emwin-tail with `args`, publishing probes until it exits; returns stdout.
std::string runTail(Publisher& pub, const std::vector<std::string>& args, int& exit_code) {
  int out[2];
  if (::pipe(out) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    std::string exe = std::string(EMWIN_BINARY_DIR) + "/tools/tail/emwin-tail";
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  std::string output;
  int status = 0;
  bool exited = false;
  std::uint32_t n = 0;
  testing::waitUntil([&] { return exited; },
                     [&] {
                       auto s = testing::segment(++n);
                       pub.publish(n % 2 == 0 ? "file.TXT.A.TXT" : "seg.TXT.B.TXT", s);
                       char buf[4096];
                       ssize_t got;
                       while ((got = ::read(out[0], buf, sizeof(buf))) > 0) output.append(buf, static_cast<size_t>(got));
                       exited = ::waitpid(pid, &status, WNOHANG) == pid;
                       if (!exited) std::this_thread::sleep_for(5ms);  // publishing pace, not synchronisation
                     },
                     20s);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  char buf[4096];
  ssize_t got;
  while ((got = ::read(out[0], buf, sizeof(buf))) > 0) output.append(buf, static_cast<size_t>(got));
  ::close(out[0]);
  exit_code = exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

TEST(TailToolTest, PrintsCountJsonLinesForTopicAndExitsZero) {
  zmq::context_t context;
  auto options = testing::localPublisher();
  options.pipeline_endpoint.clear();
  Publisher pub(context, options);
  int code = -1;
  const auto output = runTail(pub, {"--connect", pub.tapEndpoint(), "--topic", "file.", "--json", "--count", "3"}, code);
  EXPECT_EQ(code, 0);
  std::istringstream lines(output);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto json = nlohmann::json::parse(line);
    EXPECT_EQ(json["topic"], "file.TXT.A.TXT");
    ++count;
  }
  EXPECT_EQ(count, 3);
}

TEST(TailToolTest, TimeoutExitsZero) {
  zmq::context_t context;
  auto options = testing::localPublisher();
  options.pipeline_endpoint.clear();
  Publisher pub(context, options);
  int code = -1;
  const auto output = runTail(pub, {"--connect", pub.tapEndpoint(), "--topic", "nothing.", "--timeout-s", "0.3"}, code);
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(output.empty());
}

}  // namespace
}  // namespace emwin::bus
