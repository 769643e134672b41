// The reference system's identity table: its agents and its external
// services, each with the one name that scenario files, policies, world
// models, fault targets, event sources and reports spell it by. Everything
// that lists agents or services iterates these tables instead of spelling
// the names out again.
//
//   for (const ServiceId s : kServices) fmt::print("{}\n", to_string(s));
//   service_from("ledger") == ServiceId::ledger;
//   agent_from("matching") == AgentId::matching;
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace faultline::reference_system {

enum class AgentId : std::uint8_t { ocr = 0, validation, matching, accounting, archive };
inline constexpr std::size_t kAgentCount = 5;
inline constexpr std::array<AgentId, kAgentCount> kAgents = {AgentId::ocr, AgentId::validation, AgentId::matching,
                                                              AgentId::accounting, AgentId::archive};

enum class ServiceId : std::uint8_t { ocr_engine = 0, backup_ocr, po_database, budget_service, ledger, notifier };
inline constexpr std::size_t kServiceCount = 6;
inline constexpr std::array<ServiceId, kServiceCount> kServices = {
    ServiceId::ocr_engine, ServiceId::backup_ocr, ServiceId::po_database,
    ServiceId::budget_service, ServiceId::ledger, ServiceId::notifier};

namespace internal {
inline constexpr std::array<std::string_view, kAgentCount> kAgentNames = {"ocr", "validation", "matching",
                                                                          "accounting", "archive"};
inline constexpr std::array<std::string_view, kServiceCount> kServiceNames = {
    "ocr_engine", "backup_ocr", "po_database", "budget_service", "ledger", "notifier"};
}  // namespace internal

constexpr std::string_view to_string(AgentId a) noexcept {
  const auto i = static_cast<std::size_t>(a);
  return i < kAgentCount ? internal::kAgentNames[i] : std::string_view("?");
}
constexpr std::string_view to_string(ServiceId s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < kServiceCount ? internal::kServiceNames[i] : std::string_view("?");
}

constexpr std::optional<AgentId> agent_from(std::string_view name) noexcept {
  for (const AgentId a : kAgents) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}
constexpr std::optional<ServiceId> service_from(std::string_view name) noexcept {
  for (const ServiceId s : kServices) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

static_assert(to_string(kAgents.back()) == "archive" && to_string(kServices.back()) == "notifier");

}  // namespace faultline::reference_system
