#include "transport/grpc_server_limits.h"

#include <grpcpp/resource_quota.h>

namespace loan_gateway {

void ApplyGrpcServerLimits(const GrpcServerLimits& limits,
                           grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             limits.max_concurrent_streams);
  builder.SetMaxReceiveMessageSize(limits.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                             limits.max_metadata_bytes);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             limits.handshake_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             limits.max_connection_idle_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             limits.keepalive_time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             limits.keepalive_timeout_ms);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      limits.min_client_ping_interval_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES,
                             limits.max_ping_strikes);
  grpc::ResourceQuota quota("loan-gateway");
  quota.Resize(static_cast<size_t>(limits.memory_quota_bytes));
  builder.SetResourceQuota(quota);
}

}  // namespace loan_gateway
