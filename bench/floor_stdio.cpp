// The stdio floor: the least a process linked to datafast-mcp's libraries can do for one MCP line.
//
//   dfmcp-bench-floor-stdio --once         read one line, answer one fixed initialize result,
//                                          then wait for end of input (start-up floor)
//   dfmcp-bench-floor-stdio --echo         write every line back as it came (stdio round-trip floor)
//   dfmcp-bench-floor-stdio --reply FILE   answer every line with the first line of FILE (the
//                                          same bytes datafast-mcp answers, without the work)
//
// It is linked with --no-as-needed to cpp-httplib, OpenSSL, spdlog/fmt and the C++ runtime, so the
// loader maps and initialises every library the server loads; it calls none of them.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kInitializeResult =
    R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{"listChanged":false},"logging":{}},"serverInfo":{"name":"floor","version":"0"}}})"
    "\n";

bool write_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(1, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Calls `on_line` for every complete line of standard input until end of input.
template <typename F> void each_line(F on_line) {
  std::string buffer;
  char chunk[64 * 1024];
  for (;;) {
    ssize_t n = ::read(0, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1)
      if (!on_line(std::string_view(buffer).substr(start, nl + 1 - start)))
        return;
    buffer.erase(0, start);
  }
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "--once";
  if (mode == "--once") {
    bool answered = false;
    each_line([&](std::string_view) {
      if (!answered)
        answered = write_all(kInitializeResult);
      return true; // then read (and ignore) until end of input, as a server would
    });
    return 0;
  }
  if (mode == "--echo") {
    each_line([](std::string_view line) { return write_all(line); });
    return 0;
  }
  if (mode == "--reply" && argc > 2) {
    std::ifstream in(argv[2], std::ios::binary);
    std::string reply;
    if (!std::getline(in, reply)) {
      std::fprintf(stderr, "floor: cannot read %s\n", argv[2]);
      return 2;
    }
    reply.push_back('\n');
    each_line([&](std::string_view) { return write_all(reply); });
    return 0;
  }
  std::fprintf(stderr, "usage: %s --once | --echo | --reply FILE\n", argv[0]);
  return 2;
}
