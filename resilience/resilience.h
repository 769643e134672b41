// The resilience layer in one include. See each header for its contract;
// resilience/pipeline.h for how the patterns compose, with a worked example.
//
//   #include "resilience/resilience.h"
//   using namespace faultline::resilience;
//   Pipeline calls(load_pipeline(policy["services"]["ocr"]), {.breaker = &breaker});
//   Outcome<Fields> r = co_await calls.call(rt, rng, [&] { return ocr.extract(doc); }, id);
#pragma once

#include "resilience/bulkhead.h"
#include "resilience/checkpoint.h"
#include "resilience/circuit_breaker.h"
#include "resilience/config.h"
#include "resilience/dead_letter.h"
#include "resilience/degradation.h"
#include "resilience/events.h"
#include "resilience/outcome.h"
#include "resilience/pipeline.h"
#include "resilience/retry.h"
#include "resilience/saga.h"
#include "resilience/sqlite_checkpoint_store.h"
#include "resilience/timeout.h"
