#include "service/zap_handler.h"

#include <zmq_addon.hpp>

#include "service/zmq_watch.h"

namespace emwin::service {

ZapHandler::ZapHandler(asio::io_context& io, zmq::context_t& context, bus::AccessRules rules,
                       std::shared_ptr<spdlog::logger> log)
    : rules_(std::move(rules)), log_(std::move(log)), socket_(context, zmq::socket_type::rep) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  watch_ = std::make_unique<ZmqWatch>(io, socket_, [this] { onReadable(); });
  watch_->setEnabled(true);
}

ZapHandler::~ZapHandler() { watch_.reset(); }

std::string ZapHandler::admit(const std::string& domain, const std::string& key) const {
  auto under = [&](const std::string& rule) { return rules_.identityFor(rule, key); };
  if (domain.rfind("tap.", 0) == 0) {
    if (auto id = under("tap")) return *id;
    if (auto id = under(domain)) return *id;
    return {};
  }
  if (domain.rfind("pipe.", 0) == 0) {
    for (const auto& rule : rules_.rulesOf(key)) {
      if (rule.rfind("group.", 0) == 0) return *under(rule);
    }
    return {};
  }
  if (domain == "intake") {
    if (auto id = under("intake")) return *id;
  }
  return {};
}

bool ZapHandler::mayJoin(const std::string& user, const std::string& group) const {
  return rules_.identityFor("group." + group, user).has_value();
}

void ZapHandler::onReadable() {
  for (int i = 0; i < 64; ++i) {
    std::vector<zmq::message_t> frames;
    zmq::recv_result_t got;
    try {
      got = zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      log_->warn("ZAP receive failed: {}", e.what());
      return;
    }
    if (!got) return;
    // version, request id, domain, address, identity, mechanism, credentials...
    std::string status = "400", text = "refused", user;
    std::string domain = frames.size() > 2 ? frames[2].to_string() : std::string();
    const std::string address = frames.size() > 3 ? frames[3].to_string() : std::string();
    if (frames.size() >= 7 && frames[0].to_string_view() == "1.0" && frames[5].to_string_view() == "CURVE" &&
        frames[6].size() == 32) {
      char z85[41] = {};
      zmq_z85_encode(z85, static_cast<const std::uint8_t*>(frames[6].data()), 32);
      const std::string key = z85;
      const std::string identity = admit(domain, key);
      if (!identity.empty()) {
        status = "200";
        text = "OK";
        user = key;
        ++allowed_;
        log_->debug("admitted {} ({}) from {} to {}", identity, key, address, domain);
      } else {
        ++denied_;
        ++denied_by_domain_[domain];
        log_->warn("refused a client key {} from {} for {}: not in the access rules", key, address, domain);
      }
    } else {
      ++denied_;
      ++denied_by_domain_[domain];
      log_->warn("refused an unauthenticated connection from {} for {}", address, domain);
    }
    const std::string request_id = frames.size() > 1 ? frames[1].to_string() : std::string();
    std::array<zmq::const_buffer, 6> reply = {zmq::str_buffer("1.0"), zmq::buffer(request_id), zmq::buffer(status),
                                              zmq::buffer(text),      zmq::buffer(user),       zmq::const_buffer()};
    try {
      zmq::send_multipart(socket_, reply);
    } catch (const zmq::error_t& e) {
      log_->warn("ZAP reply failed: {}", e.what());
    }
    watch_->check();
  }
}

}  // namespace emwin::service
