// emwin-gateway as a process fed by the test itself, playing the assembler's
// and the classifier's taps (bus::Publisher): hostile file names and wrong
// payloads on the bus are refused and counted (never served, never fatal),
// the active alerts survive a restart through --state-dir, --max-clients
// answers 503 and counts, and --http-token guards the API (header or
// ?access_token=) while the page's files and /healthz stay open.
#include <gtest/gtest.h>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/topics.h"
#include "emwin/bus/v1/stats.pb.h"
#include "file_classifier.h"
#include "gateway_client.h"
#include "runtime/sha256.h"

namespace emwin::test {
namespace {

namespace v1 = emwin::bus::v1;

v1::CompletedFile fileNamed(const std::string& name, const std::string& data) {
  v1::CompletedFile f;
  f.set_filename(name);
  f.set_data(data);
  f.set_size_bytes(data.size());
  f.set_sha256(runtime::sha256Hex(std::string_view(data)));
  f.set_fd_unix_s(1714168800);
  return f;
}

// The test's own taps: files (as the assembler) and alerts (as the classifier).
struct FakeTaps {
  zmq::context_t ctx{1};
  std::unique_ptr<bus::Publisher> files, alerts;
  FakeTaps() {
    bus::PublisherOptions fo;
    fo.producer_id = "assembler.test";
    fo.tap_endpoint = "tcp://127.0.0.1:" + std::to_string(freeTcpPort());
    files = std::make_unique<bus::Publisher>(ctx, fo);
    bus::PublisherOptions ao;
    ao.producer_id = "alert-classifier.test";
    ao.tap_endpoint = "tcp://127.0.0.1:" + std::to_string(freeTcpPort());
    alerts = std::make_unique<bus::Publisher>(ctx, ao);
  }
  std::vector<std::string> args() const {
    return {"--files", files->tapEndpoint(), "--alerts", alerts->tapEndpoint(), "--stats", ""};
  }
  // Publishes stats on both taps until the gateway says it heard them (no slow-joiner loss after).
  bool waitHeard(int port) {
    return waitUntil(
        [&] {
          v1::ServiceStats s;
          s.set_service("test");
          files->publish("stats.assembler.test", s, bus::Path::kTapOnly);
          alerts->publish("stats.alert-classifier.test", s, bus::Path::kTapOnly);
          const Json h = httpGet(port, "/healthz").json();
          return h.is_object() && h["inputs"]["files"]["heard"] == true && h["inputs"]["alerts"]["heard"] == true;
        },
        20s);
  }
};

TEST(GatewayProcess, HostileNamesAndWrongPayloadsOnTheBusAreRefusedAndCounted) {
  const std::string dir = makeTempDir("emwin-gw-process");
  FakeTaps taps;
  std::unique_ptr<Process> gw;
  const int port = startGateway(gw, taps.args(), dir);
  ASSERT_GT(port, 0);
  ASSERT_TRUE(taps.waitHeard(port));
  SseClient files(port, "/events?topic=file.");
  ASSERT_TRUE(files.waitForEvent("hello"));

  const std::vector<std::string> hostile = {"../../etc/passwd", "a/b.TXT", ".hidden", std::string("nul\0byte", 8),
                                            "sp ace.TXT", "quote\".TXT", "crlf\r\nX-Injected: 1", std::string(300, 'A'),
                                            ""};
  for (const auto& name : hostile) {
    v1::CompletedFile f = fileNamed(name, "hostile content");
    taps.files->publish(bus::topics::file(name.empty() ? "EMPTY" : name), f);
  }
  v1::CompletedFile good =
      fileNamed("GOODNAME.TXT", readFile(std::string(EMWIN_CORPUS_DIR) + "/products/tornado_warning/TOROAX-0.txt"));
  taps.files->publish(bus::topics::file("GOODNAME.TXT"), good);
  // Not a CompletedFile at all, on a file topic; and garbage bytes.
  v1::ServiceStats wrong;
  wrong.set_service("imposter");
  taps.files->publish("file.TXT.WRONG.TXT", wrong);
  ASSERT_TRUE(files.waitFor([&] { return files.count("file") >= hostile.size() + 1; }));

  // Every file is announced (the stream shows what passed), but only the safe name is downloadable.
  for (const auto& e : files.of("file")) {
    const Json j = e.json();
    if (j["name"] == "GOODNAME.TXT") {
      EXPECT_EQ(j["url"], "/files/GOODNAME.TXT");
      EXPECT_EQ(j["awips_id"], "TOROAX");
    } else {
      EXPECT_TRUE(j["url"].is_null()) << j.dump();
    }
  }
  const Json list = httpGet(port, "/files").json();
  ASSERT_EQ(list["count"], 1) << list.dump();
  EXPECT_EQ(list["files"][0]["name"], "GOODNAME.TXT");
  const HttpReply body = httpGet(port, "/files/GOODNAME.TXT");
  EXPECT_EQ(body.status, 200);
  EXPECT_EQ(body.body, good.data());
  EXPECT_NE(body.head.find("Content-Disposition: inline; filename=\"GOODNAME.TXT\""), std::string::npos);
  EXPECT_NE(body.head.find("X-Content-Type-Options: nosniff"), std::string::npos);
  EXPECT_EQ(httpGet(port, "/files/..%2F..%2Fetc%2Fpasswd").status, 400);

  ASSERT_TRUE(waitUntil(
      [&] {
        const std::string m = httpGet(port, "/metrics").body;
        return metric(m, "emwin_gateway_files_refused_total{reason=\"bad_name\"}") == hostile.size() &&
               metric(m, "emwin_gateway_bus_bad_payloads_total{tap=\"files\"}") == 1;
      },
      10s))
      << httpGet(port, "/metrics").body;
  EXPECT_TRUE(gw->running());
  EXPECT_EQ(httpGet(port, "/healthz").status, 200);
}

TEST(GatewayProcess, ActiveAlertsSurviveARestartThroughTheStateDir) {
  const std::string dir = makeTempDir("emwin-gw-restart");
  FakeTaps taps;
  std::vector<std::string> args = taps.args();
  args.insert(args.end(), {"--state-dir", dir + "/state", "--clock", "feed"});
  std::unique_ptr<Process> gw;
  int port = startGateway(gw, args, dir, "gateway-1");
  ASSERT_GT(port, 0);
  ASSERT_TRUE(taps.waitHeard(port));
  // The classifier's alerts of a real tornado warning.
  sinks::FileClassifier classifier;
  v1::CompletedFile tor = fileNamed("TOROAX00.TXT", readFile(std::string(EMWIN_CORPUS_DIR) +
                                                              "/products/tornado_warning/TOROAX-0.txt"));
  for (const auto& a : classifier.classify(tor).alerts) {
    v1::Alert copy = a.alert;
    taps.alerts->publish(a.topic, copy);
  }
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/alerts/active").json().value("count", 0) == 1; }, 10s))
      << httpGet(port, "/alerts/active").body;
  gw->signal(SIGTERM);
  ASSERT_EQ(gw->waitExit(10s).value_or(-1), 0);

  port = startGateway(gw, args, dir, "gateway-2");
  ASSERT_GT(port, 0);
  const Json active = httpGet(port, "/alerts/active").json();
  ASSERT_EQ(active["count"], 1) << active.dump();
  EXPECT_EQ(active["alerts"][0]["key"], "KOAX.TO.W.0038.2024");
  EXPECT_EQ(active["at"], "2024-04-26T21:59:00Z");  // the feed clock came back with it
  EXPECT_NE(gw->text(Stream::kStderr).find("active alerts restored"), std::string::npos);
}

TEST(GatewayProcess, MaxClientsAnswers503AndCounts) {
  const std::string dir = makeTempDir("emwin-gw-max");
  std::unique_ptr<Process> gw;
  const int port = startGateway(gw, {"--alerts", "", "--files", "", "--stats", "", "--max-clients", "2"}, dir);
  ASSERT_GT(port, 0);
  SseClient a(port, "/events"), b(port, "/ws?x=1");  // the second is not an upgrade: 426, not a stream
  SseClient c(port, "/events");
  ASSERT_TRUE(a.waitForEvent("hello"));
  ASSERT_TRUE(c.waitForEvent("hello"));
  SseClient d(port, "/events");
  ASSERT_TRUE(d.waitFor([&] { return d.status() != 0; }));
  EXPECT_EQ(d.status(), 503);
  const std::string m = httpGet(port, "/metrics").body;
  EXPECT_EQ(metric(m, "emwin_gateway_clients_refused_total"), 1) << m;
  EXPECT_EQ(metric(m, "emwin_gateway_clients{protocol=\"sse\"}"), 2) << m;
}

TEST(GatewayProcess, TokenGuardsTheApiButNotThePageOrHealth) {
  const std::string dir = makeTempDir("emwin-gw-token");
  std::unique_ptr<Process> gw;
  const int port = startGateway(gw, {"--alerts", "", "--files", "", "--stats", "", "--http-token", "s3cret"}, dir);
  ASSERT_GT(port, 0);
  EXPECT_EQ(httpGet(port, "/alerts/active").status, 401);
  EXPECT_EQ(httpGet(port, "/files").status, 401);
  EXPECT_EQ(httpGet(port, "/alerts/active?access_token=wrong").status, 401);
  EXPECT_EQ(httpGet(port, "/alerts/active?access_token=s3cret").status, 200);
  SseClient denied(port, "/events");
  ASSERT_TRUE(denied.waitFor([&] { return denied.status() != 0; }));
  EXPECT_EQ(denied.status(), 401);
  SseClient header(port, "/events", {"Authorization: Bearer s3cret"});
  EXPECT_TRUE(header.waitForEvent("hello"));
  SseClient query(port, "/events?access_token=s3cret&min_tier=warning");
  EXPECT_TRUE(query.waitForEvent("hello"));
  EXPECT_EQ(httpGet(port, "/").status, 200);
  EXPECT_EQ(httpGet(port, "/app.js").status, 200);
  EXPECT_EQ(httpGet(port, "/healthz").status, 200);
}

}  // namespace
}  // namespace emwin::test
