// A private SQLite checkpoint file for one simulated run. A policy that keeps
// checkpoints in SQLite names one file; simulated runs side by side (the
// suite's --jobs, check-policy's seeds, `faultline simulate` twice in one
// folder) must neither share it nor start from what an earlier run left in
// it, or a run would resume another run's workflows and lose determinism.
//
//   rs::Policy policy = rs::load_policy(file);
//   PrivateCheckpointFile store(policy);  // policy.checkpoint_path -> /tmp/faultline-run-XXXXXX/checkpoints.db
//   options.checkpoint_file_private = true;  // rs::SystemOptions: SQLite may lock the file once
//   ... run ...                           // the folder goes when `store` does
//
// Policies with another store kind are left untouched.
#pragma once

#include <filesystem>

#include "reference_system/policy.h"

namespace faultline::harness {

class PrivateCheckpointFile {
 public:
  // Throws std::runtime_error when no temporary folder can be made.
  explicit PrivateCheckpointFile(reference_system::Policy& policy);
  PrivateCheckpointFile(const PrivateCheckpointFile&) = delete;
  PrivateCheckpointFile& operator=(const PrivateCheckpointFile&) = delete;
  ~PrivateCheckpointFile();

  const std::filesystem::path& folder() const noexcept { return dir_; }  // empty when not SQLite

 private:
  std::filesystem::path dir_;
};

}  // namespace faultline::harness
