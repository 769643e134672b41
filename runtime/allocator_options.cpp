// faultline's settings for mimalloc. Compiled into every executable and
// benchmark that links mimalloc (cmake/faultline.cmake), never into a
// library, and not into sanitizer builds.
//
// Large OS pages: mimalloc asks the kernel for transparent huge pages
// (madvise(MADV_HUGEPAGE) on its 2 MiB-aligned segments; explicit huge pages
// where the system has some reserved). A long simulation keeps large tables
// that grow with every invoice (ledger, outcomes, orders, reservations) and
// are read at random; on 4 KiB pages most of those reads pay a TLB miss and
// the growth pays a page fault per page. Huge pages take both away, at the
// price of resident memory growing in 2 MiB steps. Where the kernel's THP
// setting is "never", nothing changes. What it is worth on a simulated day:
// bench/reference_system/README.md.
//
// The setting has to be in place before mimalloc initialises, which happens
// before any constructor of the program runs (the shared library is
// initialised first) and reads its options then; so it is made from the
// executable's .preinit_array, which the dynamic loader runs before any
// shared library's initialiser. mi_option_enable() only writes mimalloc's
// option table, which is safe before its initialiser. The environment
// still decides when it names the option: MIMALLOC_LARGE_OS_PAGES=0 turns
// large pages off.
#include <mimalloc.h>

#include <cstring>

namespace {

void enable_large_os_pages(int, char**, char** envp) {
  constexpr const char kName[] = "MIMALLOC_LARGE_OS_PAGES=";
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, kName, sizeof kName - 1) == 0) return;
  }
  mi_option_enable(mi_option_large_os_pages);
}

}  // namespace

// Called with (argc, argv, envp) before the C library and mimalloc are
// initialised: nothing here may allocate or rely on libc's state.
__attribute__((section(".preinit_array"), used)) void (*const faultline_allocator_preinit)(int, char**, char**) =
    &enable_large_os_pages;
