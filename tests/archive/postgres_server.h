#pragma once
// A real PostgreSQL server for tests: initdb in a fresh temporary directory,
// pg_ctl start on a free port (TCP on 127.0.0.1, its socket in the same
// directory), fsync off; stop (pg_ctl stop -m fast: what the archive must
// survive), start again, and always stopped (-m immediate) and removed when
// destroyed. The server binaries are found in $EMWIN_PG_BIN, else
// /usr/lib/postgresql/<version>/bin (Debian: postgresql-15, with
// postgresql-15-postgis-3 for PostGIS). PostgreSQL refuses to run as root: as
// root the server runs as the `postgres` user (created by the Debian package),
// else `nobody`, through runuser(1).
//
// A missing server is an error, never a skip: start() throws with a message
// naming the packages, and the tests fail with it.
//
// Thread-safety: test-thread only.

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "support/process.h"

namespace emwin::test {

class PostgresServer {
 public:
  PostgresServer() = default;
  ~PostgresServer() {
    if (started_) run(pgCtl({"-D", data_, "-m", "immediate", "-w", "stop"}), std::chrono::seconds(30));
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The directory with initdb, pg_ctl and postgres; "" when none is installed.
  static std::string binDir() {
    if (const char* env = std::getenv("EMWIN_PG_BIN"); env != nullptr && *env != '\0') return env;
    for (const char* v : {"15", "16", "17", "14", "13"}) {
      const std::string dir = std::string("/usr/lib/postgresql/") + v + "/bin";
      if (::access((dir + "/initdb").c_str(), X_OK) == 0 && ::access((dir + "/pg_ctl").c_str(), X_OK) == 0) return dir;
    }
    return {};
  }

  // initdb (once) and start. Throws std::runtime_error saying what is missing or what failed.
  void start() {
    if (started_) return;
    if (bin_.empty()) {
      bin_ = binDir();
      if (bin_.empty()) {
        throw std::runtime_error(
            "PostgreSQL server binaries not found (initdb, pg_ctl in /usr/lib/postgresql/15/bin or $EMWIN_PG_BIN): "
            "install the Debian packages postgresql-15 and postgresql-15-postgis-3 (scripts/install-deps does)");
      }
    }
    if (dir_.empty()) {
      dir_ = makeTempDir("emwin-pg");
      data_ = dir_ + "/data";
      if (::geteuid() == 0) {
        user_ = ::getpwnam("postgres") != nullptr ? "postgres" : "nobody";
        const passwd* pw = ::getpwnam(user_.c_str());
        if (pw == nullptr) throw std::runtime_error("running as root and neither user postgres nor nobody exists");
        if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("cannot chown " + dir_);
      }
      auto [code, text] = run(wrap(bin_ + "/initdb", {"-D", data_, "-U", "postgres", "--auth=trust",
                                                      "--encoding=UTF8", "--locale=C", "--no-sync"}),
                              std::chrono::seconds(120));
      if (code != 0) throw std::runtime_error("initdb failed (exit " + std::to_string(code) + "): " + text);
    }
    port_ = freeTcpPort();
    auto [code, text] =
        run(pgCtl({"-D", data_, "-l", dir_ + "/server.log", "-w", "-t", "60", "-o",
                   "-p " + std::to_string(port_) + " -k " + dir_ +
                       " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
                   "start"}),
            std::chrono::seconds(90));
    if (code != 0) {
      throw std::runtime_error("pg_ctl start failed (exit " + std::to_string(code) + "): " + text +
                               "\nserver log:\n" + readFile(dir_ + "/server.log"));
    }
    started_ = true;
  }

  // pg_ctl stop -m fast: open connections are closed, transactions in flight abort.
  void stopFast() {
    if (!started_) return;
    auto [code, text] = run(pgCtl({"-D", data_, "-m", "fast", "-w", "-t", "60", "stop"}), std::chrono::seconds(90));
    if (code != 0) throw std::runtime_error("pg_ctl stop failed: " + text);
    started_ = false;
  }

  // Starts again on the same data (and, when free, the same port: the clients' URL stays valid).
  void restart() {
    if (started_) return;
    const int port = port_;
    auto [code, text] = run(pgCtl({"-D", data_, "-l", dir_ + "/server.log", "-w", "-t", "60", "-o",
                                   "-p " + std::to_string(port) + " -k " + dir_ +
                                       " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                                       "-c synchronous_commit=off",
                                   "start"}),
                            std::chrono::seconds(90));
    if (code != 0) throw std::runtime_error("pg_ctl start (again) failed: " + text);
    started_ = true;
  }

  // Creates database `name` (dropping one of that name) and returns its URL.
  std::string createDatabase(const std::string& name) {
    pqxx::connection c(url("postgres"));
    pqxx::nontransaction n(c);
    n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name));
    n.exec("CREATE DATABASE " + n.quote_name(name));
    return url(name);
  }

  // URL of database `name` on this server (superuser postgres, no password).
  std::string url(const std::string& name) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
  }

  bool running() const { return started_; }
  int port() const { return port_; }
  std::string log() const { return readFile(dir_ + "/server.log"); }

 private:
  struct Command {
    std::string program;
    std::vector<std::string> args;
  };

  Command wrap(const std::string& program, std::vector<std::string> args) const {
    if (user_.empty()) return {program, std::move(args)};
    std::vector<std::string> all = {"-u", user_, "--", program};
    all.insert(all.end(), args.begin(), args.end());
    return {"/usr/sbin/runuser", std::move(all)};
  }
  Command pgCtl(std::vector<std::string> args) const { return wrap(bin_ + "/pg_ctl", std::move(args)); }

  std::pair<int, std::string> run(const Command& c, std::chrono::milliseconds timeout) const {
    Process p(ProcessSpec{c.program, c.args, {{"LC_ALL", "C"}, {"PGTZ", "UTC"}}, dir_, dir_, "pg-command"});
    const auto code = p.waitExit(timeout);
    std::string text = p.text(Stream::kStdout) + p.text(Stream::kStderr);
    if (!code) {
      p.kill();
      return {-1, "timed out: " + text};
    }
    return {*code, text};
  }

  std::string bin_;
  std::string dir_;
  std::string data_;
  std::string user_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace emwin::test
