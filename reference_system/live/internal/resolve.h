// Host names to numeric addresses without blocking the event loop: the
// clients hand libpq and hiredis a numeric address, because both would
// otherwise call getaddrinfo() on the loop's thread. A numeric host costs
// nothing; a name is resolved by Asio's resolver, which waits on a thread of
// its own and completes on the LiveRuntime's io_context.
#pragma once

#include <string>

#include "resilience/outcome.h"
#include "runtime/live_runtime.h"
#include "runtime/task.h"

namespace faultline::reference_system::live::internal {

// The host's first address, as text ("127.0.0.1", "::1"); transient
// failure when the name does not resolve.
runtime::Task<resilience::Outcome<std::string>> numeric_address(runtime::LiveRuntime& rt, std::string host);

}  // namespace faultline::reference_system::live::internal
