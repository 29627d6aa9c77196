#pragma once
// Drives Debian's headless Chromium over the DevTools protocol for page
// tests: starts it on a fresh profile with a kernel-chosen debugging port
// (read from <profile>/DevToolsActivePort), attaches to its page over a
// WebSocket (Boost.Beast), and offers navigate / evaluate / set the viewport
// / screenshot, collecting uncaught JavaScript exceptions on the way.
// Chromium is killed when the object goes. Thread-safety: test-thread only.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "gateway_client.h"
#include "support/process.h"

namespace emwin::test {

// Decodes standard base64 (what Page.captureScreenshot returns).
inline std::string base64Decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0;
  unsigned acc = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// The chromium executable (EMWIN_CHROMIUM overrides; Debian's is /usr/bin/chromium).
inline std::string chromiumPath() {
  if (const char* e = std::getenv("EMWIN_CHROMIUM"); e && *e) return e;
  return "/usr/bin/chromium";
}

class HeadlessChromium {
 public:
  // Starts chromium with a `width` x `height` window; check started().
  HeadlessChromium(const std::string& log_dir, int width, int height) : profile_(makeTempDir("emwin-chromium")) {
    ProcessSpec spec;
    spec.program = chromiumPath();
    spec.args = {"--headless",
                 "--no-sandbox",
                 "--disable-gpu",
                 "--disable-quic",
                 "--no-first-run",
                 "--disable-background-networking",
                 "--disable-component-update",
                 "--disable-sync",
                 "--disable-extensions",
                 "--disable-dev-shm-usage",
                 "--hide-scrollbars",
                 "--user-data-dir=" + profile_,
                 "--remote-debugging-port=0",
                 "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                 "about:blank"};
    spec.log_dir = log_dir;
    spec.name = "chromium";
    proc_ = std::make_unique<Process>(spec);
    // Chromium writes its port (and the browser target path) once it listens.
    const std::string port_file = profile_ + "/DevToolsActivePort";
    if (!waitUntil([&] { return !readFile(port_file).empty() && readFile(port_file).find('\n') != std::string::npos; },
                   30s)) {
      error_ = "no DevToolsActivePort: " + proc_->text(Stream::kStderr);
      return;
    }
    port_ = std::stoi(readFile(port_file));
    // The page target's WebSocket.
    std::string ws_path;
    waitUntil(
        [&] {
          const Json list = httpGet(port_, "/json/list").json();
          if (!list.is_array()) return false;
          for (const auto& t : list) {
            if (t.value("type", "") == "page" && t.contains("webSocketDebuggerUrl")) {
              const std::string url = t["webSocketDebuggerUrl"];
              ws_path = url.substr(url.find('/', std::string("ws://").size()));
              return true;
            }
          }
          return false;
        },
        20s);
    if (ws_path.empty()) {
      error_ = "no page target";
      return;
    }
    ws_ = std::make_unique<Ws>(io_);
    ws_->next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
    ws_->read_message_max(64u << 20);
    ws_->handshake("127.0.0.1:" + std::to_string(port_), ws_path);
    call("Runtime.enable");
    call("Page.enable");
  }
  ~HeadlessChromium() {
    ws_.reset();
    proc_.reset();  // SIGKILL and reap
    std::error_code ec;
    std::filesystem::remove_all(profile_, ec);
  }

  bool started() const { return error_.empty() && ws_ != nullptr; }
  const std::string& error() const { return error_; }

  // Sends a DevTools command and returns its "result" (throws on a protocol error).
  Json call(const std::string& method, const Json& params = Json::object()) {
    const int id = ++next_id_;
    const Json msg = {{"id", id}, {"method", method}, {"params", params}};
    ws_->write(boost::asio::buffer(msg.dump()));
    while (true) {
      Json m = Json::parse(readMessage(), nullptr, false);
      if (!m.is_object()) continue;
      if (m.value("method", "") == "Runtime.exceptionThrown") {
        exceptions_.push_back(m["params"]["exceptionDetails"].dump());
      }
      if (m.value("id", -1) == id) {
        if (m.contains("error")) throw std::runtime_error(method + ": " + m["error"].dump());
        return m["result"];
      }
    }
  }

  void navigate(const std::string& url) { call("Page.navigate", {{"url", url}}); }

  // Evaluates `expression` in the page; its value (JSON), or null.
  Json evaluate(const std::string& expression) {
    const Json r = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
    if (r.contains("exceptionDetails")) exceptions_.push_back(r["exceptionDetails"].dump());
    return r.contains("result") && r["result"].contains("value") ? r["result"]["value"] : Json(nullptr);
  }

  // Polls `expression` until it is true (JS truthy as a bool) or the timeout.
  bool waitFor(const std::string& expression, std::chrono::milliseconds timeout) {
    return waitUntil([&] { return evaluate("!!(" + expression + ")") == true; }, timeout);
  }

  // Emulates a device of `width` x `height` CSS pixels.
  void viewport(int width, int height, bool mobile, double scale = 1) {
    call("Emulation.setDeviceMetricsOverride",
         {{"width", width}, {"height", height}, {"deviceScaleFactor", scale}, {"mobile", mobile}});
  }

  // Writes a PNG of the viewport (or of the whole page with `full_page`) to `path`.
  void screenshot(const std::string& path, bool full_page = false) {
    Json params = {{"format", "png"}};
    if (full_page) {
      const Json m = call("Page.getLayoutMetrics");
      const Json size = m.contains("cssContentSize") ? m["cssContentSize"] : m["contentSize"];
      params["clip"] = {{"x", 0}, {"y", 0}, {"width", size["width"]}, {"height", size["height"]}, {"scale", 1}};
      params["captureBeyondViewport"] = true;
    }
    const Json r = call("Page.captureScreenshot", params);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << base64Decode(r["data"].get<std::string>());
  }

  // One message from chromium, waiting at most 30 s (throws on timeout or error).
  std::string readMessage() {
    boost::beast::flat_buffer b;
    bool done = false;
    boost::beast::error_code ec;
    ws_->async_read(b, [&](const boost::beast::error_code& e, std::size_t) {
      ec = e;
      done = true;
    });
    io_.restart();
    io_.run_for(std::chrono::seconds(30));
    if (!done) {
      ws_->next_layer().cancel();
      io_.restart();
      io_.run();
      throw std::runtime_error("chromium did not answer within 30 s");
    }
    if (ec) throw std::runtime_error("chromium connection: " + ec.message());
    return boost::beast::buffers_to_string(b.data());
  }

  // Uncaught JavaScript exceptions seen so far.
  const std::vector<std::string>& exceptions() const { return exceptions_; }

 private:
  using Ws = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;
  std::string profile_;
  std::unique_ptr<Process> proc_;
  boost::asio::io_context io_;
  std::unique_ptr<Ws> ws_;
  int port_ = 0;
  int next_id_ = 0;
  std::string error_;
  std::vector<std::string> exceptions_;
};

}  // namespace emwin::test
