#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace emwin::test {
namespace {

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;  // an unterminated last line is not complete yet
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::string baseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Process::Process(ProcessSpec spec) : spec_(std::move(spec)) {
  if (spec_.log_dir.empty()) spec_.log_dir = makeTempDir("emwin-proc");
  if (spec_.name.empty()) spec_.name = baseName(spec_.program);
  stdout_path_ = spec_.log_dir + "/" + spec_.name + ".stdout";
  stderr_path_ = spec_.log_dir + "/" + spec_.name + ".stderr";

  // Everything the child needs is prepared before fork (only async-signal-safe calls after it).
  std::vector<std::string> argv_store;
  argv_store.push_back(spec_.program);
  for (const auto& a : spec_.args) argv_store.push_back(a);
  std::map<std::string, std::string> env_map;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env_map[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : spec_.env) env_map[k] = v;
  std::vector<std::string> env_store;
  for (const auto& [k, v] : env_map) env_store.push_back(k + "=" + v);
  std::vector<char*> argv;
  for (auto& s : argv_store) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out_fd = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out_fd < 0 || err_fd < 0) {
    if (out_fd >= 0) ::close(out_fd);
    if (err_fd >= 0) ::close(err_fd);
    throw std::runtime_error("cannot create capture files in " + spec_.log_dir);
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    ::close(err_fd);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: die with the test process, even if it crashes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    if (!spec_.work_dir.empty() && ::chdir(spec_.work_dir.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  pid_ = pid;
}

Process::~Process() { kill(); }

void Process::reap(int status) {
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  } else {
    return;
  }
}

bool Process::running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) reap(status);
  return !exit_code_.has_value();
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::waitExit(std::chrono::milliseconds timeout) {
  waitUntil([this] { return !running(); }, timeout);
  return exit_code_;
}

void Process::kill() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
  if (!exit_code_) exit_code_ = 128 + SIGKILL;
}

std::string Process::text(Stream stream) const {
  return readFile(stream == Stream::kStdout ? stdout_path_ : stderr_path_);
}

std::vector<std::string> Process::lines(Stream stream) const { return splitLines(text(stream)); }

std::size_t Process::countLines(const std::regex& pattern, Stream stream) const {
  std::size_t n = 0;
  for (const auto& l : lines(stream)) {
    if (std::regex_search(l, pattern)) ++n;
  }
  return n;
}

std::optional<std::string> Process::waitForLine(const std::regex& pattern, std::chrono::milliseconds timeout,
                                                Stream stream, std::size_t from_line, std::size_t* line_index) {
  std::optional<std::string> found;
  waitUntil(
      [&] {
        auto all = lines(stream);
        for (std::size_t i = from_line; i < all.size(); ++i) {
          if (std::regex_search(all[i], pattern)) {
            found = all[i];
            if (line_index != nullptr) *line_index = i;
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

namespace {

// Binds 127.0.0.1:`port` (0 = the kernel picks) and returns the bound port, or -1.
int bindLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  socklen_t len = sizeof(addr);
  int bound = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    bound = ntohs(addr.sin_port);
  }
  ::close(fd);
  return bound;
}

// First port of the kernel's ephemeral range (where outgoing connections get their local port).
int ephemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  in >> low;
  return low;
}

}  // namespace

// Ports come from below the ephemeral range: a port the kernel hands out for
// port 0 can meanwhile become the local port of some outgoing connection — even
// of a ZeroMQ client retrying a connect to that very port before its server
// binds it, which then connects to itself (TCP simultaneous open) and holds the
// port ("Address already in use"). Below the range no connection gets it.
int freeTcpPort() {
  static std::mutex mutex;
  static std::set<int> given;  // never the same port twice in one test process
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  std::lock_guard<std::mutex> lock(mutex);
  const int low = 10000;
  const int high = std::min(ephemeralLow(), 65536) - 1;
  if (high - low >= 1000) {
    std::uniform_int_distribution<int> pick(low, high);
    for (int attempt = 0; attempt < 500; ++attempt) {
      const int port = pick(rng);
      if (given.count(port) != 0) continue;
      if (bindLoopback(port) == port) {
        given.insert(port);
        return port;
      }
    }
  }
  const int port = bindLoopback(0);
  if (port < 0) throw std::runtime_error("bind/getsockname failed");
  return port;
}

std::string binaryPath(const std::string& relative) { return std::string(EMWIN_BINARY_DIR) + "/" + relative; }

std::string makeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + templ);
  return std::string(buf.data());
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fieldOf(const std::string& line, const std::string& key) {
  const std::string needle = key + "=";
  std::size_t pos = 0;
  while ((pos = line.find(needle, pos)) != std::string::npos) {
    if (pos == 0 || line[pos - 1] == ' ') {
      std::size_t start = pos + needle.size();
      std::size_t end = line.find(' ', start);
      return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    pos += needle.size();
  }
  return {};
}

}  // namespace emwin::test
