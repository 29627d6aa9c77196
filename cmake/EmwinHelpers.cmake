# Small helpers shared by every CMakeLists in the tree.

# emwin_add_test(NAME SOURCES... [LIBS ...] [LABELS ...])
# Builds one GoogleTest executable and registers its cases with CTest (gtest_discover_tests).
# Tests get EMWIN_CORPUS_DIR and EMWIN_BINARY_DIR as compile definitions.
include(GoogleTest OPTIONAL)
function(emwin_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock Threads::Threads)
  target_compile_definitions(${name} PRIVATE
    EMWIN_CORPUS_DIR="${EMWIN_CORPUS_DIR}"
    EMWIN_BINARY_DIR="${CMAKE_BINARY_DIR}"
    EMWIN_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  # (gtest_discover_tests marks GTEST_SKIP()ped cases as skipped, never as passed.)
  # LABELS only when given: an empty value would shift the property list.
  set(_props TIMEOUT ${T_TIMEOUT})
  if(T_LABELS)
    list(APPEND _props LABELS "${T_LABELS}")
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES ${_props})
endfunction()
