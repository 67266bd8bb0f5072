// The program: command line -> configuration -> objects -> transport. Returns the exit code.
#pragma once

namespace dfmcp {

int run_app(int argc, const char *const *argv);

} // namespace dfmcp
