// A bridge for cli/compare_command.cpp only, which still names the command
// registry by its old place (harness/command.h) because another branch edits
// that file at the same time. Once that branch is in, its include becomes
// "cli/command.h" and this file and the include directory that finds it
// (cli/CMakeLists.txt) go.
#pragma once

#include "cli/command.h"

namespace faultline::harness {
using cli::Command;
}  // namespace faultline::harness
