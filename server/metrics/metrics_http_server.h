#ifndef LOAN_GATEWAY_SERVER_METRICS_METRICS_HTTP_SERVER_H_
#define LOAN_GATEWAY_SERVER_METRICS_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace loan_gateway {

// Serves GET /metrics (Prometheus text) on its own port with libmicrohttpd.
class MetricsHttpServer {
 public:
  // `listen` is "host:port" (IPv4; port 0 picks one). At most
  // `max_connections` are open at once (libmicrohttpd closes the excess) and
  // each is closed after `idle_timeout_s` seconds without traffic, so a peer
  // holding connections cannot exhaust the process's descriptors.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, std::function<std::string()> render,
      unsigned max_connections = 16, unsigned idle_timeout_s = 10);
  ~MetricsHttpServer();

  int port() const { return port_; }

 private:
  explicit MetricsHttpServer(std::function<std::string()> render)
      : render_(std::move(render)) {}
  std::function<std::string()> render_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;

  friend struct MetricsHandler;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_METRICS_METRICS_HTTP_SERVER_H_
