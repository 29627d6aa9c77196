// Every executable against a matrix of bad configuration: each row must end
// the process with exit code 2 before it starts working, with exactly one
// line on stderr that names the option at fault. Rows come from what users
// met (issue "Against the world", section 5) plus a few per option kind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/process.h"

namespace emwin::test {
namespace {

using namespace std::chrono_literals;

// A TCP port held open (listening) for the whole test: "a port in use".
class BusyPort {
 public:
  BusyPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 1);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~BusyPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Fixture {
  std::string dir = makeTempDir("emwin-badconfig");
  std::string file = dir + "/a-regular-file";
  BusyPort busy;
  Fixture() { std::ofstream(file) << "not a directory\n"; }
  std::string inUse() const { return "tcp://127.0.0.1:" + std::to_string(busy.port()); }
  std::string hostInUse() const { return "127.0.0.1:" + std::to_string(busy.port()); }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

struct Row {
  std::string name;    // test name suffix
  std::string binary;  // relative to the build dir
  std::vector<std::string> args;
  std::string option;  // must appear in the one stderr line
  std::map<std::string, std::string> env = {};
};

const char* kIngest = "services/ingest/emwin-ingest";
const char* kAssembler = "services/assembler/emwin-assembler";
const char* kWriter = "services/sinks/disk_writer/emwin-disk-writer";
const char* kClassifier = "services/sinks/alert_classifier/emwin-alert-classifier";
const char* kStats = "services/sinks/stats/emwin-stats";
const char* kSim = "tools/sim/emwin-sim";
const char* kTail = "tools/tail/emwin-tail";
const char* kInspect = "tools/inspect/emwin-inspect";
const char* kExample = "examples/subscribers/cpp/emwin-example-subscriber";
const char* kSink = "examples/sink/emwin-example-sink";
const char* kClassify = "tools/classify/emwin-classify";
const char* kKeygen = "tools/keygen/emwin-keygen";
const char* kRelay = "services/relay/emwin-relay";
const char* kGateway = "services/sinks/gateway/emwin-gateway";
const char* kArchive = "services/sinks/archive/emwin-archive";
const char* kQuery = "tools/query/emwin-query";

// Ports that cannot collide with anything: every row fails before binding them.
std::vector<std::string> free(const std::string& flag) { return {flag, "tcp://127.0.0.1:" + std::to_string(freeTcpPort())}; }

std::vector<std::string> join(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<Row> rows() {
  const auto& f = fx();
  const std::string corpus = std::string(EMWIN_CORPUS_DIR);
  const std::vector<std::string> email = {"--email", "ops@example.org"};
  const auto ingest_ports = join({free("--pub"), free("--pipe")});
  const auto asm_ports = join({free("--pub"), free("--pipe")});
  const auto cls_ports = join({free("--pub"), free("--pipe")});
  const std::vector<std::string> state = {"--state-dir", f.dir + "/state"};
  return {
      // --- emwin-ingest
      {"IngestNoEmail", kIngest, join({ingest_ports, state}), "--email"},
      {"IngestServerPortAbove65535", kIngest, join({email, ingest_ports, state, {"--server", "h:99999"}}), "--server"},
      {"IngestEnvServersMalformed", kIngest, join({email, ingest_ports, state}), "--server", {{"EMWIN_SERVERS", "h:1,::::"}}},
      {"IngestPubPortAbove65535", kIngest, join({email, {"--pub", "tcp://*:99999"}, free("--pipe"), state}), "--pub"},
      {"IngestPubNonsense", kIngest, join({email, {"--pub", "tcp://nonsense"}, free("--pipe"), state}), "--pub"},
      {"IngestPipePortInUse", kIngest, join({email, free("--pub"), {"--pipe", f.inUse()}, state}), "--pipe"},
      {"IngestHwmNegative", kIngest, join({email, ingest_ports, state, {"--hwm", "-1"}}), "--hwm"},
      {"IngestRetention2Pow64", kIngest, join({email, ingest_ports, state, {"--retention", "18446744073709551616"}}),
       "--retention"},
      {"IngestReplayIsADirectory", kIngest, join({ingest_ports, state, {"--replay", f.dir}}), "--replay"},
      {"IngestStateDirIsAFile", kIngest, join({email, ingest_ports, {"--state-dir", f.file}}), "--state-dir"},
      {"IngestProtocolV3", kIngest, join({email, ingest_ports, state, {"--protocol", "v3"}}), "--protocol"},
      {"IngestBackoffMaxBelowMin", kIngest,
       join({email, ingest_ports, state, {"--backoff-min-ms", "500", "--backoff-max-ms", "100"}}), "--backoff-max-ms"},
      {"IngestLogLevelLoud", kIngest, join({email, ingest_ports, state, {"--log-level", "loud"}}), "--log-level"},
      {"IngestStatsIntervalZero", kIngest, join({email, ingest_ports, state, {"--stats-interval-ms", "0"}}),
       "--stats-interval-ms"},
      // --- emwin-assembler
      {"AssemblerCreditZero", kAssembler, join({asm_ports, state, {"--credit", "0"}}), "--credit"},
      {"AssemblerCreditOne", kAssembler, join({asm_ports, state, {"--credit", "1"}}), "--credit"},
      {"AssemblerDedupeWindowNegative", kAssembler, join({asm_ports, state, {"--dedupe-window-s", "-1"}}),
       "--dedupe-window-s"},
      {"AssemblerPartialTimeoutZero", kAssembler, join({asm_ports, state, {"--partial-timeout-s", "0"}}),
       "--partial-timeout-s"},
      {"AssemblerPubPortInUse", kAssembler, join({{"--pub", f.inUse()}, free("--pipe"), state}), "--pub"},
      {"AssemblerConnectStar", kAssembler, join({asm_ports, state, {"--connect", "tcp://*:5611"}}), "--connect"},
      {"AssemblerStateDirIsAFile", kAssembler, join({asm_ports, {"--state-dir", f.file}}), "--state-dir"},
      {"AssemblerHwmOctalLooking", kAssembler, join({asm_ports, state, {"--hwm", "0x10"}}), "--hwm"},
      // redundant ingest (issue 21): --connect [NAME=]ENDPOINT, repeatable
      {"AssemblerConnectNameTwice", kAssembler,
       join({asm_ports, state, {"--connect", "a=tcp://127.0.0.1:1", "--connect", "a=tcp://127.0.0.1:2"}}), "--connect"},
      {"AssemblerConnectEndpointTwice", kAssembler,
       join({asm_ports, state, {"--connect", "a=tcp://127.0.0.1:1", "--connect", "b=tcp://127.0.0.1:1"}}), "--connect"},
      {"AssemblerConnectNameWithSlash", kAssembler, join({asm_ports, state, {"--connect", "a/b=tcp://127.0.0.1:1"}}),
       "--connect"},
      {"AssemblerConnectEmptyName", kAssembler, join({asm_ports, state, {"--connect", "=tcp://127.0.0.1:1"}}),
       "--connect"},
      {"AssemblerEnvConnectSecondMalformed", kAssembler, join({asm_ports, state}), "--connect",
       {{"EMWIN_CONNECT", "a=tcp://127.0.0.1:1,b=nonsense"}}},
      {"AssemblerConnectNinePipelines", kAssembler, join({asm_ports, state}), "--connect",
       {{"EMWIN_CONNECT", "tcp://h:1,tcp://h:2,tcp://h:3,tcp://h:4,tcp://h:5,tcp://h:6,tcp://h:7,tcp://h:8,tcp://h:9"}}},
      {"AssemblerSourceWindowNegative", kAssembler, join({asm_ports, state, {"--source-window-s", "-1"}}),
       "--source-window-s"},
      // --- emwin-disk-writer
      {"WriterOutIsAFile", kWriter, join({{"--out", f.file}, state}), "--out"},
      {"WriterOutUnderProc", kWriter, join({{"--out", "/proc/emwin-out"}, state}), "--out"},
      {"WriterStateDirIsAFile", kWriter, {"--out", f.dir + "/out", "--state-dir", f.file}, "--state-dir"},
      {"WriterCreditZero", kWriter, join({{"--out", f.dir + "/out", "--credit", "0"}, state}), "--credit"},
      {"WriterConnectNonsense", kWriter, join({{"--out", f.dir + "/out", "--connect", "tcp://nonsense"}, state}),
       "--connect"},
      // --- emwin-alert-classifier
      {"ClassifierAlertLogInMissingDir", kClassifier,
       join({cls_ports, state, {"--alert-log", f.dir + "/missing/alerts.jsonl"}}), "--alert-log"},
      {"ClassifierStateDirIsAFile", kClassifier, join({cls_ports, {"--state-dir", f.file}}), "--state-dir"},
      {"ClassifierPipePortInUse", kClassifier, join({free("--pub"), {"--pipe", f.inUse()}, state}), "--pipe"},
      {"ClassifierSummaryIntervalZero", kClassifier, join({cls_ports, state, {"--summary-interval-s", "0"}}),
       "--summary-interval-s"},
      // --- emwin-stats
      {"StatsStaleAfterNegative", kStats, join({free("--pub"), free("--intake"), {"--stale-after-ms", "-1"}}),
       "--stale-after-ms"},
      {"StatsHttpPortAbove65535", kStats, join({free("--pub"), free("--intake"), {"--http", "127.0.0.1:99999"}}),
       "--http"},
      {"StatsEnvHttpColons", kStats, join({free("--pub"), free("--intake")}), "--http", {{"EMWIN_HTTP", "::::"}}},
      {"StatsHttpPortInUse", kStats, join({free("--pub"), free("--intake"), {"--http", f.hostInUse()}}), "--http"},
      {"StatsIntakePortInUse", kStats, join({free("--pub"), {"--intake", f.inUse(), "--http", ""}}), "--intake"},
      // --- emwin-relay (more in tests/relay: RelayProcess.BadConfiguration*)
      {"RelayListenPortInUse", kRelay, {"--listen", f.hostInUse()}, "--listen"},
      {"RelayAllowHostBitsSet", kRelay, {"--listen", "127.0.0.1:0", "--allow", "10.1.0.0/8"}, "--allow"},
      {"RelayServerListEntryWithoutPort", kRelay, {"--listen", "127.0.0.1:0", "--server-list", "a.example.org"},
       "--server-list"},
      {"RelayClientQueueTooSmall", kRelay, {"--listen", "127.0.0.1:0", "--client-queue-kb", "16"}, "--client-queue-kb"},
      // --- emwin-sim
      {"SimManifestInMissingDir", kSim,
       {"--listen", "127.0.0.1:0", "--products", corpus + "/products", "--manifest", f.dir + "/missing/m.jsonl"},
       "--manifest"},
      {"SimListenPortInUse", kSim, {"--listen", f.hostInUse(), "--products", corpus + "/products"}, "--listen"},
      {"SimProductsMissing", kSim, {"--listen", "127.0.0.1:0", "--products", f.dir + "/nothing"}, "--products"},
      {"SimRateNonsense", kSim, {"--listen", "127.0.0.1:0", "--products", corpus + "/products", "--rate", "fast"},
       "--rate"},
      {"SimHeaderStyleUnknown", kSim,
       {"--listen", "127.0.0.1:0", "--products", corpus + "/products", "--header-style", "fancy"}, "--header-style"},
      // --- emwin-gateway
      {"GatewayHttpPortInUse", kGateway, {"--http", f.hostInUse()}, "--http"},
      {"GatewayHttpNotHostPort", kGateway, {"--http", "localhost"}, "--http"},
      {"GatewayClockUnknown", kGateway, {"--http", "127.0.0.1:0", "--clock", "wall"}, "--clock"},
      {"GatewayEnvClockUnknown", kGateway, {"--http", "127.0.0.1:0"}, "--clock", {{"EMWIN_CLOCK", "later"}}},
      {"GatewayMaxClientsZero", kGateway, {"--http", "127.0.0.1:0", "--max-clients", "0"}, "--max-clients"},
      {"GatewayClientQueueOne", kGateway, {"--http", "127.0.0.1:0", "--client-queue", "1"}, "--client-queue"},
      {"GatewayAlertsStar", kGateway, {"--http", "127.0.0.1:0", "--alerts", "tcp://*:5603"}, "--alerts"},
      {"GatewayStateDirIsAFile", kGateway, {"--http", "127.0.0.1:0", "--state-dir", f.file}, "--state-dir"},
      {"GatewayHttpAllowNotACidr", kGateway, {"--http", "127.0.0.1:0", "--http-allow", "10.0.0.0/33"}, "--http-allow"},
      // --- emwin-archive
      {"ArchiveDbUnknownScheme", kArchive, {"--db", "mysql://h/db", "--state-dir", f.dir + "/state"}, "--db"},
      {"ArchiveDbSqliteNoPath", kArchive, {"--db", "sqlite:", "--state-dir", f.dir + "/state"}, "--db"},
      {"ArchiveDbSqliteInMemory", kArchive, {"--db", "sqlite::memory:", "--state-dir", f.dir + "/state"}, "--db"},
      {"ArchiveDbSqliteUnderAFile", kArchive, {"--db", "sqlite:" + f.file + "/archive.db", "--state-dir", f.dir + "/state"},
       "--db"},
      {"ArchiveEnvDbPostgresMalformed", kArchive, {"--state-dir", f.dir + "/state"}, "--db",
       {{"EMWIN_DB", "postgresql://h:99999999/db"}}},
      {"ArchiveConnectStar", kArchive,
       {"--db", "sqlite:" + f.dir + "/a.db", "--state-dir", f.dir + "/state", "--connect", "tcp://*:5612"}, "--connect"},
      {"ArchiveNothingToArchive", kArchive,
       {"--db", "sqlite:" + f.dir + "/a.db", "--state-dir", f.dir + "/state", "--connect", "", "--alerts-connect", ""},
       "--connect"},
      {"ArchiveBatchRowsZero", kArchive,
       {"--db", "sqlite:" + f.dir + "/a.db", "--state-dir", f.dir + "/state", "--batch-rows", "0"}, "--batch-rows"},
      {"ArchiveKeepDaysNegative", kArchive,
       {"--db", "sqlite:" + f.dir + "/a.db", "--state-dir", f.dir + "/state", "--keep-days", "-1"}, "--keep-days"},
      {"ArchiveRetryMaxBelowMin", kArchive,
       {"--db", "sqlite:" + f.dir + "/a.db", "--state-dir", f.dir + "/state", "--retry-min-ms", "500", "--retry-max-ms",
        "100"},
       "--retry-max-ms"},
      {"ArchiveStateDirIsAFile", kArchive, {"--db", "sqlite:" + f.dir + "/a.db", "--state-dir", f.file}, "--state-dir"},
      // --- emwin-query
      {"QueryDbUnknownScheme", kQuery, {"--db", "mysql://h/db", "active"}, "--db"},
      {"QueryPointLatitudeAbove90", kQuery, {"--db", "sqlite:" + f.dir + "/a.db", "active", "--point", "91,-93.6"},
       "--point"},
      {"QueryPointNotANumber", kQuery, {"--db", "sqlite:" + f.dir + "/a.db", "active", "--point", "here"}, "--point"},
      {"QuerySinceNonsense", kQuery, {"--db", "sqlite:" + f.dir + "/a.db", "alerts", "--since", "yesterdayish"},
       "--since"},
      {"QuerySinceDurationOverflow", kQuery,
       {"--db", "sqlite:" + f.dir + "/a.db", "alerts", "--since", "99999999999999999999999h"}, "--since"},
      {"QueryEventKeyMalformed", kQuery, {"--db", "sqlite:" + f.dir + "/a.db", "event", "KDMX-TO-W"}, "key"},
      {"SimDropFramesPercentAbove100", kSim,
       {"--listen", "127.0.0.1:0", "--products", corpus + "/products", "--drop-frames-percent", "150"},
       "--drop-frames-percent"},
      {"SimDropFramesOffsetNegative", kSim,
       {"--listen", "127.0.0.1:0", "--products", corpus + "/products", "--drop-frames-offset", "-1"},
       "--drop-frames-offset"},
      {"SimDropFramesPercentNotANumber", kSim,
       {"--listen", "127.0.0.1:0", "--products", corpus + "/products", "--drop-frames-percent", "ten"},
       "--drop-frames-percent"},
      {"SimFdBaseNegative", kSim, {"--listen", "127.0.0.1:0", "--products", corpus + "/products", "--fd-base", "-5"},
       "--fd-base"},
      // --- tools and examples
      {"TailConnectNonsense", kTail, {"--connect", "nonsense"}, "--connect"},
      {"TailHwmZero", kTail, {"--connect", "tcp://127.0.0.1:1", "--hwm", "0"}, "--hwm"},
      {"InspectDirectory", kInspect, {f.dir}, "capture"},
      {"InspectMissingFile", kInspect, {f.dir + "/nope.bin"}, "capture"},
      {"ExampleSubscriberQueueZero", kExample, {"--max-queue", "0"}, "--max-queue"},
      {"ExampleSinkConnectStar", kSink, {"--connect", "tcp://*:5612"}, "--connect"},
      {"ClassifyDistanceNegative", kClassify, {"--distance-km", "-5", f.file}, "--distance-km"},
      {"ClassifyAtNonsense", kClassify, {"--active", "--at", "yesterday-ish", f.file}, "--at"},
      {"ClassifyPointOutOfRange", kClassify, {"--active", "--point", "99,0", f.file}, "--point"},
      {"KeygenNoDir", kKeygen, {"--init"}, "--dir"},
      {"KeygenDirUnderProc", kKeygen, {"--dir", "/proc/emwin-keys", "--init"}, "--dir"},
      {"KeygenBadName", kKeygen, {"--dir", f.dir + "/keys", "bad/name"}, "name"},
  };
}

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

class BadConfig : public ::testing::TestWithParam<Row> {};

TEST_P(BadConfig, ExitsTwoWithOneLineNamingTheOption) {
  const Row& row = GetParam();
  const std::string dir = makeTempDir("emwin-badconfig-run");
  Process p(ProcessSpec{binaryPath(row.binary), row.args, row.env, dir, dir, row.name});
  const auto code = p.waitExit(10s);
  ASSERT_TRUE(code.has_value()) << row.name << " did not exit: it started instead of refusing\n"
                                << p.text(Stream::kStderr);
  EXPECT_EQ(*code, 2) << p.text(Stream::kStderr);
  std::vector<std::string> lines;
  for (const auto& l : p.lines(Stream::kStderr)) {
    if (!l.empty()) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << p.text(Stream::kStderr);
  EXPECT_NE(lines[0].find(row.option), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("terminate called"), std::string::npos) << lines[0];
  EXPECT_EQ(p.text(Stream::kStdout).find("listening"), std::string::npos);  // nothing was started
}

INSTANTIATE_TEST_SUITE_P(Matrix, BadConfig, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

}  // namespace
}  // namespace emwin::test
