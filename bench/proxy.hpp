// A counting TCP relay put in front of the sandbox for the handshake count: it accepts on an
// ephemeral loopback port, relays each connection to the sandbox byte for byte, and counts
//  - the TCP connections it accepted (each is one upstream connection of the server measured), and
//  - the TLS ClientHello records the clients sent (a handshake record, type 22, whose first
//    handshake message is client_hello, type 1; found by walking the TLS record headers of the
//    client-to-server stream, so it counts handshakes, resumed or not, whatever the connection).
// Only the benchmark's own processes are pointed at it, so nothing else on the machine can
// change its counts (unlike the global TCP counters of /proc/net/snmp or polling `ss`).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench {

class CountingProxy {
public:
  CountingProxy(std::string target_host, int target_port);
  ~CountingProxy();
  CountingProxy(const CountingProxy &) = delete;
  CountingProxy &operator=(const CountingProxy &) = delete;

  int port() const { return port_; }
  std::uint64_t connections() const { return connections_; }
  std::uint64_t client_hellos() const { return client_hellos_; }

private:
  void accept_loop();
  void relay(int client_fd);

  std::string target_host_;
  int target_port_;
  int listen_fd_ = -1;
  int stop_fd_ = -1; // an eventfd, readable once stopping
  int port_ = 0;
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> client_hellos_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> relays_;
};

} // namespace bench
