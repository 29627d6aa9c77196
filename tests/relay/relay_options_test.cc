// emwin-relay configuration: the allow-list's networks and every option that
// finishRelayOptions() checks, as tables of good and bad values with the
// option each error must name.
#include <gtest/gtest.h>

#include "options.h"

namespace emwin::relay {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

TEST(AllowList, EmptyAllowsEveryone) {
  AllowList a;
  EXPECT_TRUE(a.allows(ip("203.0.113.9")));
  EXPECT_TRUE(a.allows(ip("2001:db8::1")));
}

TEST(AllowList, MatchesIpv4Ipv6AndIpv4MappedPeers) {
  AllowList a;
  std::string error;
  ASSERT_TRUE(a.add("10.0.0.0/8", error)) << error;
  ASSERT_TRUE(a.add("192.168.1.7", error)) << error;
  ASSERT_TRUE(a.add("2001:db8::/32", error)) << error;
  ASSERT_TRUE(a.add("172.16.0.0/12", error)) << error;
  EXPECT_TRUE(a.allows(ip("10.255.1.2")));
  EXPECT_TRUE(a.allows(ip("192.168.1.7")));
  EXPECT_FALSE(a.allows(ip("192.168.1.8")));
  EXPECT_TRUE(a.allows(ip("172.31.255.255")));
  EXPECT_FALSE(a.allows(ip("172.32.0.0")));
  EXPECT_TRUE(a.allows(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(a.allows(ip("2001:db9::1")));
  EXPECT_TRUE(a.allows(ip("::ffff:10.1.2.3")));  // a dual-stack listener's view of 10.1.2.3
  EXPECT_FALSE(a.allows(ip("::ffff:11.1.2.3")));
  EXPECT_FALSE(a.allows(ip("127.0.0.1")));
  EXPECT_EQ(a.describe(), (std::vector<std::string>{"10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "172.16.0.0/12"}));
}

TEST(AllowList, ZeroPrefixIsEverythingOfItsFamily) {
  AllowList a;
  std::string error;
  ASSERT_TRUE(a.add("0.0.0.0/0", error));
  EXPECT_TRUE(a.allows(ip("8.8.8.8")));
  EXPECT_FALSE(a.allows(ip("2001:db8::1")));
}

struct BadCidr {
  const char* text;
  const char* says;
};

TEST(AllowList, BadNetworksAreRejectedWithAReason) {
  for (const BadCidr& c : {BadCidr{"10.0.0.0/33", "prefix length"}, BadCidr{"10.0.0.0/", "prefix length"},
                           BadCidr{"10.0.0.0/x", "prefix length"}, BadCidr{"10.1.0.0/8", "did you mean 10.0.0.0/8"},
                           BadCidr{"example.org/8", "not an IP network"}, BadCidr{"", "not an IP network"},
                           BadCidr{"2001:db8::1/32", "did you mean 2001:db8::/32"},
                           BadCidr{"::/129", "prefix length"}}) {
    AllowList a;
    std::string error;
    EXPECT_FALSE(a.add(c.text, error)) << c.text;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.text << ": " << error;
    EXPECT_TRUE(a.empty());
  }
}

struct BadConfig {
  const char* name;
  RelayArgs args;
  const char* option;
};

RelayArgs with(std::function<void(RelayArgs&)> f) {
  RelayArgs a;
  a.listen = "127.0.0.1:0";
  f(a);
  return a;
}

TEST(RelayOptions, BadValuesNameTheirOption) {
  const std::vector<BadConfig> cases = {
      {"allow", with([](RelayArgs& a) { a.allow = {"10.0.0.0/8", "300.0.0.0/8"}; }), "--allow"},
      {"server list entry", with([](RelayArgs& a) { a.server_list = "a.example.org:2211|nohost"; }), "--server-list"},
      {"server list port", with([](RelayArgs& a) { a.server_list = "a.example.org:70000"; }), "--server-list"},
      {"server list char", with([](RelayArgs& a) { a.server_list = "a/b:2211"; }), "--server-list"},
      {"sat servers", with([](RelayArgs& a) { a.sat_servers = "sat:0"; }), "--sat-servers"},
      {"public address", with([](RelayArgs& a) { a.public_address = "relay\\x:2211"; }), "--public-address"},
      {"listen unresolvable", with([](RelayArgs& a) { a.listen = "no-such-host.invalid:2211"; }), "--listen"},
      {"upstream list with files", with([](RelayArgs& a) {
         a.feed = "files";
         a.include_upstream_list = true;
       }),
       "--include-upstream-list"},
  };
  for (const auto& c : cases) {
    try {
      finishRelayOptions(c.args);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const runtime::ConfigError& e) {
      EXPECT_EQ(e.option(), c.option) << c.name << ": " << e.what();
    }
  }
}

TEST(RelayOptions, DefaultsAndServerListComposition) {
  RelayArgs a;
  a.listen = "127.0.0.1:2212";
  a.server_list = " b.example.org:2211 | c.example.org:1000 |";
  a.sat_servers = "sat.example.org:2211";
  const RelayConfig c = finishRelayOptions(a);
  EXPECT_EQ(c.connect, "tcp://127.0.0.1:5601");
  EXPECT_EQ(c.server.listen.port(), 2212);
  EXPECT_TRUE(c.server.list_listen_address);  // no --public-address: the listen address is listed
  EXPECT_EQ(c.server.server_list.regular,
            (std::vector<qbt::ServerAddress>{{"b.example.org", 2211}, {"c.example.org", 1000}}));
  EXPECT_EQ(c.server.server_list.satellite, (std::vector<qbt::ServerAddress>{{"sat.example.org", 2211}}));
  EXPECT_EQ(c.server.client_queue_bytes, 2048u * 1024);
  EXPECT_EQ(c.server.relogon_timeout, std::chrono::seconds(720));
  EXPECT_EQ(c.server.encoder.v2_rule, V2Rule::kWhenPays);

  RelayArgs files;
  files.feed = "files";
  files.listen = "0.0.0.0:2211";
  files.public_address = "relay.example.org:2211";
  const RelayConfig f = finishRelayOptions(files);
  EXPECT_EQ(f.feed, Feed::kFiles);
  EXPECT_EQ(f.connect, "tcp://127.0.0.1:5602");
  EXPECT_FALSE(f.server.list_listen_address);
  EXPECT_EQ(f.server.server_list.regular, (std::vector<qbt::ServerAddress>{{"relay.example.org", 2211}}));

  RelayArgs wildcard;
  wildcard.listen = "0.0.0.0:2211";
  EXPECT_FALSE(finishRelayOptions(wildcard).server.list_listen_address);  // 0.0.0.0 is no address to give out
}

}  // namespace
}  // namespace emwin::relay
