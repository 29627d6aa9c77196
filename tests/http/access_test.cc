// The HTTP access gate (http/access.h): bearer tokens, client networks, open
// paths, and the --http-token / --http-token-healthz / --http-allow options
// every user-facing HTTP service takes.
#include <gtest/gtest.h>

#include "http/access.h"
#include "runtime/cli.h"

namespace emwin::http {
namespace {

Request get(const std::string& path, const std::string& remote, const std::string& token = "") {
  Request r;
  r.method = "GET";
  r.target = path;
  r.path = path;
  r.remote = remote;
  if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
  return r;
}

AccessArgs parse(std::vector<const char*> argv) {
  AccessArgs args;
  runtime::Cli cli("access-test", "access options");
  addAccessOptions(cli, args, "bearer token");
  argv.insert(argv.begin(), "access-test");
  EXPECT_EQ(cli.parse(static_cast<int>(argv.size()), argv.data()), std::nullopt);
  return args;
}

TEST(AccessGuard, TokenNeededExceptOnOpenPaths) {
  const AccessArgs args = parse({"--http-token", "s3cret"});
  ASSERT_TRUE(args.enabled());
  AccessGuard guard(args.guardOptions());
  EXPECT_EQ(guard.check(get("/metrics", "127.0.0.1"))->status, 401);
  EXPECT_EQ(guard.check(get("/metrics", "127.0.0.1", "wrong"))->status, 401);
  EXPECT_FALSE(guard.check(get("/metrics", "127.0.0.1", "s3cret")));
  EXPECT_FALSE(guard.check(get("/healthz", "127.0.0.1"))) << "/healthz stays open for health checks";
}

TEST(AccessGuard, HealthzNeedsTheTokenWhenAskedTo) {
  AccessGuard guard(parse({"--http-token", "s3cret", "--http-token-healthz"}).guardOptions());
  EXPECT_EQ(guard.check(get("/healthz", "127.0.0.1"))->status, 401);
  EXPECT_FALSE(guard.check(get("/healthz", "127.0.0.1", "s3cret")));
}

TEST(AccessGuard, AllowListRefusesOtherNetworksEvenOnOpenPaths) {
  const AccessArgs args = parse({"--http-allow", "10.0.0.0/8,::1/128"});
  EXPECT_TRUE(args.tokens.empty());
  AccessGuard guard(args.guardOptions());
  EXPECT_FALSE(guard.check(get("/metrics", "10.1.2.3")));
  EXPECT_FALSE(guard.check(get("/metrics", "::1")));
  EXPECT_EQ(guard.check(get("/metrics", "192.168.1.1"))->status, 403);
  EXPECT_EQ(guard.check(get("/healthz", "192.168.1.1"))->status, 403);
}

TEST(AccessGuard, NoOptionsNoGate) { EXPECT_FALSE(parse({}).enabled()); }

TEST(AccessGuard, ABadNetworkIsRefusedByTheOption) {
  AccessArgs args;
  runtime::Cli cli("access-test", "access options");
  addAccessOptions(cli, args, "bearer token");
  const char* argv[] = {"access-test", "--http-allow", "10.0.0.0/33"};
  EXPECT_EQ(cli.parse(3, argv), 2);
}

}  // namespace
}  // namespace emwin::http
