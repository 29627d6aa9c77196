// runtime::Cli and its validators: precedence (flag > environment > default),
// strict integers, endpoints, directories and files, one-line errors naming
// the option with exit code 2.
#include "runtime/cli.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/names.h"

namespace emwin::runtime {
namespace {

struct Parsed {
  std::string connect = "tcp://default:1";
  int hwm = 5;
  std::size_t retention = 10;
  std::optional<int> code;
};

Parsed parse(std::vector<std::string> args) {
  Cli cli("emwin-test", "test");
  Parsed out;
  cli.option("--connect", out.connect, "endpoint", "EMWIN_TEST_CONNECT")->check(ConnectEndpoint());
  cli.option("--hwm", out.hwm, "hwm", "EMWIN_TEST_HWM")->check(IntRange(1, 1000));
  cli.option("--retention", out.retention, "retention", "EMWIN_TEST_RETENTION");
  std::vector<const char*> argv{"emwin-test"};
  for (auto& a : args) argv.push_back(a.c_str());
  out.code = cli.parse(static_cast<int>(argv.size()), argv.data());
  return out;
}

TEST(CliTest, CommandLineBeatsEnvironmentBeatsDefault) {
  ::unsetenv("EMWIN_TEST_CONNECT");
  ::unsetenv("EMWIN_TEST_HWM");
  EXPECT_EQ(parse({}).connect, "tcp://default:1");
  ::setenv("EMWIN_TEST_CONNECT", "tcp://env:2", 1);
  ::setenv("EMWIN_TEST_HWM", "77", 1);
  EXPECT_EQ(parse({}).connect, "tcp://env:2");
  EXPECT_EQ(parse({}).hwm, 77);
  EXPECT_EQ(parse({"--connect", "tcp://cli:3"}).connect, "tcp://cli:3");
  ::setenv("EMWIN_TEST_HWM", "not-a-number", 1);
  EXPECT_EQ(parse({}).code, std::optional<int>(2));
  ::unsetenv("EMWIN_TEST_CONNECT");
  ::unsetenv("EMWIN_TEST_HWM");
}

TEST(CliTest, IntegersAreDecimalAndInsideTheirTypeAndRange) {
  EXPECT_EQ(parse({"--hwm", "1000"}).code, std::nullopt);
  for (const char* bad : {"0", "-1", "1001", "010x", "0x10", "1e3", ""}) {
    EXPECT_EQ(parse({"--hwm", bad}).code, std::optional<int>(2)) << bad;
  }
  // An unsigned option refuses what CLI11 alone would wrap around.
  for (const char* bad : {"-1", "18446744073709551616", "99999999999999999999"}) {
    EXPECT_EQ(parse({"--retention", bad}).code, std::optional<int>(2)) << bad;
  }
  EXPECT_EQ(parse({"--retention", "18446744073709551615"}).retention, 18446744073709551615ull);
}

TEST(CliTest, EnvironmentNamesFollowTheFlag) {
  EXPECT_EQ(envNameFor("--stats-interval-ms"), "EMWIN_STATS_INTERVAL_MS");
  EXPECT_EQ(envNameFor("-c,--connect"), "EMWIN_CONNECT");
  EXPECT_EQ(envNameFor("!--no-fsync"), "EMWIN_NO_FSYNC");
}

std::string check(const CLI::Validator& v, std::string value) { return v(value); }

TEST(CliTest, EndpointsAreCheckedForBindingAndConnecting) {
  for (const char* ok : {"tcp://*:5601", "tcp://127.0.0.1:0", "tcp://0.0.0.0:65535", "ipc:///tmp/x", "inproc://a",
                         "tcp://[::1]:5"}) {
    EXPECT_EQ(check(BindEndpoint(), ok), "") << ok;
  }
  for (const char* bad : {"tcp://nonsense", "tcp://*:99999", "tcp://*:-1", "udp://x:1", "5601", "tcp://:1", "ipc://"}) {
    EXPECT_NE(check(BindEndpoint(), bad), "") << bad;
  }
  EXPECT_EQ(check(ConnectEndpoint(), "tcp://assembler:5612"), "");
  EXPECT_NE(check(ConnectEndpoint(), "tcp://*:5612"), "");
  EXPECT_NE(check(ConnectEndpoint(), "tcp://h:0"), "");
  EXPECT_EQ(check(ConnectEndpoint(true), ""), "");
  EXPECT_NE(check(ConnectEndpoint(), ""), "");
  EXPECT_EQ(check(HostPort(), "h.example:2211"), "");
  EXPECT_NE(check(HostPort(), "h:99999"), "");
  EXPECT_NE(check(HostPort(), "::::"), "");
  EXPECT_EQ(check(HostPort(true), "0.0.0.0:0"), "");
}

TEST(CliTest, DirectoriesAndFilesAreCheckedBeforeAnythingStarts) {
  const auto dir = std::filesystem::temp_directory_path() / ("emwin-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "regular";
  std::ofstream(file) << "x";
  EXPECT_EQ(check(WritableDir(), dir.string()), "");
  EXPECT_EQ(check(WritableDir(), (dir / "new" / "deeper").string()), "");  // can be created
  EXPECT_NE(check(WritableDir(), file.string()), "");                       // a regular file
  EXPECT_NE(check(WritableDir(), (file / "below").string()), "");           // under a regular file
  EXPECT_NE(check(WritableDir(), "/proc/emwin"), "");
  EXPECT_NE(check(WritableDir(), "/sys/x"), "");
  EXPECT_EQ(check(WritableFile(), (dir / "log.jsonl").string()), "");
  EXPECT_NE(check(WritableFile(), (dir / "missing" / "log.jsonl").string()), "");
  EXPECT_NE(check(WritableFile(), dir.string()), "");
  EXPECT_EQ(check(ReadableFile(), file.string()), "");
  EXPECT_NE(check(ReadableFile(), dir.string()), "");
  EXPECT_NE(check(ReadableFile(), (dir / "nope").string()), "");
  EXPECT_THROW(checkWritableDir("--out", file.string()), ConfigError);
  try {
    checkWritableDir("--out", file.string());
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "--out");
    EXPECT_EQ(std::string(e.what()).rfind("--out: ", 0), 0u) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(NamesTest, ExtensionAndInstance) {
  EXPECT_EQ(extensionOf("ZFPSFOCA.TXT"), "TXT");
  EXPECT_EQ(extensionOf("NOEXT"), "");
  EXPECT_EQ(extensionToken("a.longextension", 8), "LONGEXTE");
  ::setenv("EMWIN_INSTANCE", "node-7", 1);
  EXPECT_EQ(defaultInstance(), "node-7");
  ::unsetenv("EMWIN_INSTANCE");
  EXPECT_FALSE(defaultInstance().empty());
}

}  // namespace
}  // namespace emwin::runtime
