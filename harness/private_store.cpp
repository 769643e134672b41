#include "harness/private_store.h"

#include <stdlib.h>

#include <stdexcept>
#include <string>
#include <system_error>

namespace faultline::harness {

PrivateCheckpointFile::PrivateCheckpointFile(reference_system::Policy& policy) {
  if (policy.checkpoints != reference_system::CheckpointStoreKind::sqlite) return;
  const auto tmp = std::filesystem::temp_directory_path();
  std::string pattern = (tmp / "faultline-run-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a folder for the run's checkpoint store in " + tmp.string());
  }
  dir_ = pattern;
  policy.checkpoint_path = (dir_ / "checkpoints.db").string();
}

PrivateCheckpointFile::~PrivateCheckpointFile() {
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

}  // namespace faultline::harness
