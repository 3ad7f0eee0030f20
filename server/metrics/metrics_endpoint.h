#ifndef LOAN_GATEWAY_SERVER_METRICS_METRICS_ENDPOINT_H_
#define LOAN_GATEWAY_SERVER_METRICS_METRICS_ENDPOINT_H_

#include <prometheus/exposer.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "metrics/gateway_metrics.h"

namespace loan_gateway {

// Serves GET /metrics on its own port (prometheus-cpp's pull exposer, on
// civetweb). At most `max_connections` are served at once and a few more
// wait in its queue; the rest wait in the kernel's backlog, so a peer holding
// connections cannot exhaust the process's descriptors. A connection that
// sends no request is closed after 10 s.
class MetricsEndpoint {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen, const GatewayMetrics& metrics,
      int max_connections);

  ~MetricsEndpoint();
  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, int port,
                  std::string host)
      : exposer_(std::move(exposer)), port_(port), host_(std::move(host)) {}
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
  std::string host_;  // Where a local connection reaches the listener.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_METRICS_METRICS_ENDPOINT_H_
