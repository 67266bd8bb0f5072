// Tool definitions as tools/list advertises them, built from the embedded schemas/tools/*.json with
// references to sibling schema files ({"$ref": "permission.schema.json"}) inlined, so clients see
// self-contained JSON Schema 2020-12 documents.
#pragma once

#include "util/json_input.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace dfmcp::tools {

// The definition of one tool: name, title, description, annotations, inputSchema, outputSchema.
// Throws std::logic_error when the tool has no embedded file (a build error, not user input).
json tool_definition(std::string_view name);

// Names of every tool with a definition file, sorted.
std::vector<std::string> defined_tool_names();

// An embedded schema file, parsed and with its references inlined.
json schema_file(std::string_view path);

} // namespace dfmcp::tools
