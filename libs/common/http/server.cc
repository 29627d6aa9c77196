#include "http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <system_error>

#include "runtime/log.h"

namespace emwin::http {
namespace {

namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(c == '+' && plus_is_space ? ' ' : c);
  }
  return out;
}

void parseTarget(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query) {
  const auto q = target.find('?');
  path = percentDecode(target.substr(0, q), false);
  query.clear();
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    query.emplace(percentDecode(pair.substr(0, eq)),
                  eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1)));
  }
}

std::optional<std::string> Request::param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Request::params(const std::string& name) const {
  std::vector<std::string> out;
  auto [first, last] = query.equal_range(name);
  for (auto it = first; it != last; ++it) {
    std::string_view v = it->second;
    while (!v.empty()) {
      const auto comma = v.find(',');
      const std::string_view item = v.substr(0, comma);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      v = v.substr(comma + 1);
    }
  }
  return out;
}

std::string Request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, ServerOptions o) : io(io), options(std::move(o)), acceptor(io) {}

  asio::io_context& io;
  ServerOptions options;
  tcp::acceptor acceptor;
  std::map<std::string, Handler> exact;
  std::map<std::string, Handler, std::greater<>> prefixes;  // longest first among those sharing a start
  std::map<std::string, TakeOver> takeovers;
  std::function<std::optional<Response>(const Request&)> guard;
  ServerStats stats;
  bool closed = false;
  std::shared_ptr<spdlog::logger> log = runtime::logger("http");

  void accept();
};

namespace detail {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Server::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}
  ~Session() {
    if (counted_) --server_->stats.open;
  }

  void start(bool over_capacity) {
    counted_ = true;
    ++server_->stats.open;
    if (over_capacity) {
      ++server_->stats.over_capacity;
      auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::service_unavailable, 11);
      res->set(bhttp::field::content_type, "text/plain");
      res->set(bhttp::field::connection, "close");
      res->body() = "too many connections\n";
      res->prepare_payload();
      stream_.expires_after(std::chrono::seconds(5));
      bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, std::size_t) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      });
      return;
    }
    read();
  }

  beast::tcp_stream& stream() { return stream_; }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_request_bytes));
    parser_->body_limit(server_->options.max_request_bytes);
    stream_.expires_after(server_->options.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      close();
      return;
    }
    if (ec) {
      ++server_->stats.bad_requests;
      auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::bad_request, 11);
      res->set(bhttp::field::connection, "close");
      res->body() = "bad request: " + ec.message() + "\n";
      res->prepare_payload();
      bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, std::size_t) {
        self->close();
      });
      return;
    }
    BeastRequest raw = parser_->release();
    Request req;
    req.method = std::string(raw.method_string());
    req.target = std::string(raw.target());
    parseTarget(req.target, req.path, req.query);
    for (const auto& f : raw) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      req.headers[name] = std::string(f.value());
    }
    beast::error_code pe;
    const auto remote = stream_.socket().remote_endpoint(pe);
    if (!pe) req.remote = remote.address().to_string();
    ++server_->stats.requests;

    if (server_->guard) {
      if (auto denied = server_->guard(req)) return respond(raw, std::move(*denied));
    }
    if (raw.method() == bhttp::verb::get) {
      auto t = server_->takeovers.find(req.path);
      if (t != server_->takeovers.end()) {
        // The handler owns the stream from here; this session ends.
        --server_->stats.open;
        counted_ = false;
        stream_.expires_never();
        t->second(std::move(stream_), std::move(raw), req);
        return;
      }
    }
    Response res;
    if (raw.method() != bhttp::verb::get && raw.method() != bhttp::verb::head) {
      res.status = 405;
      res.body = "method not allowed\n";
      res.headers.emplace_back("Allow", "GET, HEAD");
    } else if (auto e = server_->exact.find(req.path); e != server_->exact.end()) {
      res = e->second(req);
    } else {
      bool found = false;
      for (const auto& [prefix, handler] : server_->prefixes) {
        if (req.path.rfind(prefix, 0) == 0) {
          res = handler(req);
          found = true;
          break;
        }
      }
      if (!found) {
        ++server_->stats.not_found;
        res.status = 404;
        res.body = "not found\n";
      }
    }
    respond(raw, std::move(res));
  }

  void respond(const BeastRequest& raw, Response res) {
    auto out = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(res.status),
                                                                      raw.version());
    out->set(bhttp::field::server, "emwin-bus");
    out->set(bhttp::field::content_type, res.content_type);
    for (const auto& [k, v] : server_->options.headers) out->set(k, v);
    for (const auto& [k, v] : res.headers) out->set(k, v);
    out->keep_alive(raw.keep_alive());
    if (raw.method() != bhttp::verb::head) out->body() = std::move(res.body);
    out->prepare_payload();
    if (raw.method() == bhttp::verb::head) out->body().clear();
    bhttp::async_write(stream_, *out, [self = shared_from_this(), out](beast::error_code ec, std::size_t) {
      if (ec || !out->keep_alive() || self->server_->closed) {
        self->close();
        return;
      }
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Server::Impl> server_;
  bool counted_ = false;
};

}  // namespace detail

void Server::Impl::accept() {
  if (closed) return;
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->closed) return;
    if (!ec) {
      ++self->stats.connections;
      const bool over = self->stats.open >= self->options.max_connections;
      std::make_shared<detail::Session>(std::move(socket), self)->start(over);
    } else if (ec != asio::error::operation_aborted) {
      self->log->warn("accept failed: {}", ec.message());
    }
    self->accept();
  });
}

Server::Server(asio::io_context& io, ServerOptions options) : impl_(std::make_shared<Impl>(io, std::move(options))) {
  const std::string& listen = impl_->options.listen;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("want host:port, got '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*") host = "0.0.0.0";
  const std::string port_text = listen.substr(colon + 1);
  int port = -1;
  try {
    port = std::stoi(port_text);
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) throw std::invalid_argument("bad port in '" + listen + "'");
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("bad address '" + host + "' in '" + listen + "'");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec.value(), std::system_category(), "cannot listen on " + listen);
  impl_->accept();
}

Server::~Server() { close(); }

void Server::get(const std::string& path, Handler handler) { impl_->exact[path] = std::move(handler); }
void Server::getPrefix(const std::string& prefix, Handler handler) { impl_->prefixes[prefix] = std::move(handler); }
void Server::takeOver(const std::string& path, TakeOver handler) { impl_->takeovers[path] = std::move(handler); }
void Server::guard(std::function<std::optional<Response>(const Request&)> guard) { impl_->guard = std::move(guard); }

int Server::port() const noexcept {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::string Server::address() const {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? std::string() : ep.address().to_string() + ":" + std::to_string(ep.port());
}

ServerStats Server::stats() const { return impl_->stats; }

void Server::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

namespace {

// Writes one response on a connection nobody else owns, then closes it.
class OneResponse : public std::enable_shared_from_this<OneResponse> {
 public:
  OneResponse(beast::tcp_stream&& stream, bhttp::response<bhttp::string_body>&& response)
      : stream_(std::move(stream)), response_(std::move(response)) {}
  void run() {
    stream_.expires_after(std::chrono::seconds(10));
    bhttp::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

 private:
  beast::tcp_stream stream_;
  bhttp::response<bhttp::string_body> response_;
};

}  // namespace

void writeResponse(beast::tcp_stream&& stream, const BeastRequest& request, Response response) {
  bhttp::response<bhttp::string_body> out(static_cast<bhttp::status>(response.status), request.version());
  out.set(bhttp::field::server, "emwin-bus");
  out.set(bhttp::field::content_type, response.content_type);
  for (const auto& [k, v] : response.headers) out.set(k, v);
  out.keep_alive(false);
  if (request.method() != bhttp::verb::head) out.body() = std::move(response.body);
  out.prepare_payload();
  std::make_shared<OneResponse>(std::move(stream), std::move(out))->run();
}

std::uint64_t raiseOpenFileLimit(std::uint64_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(wanted, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? wanted : static_cast<std::uint64_t>(limit.rlim_cur);
}

}  // namespace emwin::http
