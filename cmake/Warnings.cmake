# Strict warnings for the project's own targets only (generated code is exempt).
function(loan_gateway_warnings target)
  # Designated initializers may leave members at their defaults on purpose.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror
                         -Wno-missing-field-initializers)
endfunction()

# A test binary registered with CTest, linked with GoogleTest's main.
function(loan_gateway_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  loan_gateway_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES LABELS unit)
endfunction()
