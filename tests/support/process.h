#pragma once
// Process harness for integration tests: starts a child process with
// arguments and extra environment, captures its stdout/stderr into files,
// waits (with a deadline) for output lines matching a pattern, sends signals,
// and always kills the child when the Process object is destroyed.
// Also: a free TCP port from the kernel and paths of built binaries.
//
// Thread-safety: a Process is not thread-safe; use it from the test thread.
// The free functions are thread-safe.
//
// Include as "support/process.h"; link emwin_test_support (which also
// defines EMWIN_BINARY_DIR, EMWIN_CORPUS_DIR and EMWIN_SOURCE_DIR).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace emwin::test {

// What to start.
struct ProcessSpec {
  std::string program;                      // path to the executable
  std::vector<std::string> args;            // argv[1..]
  std::map<std::string, std::string> env;   // added to / overriding the test's environment
  std::string work_dir;                     // empty = the test's cwd
  std::string log_dir;                      // where <name>.stdout/.stderr go; empty = a new temp dir
  std::string name;                         // log file stem; empty = basename of program
};

// Which captured stream to look at.
enum class Stream { kStdout, kStderr };

// A running child process. Move-only; destruction sends SIGKILL and reaps it.
class Process {
 public:
  // Starts the child. Throws std::runtime_error if it cannot be started.
  explicit Process(ProcessSpec spec);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // True while the child has not exited (reaps it if it has).
  bool running();
  // Sends `sig` to the child (no-op once it has exited).
  void signal(int sig);
  // Waits up to `timeout` for exit. Returns the exit code, or 128+signal if
  // killed by a signal; nullopt on timeout.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  // SIGKILL and reap (idempotent).
  void kill();

  // Waits until a line of `stream` matching `pattern` (std::regex_search)
  // appears, scanning lines with index >= `from_line`. Returns the line and,
  // in *line_index, its index. nullopt at the deadline.
  std::optional<std::string> waitForLine(const std::regex& pattern, std::chrono::milliseconds timeout,
                                         Stream stream = Stream::kStdout, std::size_t from_line = 0,
                                         std::size_t* line_index = nullptr);
  // All complete lines captured so far.
  std::vector<std::string> lines(Stream stream = Stream::kStdout) const;
  // Number of captured lines matching `pattern`.
  std::size_t countLines(const std::regex& pattern, Stream stream = Stream::kStdout) const;
  // Whole captured text.
  std::string text(Stream stream = Stream::kStdout) const;
  // Paths of the capture files.
  const std::string& stdoutPath() const noexcept { return stdout_path_; }
  const std::string& stderrPath() const noexcept { return stderr_path_; }

 private:
  void reap(int status);

  ProcessSpec spec_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago, chosen below the kernel's
// ephemeral range (so no outgoing connection can be holding it meanwhile), never
// the same twice in one process. Thread-safe.
int freeTcpPort();

// Absolute path of a built artifact, e.g. binaryPath("services/ingest/emwin-ingest").
std::string binaryPath(const std::string& relative);

// A fresh empty temporary directory (under $TMPDIR or /tmp).
std::string makeTempDir(const std::string& prefix);

// Polls `condition` every few milliseconds until it is true or `timeout`
// passes; returns its last value.
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Reads a whole file ("" if missing).
std::string readFile(const std::string& path);

// Value of `key=<value>` in a "k=v k=v" line ("" if absent). Values end at a space.
std::string fieldOf(const std::string& line, const std::string& key);

}  // namespace emwin::test
