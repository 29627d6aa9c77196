// Backpressure meets the world: a server that closes while ingest is paused,
// and an ingest held by a full pipeline that is asked to stop. Real processes
// on 127.0.0.1 (fault harness), raw TCP servers written here.
#include <sys/socket.h>

#include <csignal>
#include <set>

#include <gtest/gtest.h>

#include "fault_harness.h"
#include "runtime/sha256.h"

namespace emwin::test {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kSlow = 4;
#else
constexpr int kSlow = 1;
#endif

// `n` distinct two-block text products and their sha256s.
struct Batch {
  std::vector<std::uint8_t> wire;
  std::set<std::string> shas;
};
Batch makeBatch(int n) {
  Batch b;
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "BP%06d.TXT", i);
    std::string text = "PRODUCT " + std::to_string(i) + "\r\n";
    while (text.size() < 1500) text += "BACKPRESSURE MEETS A CLOSING SERVER " + std::to_string(i) + "\r\n";
    auto frames = fileFrames(name, text);
    b.wire.insert(b.wire.end(), frames.begin(), frames.end());
    b.shas.insert(runtime::sha256Hex(text));
  }
  return b;
}

std::size_t present(const std::string& out, const std::set<std::string>& want) {
  const auto got = shasOnDisk(out);
  std::size_t n = 0;
  for (const auto& s : want) n += got.count(s) > 0 ? 1 : 0;
  return n;
}

}  // namespace

// Slow writers pause ingest (it stops reading its socket). The server then
// sends its last bytes and closes. What reached ingest's socket must all be
// decoded and delivered: no write (re-logon) while paused may provoke a reset
// that discards the kernel's receive buffer, and the connection is read to its
// end before ingest reconnects.
TEST(Backpressure, ServerClosingWhileIngestIsPausedLosesNothingThatReachedItsSocket) {
  // More than ingest's receive buffer holds, less than both sides' buffers
  // together: the server's kernel still holds the tail when it closes.
  const Batch batch = makeBatch(250);
  std::atomic<int> served{0};
  std::atomic<bool> all_written{false};
  std::atomic<RawServer*> server_ptr{nullptr};
  RawServer server([&](int fd, const std::atomic<bool>& stop) {
    if (served.fetch_add(1) == 0) {
      // As a real server: the logon is read before the stream starts (a socket
      // closed with unread bytes would itself reset the connection).
      while ((server_ptr.load() == nullptr || server_ptr.load()->bytesReceived() == 0) && !stop.load()) std::this_thread::sleep_for(1ms);
      const int sndbuf = 1 << 20;  // the kernel caps it at net.core.wmem_max (doubled)
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
      all_written = writeAll(fd, batch.wire, stop);  // lands in the two kernels' buffers
      return;                                         // then close, with ingest still paused
    }
    while (!stop.load()) std::this_thread::sleep_for(10ms);  // later connections: an idle server
  });
  server_ptr = &server;
  Pipeline p("bp-close");
  p.writer_args = {"--slow-ms", "15", "--credit", "1"};
  p.assembler_args = {"--hwm", "4", "--credit", "64"};  // a small window: ingest itself must pause
  p.startWriter("writer-bp-close");
  p.startAssembler("assembler-bp-close");
  p.startIngest(server.address(), {"--hwm", "8", "--logon-interval-s", "1", "--rcvbuf", "131072",
                                   "--watchdog-s", "600"});
  zmq::context_t ctx;
  StatsWatch stats(ctx, {p.ing_pub}, "");
  ASSERT_TRUE(waitUntil([&] { return all_written.load(); }, 20s * kSlow)) << "the server could not write its batch";
  const bool landed = waitUntil([&] { return present(p.out, batch.shas) == batch.shas.size(); }, 30s * kSlow);
  EXPECT_TRUE(landed) << present(p.out, batch.shas) << " of " << batch.shas.size() << " products on disk\n"
                      << p.ingest->text(Stream::kStderr).substr(0, 4000);
  // The scenario really happened: ingest paused and held a re-logon back.
  const auto s = stats.waitFor(
      "ingest", [](const auto& st) { return counter(st, "logons_deferred") >= 1 && counter(st, "backpressure_pauses") >= 1; },
      10s);
  EXPECT_GE(counter(s, "backpressure_pauses"), 1u);
  EXPECT_GE(counter(s, "logons_deferred"), 1u);
  std::printf("[ measure ] server closed during backpressure: %zu of %zu products delivered\n",
              present(p.out, batch.shas), batch.shas.size());
}

// A pipeline consumer that takes one message and never acknowledges it fills
// ingest's group queue. SIGTERM must still stop ingest within a second, with a
// log line saying what it still held.
TEST(Backpressure, IngestHeldByAFullPipelineStopsWithinASecondOfSigterm) {
  const Batch batch = makeBatch(200);
  RawServer server([&](int fd, const std::atomic<bool>& stop) {
    writeAll(fd, batch.wire, stop);
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  Pipeline p("bp-stop");
  p.startIngest(server.address(), {"--hwm", "10"});
  zmq::context_t ctx;
  // The tap joins first (ingest's stats reach it), then the stuck consumer lets ingest start.
  bus::SubscriberOptions t;
  t.mode = bus::Mode::kTap;
  t.endpoints = {p.ing_pub};
  t.topic_prefixes = {"seg.", "stats."};
  bus::Subscriber tap(ctx, t);
  ASSERT_TRUE(waitUntil(
      [&] {
        auto m = tap.receive(20ms);
        return m && m->topic.rfind("stats.", 0) == 0;
      },
      10s * kSlow));
  bus::SubscriberOptions o;
  o.mode = bus::Mode::kPipeline;
  o.endpoints = {p.ing_pipe};
  o.group = "stuck";
  o.credit_window = 1;
  bus::Subscriber stuck(ctx, o);
  std::size_t tapped = 0;
  // hwm 10 + 1 in flight: ingest has published all it can; it is now held.
  ASSERT_TRUE(waitUntil(
      [&] {
        while (auto m = tap.receive(0ms)) tapped += m->topic.rfind("seg.", 0) == 0 ? 1 : 0;
        stuck.keepAlive();
        return tapped >= 11;
      },
      20s * kSlow))
      << tapped << " segments seen on the tap\n"
      << p.ingest->text(Stream::kStderr);
  ASSERT_TRUE(stuck.receive(2s).has_value());  // taken, never acknowledged
  stuck.keepAlive();
  const auto t0 = std::chrono::steady_clock::now();
  p.ingest->signal(SIGTERM);
  const auto code = p.ingest->waitExit(std::chrono::milliseconds(1000 * kSlow));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(code.has_value()) << "ingest did not stop within a second of SIGTERM\n"
                                << p.ingest->text(Stream::kStderr);
  EXPECT_EQ(*code, 0);
  const std::string err = p.ingest->text(Stream::kStderr);
  EXPECT_TRUE(std::regex_search(err, std::regex("stopp[a-z]* with [0-9]+ .*unacknowledged"))) << err;
  std::printf("[ measure ] blocked ingest stopped %lld ms after SIGTERM\n", static_cast<long long>(took.count()));
}

}  // namespace emwin::test
