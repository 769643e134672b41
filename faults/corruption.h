// Corrupted input: what the workload hands the system instead of a clean
// invoice document. Each mode damages the document text the OCR agent
// reads (the line layout of reference_system/invoice.h: "key: value" lines
// under an "INVOICE/1" header), the way real inputs arrive broken: cut off,
// bit-rotted, missing or mistyped fields, absurd amounts, non-UTF-8 bytes,
// markup and injection strings. duplicate_id is the one mode that changes
// the invoice's identity rather than its bytes: the workload applies it by
// resubmitting an id it has already used (see duplicate_of).
//
//   auto rng = rt.stream("fault/3/corrupted_input");
//   std::string bad = corrupt_document(invoice.document, Corruption::markup, rng);
#pragma once

#include <string>
#include <string_view>

#include "faults/fault.h"
#include "runtime/random.h"

namespace faultline::faults {

// The document damaged by `mode`. Never returns the input unchanged (for
// duplicate_id, which leaves the bytes alone, see below).
[[nodiscard]] std::string corrupt_document(std::string_view document, Corruption mode, runtime::Rng& rng);

// The strings markup and injection modes plant in text fields.
std::string_view markup_sample(std::size_t index) noexcept;
std::string_view injection_sample(std::size_t index) noexcept;
inline constexpr std::size_t kMarkupSamples = 4;
inline constexpr std::size_t kInjectionSamples = 4;

}  // namespace faultline::faults
