# INTERFACE policy targets (STYLE.md habit 18):
#   project_settings  language level, sanitizers (SSESTITCH_SANITIZE), _GLIBCXX_ASSERTIONS in Debug
#   project_warnings  a rich warning set; -Werror when SSESTITCH_WERROR is ON (CI and scripts/test)
set(SSESTITCH_SANITIZE "" CACHE STRING "Comma-separated sanitizers, e.g. address,undefined")
option(SSESTITCH_WERROR "Treat warnings as errors (CI and scripts/test builds)" OFF)

add_library(project_settings INTERFACE)
target_compile_features(project_settings INTERFACE cxx_std_20)
target_compile_definitions(project_settings INTERFACE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>)
if(SSESTITCH_SANITIZE)
  target_compile_options(project_settings INTERFACE
    -fsanitize=${SSESTITCH_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(project_settings INTERFACE -fsanitize=${SSESTITCH_SANITIZE})
endif()

add_library(project_warnings INTERFACE)
target_compile_options(project_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  $<$<BOOL:${SSESTITCH_WERROR}>:-Werror>)
