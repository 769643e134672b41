// The workload generator and the purchase-order catalogue (workload.h).
#include "world/workload.h"

#include <algorithm>
#include "runtime/assert.h"
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>

namespace faultline::world {

using reference_system::format_po_reference;

void PoCatalogue::add(PurchaseOrder order) {
  Recent& recent = *recent_.try_emplace(std::string_view(order.vendor)).first;
  if (recent.ring.size() < kRecentPerVendor) {
    recent.ring.push_back(order.number);
    recent.amounts.push_back(order.amount_cents);
  } else {
    recent.ring[recent.next] = order.number;
    recent.amounts[recent.next] = order.amount_cents;
    recent.next = (recent.next + 1) % kRecentPerVendor;
    ++evicted_;
  }
  const auto number = order.number;
  auto [stored, inserted] = orders_.try_emplace(number);
  if (!inserted) replaced_ = true;
  *stored = std::move(order);
}

const PurchaseOrder* PoCatalogue::find(std::uint64_t number) const { return orders_.find(number); }

std::vector<std::uint64_t> PoCatalogue::candidates(const std::string& vendor, std::int64_t amount_cents,
                                                   double tolerance, std::size_t max) const {
  std::vector<std::pair<std::int64_t, std::uint64_t>> scored;
  const Recent* recent = recent_.find(std::string_view(vendor));
  if (recent == nullptr) return {};
  for (std::size_t i = 0; i < recent->ring.size(); ++i) {
    const std::uint64_t number = recent->ring[i];
    std::int64_t amount = recent->amounts[i];
    if (replaced_) {
      const auto* order = find(number);
      if (order == nullptr) continue;
      amount = order->amount_cents;
    }
    const std::int64_t diff = std::abs(amount - amount_cents);
    if (static_cast<double>(diff) <= tolerance * static_cast<double>(std::abs(amount_cents))) {
      scored.emplace_back(diff, number);
    }
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < scored.size() && i < max; ++i) out.push_back(scored[i].second);
  return out;
}

std::string vendor_name(std::uint32_t index) {
  static constexpr std::string_view kNames[] = {"Northwind Freight", "Contoso Logistics", "Fabrikam Supplies",
                                                "Tailspin Haulage",  "Litware Parts",     "Adatum Fuel",
                                                "Proseware Tyres",   "Wingtip Storage"};
  // "V", the index zero-padded to four digits, a space, the name: built in
  // place and copied into the string once.
  char digits[16] = {};  // initialised only to quiet GCC 12 -Wmaybe-uninitialized
  const auto [digits_end, ec] = std::to_chars(digits, digits + sizeof digits, index);
  (void)ec;
  const auto n = static_cast<std::size_t>(digits_end - digits);
  const std::string_view name = kNames[index % std::size(kNames)];
  constexpr std::size_t kLongestName = 32;
  static_assert(std::all_of(std::begin(kNames), std::end(kNames),
                            [](std::string_view s) { return s.size() <= kLongestName; }));
  char buf[1 + sizeof digits + 1 + kLongestName] = {'V', '0', '0', '0', '0'};
  const std::size_t pad = n < 4 ? 4 - n : 0;
  char* out = buf + 1 + pad;
  std::memcpy(out, digits, n);
  out += n;
  *out++ = ' ';
  std::memcpy(out, name.data(), name.size());
  out += name.size();
  return std::string(buf, out);
}

WorkloadGenerator::WorkloadGenerator(const runtime::Runtime& rt, WorkloadModel model, PoCatalogue& catalogue,
                                     std::uint64_t first_id, std::uint64_t first_po)
    : model_(std::move(model)),
      catalogue_(&catalogue),
      next_id_(first_id),
      next_po_(first_po),
      arrivals_(rt.stream("workload/arrivals")),
      quality_(rt.stream("workload/quality")),
      po_(rt.stream("workload/po")),
      vendor_(rt.stream("workload/vendor")),
      amount_(rt.stream("workload/amount")),
      validity_(rt.stream("workload/validity")) {
  FAULTLINE_ASSERT(!model_.quality_bands.empty());
  FAULTLINE_ASSERT(!model_.currencies.empty());
}

runtime::Duration WorkloadGenerator::next_interarrival(double per_hour) {
  FAULTLINE_ASSERT(per_hour > 0.0);
  return runtime::from_seconds(arrivals_.exponential(per_hour / 3600.0));
}

GeneratedInvoice WorkloadGenerator::next() {
  GeneratedInvoice g;
  Invoice& inv = g.invoice;
  inv.id = next_id_++;

  // Quality: pick a band by share, then uniform within it.
  double u = quality_.uniform01();
  const QualityBand* band = &model_.quality_bands.back();
  for (const auto& b : model_.quality_bands) {
    if (u < b.share) {
      band = &b;
      break;
    }
    u -= b.share;
  }
  inv.scan_quality = quality_.uniform(band->min_quality, band->max_quality);
  if (band->max_quality <= band->min_quality) inv.scan_quality = band->min_quality;

  const auto vendor_index = static_cast<std::uint32_t>(vendor_.uniform_int(1, model_.vendors));
  inv.vendor = vendor_name(vendor_index);
  inv.currency = model_.currencies[vendor_index % model_.currencies.size()];

  const auto lines = amount_.uniform_int(1, model_.max_lines);
  static constexpr std::string_view kItems[] = {"Freight", "Handling", "Fuel surcharge", "Storage", "Customs"};
  const double mu = std::log(model_.unit_price_median);
  inv.lines.reserve(lines);
  for (std::uint64_t i = 0; i < lines; ++i) {
    const auto quantity = static_cast<std::int64_t>(amount_.uniform_int(1, model_.max_quantity));
    const double price = amount_.lognormal(mu, model_.unit_price_sigma);
    const std::int64_t unit_price_cents = std::max<std::int64_t>(1, std::llround(std::min(price, 1e8) * 100.0));
    inv.total_cents += quantity * unit_price_cents;
    inv.lines.push_back(LineItem{std::string(kItems[i % std::size(kItems)]), quantity, unit_price_cents});
  }
  if (validity_.bernoulli(model_.invalid_share)) {
    g.valid = false;
    inv.total_cents += static_cast<std::int64_t>(validity_.uniform_int(1, 999));
  }

  const double p = po_.uniform01();
  if (p < model_.missing_po_share) {
    g.po_kind = PoKind::missing;
    inv.po_reference = format_po_reference(900'000'000 + inv.id);
  } else {
    const std::uint64_t number = next_po_++;
    catalogue_->add(PurchaseOrder{number, inv.vendor, inv.total_cents});
    // The canonical "PO-" reference, then edited in place into an inexact one.
    inv.po_reference = format_po_reference(number);
    if (p < model_.missing_po_share + model_.inexact_po_share) {
      g.po_kind = PoKind::inexact;
      std::string& ref = inv.po_reference;
      switch (po_.uniform_int(0, 3)) {
        case 0: ref[2] = ' '; break;               // "PO 001042"
        case 1: ref[0] = 'p'; ref[1] = 'o'; break;  // "po-001042"
        case 2: ref.erase(2, 1); break;            // "PO001042"
        default: ref[1] = '0'; break;              // "P0-001042"
      }
    }
  }
  inv.document = render_document(inv);
  return g;
}

}  // namespace faultline::world
