// For the few translation units that do real I/O on the live runtime's
// io_context. Including this pulls in Boost.Asio: keep it out of headers.
#pragma once

#include <utility>  // Boost 1.74 with GCC 12 needs it before awaitable.hpp
#include <boost/asio/io_context.hpp>

#include "runtime/live_runtime.h"

namespace faultline::runtime {

boost::asio::io_context& io_context_of(LiveRuntime& rt) noexcept;

}  // namespace faultline::runtime
