#include "reference_system/live/internal/resolve.h"

#include <coroutine>
#include <memory>
#include <optional>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "runtime/live_io.h"

namespace faultline::reference_system::live::internal {

namespace asio = boost::asio;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;

namespace {

struct Lookup {
  explicit Lookup(asio::io_context& io) : resolver(io) {}
  asio::ip::tcp::resolver resolver;
  std::optional<Outcome<std::string>> result;
  std::coroutine_handle<> waiter;
  runtime::WakeId wake;
};

// Waits for the lookup's handler; a waiter destroyed first is never resumed.
class LookupAwaiter {
 public:
  LookupAwaiter(runtime::LiveRuntime& rt, std::shared_ptr<Lookup> lookup) : rt_(&rt), lookup_(std::move(lookup)) {}
  LookupAwaiter(const LookupAwaiter&) = delete;
  LookupAwaiter& operator=(const LookupAwaiter&) = delete;
  ~LookupAwaiter() {
    lookup_->waiter = {};
    if (lookup_->wake) rt_->cancel_wake(lookup_->wake);
  }
  bool await_ready() const noexcept { return lookup_->result.has_value(); }
  void await_suspend(std::coroutine_handle<> h) noexcept { lookup_->waiter = h; }
  Outcome<std::string> await_resume() {
    lookup_->wake = {};
    return std::move(*lookup_->result);
  }

 private:
  runtime::LiveRuntime* rt_;
  std::shared_ptr<Lookup> lookup_;
};

}  // namespace

runtime::Task<Outcome<std::string>> numeric_address(runtime::LiveRuntime& rt, std::string host) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) co_return address.to_string();
  auto lookup = std::make_shared<Lookup>(runtime::io_context_of(rt));
  lookup->resolver.async_resolve(
      host, "", [lookup, &rt, host](const boost::system::error_code& error, asio::ip::tcp::resolver::results_type results) {
        if (error || results.empty()) {
          lookup->result.emplace(Failure{ErrorClass::transient, "cannot resolve " + host + ": " +
                                                                    (error ? error.message() : "no address")});
        } else {
          lookup->result.emplace(results.begin()->endpoint().address().to_string());
        }
        if (lookup->waiter) lookup->wake = rt.wake_soon(lookup->waiter);
      });
  co_return co_await LookupAwaiter(rt, lookup);
}

}  // namespace faultline::reference_system::live::internal
