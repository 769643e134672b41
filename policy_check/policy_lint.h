// The policy linter behind `faultline check-policy`: reads a team's policy
// file (format in reference_system/policy.h) and says, before anything runs,
// which settings will hurt under faults: unbounded or amplified retries,
// timeouts that do not nest, breakers that can never open, a ledger post
// retried without an idempotency key, and the rest of lint_rules().
//
//   LintOptions o;                          // profile, expected traffic
//   LintReport r = lint_policy_file("team.json", o);   // throws runtime::ConfigError
//   for (const auto& f : r.findings) ...   // f.rule, f.severity, f.path, f.reason, f.fix
//   r.errors() == 0;                        // no error-level finding
//
// Some flaws are settings the policy parser refuses outright (a permanent
// error class in "retry_on", a missing attempt limit, a matching default that
// is not neutral). The linter reports those as findings and parses a copy
// with them neutralised, so the team sees every problem at once; anything
// else the parser refuses (not JSON, not a policy, a wrong type) is a
// runtime::ConfigError naming the file and the JSON path, which the command
// turns into exit code 2.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reference_system/policy.h"

namespace faultline::policy_check {

enum class Severity : std::uint8_t { error, warning };
std::string_view to_string(Severity s) noexcept;

// Where the policy will run: a production profile refuses an in-memory
// checkpoint store (checkpoints vanish with the process).
enum class Profile : std::uint8_t { production, staging };
std::string_view to_string(Profile p) noexcept;
[[nodiscard]] bool parse_profile(std::string_view text, Profile& out) noexcept;

struct LintOptions {
  Profile profile = Profile::production;
  // Invoices per hour the system is expected to see (the suite's lowest
  // workload rate when check-policy runs a suite): decides whether a
  // breaker's minimum number of calls can fill its window.
  double expected_rate_per_hour = 600;
  // Attempts one invoice may cause on one service, agent retries times
  // service retries, before that counts as retry amplification.
  std::uint32_t amplification_cap = 10;
  // An agent with at least this many workers makes its services "shared by
  // many callers", where retries need a budget.
  std::uint32_t many_callers = 8;
};

struct RuleInfo {
  std::string_view id;
  Severity severity;  // the usual severity; a finding may differ (see the rule's text)
  std::string_view summary;
};
// Every rule the linter has, in the order findings of equal severity are listed.
const std::vector<RuleInfo>& lint_rules();

struct LintFinding {
  std::string rule;  // an id from lint_rules()
  Severity severity = Severity::error;
  std::string path;    // JSON path in the policy file: "$.services.ledger.retry.max_attempts"
  std::string reason;  // one line: what is wrong and why it hurts
  std::string fix;     // one line: what to change

  bool operator==(const LintFinding&) const = default;
};

struct LintReport {
  std::string file;
  std::string policy_name;
  reference_system::Policy policy;  // as parsed (after neutralising refused settings)
  std::vector<LintFinding> findings;  // errors first, then warnings; rule order within each

  std::size_t errors() const;
  std::size_t warnings() const;
  bool has(std::string_view rule) const;
};

// Throws runtime::ConfigError when the document is not a policy.
[[nodiscard]] LintReport lint_policy(const nlohmann::json& doc, const std::string& file, const LintOptions& options);
// Reads the file first; a syntax error names line and column.
[[nodiscard]] LintReport lint_policy_file(const std::string& file, const LintOptions& options);

}  // namespace faultline::policy_check
