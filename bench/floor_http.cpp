// The HTTP floor: cpp-httplib (the Debian build datafast-mcp links) answering every POST with a
// fixed body, tuned as platform-notes §4 says it must be for kept-alive clients:
//  - a worker pool larger than the number of kept-alive clients (a kept-alive connection pins a
//    worker in cpp-httplib 0.11), here 128 for the benchmark's 64 clients;
//  - keep-alive max count effectively unlimited (the default of 5 would reconnect every 5 calls);
//  - TCP_NODELAY (Nagle costs ~44 ms per kept-alive POST otherwise).
//
//   dfmcp-bench-floor-http LIST_BODY_FILE CALL_BODY_FILE
// serves POST /list with the first file and POST /call with the second (both application/json),
// on 127.0.0.1 at an ephemeral port, and prints "serving HTTP at http://127.0.0.1:PORT" on
// stderr once it accepts connections. It stops on SIGTERM or when standard input closes.
#include <httplib.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace {

std::string read_file(const char *path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s LIST_BODY_FILE CALL_BODY_FILE\n", argv[0]);
    return 2;
  }
  const std::string list_body = read_file(argv[1]);
  const std::string call_body = read_file(argv[2]);

  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(128); };
  server.set_keep_alive_max_count(1000000000);
  server.set_keep_alive_timeout(30);
  server.set_tcp_nodelay(true);
  server.Post("/list", [&](const httplib::Request &, httplib::Response &res) {
    res.set_content(list_body, "application/json");
  });
  server.Post("/call", [&](const httplib::Request &, httplib::Response &res) {
    res.set_content(call_body, "application/json");
  });

  int port = server.bind_to_any_port("127.0.0.1");
  if (port < 0) {
    std::fprintf(stderr, "floor-http: cannot bind\n");
    return 1;
  }
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running())
    std::this_thread::yield();
  std::fprintf(stderr, "floor-http serving HTTP at http://127.0.0.1:%d\n", port);
  std::fflush(stderr);
  // The driver closes our standard input to stop us (or sends SIGTERM, which ends the process).
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  server.stop();
  listener.join();
  return 0;
}
