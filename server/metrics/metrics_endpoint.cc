#include "metrics/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <thread>

#include "absl/strings/str_cat.h"

namespace loan_gateway {

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen, const GatewayMetrics& metrics,
    int max_connections) {
  // civetweb: one thread per connection served; a queue of 4 accepted ones
  // waiting for a thread; beyond that nothing more is accepted.
  std::vector<std::string> options = {
      "listening_ports",       listen,
      "num_threads",           absl::StrCat(max_connections),
      "connection_queue",      "4",
      "request_timeout_ms",    "10000",
      "keep_alive_timeout_ms", "10000",
      "enable_keep_alive",     "yes",
      "max_request_size",      "16384"};
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(options);
    for (const auto& collectable : metrics.collectables()) {
      exposer->RegisterCollectable(collectable);
    }
    const std::vector<int> ports = exposer->GetListeningPorts();
    if (ports.empty()) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", listen));
    }
    std::string host = listen.substr(0, listen.rfind(':'));
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    return std::unique_ptr<MetricsEndpoint>(
        new MetricsEndpoint(std::move(exposer), ports.front(), host));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
}

namespace {

// Connects and hangs up at once.
void Poke(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  close(fd);
}

}  // namespace

MetricsEndpoint::~MetricsEndpoint() {
  // civetweb's listening thread sees the stop only when its poll() returns,
  // which it does every 2 s or on a connection: poke it, so that stopping
  // takes milliseconds rather than seconds.
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    exposer_.reset();
    stopped = true;
  });
  while (!stopped) {
    Poke(host_, port_);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopper.join();
}

}  // namespace loan_gateway
