// emwin-ingest: ByteBlaster client publishing QBT segments on the emwin bus.
// See docs/ingest.md.
#include <csignal>
#include <cstdio>
#include <exception>

#include <zmq.hpp>

#include "ingest_service.h"
#include "options.h"
#include "runtime/log.h"

int main(int argc, char** argv) {
  emwin::ingest::IngestOptions options;
  try {
    options = emwin::ingest::parseOptions(argc, argv);
  } catch (const emwin::ingest::ConfigError& e) {
    std::fprintf(e.exitCode() == 0 ? stdout : stderr, "%s%s\n", e.exitCode() == 0 ? "" : "emwin-ingest: ", e.what());
    return e.exitCode();
  }
  if (!emwin::runtime::setLogLevel(options.log_level)) {
    std::fprintf(stderr, "emwin-ingest: unknown --log-level %s\n", options.log_level.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  auto log = emwin::runtime::logger("ingest");
  try {
    zmq::context_t context(1);
    emwin::bus::PublisherOptions po;
    po.producer_id = options.producer_id;
    po.tap_endpoint = options.pub_endpoint;
    po.pipeline_endpoint = options.pipe_endpoint;
    po.pipeline_hwm = options.hwm;
    po.tap_send_hwm = options.tap_hwm;
    po.retention_messages = options.retention;
    po.retention_bytes = options.retention_mb << 20;
    int code = 0;
    {
      emwin::bus::Publisher publisher(context, po);
      log->info("publishing on tap {} and pipeline {}", publisher.tapEndpoint(), publisher.pipelineEndpoint());
      asio::io_context io;
      emwin::ingest::IngestService service(io, options, publisher);
      asio::signal_set signals(io, SIGINT, SIGTERM);
      signals.async_wait([&](const asio::error_code& ec, int sig) {
        if (ec) return;
        log->info("signal {} received", sig);
        service.stop();
      });
      service.start();
      io.run();
      code = service.exitCode();
    }
    return code;
  } catch (const std::exception& e) {
    log->error("fatal: {}", e.what());
    return 1;
  }
}
