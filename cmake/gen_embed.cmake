# cmake -DOUTPUT=x.cpp -DBASE=dir -DFILES=a|b -P gen_embed.cmake
# Embeds each file as a byte array, named by its path relative to BASE.
string(REPLACE "|" ";" files "${FILES}")
list(SORT files)
set(body "")
set(table "")
set(index 0)
foreach(path ${files})
  file(RELATIVE_PATH rel ${BASE} ${path})
  file(READ ${path} hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "static const char kFile${index}[] = {${bytes}'\\0'};\n")
  string(APPEND table "    {\"${rel}\", std::string_view(kFile${index}, ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
set(content "// Generated at build time from schemas/. Do not edit.
#include \"tools/embedded.hpp\"

namespace dfmcp::embedded {
namespace {
${body}
const EmbeddedFile kFiles[] = {
${table}};
} // namespace

std::span<const EmbeddedFile> files() { return kFiles; }
} // namespace dfmcp::embedded
")
file(WRITE ${OUTPUT}.tmp "${content}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
