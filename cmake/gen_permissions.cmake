# cmake -DSCHEMA=permission.schema.json -DOUTPUT=permission_vocabulary.hpp -P gen_permissions.cmake
file(READ ${SCHEMA} text)
string(JSON count LENGTH "${text}" enum)
if(count LESS 2)
  message(FATAL_ERROR "${SCHEMA}: enum must list the permissions")
endif()
math(EXPR last "${count} - 1")
set(items "")
foreach(i RANGE ${last})
  string(JSON name GET "${text}" enum ${i})
  if(NOT name MATCHES "^[a-z*][a-z:*-]*$")
    message(FATAL_ERROR "${SCHEMA}: unexpected permission string '${name}'")
  endif()
  string(APPEND items "    \"${name}\",\n")
endforeach()
set(content "// Generated from schemas/permission.schema.json at build time. Do not edit.
#pragma once
#include <array>
#include <string_view>

namespace dfmcp::policy::generated {
inline constexpr std::array<std::string_view, ${count}> kPermissionNames = {
${items}};
} // namespace dfmcp::policy::generated
")
file(WRITE ${OUTPUT}.tmp "${content}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
