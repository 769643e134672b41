// Writes the invoice target's seed corpus: documents from the workload
// generator (world/workload.h) on the default world, and each
// corruption mode of the corrupted_input fault (faults/corruption.h) applied
// to one of them, as the OCR agent would receive them.
//
//   make_invoice_corpus fuzz/corpus/invoice
#include <cstdio>
#include <fstream>
#include <string>

#include "faults/corruption.h"
#include "runtime/sim_runtime.h"
#include "world/workload.h"

int main(int argc, char** argv) {
  using namespace faultline;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(out + "/" + name, std::ios::binary) << bytes;
  };
  runtime::SimRuntime rt(20261129);
  world::PoCatalogue catalogue;
  world::WorkloadGenerator gen(rt, world::default_world_model().workload, catalogue);
  std::string last;
  for (int i = 0; i < 12; ++i) {
    last = gen.next().invoice.document;
    write("generated-" + std::to_string(i + 1) + ".txt", last);
  }
  auto rng = rt.stream("fuzz/corpus");
  for (std::size_t m = 0; m < faults::kCorruptionCount; ++m) {
    const auto mode = static_cast<faults::Corruption>(m);
    write("corrupted-" + std::string(faults::to_string(mode)) + ".txt", faults::corrupt_document(last, mode, rng));
  }
  return 0;
}
