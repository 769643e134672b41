#include "faults/workload_faults.h"

#include <string>

namespace faultline::faults {

WorkloadFaults::WorkloadFaults(runtime::Runtime& /*rt*/, std::vector<ActiveFault*> faults) {
  for (ActiveFault* f : faults) {
    if (f->spec().kind == FaultKind::saturation) saturation_.push_back(f);
    if (f->spec().kind == FaultKind::corrupted_input) corrupting_.push_back(f);
  }
}

std::optional<Corruption> WorkloadFaults::corrupt(reference_system::Invoice& invoice) {
  std::optional<Corruption> applied;
  for (ActiveFault* f : corrupting_) {
    if (!f->active()) continue;
    const auto& modes = f->spec().corruptions;
    // The mode is drawn before the strike so that a fault's stream advances
    // the same way whatever the probability decides.
    auto mode = modes[f->rng().uniform_int(0, modes.size() - 1)];
    if (mode == Corruption::duplicate_id && recent_ids_.empty()) continue;
    if (!f->strikes(invoice.id, static_cast<std::int64_t>(mode))) continue;
    if (mode == Corruption::duplicate_id) {
      const auto reused = recent_ids_[f->rng().uniform_int(0, recent_ids_.size() - 1)];
      invoice.id = reused;
      invoice.document = with_document_id(invoice.document, reused);
    } else {
      invoice.document = corrupt_document(invoice.document, mode, f->rng());
    }
    applied = mode;
    break;
  }
  if (!applied || *applied != Corruption::duplicate_id) {
    recent_ids_.push_back(invoice.id);
    if (recent_ids_.size() > kRecentIds) recent_ids_.pop_front();
  }
  return applied;
}

std::string with_document_id(std::string_view document, std::uint64_t id) {
  std::string out;
  std::size_t begin = 0;
  bool replaced = false;
  while (begin < document.size()) {
    auto end = document.find('\n', begin);
    if (end == std::string_view::npos) end = document.size();
    const auto line = document.substr(begin, end - begin);
    if (!replaced && line.substr(0, 3) == "id:") {
      out += "id: " + std::to_string(id);
      replaced = true;
    } else {
      out += line;
    }
    if (end < document.size()) out += '\n';
    begin = end + 1;
  }
  return out;
}

}  // namespace faultline::faults
