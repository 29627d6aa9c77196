// The live page in headless Chromium (Debian's chromium), on a sim-fed
// pipeline replaying the whole corpus with `--clock feed`: the page is opened
// before the first product is sent, and must show the alerts the gateway
// holds within seconds (live, over SSE), draw them on the map, list the
// latest products and the pipeline's health, and throw no JavaScript
// exception. Screenshots (desktop 1280x900 and phone 390x844) are written to
// <build>/test-artifacts/ for a person to look at.
#include <filesystem>

#include <gtest/gtest.h>

#include "gateway_client.h"
#include "headless_chromium.h"
#include "integration_bus/pipeline_harness.h"

namespace emwin::test {
namespace {

std::string artifactDir() { return std::string(EMWIN_BINARY_DIR) + "/test-artifacts"; }

TEST(GatewayPage, LoadsShowsLiveAlertsMapProductsAndHealthInHeadlessChromium) {
  ASSERT_TRUE(std::filesystem::exists(chromiumPath())) << chromiumPath() << " missing: run scripts/install-deps";
  PipelineConfig cfg;
  cfg.classifier = true;
  cfg.sim_args = {"--once", "--rate", "3000fps"};
  Pipeline p(cfg);
  p.startConsumers();
  std::unique_ptr<Process> gw;
  const int port = startGateway(gw,
                                {"--alerts", p.classifierTap(), "--files", p.assemblerTap(), "--stats", p.statsTap(),
                                 "--clock", "feed", "--stats-connect", p.statsIntake()},
                                p.dir());
  ASSERT_GT(port, 0);
  ASSERT_TRUE(waitUntil(
      [&] {
        const Json h = httpGet(port, "/healthz").json();
        return h.is_object() && h["inputs"]["alerts"]["heard"] == true && h["inputs"]["files"]["heard"] == true;
      },
      20s));

  HeadlessChromium chrome(p.dir(), 1280, 900);
  ASSERT_TRUE(chrome.started()) << chrome.error();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  chrome.navigate(url);
  // The page is up and subscribed before anything is sent.
  ASSERT_TRUE(chrome.waitFor("document.getElementById('conn') && document.getElementById('conn').textContent.startsWith('live')", 20s))
      << chrome.evaluate("document.body.innerText");
  ASSERT_TRUE(chrome.waitFor("document.getElementById('no-alerts')", 10s));
  EXPECT_TRUE(chrome.waitFor("document.querySelector('#map path.land')", 10s)) << "no state outlines";

  p.startFeed();
  const auto fed = std::chrono::steady_clock::now();
  // Alerts appear, live, within seconds of the gateway having them.
  ASSERT_TRUE(chrome.waitFor("document.querySelectorAll('#alerts .card[data-alert-id]').length > 0", 60s))
      << chrome.evaluate("document.getElementById('alerts').innerText") << "\n" << p.logs();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - fed).count();
  std::printf("first alert card %.1f s after the feed started\n", seconds);
  ASSERT_TRUE(p.waitSimDone(120s));
  // Everything the gateway holds is shown: each active key has a card.
  Json active;
  ASSERT_TRUE(waitUntil(
      [&] {
        active = httpGet(port, "/alerts/active").json();
        if (!active.is_object() || active["count"].get<int>() == 0) return false;
        std::string keys = "[";
        for (const auto& a : active["alerts"]) keys += Json(a["key"].get<std::string>()).dump() + ",";
        keys += "]";
        return chrome.evaluate("(() => { const want = " + keys +
                               "; return want.every(k => document.querySelector('#alerts .card[data-alert-id=\"' + "
                               "CSS.escape(k) + '\"]')); })()") == true;
      },
      30s))
      << active.dump() << "\n" << chrome.evaluate("document.getElementById('alerts').innerText");
  EXPECT_EQ(chrome.evaluate("document.querySelectorAll('#alerts .card[data-alert-id]').length"), active["count"]);
  // The map draws them: a polygon or zone points per alert.
  EXPECT_TRUE(chrome.waitFor("document.querySelectorAll('#map [data-alert-id]').length > 0", 10s));
  // Tier chips count them.
  EXPECT_EQ(chrome.evaluate("Number(document.querySelector('#tiers .chip[data-tier=\"warning\"] b').textContent)"),
            [&] {
              int n = 0;
              for (const auto& a : active["alerts"]) n += a["tier"] == "warning";
              return n;
            }());
  // Latest products and pipeline health are filled in.
  EXPECT_TRUE(chrome.waitFor("document.querySelectorAll('#products tr').length >= 10", 20s));
  EXPECT_TRUE(chrome.waitFor("document.querySelectorAll('#health .svc').length >= 4", 20s))
      << chrome.evaluate("document.getElementById('health').innerText");
  // Opening a card shows its details, with the event's history from /alerts/<key>.
  chrome.evaluate("document.querySelector('#alerts .card[data-alert-id]').click()");
  EXPECT_TRUE(chrome.waitFor("document.querySelector('#alerts .card .details .history li')", 10s));
  chrome.evaluate("document.querySelector('#alerts .card[data-alert-id]').click()");  // closed again
  chrome.evaluate("document.getElementById('fit').click()");                          // every alert in view

  chrome.screenshot(artifactDir() + "/gateway-page-desktop.png");
  chrome.viewport(390, 844, true, 2);
  EXPECT_TRUE(chrome.waitFor("document.documentElement.scrollWidth <= 392", 5s))
      << "horizontal scrolling on a phone: " << chrome.evaluate("document.documentElement.scrollWidth");
  chrome.screenshot(artifactDir() + "/gateway-page-phone.png");
  chrome.screenshot(artifactDir() + "/gateway-page-phone-full.png", true);
  EXPECT_TRUE(std::filesystem::file_size(artifactDir() + "/gateway-page-desktop.png") > 10000);
  EXPECT_TRUE(chrome.exceptions().empty()) << chrome.exceptions().front();
}

}  // namespace
}  // namespace emwin::test
