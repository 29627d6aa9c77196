#include "runtime/options.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace emwin::runtime {
namespace {

struct Parsed {
  std::string connect = "tcp://default:1";
  int hwm = 5;
};

Parsed parse(std::vector<std::string> args) {
  CLI::App app;
  Parsed out;
  withEnv(app.add_option("--connect", out.connect), "EMWIN_TEST_CONNECT");
  withEnv(app.add_option("--hwm", out.hwm), "EMWIN_TEST_HWM");
  std::vector<const char*> argv{"prog"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return out;
}

TEST(OptionsTest, CommandLineBeatsEnvironmentBeatsDefault) {
  ::unsetenv("EMWIN_TEST_CONNECT");
  ::unsetenv("EMWIN_TEST_HWM");
  EXPECT_EQ(parse({}).connect, "tcp://default:1");
  ::setenv("EMWIN_TEST_CONNECT", "tcp://env:2", 1);
  ::setenv("EMWIN_TEST_HWM", "77", 1);
  EXPECT_EQ(parse({}).connect, "tcp://env:2");
  EXPECT_EQ(parse({}).hwm, 77);
  EXPECT_EQ(parse({"--connect", "tcp://cli:3"}).connect, "tcp://cli:3");
  ::setenv("EMWIN_TEST_HWM", "not-a-number", 1);
  EXPECT_THROW(parse({}), CLI::ParseError);
  ::unsetenv("EMWIN_TEST_CONNECT");
  ::unsetenv("EMWIN_TEST_HWM");
}

TEST(OptionsTest, EnvOrAndInstance) {
  ::setenv("EMWIN_TEST_X", "", 1);
  EXPECT_EQ(envOr("EMWIN_TEST_X", "fb"), "fb");
  ::setenv("EMWIN_TEST_X", "v", 1);
  EXPECT_EQ(envOr("EMWIN_TEST_X", "fb"), "v");
  ::setenv("EMWIN_INSTANCE", "node-7", 1);
  EXPECT_EQ(defaultInstance(), "node-7");
  ::unsetenv("EMWIN_INSTANCE");
  EXPECT_FALSE(defaultInstance().empty());
}

TEST(OptionsTest, LogLevelOption) {
  CLI::App app;
  std::string level;
  addLogLevelOption(app, level);
  const char* argv[] = {"prog", "--log-level", "debug"};
  app.parse(3, argv);
  EXPECT_EQ(level, "debug");
  EXPECT_TRUE(applyLogLevel(level));
  EXPECT_FALSE(applyLogLevel("loud"));
  EXPECT_TRUE(applyLogLevel("info"));
}

}  // namespace
}  // namespace emwin::runtime
