#ifndef LOAN_GATEWAY_SERVER_LOG_LIBRARY_LOG_ROUTING_H_
#define LOAN_GATEWAY_SERVER_LOG_LIBRARY_LOG_ROUTING_H_

namespace loan_gateway {

// Sends what libprotobuf and gRPC core would print as free text
// ("[libprotobuf ERROR ...]", "E1124 ... Failed accept4") through the JSON
// log instead, so that the gateway's output stays one JSON object per line.
void RouteLibraryLogsToJson();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_LOG_LIBRARY_LOG_ROUTING_H_
