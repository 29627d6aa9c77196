#pragma once
// emwin::http::Server — a small asynchronous HTTP/1.1 server on the process's
// reactor (Boost.Beast on Boost.Asio): no thread per client, keep-alive,
// bounded request size, idle timeout and a connection cap (over it: 503 and
// close, counted). Routes are exact paths or prefixes for GET/HEAD. A route
// may instead take over the connection after reading the request (Server-Sent
// Events, WebSocket upgrades): the handler then owns the stream.
//
// Used by emwin-stats (/metrics, /healthz) and emwin-gateway. Streaming
// responses (SSE, WebSocket) are in stream.h, static assets compiled into the
// binary in static_files.h, Prometheus text in metrics.h.
// Thread-safety: not thread-safe; everything on the io_context's thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "service/asio.h"

namespace emwin::http {

namespace beast = boost::beast;
using BeastRequest = beast::http::request<beast::http::string_body>;

// A parsed request (what handlers see).
struct Request {
  std::string method;                              // "GET"
  std::string target;                              // as sent: "/events?office=KDMX"
  std::string path;                                // percent-decoded path: "/events"
  std::multimap<std::string, std::string> query;   // percent-decoded query parameters
  std::map<std::string, std::string> headers;      // lower-case names
  std::string remote;                              // peer address
  // First value of query parameter `name`, or nullopt.
  std::optional<std::string> param(const std::string& name) const;
  // All values of query parameter `name` (repeated and comma-separated ones).
  std::vector<std::string> params(const std::string& name) const;
  // Header value (name in lower case), or "".
  std::string header(const std::string& name) const;
};

// What a handler returns.
struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Configuration of a Server.
struct ServerOptions {
  std::string listen = "127.0.0.1:0";            // host:port (port 0 = any)
  std::size_t max_connections = 10000;           // open connections before new ones get 503
  std::size_t max_request_bytes = 64 * 1024;     // header + body limit
  std::chrono::seconds idle_timeout{60};         // keep-alive connections idle this long are closed
  std::vector<std::pair<std::string, std::string>> headers;  // added to every response (e.g. CORS)
};

// Counters of a Server.
struct ServerStats {
  std::uint64_t connections = 0;        // accepted
  std::uint64_t requests = 0;           // handled (incl. taken over)
  std::uint64_t over_capacity = 0;      // refused with 503 at max_connections
  std::uint64_t bad_requests = 0;       // unparsable or too large
  std::uint64_t not_found = 0;          // no route
  std::size_t open = 0;                 // open connections now (taken-over ones excluded)
};

namespace detail {
class Session;
}  // namespace detail

class Server {
 public:
  using Handler = std::function<Response(const Request&)>;
  // Takes over the connection after its request was read (SSE, WebSocket).
  using TakeOver = std::function<void(beast::tcp_stream&& stream, BeastRequest&& raw, const Request& request)>;

  // Binds and listens now. Throws std::system_error (address in use, bad
  // address) or std::invalid_argument (not host:port).
  Server(asio::io_context& io, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // GET/HEAD on exactly `path`.
  void get(const std::string& path, Handler handler);
  // GET/HEAD on every path starting with `prefix` (longest prefix wins).
  void getPrefix(const std::string& prefix, Handler handler);
  // GET on exactly `path`, then the handler owns the connection.
  void takeOver(const std::string& path, TakeOver handler);
  // Called before routing; a response stops the request there (auth, allow-lists).
  void guard(std::function<std::optional<Response>(const Request&)> guard);

  // The bound port (useful with port 0) and address.
  int port() const noexcept;
  std::string address() const;
  ServerStats stats() const;
  // Stops accepting; open connections end after their current response.
  void close();

 private:
  friend class detail::Session;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Writes `response` on a connection that a TakeOver handler owns but does not
// want to keep (a bad filter, a refused upgrade), then closes it.
void writeResponse(beast::tcp_stream&& stream, const BeastRequest& request, Response response);

// Raises this process's soft limit of open files (RLIMIT_NOFILE) towards
// `wanted`, up to the hard limit. Returns the soft limit now in force.
std::uint64_t raiseOpenFileLimit(std::uint64_t wanted);

// Percent-decodes `text` ('+' as space when `plus_is_space`).
std::string percentDecode(std::string_view text, bool plus_is_space = true);
// Splits a target into a decoded path and query parameters.
void parseTarget(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query);

}  // namespace emwin::http
