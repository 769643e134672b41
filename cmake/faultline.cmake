# One way to declare a target: every layer library, test and benchmark of
# faultline goes through one of the functions below, so flags, include roots
# and sanitizers are set in one place.

function(_faultline_common target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(FAULTLINE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(FAULTLINE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# Replaces malloc and free in a program with mimalloc's (see the root
# CMakeLists.txt), linked even where the linker drops unreferenced
# libraries, with faultline's settings for it (runtime/allocator_options.cpp,
# an object library built once).
function(_faultline_allocator target)
  if(NOT FAULTLINE_SANITIZE)
    if(NOT TARGET faultline_allocator_options)
      add_library(faultline_allocator_options OBJECT ${PROJECT_SOURCE_DIR}/runtime/allocator_options.cpp)
      target_link_libraries(faultline_allocator_options PRIVATE mimalloc)
      _faultline_common(faultline_allocator_options)
    endif()
    target_link_libraries(${target} PRIVATE faultline_allocator_options
                          -Wl,--push-state,--no-as-needed mimalloc -Wl,--pop-state)
  endif()
endfunction()

# faultline_library(NAME <layer> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
# Declares the target faultline_<layer> (alias faultline::<layer>), whose
# headers are included from the repository root: "runtime/task.h".
function(faultline_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target faultline_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(faultline::${ARG_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  _faultline_common(${target})
endfunction()

# faultline_executable(NAME <name> SOURCES ... [DEPS ...])
function(faultline_executable)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  _faultline_common(${ARG_NAME})
  _faultline_allocator(${ARG_NAME})
endfunction()

# faultline_test(NAME <name> LAYER <layer> SOURCES ... [DEPS ...] [LIVE] [LIVE_FILTER <gtest filter>])
# One GoogleTest executable; every TEST in it becomes a CTest test labelled
# with its layer, so `ctest -L resilience` runs one layer. Every test links
# the shared helpers of tests/support/ (faultline::test_support). Tests that
# need the live servers (all of them with LIVE, those LIVE_FILTER matches
# otherwise) are labelled `live` too and require the fixture live_servers
# (tests/CMakeLists.txt), which CTest then runs first.
function(faultline_test)
  cmake_parse_arguments(ARG "LIVE" "NAME;LAYER;LIVE_FILTER" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} faultline::test_support GTest::gmock GTest::gtest_main)
  _faultline_common(${ARG_NAME})
  # A test's LABELS property can hold one label here (gtest_discover_tests
  # flattens lists), so the layer's label also comes from the directory.
  get_property(directory_labels DIRECTORY PROPERTY LABELS)
  if(NOT ARG_LAYER IN_LIST directory_labels)
    set_property(DIRECTORY APPEND PROPERTY LABELS ${ARG_LAYER})
  endif()
  set(live_properties LABELS live FIXTURES_REQUIRED live_servers
                      ENVIRONMENT "FAULTLINE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(ARG_LIVE)
    gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
      PROPERTIES ${live_properties})
    return()
  endif()
  set(filter "")
  if(ARG_LIVE_FILTER)
    set(filter TEST_FILTER "-${ARG_LIVE_FILTER}")
    gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
      TEST_FILTER "${ARG_LIVE_FILTER}" PROPERTIES ${live_properties})
  endif()
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_MODE PRE_TEST
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    ${filter}
    PROPERTIES LABELS "${ARG_LAYER}" ENVIRONMENT "FAULTLINE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# faultline_benchmark(NAME <name> SOURCES ... [DEPS ...])
function(faultline_benchmark)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  _faultline_common(${ARG_NAME})
  _faultline_allocator(${ARG_NAME})
endfunction()
