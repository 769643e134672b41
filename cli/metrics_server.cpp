// The metrics endpoint of a live process (metrics_server.h).
#include "cli/metrics_server.h"

#include <array>
#include <chrono>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "harness/engine.h"
#include "reference_system/events.h"
#include "reports/prometheus.h"
#include "reports/result.h"
#include "runtime/live_io.h"

namespace faultline::cli {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t kRequestHeadMax = 8 * 1024;
constexpr std::size_t kConnectionsMax = 64;
constexpr std::chrono::seconds kRequestTimeout{5};
}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  Impl(asio::io_context& io, std::function<std::string()> text_) : acceptor(io), text(std::move(text_)) {}

  tcp::acceptor acceptor;
  std::function<std::string()> text;
  std::string error;
  bool listening = false;
  bool closed = false;
  std::size_t connections = 0;
  std::uint64_t requests = 0;

  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io), timer(io), head(kRequestHeadMax) {}
    tcp::socket socket;
    asio::steady_timer timer;
    asio::streambuf head;
    std::string reply;
  };

  void accept() {
    auto self = shared_from_this();
    auto c = std::make_shared<Connection>(static_cast<asio::io_context&>(acceptor.get_executor().context()));
    acceptor.async_accept(c->socket, [self, c](const boost::system::error_code& ec) {
      if (self->closed) return;
      if (!ec) {
        if (self->connections < kConnectionsMax) {
          self->serve(c);
        } else {
          boost::system::error_code ignored;
          c->socket.close(ignored);
        }
      }
      self->accept();
    });
  }

  void serve(const std::shared_ptr<Connection>& c) {
    ++connections;
    auto self = shared_from_this();
    c->timer.expires_after(kRequestTimeout);
    c->timer.async_wait([c](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        c->socket.close(ignored);
      }
    });
    asio::async_read_until(c->socket, c->head, "\r\n\r\n", [self, c](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->done(c);
      ++self->requests;
      const std::string body = self->text ? self->text() : std::string();
      c->reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      asio::async_write(c->socket, asio::buffer(c->reply),
                        [self, c](const boost::system::error_code&, std::size_t) { self->done(c); });
    });
  }

  void done(const std::shared_ptr<Connection>& c) {
    --connections;
    boost::system::error_code ignored;
    c->timer.cancel();
    c->socket.shutdown(tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
  }
};

MetricsServer::MetricsServer(runtime::LiveRuntime& rt, std::uint16_t port, std::function<std::string()> text)
    : impl_(std::make_shared<Impl>(runtime::io_context_of(rt), std::move(text))) {
  boost::system::error_code ec;
  const tcp::endpoint endpoint(tcp::v4(), port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    impl_->error = ec.message();
    return;
  }
  impl_->listening = true;
  impl_->accept();
}

MetricsServer::~MetricsServer() {
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

bool MetricsServer::listening() const noexcept { return impl_->listening; }
const std::string& MetricsServer::error() const noexcept { return impl_->error; }
std::uint64_t MetricsServer::requests() const noexcept { return impl_->requests; }

std::string role_metrics_text(const world::live::RoleProcess& process) {
  namespace rs = reference_system;
  const rs::SystemMetrics& m = process.metrics();
  reports::ScenarioResult s;
  s.name = "live/" + std::string(to_string(process.options().role)) + "/" + process.options().consumer;
  s.verdict = reports::Verdict::kPass;
  s.policy_name = process.options().policy.name;
  s.outcomes.submitted = m.submitted;
  s.outcomes.posted = m.outcome(rs::InvoiceOutcome::posted);
  s.outcomes.posted_degraded = m.outcome(rs::InvoiceOutcome::posted_degraded);
  s.outcomes.rejected_invalid = m.outcome(rs::InvoiceOutcome::rejected_invalid);
  s.outcomes.dead_lettered = m.outcome(rs::InvoiceOutcome::dead_lettered);
  s.outcomes.manual_review = m.outcome(rs::InvoiceOutcome::manual_review);
  s.outcomes.refused = m.refused();
  s.outcomes.in_flight = process.in_flight();
  s.success_rate = reports::success_rate(s.outcomes);
  harness::add_metrics(s, m);
  s.dlq_size_final = m.dead_letter_size;
  s.dlq_size_max = m.dead_letter_size;
  reports::RunResult run;
  run.tool_version = "0.1.0";
  run.runtime = "live";
  run.scenarios.push_back(std::move(s));
  return reports::to_prometheus_text(run);
}

}  // namespace faultline::cli
