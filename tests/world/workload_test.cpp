// The workload generator: its mixes match its model, and it is a pure
// function of the seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "runtime/sim_runtime.h"
#include "world/workload.h"

namespace faultline::world {
namespace {

using namespace reference_system;

WorkloadModel model() {
  WorkloadModel m = default_world_model().workload;
  m.inexact_po_share = 0.10;
  m.missing_po_share = 0.05;
  m.invalid_share = 0.02;
  return m;
}

TEST(Workload, SharesFollowTheModelWithinSamplingError) {
  runtime::SimRuntime rt(3);
  PoCatalogue catalogue;
  WorkloadGenerator gen(rt, model(), catalogue);
  const int n = 20'000;
  int inexact = 0, missing = 0, invalid = 0, poor = 0;
  for (int i = 0; i < n; ++i) {
    const auto g = gen.next();
    inexact += g.po_kind == PoKind::inexact;
    missing += g.po_kind == PoKind::missing;
    invalid += !g.valid;
    poor += g.invoice.scan_quality < 0.40;
    EXPECT_EQ(g.invoice.id, static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(validate(parse_document(g.invoice.document), g.invoice.id) == 0, g.valid);
  }
  auto near = [](int count, double p) {
    const double sd = std::sqrt(p * (1 - p) / n);
    return std::abs(static_cast<double>(count) / n - p) < 5 * sd;
  };
  EXPECT_TRUE(near(inexact, 0.10)) << inexact;
  EXPECT_TRUE(near(missing, 0.05)) << missing;
  EXPECT_TRUE(near(invalid, 0.02)) << invalid;
  EXPECT_TRUE(near(poor, 0.05)) << poor;
  EXPECT_EQ(catalogue.size(), static_cast<std::size_t>(n - missing));
}

TEST(Workload, PoissonArrivalsHaveTheRequestedRate) {
  runtime::SimRuntime rt(4);
  PoCatalogue catalogue;
  WorkloadGenerator gen(rt, model(), catalogue);
  runtime::Duration total{};
  const int n = 20'000;
  for (int i = 0; i < n; ++i) total += gen.next_interarrival(3600.0);  // one a second
  EXPECT_NEAR(runtime::to_seconds(total) / n, 1.0, 5.0 / std::sqrt(n));
}

TEST(Workload, SameSeedSameInvoices) {
  auto digest = [](std::uint64_t seed) {
    runtime::SimRuntime rt(seed);
    PoCatalogue catalogue;
    WorkloadGenerator gen(rt, model(), catalogue);
    std::uint64_t h = 0;
    for (int i = 0; i < 500; ++i) h = runtime::fnv1a64(gen.next().invoice.document, h);
    return h;
  };
  EXPECT_EQ(digest(9), digest(9));
  EXPECT_NE(digest(9), digest(10));
}

TEST(Workload, CatalogueOffersCloseOrdersOfTheSameVendorAsCandidates) {
  PoCatalogue c;
  c.add({1, "V1", 10'000});
  c.add({2, "V1", 10'300});
  c.add({3, "V1", 20'000});
  c.add({4, "V2", 10'000});
  EXPECT_EQ(c.candidates("V1", 10'100, 0.05, 3), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(c.candidates("V3", 10'000, 0.05, 3).empty());
  ASSERT_NE(c.find(3), nullptr);
  EXPECT_EQ(c.find(3)->amount_cents, 20'000);
  EXPECT_EQ(c.find(99), nullptr);
}

TEST(Workload, AnOrderAddedAgainIsOfferedWithItsCurrentAmount) {
  PoCatalogue c;
  c.add({1, "V1", 10'000});
  c.add({2, "V1", 30'000});
  c.add({1, "V1", 20'000});  // replaces order 1 (and is in the vendor's recent orders twice)
  EXPECT_TRUE(c.candidates("V1", 10'000, 0.05, 5).empty());
  EXPECT_EQ(c.candidates("V1", 20'000, 0.05, 5), (std::vector<std::uint64_t>{1, 1}));
  EXPECT_EQ(c.candidates("V1", 30'000, 0.05, 5), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(c.size(), 2u);
}

TEST(Workload, CandidatesFromAFullRingAreTheMostRecentOrders) {
  PoCatalogue c;
  const std::uint64_t n = PoCatalogue::kRecentPerVendor + 10;
  for (std::uint64_t i = 1; i <= n; ++i) c.add({i, "V1", 10'000});
  const auto found = c.candidates("V1", 10'000, 0.0, n);
  ASSERT_EQ(found.size(), PoCatalogue::kRecentPerVendor);
  EXPECT_EQ(*std::min_element(found.begin(), found.end()), 11u);  // the ten oldest were evicted
  EXPECT_EQ(c.evicted_from_index(), 10u);
}


// Everything the generator produces (and adds to the catalogue), as one
// digest, so that a change to how it builds invoices cannot change what it
// builds. The expected values were taken from the generator before it was
// optimised.
std::uint64_t everything_digest(std::uint64_t seed, const WorkloadModel& m, int n) {
  runtime::SimRuntime rt(seed);
  PoCatalogue catalogue;
  WorkloadGenerator gen(rt, m, catalogue);
  std::uint64_t h = 0;
  auto mix = [&h](std::uint64_t v) {
    char bytes[sizeof v];
    std::memcpy(bytes, &v, sizeof v);
    h = runtime::fnv1a64(std::string_view(bytes, sizeof v), h);
  };
  auto mix_text = [&h, &mix](const std::string& text) {
    mix(text.size());
    h = runtime::fnv1a64(text, h);
  };
  for (int i = 0; i < n; ++i) {
    const GeneratedInvoice g = gen.next();
    const Invoice& inv = g.invoice;
    mix(inv.id);
    mix_text(inv.vendor);
    mix_text(inv.po_reference);
    mix(inv.lines.size());
    for (const auto& line : inv.lines) {
      mix_text(line.description);
      mix(static_cast<std::uint64_t>(line.quantity));
      mix(static_cast<std::uint64_t>(line.unit_price_cents));
    }
    mix(static_cast<std::uint64_t>(inv.total_cents));
    mix_text(inv.currency);
    std::uint64_t quality_bits = 0;
    std::memcpy(&quality_bits, &inv.scan_quality, sizeof quality_bits);
    mix(quality_bits);
    mix_text(inv.document);
    mix(static_cast<std::uint64_t>(g.po_kind));
    mix(g.valid ? 1 : 0);
    if (i % 7 == 0) mix(static_cast<std::uint64_t>(gen.next_interarrival(10'000.0).count()));
  }
  mix(catalogue.size());
  mix(catalogue.evicted_from_index());
  for (std::uint64_t number = 1; number <= catalogue.size(); number += 97) {
    const PurchaseOrder* order = catalogue.find(number);
    if (order == nullptr) continue;
    mix_text(order->vendor);
    mix(static_cast<std::uint64_t>(order->amount_cents));
  }
  return h;
}

TEST(Workload, GeneratesExactlyWhatItAlwaysGenerated) {
  EXPECT_EQ(everything_digest(9, model(), 5'000), 0x7cdc96ddc234779cULL);
  WorkloadModel wide = model();
  wide.vendors = 1'000'000;
  wide.max_lines = 32;
  wide.max_quantity = 1000;
  wide.inexact_po_share = 0.4;
  wide.missing_po_share = 0.2;
  wide.invalid_share = 0.3;
  EXPECT_EQ(everything_digest(10, wide, 5'000), 0x150ebc548641d50fULL);
  WorkloadModel narrow = model();
  narrow.vendors = 3;
  narrow.max_lines = 1;
  EXPECT_EQ(everything_digest(11, narrow, 2'000), 0x9ff9327e4ee4a19fULL);
}

}  // namespace
}  // namespace faultline::world
