// Field blame (see blame.h): the team's policy document with one setting set
// back to the recommended value is written to a private temporary file and
// the failing scenario is run again with it, one run per setting, on the
// worker threads; results are read in the settings' order.
#include "policy_check/blame.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/core.h>

#include "harness/engine.h"
#include "harness/explore.h"
#include "harness/parallel.h"
#include "runtime/json_config.h"

namespace faultline::policy_check {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool skipped(const std::string& path) {
  return path == "$.name" || path == "$.description" || path == "$.checkpoints.path";
}

// "$.a.b" <-> "/a/b" (policy keys hold no dots or slashes).
json::json_pointer pointer_of(const std::string& path) {
  std::string p = path.substr(1);
  for (auto& c : p) c = c == '.' ? '/' : c;
  return json::json_pointer(p);
}

void leaves(const json& doc, const std::string& path, std::vector<std::string>& out) {
  if (doc.is_object() && !doc.empty()) {
    for (const auto& [key, value] : doc.items()) leaves(value, path + "." + key, out);
  } else {
    out.push_back(path);
  }
}

json value_at(const json& doc, const std::string& path) {
  const auto p = pointer_of(path);
  return doc.contains(p) ? doc.at(p) : json();
}

// The team's document with `path` set to the recommended value (removed
// where the recommended document has none).
json reverted(json team, const json& recommended, const std::string& path) {
  const auto p = pointer_of(path);
  if (recommended.contains(p)) {
    team[p] = recommended.at(p);
  } else if (team.contains(p)) {
    team.at(p.parent_pointer()).erase(p.back());
  }
  return team;
}

std::string shown(const json& v) { return v.is_null() ? "(none)" : v.dump(); }

// A private folder for the trial policies, removed with this object.
class TrialFolder {
 public:
  TrialFolder() {
    std::string pattern = (fs::temp_directory_path() / "faultline-blame-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw runtime::ConfigError(fs::temp_directory_path().string(), "$", "cannot create a temporary folder");
    }
    dir_ = pattern;
  }
  ~TrialFolder() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  TrialFolder(const TrialFolder&) = delete;
  TrialFolder& operator=(const TrialFolder&) = delete;
  std::string write(std::size_t i, const json& doc) const {
    const fs::path file = dir_ / fmt::format("trial-{}.json", i);
    std::ofstream(file) << doc.dump(2) << "\n";
    return file.string();
  }

 private:
  fs::path dir_;
};

// Runs the scenario once per trial document; fills passes and outcome.
void judge_trials(const harness::Scenario& failing, std::uint64_t seed, const std::string& property,
                  const std::vector<json>& docs, std::vector<FieldTrial>& trials, const BlameOptions& o) {
  const TrialFolder folder;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < docs.size(); ++i) files.push_back(folder.write(i, docs[i]));
  harness::for_each_parallel(docs.size(), o.jobs, [&](std::size_t i) {
    FieldTrial& t = trials[i];
    harness::EngineOptions eo;
    eo.policy_file = files[i];
    eo.seed = seed;
    eo.step_budget = o.step_budget;
    try {
      const auto r = harness::run_scenario(failing, eo);
      const auto broken = harness::broken_properties(r, true);
      t.passes = r.verdict == reports::Verdict::kPass || r.verdict == reports::Verdict::kInconclusive;
      if (t.passes) {
        t.outcome = "passes";
      } else if (!broken.empty()) {
        std::string list;
        for (const auto& b : broken) list += (list.empty() ? "" : ", ") + b;
        const bool same = std::find(broken.begin(), broken.end(), property) != broken.end();
        t.outcome = (same ? "still broken: " : "breaks instead: ") + list;
      } else {
        t.outcome = fmt::format("{}: {}", reports::to_string(r.verdict), r.verdict_reason);
      }
    } catch (const runtime::ConfigError& e) {
      // The setting alone makes a document the policy parser refuses (it
      // needs another setting with it).
      t.outcome = "not judged: the policy parser refuses it alone (" + e.path() + ": " + e.message() + ")";
    }
  });
}

}  // namespace

std::vector<std::string> differing_fields(const json& team, const json& recommended) {
  std::vector<std::string> paths;
  leaves(team, "$", paths);
  std::vector<std::string> theirs;
  leaves(recommended, "$", theirs);
  std::set<std::string> seen(paths.begin(), paths.end());
  for (const auto& p : theirs) {
    if (seen.insert(p).second) paths.push_back(p);
  }
  std::vector<std::string> out;
  for (const auto& p : paths) {
    if (skipped(p)) continue;
    // A leaf of one document may sit where the other has an object: compare what each holds there.
    if (value_at(team, p) != value_at(recommended, p)) out.push_back(p);
  }
  return out;
}

std::vector<std::string> Blame::blamed() const {
  std::vector<std::string> out;
  for (const auto& t : trials) {
    if (t.passes && t.path != "$") out.push_back(t.path);
  }
  return out;
}

std::string Blame::sentence() const {
  const auto paths = blamed();
  if (fields_differing == 0) {
    return fmt::format("{} breaks {} with no setting different from the recommended policy: the recommended policy "
                       "(or the system) fails here too",
                       label, property);
  }
  if (paths.empty()) {
    const bool whole_passes = !trials.empty() && trials.back().path == "$" && trials.back().passes;
    return fmt::format("{} breaks {}; none of the {} setting(s) that differ from the recommended policy, set back "
                       "alone, makes it pass; {}",
                       label, property, fields_differing,
                       whole_passes ? "the recommended policy as a whole does, so the flaw is a combination of them"
                                    : "the recommended policy fails it too (a bug of the system or of the "
                                      "recommended policy, not of these settings)");
  }
  std::string out = fmt::format("{} breaks {}; ", label, property);
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    if (!t.passes) continue;
    if (out.back() != ' ') out += "; ";
    out += fmt::format("with `{}` = {} (recommended; yours: {}) the run passes", t.path, shown(t.recommended),
                       shown(t.team));
  }
  return out;
}

Blame blame_fields(const harness::Scenario& failing, std::uint64_t seed, const std::string& property,
                   const std::string& label, const BlameOptions& o) {
  const json team = runtime::load_json_file(o.team_file);
  const json recommended = runtime::load_json_file(o.recommended_file);
  Blame b;
  b.label = label;
  b.property = property;
  auto fields = differing_fields(team, recommended);
  b.fields_differing = fields.size();
  if (fields.empty()) return b;
  if (fields.size() > o.fields_max) {
    b.fields_not_tried = fields.size() - o.fields_max;
    fields.resize(o.fields_max);
  }
  std::vector<json> docs;
  for (const auto& path : fields) {
    b.trials.push_back(FieldTrial{path, value_at(team, path), value_at(recommended, path), false, ""});
    docs.push_back(reverted(team, recommended, path));
  }
  judge_trials(failing, seed, property, docs, b.trials, o);
  if (!b.blamed().empty()) return b;

  // No single setting: the objects holding two or more of the differences, whole.
  std::map<std::string, std::size_t> parents;
  for (const auto& path : fields) {
    const auto dot = path.rfind('.');
    if (dot != std::string::npos && dot > 1) ++parents[path.substr(0, dot)];
  }
  std::vector<FieldTrial> groups;
  std::vector<json> group_docs;
  for (const auto& [parent, count] : parents) {
    if (count < 2) continue;
    groups.push_back(FieldTrial{parent, value_at(team, parent), value_at(recommended, parent), false, ""});
    group_docs.push_back(reverted(team, recommended, parent));
  }
  // Nothing of the team's alone: the recommended policy as a whole, which
  // tells a flaw of the team's combination from one the recommended policy
  // shares (a bug of the system, or of the recommended policy).
  groups.push_back(FieldTrial{"$", json(), json(), false, ""});
  group_docs.push_back(recommended);
  judge_trials(failing, seed, property, group_docs, groups, o);
  b.trials.insert(b.trials.end(), groups.begin(), groups.end());
  return b;
}

}  // namespace faultline::policy_check
