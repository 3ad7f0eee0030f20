#ifndef LOAN_GATEWAY_SERVER_TRANSPORT_GRPC_SERVER_LIMITS_H_
#define LOAN_GATEWAY_SERVER_TRANSPORT_GRPC_SERVER_LIMITS_H_

#include <grpcpp/server_builder.h>

#include <cstdint>

namespace loan_gateway {

// What one peer may cost the gRPC server. The calls are tiny (a Borrow is a
// few hundred bytes), so every bound sits far above honest use and far below
// what would let one connection grow the process.
struct GrpcServerLimits {
  int max_concurrent_streams = 32;  // Per connection (HTTP/2 SETTINGS).
  int max_receive_message_bytes = 16 * 1024;
  int max_metadata_bytes = 16 * 1024;
  int handshake_timeout_ms = 5000;          // Until HTTP/2 SETTINGS arrive.
  int max_connection_idle_ms = 120000;      // No call for this long: GOAWAY.
  int keepalive_time_ms = 60000;            // Ping an idle peer this often...
  int keepalive_timeout_ms = 20000;         // ...and drop it if it is gone.
  int min_client_ping_interval_ms = 10000;  // Faster pings are strikes...
  int max_ping_strikes = 2;                 // ...and this many end it.
  int64_t memory_quota_bytes = int64_t{256} << 20;  // Whole server.
};

void ApplyGrpcServerLimits(const GrpcServerLimits& limits,
                           grpc::ServerBuilder& builder);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_TRANSPORT_GRPC_SERVER_LIMITS_H_
